from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rupor.notifications"
    label = "notifications"
