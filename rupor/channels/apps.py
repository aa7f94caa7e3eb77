from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "rupor.channels"
    label = "channels"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from rupor.channels import service
        from rupor.channels.models import Channel
        from rupor.networks.base import install_credential_store

        # Rotating credentials (X's refresh tokens, Bluesky's sessions) are saved on the channel's row, under its lock.
        install_credential_store(service.rotate_stored_credentials)
        # The webhook intake remembers a channel's row for a second: a change made here counts at once.
        post_save.connect(_forget_hook_row, sender=Channel, dispatch_uid="rupor-channels-hook-row-save")
        post_delete.connect(_forget_hook_row, sender=Channel, dispatch_uid="rupor-channels-hook-row-delete")


def _forget_hook_row(sender: object, instance: object, **_kwargs: object) -> None:  # noqa: ARG001 - a signal receiver's signature
    from rupor.channels import service

    service.forget_hook_row(int(getattr(instance, "pk", 0) or 0))
