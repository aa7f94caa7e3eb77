from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "rupor.web"
    label = "web"
