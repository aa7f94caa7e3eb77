from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "rupor.channels"
    label = "channels"

    def ready(self) -> None:
        from rupor.channels import service
        from rupor.networks.base import install_credential_store

        # Rotating credentials (X's refresh tokens, Bluesky's sessions) are saved on the channel's row, under its lock.
        install_credential_store(service.rotate_stored_credentials)
