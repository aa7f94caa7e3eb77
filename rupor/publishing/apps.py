from typing import Any

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "rupor.publishing"
    label = "publishing"

    def ready(self) -> None:
        # Channels announces what happened to a channel; publishing reacts, so channels never
        # imports publishing (see ARCHITECTURE.md, "Rules of the road").
        from rupor.channels import service as channels

        channels.channel_reconnected.connect(_release_held, dispatch_uid="publishing.release_held")
        channels.channel_settings_fixed.connect(
            _release_held_for_settings, dispatch_uid="publishing.release_held_for_settings"
        )
        channels.channel_archived.connect(_cancel_targets, dispatch_uid="publishing.cancel_targets")

        from rupor.networks.base import install_call_window
        from rupor.publishing import ratelimit

        install_call_window(ratelimit.window)


def _release_held(sender: object, *, channel_id: int, **_kwargs: Any) -> None:  # noqa: ARG001 - Django passes signal receivers sender by keyword
    from rupor.publishing import service

    service.release_held(channel_id)


def _release_held_for_settings(sender: object, *, channel_id: int, **_kwargs: Any) -> None:  # noqa: ARG001 - Django passes signal receivers sender by keyword
    from rupor.publishing import service

    service.release_held(channel_id, only_kind=service.HELD_FOR_SETTINGS, cause="channel settings fixed")


def _cancel_targets(sender: object, *, variant_ids: list[int], actor: str, **_kwargs: Any) -> None:  # noqa: ARG001 - Django passes signal receivers sender by keyword
    from rupor.publishing import service

    service.cancel_targets(variant_ids, actor=actor)
