from django.apps import AppConfig


class GiveawaysConfig(AppConfig):
    name = "rupor.giveaways"
    label = "giveaways"
