from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "rupor.analytics"
    label = "analytics"
