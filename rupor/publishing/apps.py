from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "rupor.publishing"
    label = "publishing"

    def ready(self) -> None:
        from rupor.networks.base import install_call_window
        from rupor.publishing import ratelimit

        install_call_window(ratelimit.window)
