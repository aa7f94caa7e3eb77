from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "rupor.planning"
    label = "planning"
