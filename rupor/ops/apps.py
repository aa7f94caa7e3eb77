from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operating an installation: backups, restores and the checks before an upgrade."""

    name = "rupor.ops"
    label = "ops"
