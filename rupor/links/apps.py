from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "rupor.links"
    label = "links"
