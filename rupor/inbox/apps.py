from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "rupor.inbox"
    label = "inbox"
