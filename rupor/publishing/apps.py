from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "rupor.publishing"
    label = "publishing"
