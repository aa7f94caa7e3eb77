from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "rupor.channels"
    label = "channels"

    def ready(self) -> None:
        from rupor.channels.service import ChannelCredentialStore
        from rupor.networks.base import install_credential_store

        install_credential_store(ChannelCredentialStore())
