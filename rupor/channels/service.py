"""Public actions of the channels domain: connect, verify, update, remove channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.networks import registry
from rupor.networks.base import ChannelAccess, ChannelInfo
from rupor.networks.errors import NetworkError


class ChannelError(DomainError):
    """A request the channels domain refuses."""


@dataclass(frozen=True)
class ChannelInput:
    network: str
    name: str = ""
    remote_id: str = ""
    credentials: Mapping[str, str] | None = None
    base_url: str = ""
    settings: Mapping[str, Any] | None = None
    color: str = ""
    cadence_hours: int | None = None


def _require(actor: accounts.Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise ChannelError(_("Your role does not allow this."), status=403)


def list_channels(workspace_id: int) -> QuerySet[Channel]:
    return Channel.live.filter(workspace_id=workspace_id)


def get_channel(workspace_id: int, channel_id: int) -> Channel:
    channel = Channel.live.filter(workspace_id=workspace_id, pk=channel_id).first()
    if channel is None:
        raise ChannelError(_("No such channel."), status=404)
    return channel


def access(channel: Channel) -> ChannelAccess:
    """What an adapter needs to act for this channel (credentials decrypted in memory only)."""
    return ChannelAccess(
        network=channel.network, remote_id=channel.remote_id, credentials=channel.get_credentials(),
        base_url=channel.base_url or None, settings=dict(channel.settings or {}),
    )


def _validate_base_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ChannelError(_("%(url)s is not an http(s) URL.") % {"url": repr(url)}, "base_url") from exc
    return url.rstrip("/")


def _validate_credentials(network: str, credentials: Mapping[str, str] | None) -> dict[str, str]:
    creds = {str(k): str(v) for k, v in (credentials or {}).items()}
    if network in registry.NETWORKS:
        try:
            adapter = registry.adapter(network)
        except (ImportError, AttributeError):
            return creds
        known = {f.name for f in adapter.credential_fields}
        for field in adapter.credential_fields:
            if field.required and not creds.get(field.name, "").strip():
                raise ChannelError(
                    _("%(field)s is required to connect %(network)s.") % {"field": field.label, "network": adapter.display_name},
                    f"credentials.{field.name}",
                )
        unknown = set(creds) - known
        if unknown and known:
            raise ChannelError(
                _("Unknown credential field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, "credentials",
            )
    return creds


def _verify(network: str, probe: ChannelAccess) -> ChannelInfo | None:
    if network not in registry.available():
        return None
    try:
        info = registry.adapter(network).verify(probe)
    except NetworkError as exc:
        raise ChannelError(exc.message, "credentials", 422) from exc
    if not info.can_publish:
        reason = " ".join(info.notes) or _("The connected account cannot publish to this channel.")
        raise ChannelError(reason, "credentials", 422)
    return info


def connect(actor: accounts.Actor, data: ChannelInput, *, verify: bool = True) -> Channel:
    """Register a channel; when an adapter exists and ``verify`` is set, check the credentials first."""
    _require(actor, Perm.CHANNELS_MANAGE)
    if data.network not in registry.DISPLAY_NAMES:
        raise ChannelError(
            _("Unknown network %(network)s; use one of: %(networks)s.")
            % {"network": repr(data.network), "networks": ", ".join(registry.DISPLAY_NAMES)},
            "network",
        )
    creds = _validate_credentials(data.network, data.credentials)
    base_url = _validate_base_url(data.base_url)
    remote_id = (data.remote_id or "").strip()
    info: ChannelInfo | None = None
    if verify:
        probe = ChannelAccess(data.network, remote_id, creds, base_url or None, dict(data.settings or {}))
        info = _verify(data.network, probe)
    if info is not None and not remote_id:
        remote_id = info.remote_id
    if not remote_id:
        raise ChannelError(_("The remote id (community, chat or group id) is required."), "remote_id")
    name = (data.name or (info.name if info else "") or remote_id).strip()[:120]
    channel = Channel(
        workspace_id=actor.workspace_id, network=data.network, name=name, remote_id=remote_id[:120],
        base_url=base_url, settings=dict(data.settings or {}), color=data.color or "", cadence_hours=data.cadence_hours,
    )
    channel.set_credentials(creds)
    if info is not None:
        channel.verified_at = clock.now()
        channel.status_message = " ".join(info.notes)[:300]
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise ChannelError(_("This account is already connected in this workspace."), "remote_id", 409) from exc
    accounts.record(actor.workspace_id, actor, "channel.connect", "channel", channel.pk, str(channel))
    return channel


def update(actor: accounts.Actor, channel_id: int, changes: Mapping[str, Any], *, verify: bool = True) -> Channel:
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = get_channel(actor.workspace_id, channel_id)
    reverify = False
    if "name" in changes and changes["name"] is not None:
        name = str(changes["name"]).strip()
        if not name:
            raise ChannelError(_("The display name cannot be empty."), "name")
        channel.name = name[:120]
    if "base_url" in changes and changes["base_url"] is not None:
        channel.base_url = _validate_base_url(changes["base_url"])
        reverify = True
    if changes.get("credentials") is not None:
        merged = {**channel.get_credentials(), **{str(k): str(v) for k, v in changes["credentials"].items()}}
        channel.set_credentials(_validate_credentials(channel.network, merged))
        reverify = True
    if changes.get("settings") is not None:
        channel.settings = {**(channel.settings or {}), **dict(changes["settings"])}
    if changes.get("color") is not None:
        channel.color = str(changes["color"])[:7]
    if "cadence_hours" in changes:
        channel.cadence_hours = changes["cadence_hours"]
    if changes.get("status") is not None:
        status = str(changes["status"])
        if status not in (Channel.Status.ACTIVE, Channel.Status.PAUSED):
            raise ChannelError(_("Status can be set to active or paused."), "status")
        channel.status = status
    if reverify and verify:
        info = _verify(channel.network, access(channel))
        if info is not None:
            channel.verified_at = clock.now()
            channel.status = Channel.Status.ACTIVE
            channel.status_message = " ".join(info.notes)[:300]
    channel.updated_at = clock.now()
    channel.save()
    accounts.record(actor.workspace_id, actor, "channel.update", "channel", channel.pk, str(channel))
    if reverify and channel.status == Channel.Status.ACTIVE:
        from rupor.publishing import service as publishing

        publishing.release_held(channel.pk)
    return channel


def remove(actor: accounts.Actor, channel_id: int) -> None:
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = get_channel(actor.workspace_id, channel_id)
    label = str(channel)
    if channel.variants.exists():
        # Posts planned or published on it keep their history: archive instead of deleting,
        # and stop anything that has not gone out yet.
        from rupor.publishing import service as publishing

        publishing.cancel_targets(list(channel.variants.values_list("pk", flat=True)), actor=actor.label)
        channel.status = Channel.Status.ARCHIVED
        channel.credentials_encrypted = ""
        channel.updated_at = clock.now()
        channel.save(update_fields=["status", "credentials_encrypted", "updated_at"])
    else:
        channel.delete()
    accounts.record(actor.workspace_id, actor, "channel.remove", "channel", channel_id, label)


def needs_reconnect(channel_id: int, message: str) -> None:
    """Called by the engine when credentials expired: hold the channel, ask a person."""
    Channel.objects.filter(pk=channel_id).update(status=Channel.Status.RECONNECT, status_message=message[:300], updated_at=clock.now())
