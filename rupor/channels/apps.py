from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "rupor.channels"
    label = "channels"
