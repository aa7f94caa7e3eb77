"""Public actions of the channels domain: connect, verify, update, remove channels."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.channels import options
from rupor.channels.models import Channel
from rupor.core import clock, crypto, prepared
from rupor.core.errors import DomainError
from rupor.core.urls import url_problem
from rupor.networks import errors as network_errors
from rupor.networks import registry
from rupor.networks.base import LIMITS_SETTING, Capability, ChannelAccess, ChannelInfo
from rupor.networks.errors import NetworkError

#: Sent (with ``channel_id``) when a person's change verified a channel again; publishing
#: releases the targets it held for reconnection. Channels never imports publishing.
channel_reconnected = Signal()
#: Sent (with ``channel_id``) when a person's save fixed or changed an active channel's stored
#: settings; publishing releases the targets it held because those settings did not fit.
channel_settings_fixed = Signal()
#: Sent (with ``channel_id``, ``variant_ids`` and ``actor``) when a channel with posts is
#: archived instead of deleted; publishing cancels what has not gone out.
channel_archived = Signal()


#: A channel's status, for other domains to compare with (``Channel.Status``).
Status = Channel.Status


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


@dataclass(frozen=True)
class ChannelRef:
    """A channel as other domains act on it; its credentials only through :func:`access_for`."""

    id: int
    workspace_id: int
    network: str
    remote_id: str
    name: str
    cadence_hours: int | None  # how often a person wants a post on it (None: no cadence)


#: The columns of a :class:`ChannelRef`, in its order.
_REF = ("pk", "workspace_id", "network", "remote_id", "name", "cadence_hours")


def workspace_channels(workspace_id: int) -> list[ChannelRef]:
    """The workspace's live channels, by network and name."""
    return [
        ChannelRef(*row) for row in list_channels(workspace_id).order_by("network", "name").values_list(*_REF)
    ]


def channel_ids(workspace_id: int) -> set[int]:
    """The ids of every channel the workspace has, live or removed (archived)."""
    return set(Channel.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True))


def find_channel(channel_id: int, *, network: str = "", removed_too: bool = False) -> ChannelRef | None:
    """The channel with this id (and network, if given); ``None`` when there is none or, unless
    ``removed_too``, it was removed."""
    qs = (Channel.objects if removed_too else Channel.live).filter(pk=channel_id)
    if network:
        qs = qs.filter(network=network)
    row = qs.values_list(*_REF).first()
    return None if row is None else ChannelRef(*row)


def access_for(channel_id: int) -> ChannelAccess:
    """:func:`access` for the channel with this id (:class:`ChannelError` 404 when it is gone)."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise ChannelError(_("No such channel."), status=404)
    return access(channel)


def _stored_settings(value: Any) -> dict[str, Any]:
    # Settings that are not an object (damaged by hand) hold no webhook secret.
    return dict(value) if isinstance(value, Mapping) else {}


def hook_token(channel_id: int) -> str:
    """The channel's webhook secret (kept in its settings, never written from outside), created
    and saved on first use."""
    stored = Channel.objects.filter(pk=channel_id).values_list("settings", flat=True).first()
    token = str(_stored_settings(stored).get("hook_token") or "")
    if token:
        return token
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel_id)
        token = str(_stored_settings(fresh.settings).get("hook_token") or "")
        if not token:
            token = secrets.token_urlsafe(24)
            fresh.settings = {**_stored_settings(fresh.settings), "hook_token": token}
            fresh.save(update_fields=["settings"])
    return token


def hook_channel(network: str, channel_id: int, token: str) -> ChannelRef | None:
    """The live channel a webhook URL names, if its secret matches (compared in constant time)."""
    row = Channel.live.filter(pk=channel_id, network=network).values_list(*_REF, "settings").first()
    expected = str(_stored_settings(row[-1]).get("hook_token") or "") if row else ""
    if row is None or not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return None
    return ChannelRef(*row[:-1])


@dataclass(frozen=True)
class HookTarget:
    """The channel a webhook delivery is for, as the intake needs it on every request."""

    ref: ChannelRef
    #: What the adapter needs; None when the stored settings are broken (``problem`` says why).
    access: ChannelAccess | None
    problem: str
    #: The job whose failure is recorded on the channel ('' when none).
    last_error_job: str


_HOOK_ROW = prepared.PreparedRow(
    Channel,
    lambda pk, network: (
        Channel.live.filter(pk=pk, network=network)
        .order_by()
        .values_list(*_REF, "settings", "credentials_encrypted", "base_url", "last_error_job")[:1]
    ),
    (-7_777_777_777, "\x00network"),
    (
        "id",
        "workspace_id",
        "network",
        "remote_id",
        "name",
        "cadence_hours",
        "settings",
        "credentials_encrypted",
        "base_url",
        "last_error_job",
    ),
)
#: ChannelAccess by channel id, with the stored values it was made from: decrypting the
#: credentials and checking the settings is done again only when those values change.
_HOOK_ACCESS: dict[int, tuple[tuple[object, ...], ChannelAccess]] = {}
_HOOK_ACCESS_MAX = 10_000
#: How long a channel's row, read for one webhook delivery, answers the next ones in this process
#: (seconds). A network sends a channel's events one request each, hundreds a second at peak: one
#: read a second instead of one a request. A change saved in this process counts at once
#: (:func:`forget_hook_row`, on every save and delete of a channel); one saved by another
#: process (another web process, the CLI) counts within this time. What a delivery accepted in
#: that second leads to is what a delivery accepted just before the change leads to: its events
#: are stored on the channel as it was (a removed channel's stay with it, hidden with it).
HOOK_ROW_TTL_S = 1.0
_HOOK_ROWS: dict[tuple[int, str], tuple[float, tuple[Any, ...]]] = {}


def _seconds() -> float:
    """The clock :data:`HOOK_ROW_TTL_S` is counted on (monotonic)."""
    return time.monotonic()


def forget_hook_row(channel_id: int) -> None:
    """Drop what :func:`hook_target` remembers of a channel (called when it is saved or deleted)."""
    for key in [k for k in _HOOK_ROWS if k[0] == channel_id]:
        _HOOK_ROWS.pop(key, None)


def _hook_row(channel_id: int, network: str) -> tuple[Any, ...] | None:
    key = (channel_id, network)
    now = _seconds()
    cached = _HOOK_ROWS.get(key)
    if cached is not None and now - cached[0] < HOOK_ROW_TTL_S:
        return cached[1]
    row = _HOOK_ROW.first(channel_id, network)
    if row is None:
        _HOOK_ROWS.pop(key, None)  # misses are not kept: a URL guessed at costs its own read
        return None
    if len(_HOOK_ROWS) >= _HOOK_ACCESS_MAX:
        _HOOK_ROWS.clear()
    _HOOK_ROWS[key] = (now, row)
    return row


def hook_target(network: str, channel_id: int, token: str) -> HookTarget | None:
    """:func:`hook_channel` and :func:`access_for` in one query, for the webhook intake's hot
    path: the live channel a webhook URL names if its secret matches (compared in constant time),
    with what its adapter needs. The row is read at most once in :data:`HOOK_ROW_TTL_S` per
    process and channel (a change saved here counts at once, elsewhere within that time); the
    decrypted credentials are kept while the stored ones are unchanged."""
    row = _hook_row(channel_id, network)
    if row is None:
        return None
    stored = _stored_settings(row[6])
    expected = str(stored.get("hook_token") or "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return None
    ref = ChannelRef(*row[:6])
    made_from = (row[2], row[3], row[6], row[7], row[8])
    cached = _HOOK_ACCESS.get(ref.id)
    if cached is not None and cached[0] == made_from:
        return HookTarget(ref, cached[1], "", row[9])
    channel = Channel(
        pk=ref.id,
        network=row[2],
        remote_id=row[3],
        settings=row[6],
        credentials_encrypted=row[7],
        base_url=row[8],
    )
    try:
        made = access(channel)
    except ChannelError as exc:
        return HookTarget(ref, None, exc.message, row[9])
    if len(_HOOK_ACCESS) >= _HOOK_ACCESS_MAX:
        _HOOK_ACCESS.clear()
    _HOOK_ACCESS[ref.id] = (made_from, made)
    return HookTarget(ref, made, "", row[9])


@dataclass(frozen=True)
class JobChannel:
    """An active channel as a periodic job (inbox polling, metric collection) picks it."""

    id: int
    network: str
    last_error_job: str  # the job that last failed on it ('' when none)
    last_error_at: dt.datetime | None
    workspace_id: int = 0


def active_channels(networks: Iterable[str]) -> list[JobChannel]:
    """Every workspace's active channels on these networks, in the order they were connected."""
    return [
        JobChannel(*row)
        for row in Channel.live.filter(status=Channel.Status.ACTIVE, network__in=list(networks))
        .order_by("id")
        .values_list("pk", "network", "last_error_job", "last_error_at", "workspace_id")
    ]


def get_channel(workspace_id: int, channel_id: int) -> Channel:
    channel = Channel.live.filter(workspace_id=workspace_id, pk=channel_id).first()
    if channel is None:
        raise ChannelError(_("No such channel."), status=404)
    return channel


#: The setting :func:`access` adds: the channel's id, for :func:`rotate_stored_credentials`.
CHANNEL_ID_SETTING = "rupor_channel_id"


def access(channel: Channel) -> ChannelAccess:
    """What an adapter needs to act for this channel (credentials decrypted in memory only).

    Raises :class:`ChannelError` (field ``settings.<key>``) when a stored setting does not fit
    the schema (written by an older version or by hand): only this channel stops, with a reason.
    """
    try:
        settings = options.check_stored(channel.settings)
    except options.SettingError as exc:
        raise ChannelError(
            _(
                "This channel's settings need fixing: %(problem)s Saving the channel resets what is wrong to the default."
            )
            % {"problem": exc.message},
            exc.field,
            422,
        ) from exc
    if channel.pk is not None:  # where rotated credentials go back to (rotate_stored_credentials)
        settings = {**settings, CHANNEL_ID_SETTING: channel.pk}
    return ChannelAccess(
        network=channel.network,
        remote_id=channel.remote_id,
        credentials=channel.get_credentials(),
        base_url=channel.base_url or None,
        settings=settings,
    )


def access_from_stored(
    *,
    network: str,
    remote_id: str,
    base_url: str,
    settings: Any,
    credentials_encrypted: str,
    channel_id: int | None = None,
) -> ChannelAccess:
    """:func:`access` for a channel's stored values read with another query (the publishing
    engine reads a claimed batch's channels in the same one as its targets)."""
    return access(
        Channel(
            pk=channel_id,
            network=network,
            remote_id=remote_id,
            base_url=base_url,
            settings=settings,
            credentials_encrypted=credentials_encrypted,
        )
    )


def visible_settings(channel: Channel) -> dict[str, Any]:
    """The channel's settings as people may see them (Rupor's own secrets left out)."""
    stored = channel.settings if isinstance(channel.settings, Mapping) else {}
    return {k: v for k, v in stored.items() if k not in options.INTERNAL_KEYS}


def _clean_settings(
    values: Mapping[str, Any] | None, keep: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    try:
        return options.clean_settings(values, keep=keep)
    except options.SettingError as exc:
        raise ChannelError(exc.message, exc.field) from exc


def _secret_fields(network: str, stored: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, label) of each credential field that is a secret; without an adapter, every stored one."""
    if network in registry.available():
        return [(f.name, str(f.label)) for f in registry.adapter(network).credential_fields if f.secret]
    return [(name, name) for name in sorted(stored)]


def _require_secrets_for_new_address(channel: Channel, new_creds: Mapping[str, Any] | None) -> None:
    """A stored secret goes only to the address it was entered for: a new base URL needs every
    secret field entered again, whatever the entry point and whether or not it verifies."""
    given = {str(k) for k, v in (new_creds or {}).items() if str(v).strip()}
    stored = channel.get_credentials()
    # A secret that was never stored (an optional one) cannot travel; every stored one must be new.
    missing = [
        (name, label)
        for name, label in _secret_fields(channel.network, stored)
        if stored.get(name, "").strip() and name not in given
    ]
    if missing:
        raise ChannelError(
            _(
                "A new API base URL needs the secrets entered again, so the stored ones are never sent to another "
                "address: %(fields)s."
            )
            % {"fields": ", ".join(label for _name, label in missing)},
            f"credentials.{missing[0][0]}",
        )


def _validate_base_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    problem = url_problem(url, max_length=300)
    if problem:
        raise ChannelError(problem, "base_url")
    return url.rstrip("/")


#: Credentials Rupor itself keeps beside those a person enters (never asked for in a form): when a
#: renewed access token expires, which refresh token it was renewed from, which refresh token a
#: held channel was last retried with, and which end date its owner was warned of.
INTERNAL_CREDENTIALS = frozenset({"expires_at", "rotated_from", "refresh_tried_with", "expiry_warned_for"})


def _validate_credentials(network: str, credentials: Mapping[str, str] | None) -> dict[str, str]:
    creds = {str(k): str(v) for k, v in (credentials or {}).items()}
    if network in registry.NETWORKS:
        try:
            adapter = registry.adapter(network)
        except (ImportError, AttributeError):
            return creds
        known = {f.name for f in adapter.credential_fields} | adapter.managed_credentials
        for field in adapter.credential_fields:
            if field.required and not creds.get(field.name, "").strip():
                raise ChannelError(
                    _("%(field)s is required to connect %(network)s.")
                    % {"field": field.label, "network": adapter.display_name},
                    f"credentials.{field.name}",
                )
        unknown = set(creds) - known - INTERNAL_CREDENTIALS
        if unknown and known:
            raise ChannelError(
                _("Unknown credential field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                "credentials",
            )
    return creds


def _verify(network: str, probe: ChannelAccess) -> ChannelInfo | None:
    if network not in registry.available():
        return None
    try:
        info = registry.adapter(network).verify(probe)
    except NetworkError as exc:
        raise ChannelError(exc.message, "credentials", 422) from exc
    except network_errors.SHAPE_ERRORS as exc:
        # An answer of a shape the adapter did not expect (not the network's API, or a changed
        # one): refuse plainly instead of failing the request.
        failure = network_errors.as_network_error(exc, registry.DISPLAY_NAMES.get(network, network))
        raise ChannelError(failure.message, "base_url", 422) from exc
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
    settings = _clean_settings(data.settings)
    remote_id = (data.remote_id or "").strip()
    info: ChannelInfo | None = None
    if verify:
        probe = ChannelAccess(data.network, remote_id, creds, base_url or None, dict(settings))
        info = _verify(data.network, probe)
    if info is not None and not remote_id:
        remote_id = info.remote_id
    if not remote_id:
        raise ChannelError(_("The remote id (community, chat or group id) is required."), "remote_id")
    name = (data.name or (info.name if info else "") or remote_id).strip()[:120]
    channel = Channel(
        workspace_id=actor.workspace_id,
        network=data.network,
        name=name,
        remote_id=remote_id[:120],
        base_url=base_url,
        settings=settings,
        color=data.color or "",
        cadence_hours=data.cadence_hours,
    )
    channel.set_credentials(creds)
    if info is not None:
        channel.verified_at = clock.now()
        channel.status_message = " ".join(info.notes)[:300]
        _cache_limits(channel, info)
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise ChannelError(
            _("This account is already connected in this workspace."), "remote_id", 409
        ) from exc
    accounts.record(actor.workspace_id, actor, "channel.connect", "channel", channel.pk, str(channel))
    return channel


def update(
    actor: accounts.Actor, channel_id: int, changes: Mapping[str, Any], *, verify: bool = True
) -> Channel:
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = get_channel(actor.workspace_id, channel_id)
    reverify = False
    if "name" in changes and changes["name"] is not None:
        name = str(changes["name"]).strip()
        if not name:
            raise ChannelError(_("The display name cannot be empty."), "name")
        channel.name = name[:120]
    if "base_url" in changes and changes["base_url"] is not None:
        base_url = _validate_base_url(changes["base_url"])
        if base_url != channel.base_url:
            _require_secrets_for_new_address(channel, changes.get("credentials"))
            channel.base_url = base_url
            reverify = True
    if changes.get("credentials") is not None:
        merged = {**channel.get_credentials(), **{str(k): str(v) for k, v in changes["credentials"].items()}}
        managed = (
            registry.adapter(channel.network).managed_credentials
            if channel.network in registry.NETWORKS
            else frozenset()
        )
        merged = {k: v for k, v in merged.items() if k not in managed}  # a new login: the old session goes
        channel.set_credentials(_validate_credentials(channel.network, merged))
        reverify = True
    settings_changed = _save_settings(channel, changes.get("settings"))
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
            _cache_limits(channel, info)
    if reverify or settings_changed:
        # A person changed what the jobs use: let them try again at their next pass.
        channel.last_error, channel.last_error_at, channel.last_error_job = "", None, ""
    channel.updated_at = clock.now()
    channel.save()
    accounts.record(actor.workspace_id, actor, "channel.update", "channel", channel.pk, str(channel))
    if reverify and channel.status == Channel.Status.ACTIVE:
        channel_reconnected.send(sender=Channel, channel_id=channel.pk)
    if settings_changed and channel.status == Channel.Status.ACTIVE:
        channel_settings_fixed.send(sender=Channel, channel_id=channel.pk)
    return channel


def _cache_limits(channel: Channel, info: ChannelInfo) -> None:
    """Keep the limits the channel's own server stated (a Mastodon instance's) on the channel,
    where the composer and the checks read them (``Adapter.limits_for``); refreshed on every verify."""
    stored = dict(channel.settings) if isinstance(channel.settings, Mapping) else {}
    if info.limits:
        stored[LIMITS_SETTING] = dict(info.limits)
    else:
        stored.pop(LIMITS_SETTING, None)
    channel.settings = stored


def _save_settings(channel: Channel, values: Mapping[str, Any] | None) -> bool:
    """Put the settings a save writes on ``channel``: ``values`` (``None``: none given) over what
    is stored. Saving a channel (from any entry point) drops stored settings the schema does not
    accept, such as those an older version wrote: the adapters' defaults apply again. True when
    something was repaired or settings were given."""
    stored = channel.settings if isinstance(channel.settings, Mapping) else {}
    kept = {k: v for k, v in stored.items() if k in options.INTERNAL_KEYS or _fits(k, v)}
    repaired = kept != channel.settings
    channel.settings = kept
    if values is not None:
        channel.settings = _clean_settings(values, keep=kept)
    return repaired or values is not None


def _fits(key: str, value: Any) -> bool:
    if key not in options.OPTIONS:
        return False
    try:
        options.check_stored({key: value})
    except options.SettingError:
        return False
    return True


def remove(actor: accounts.Actor, channel_id: int) -> None:
    _require(actor, Perm.CHANNELS_MANAGE)
    channel = get_channel(actor.workspace_id, channel_id)
    label = str(channel)
    if channel.variants.exists():
        # Posts planned or published on it keep their history: archive instead of deleting,
        # and stop anything that has not gone out yet.
        channel_archived.send(
            sender=Channel,
            channel_id=channel.pk,
            variant_ids=list(channel.variants.values_list("pk", flat=True)),
            actor=actor.label,
        )
        channel.status = Channel.Status.ARCHIVED
        channel.credentials_encrypted = ""
        channel.updated_at = clock.now()
        channel.save(update_fields=["status", "credentials_encrypted", "updated_at"])
    else:
        channel.delete()
    accounts.record(actor.workspace_id, actor, "channel.remove", "channel", channel_id, label)


def needs_reconnect(channel_id: int, message: str) -> None:
    """Called by the engine when credentials expired: hold the channel, ask a person."""
    Channel.objects.filter(pk=channel_id).update(
        status=Channel.Status.RECONNECT, status_message=message[:300], updated_at=clock.now()
    )


@dataclass(frozen=True)
class CredentialCheck:
    """What :func:`check_credentials` found and did for one channel."""

    channel_id: int
    workspace_id: int
    name: str
    network: str
    refreshed: bool
    connection_ends: dt.datetime | None
    #: Tell the channel's people now that the connection ends soon (once per end date).
    warn: bool
    #: The connection has ended: the channel now needs reconnecting.
    expired: bool
    #: Who connected the channel (still a member), to be told first.
    owner_id: int | None


def unreadable_credentials() -> list[str]:
    """Names of live channels whose stored credentials the configured keys cannot decrypt (after a
    restore: the secret key did not come along). Nothing decrypted leaves this function."""
    unreadable = []
    for channel in Channel.live.exclude(credentials_encrypted="").only("pk", "name", "credentials_encrypted"):
        try:
            channel.get_credentials()
        except (crypto.DecryptionError, ValueError):
            unreadable.append(channel.name or f"#{channel.pk}")
    return unreadable


def renewable_channels() -> list[int]:
    """Live channels of networks whose credentials expire (``Capability.REFRESH``), held ones
    included (a refresh may bring one back)."""
    networks = [n for n in registry.available() if Capability.REFRESH in registry.adapter(n).capabilities]
    return list(Channel.live.filter(network__in=networks).values_list("pk", flat=True))


def check_credentials(
    channel_id: int, now: dt.datetime, *, refresh_ahead: dt.timedelta, warn_ahead: dt.timedelta
) -> CredentialCheck | None:
    """Renew the channel's access token when it ends within ``refresh_ahead`` and say whether its
    people should be warned that the connection itself ends within ``warn_ahead``.

    The channel's row stays locked while this runs (``SELECT ... FOR UPDATE``): two workers never
    refresh the same channel at once, and the rotated tokens are stored before anyone reads the
    old ones again. A refused refresh (the refresh token expired or was revoked) raises
    :class:`AuthExpired`; the caller holds the channel for reconnection. A channel already held
    for reconnection is tried once per refresh token: when that works, it is active again and its
    held posts are released (``channel_reconnected``).
    """
    with transaction.atomic():
        channel = Channel.live.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            return None
        adapter = registry.adapter(channel.network)
        creds = channel.get_credentials()
        held = channel.status == Channel.Status.RECONNECT
        if held and (not creds.get("refresh_token") or creds.get(_TRIED) == creds.get("refresh_token")):
            return None
        access_end = adapter.access_expires(creds)
        due = held or (access_end is not None and access_end - now <= refresh_ahead)
        refreshed = False
        if due:
            try:
                new = adapter.refresh(access(channel))
            except network_errors.AuthExpired:
                if not held:
                    raise
                creds[_TRIED] = creds.get("refresh_token", "")
                channel.set_credentials(creds)
                channel.save(update_fields=["credentials_encrypted"])
                return None
            if new is not None:
                creds = {k: str(v) for k, v in new.items()}
                refreshed = True
        ends = adapter.connection_expires(creds)
        expired = ends is not None and ends <= now
        warn = False
        if (
            ends is not None
            and not expired
            and ends - now <= warn_ahead
            and creds.get(_WARNED) != ends.isoformat()
        ):
            creds[_WARNED] = ends.isoformat()
            warn = True
        fields = []
        if refreshed or warn:
            channel.set_credentials(creds)
            fields += ["credentials_encrypted", "updated_at"]
        reconnected = held and refreshed and not expired
        if reconnected:
            channel.status, channel.status_message = Channel.Status.ACTIVE, ""
            fields += ["status", "status_message", "updated_at"]
            transaction.on_commit(lambda: channel_reconnected.send(sender=Channel, channel_id=channel_id))
        if fields:
            channel.updated_at = now
            channel.save(update_fields=sorted(set(fields)))
        return CredentialCheck(
            channel.pk,
            channel.workspace_id,
            channel.name,
            channel.network,
            refreshed,
            ends,
            warn,
            expired and not held,
            accounts.done_by(channel.workspace_id, "channel.connect", "channel", channel.pk)
            if warn
            else None,
        )


#: Kept among a channel's credentials: the refresh token a held channel was last tried with.
_TRIED = "refresh_tried_with"
#: Kept among a channel's credentials: the connection end its people were warned about.
_WARNED = "expiry_warned_for"


def record_job_error(channel_id: int, job: str, message: str) -> None:
    """A periodic job (``inbox`` polling, ``metrics`` collection) failed on this channel: keep the
    reason where people see it (channel list, publishing page, API) until the job succeeds."""
    Channel.objects.filter(pk=channel_id).update(
        last_error=str(message)[:500],
        last_error_at=clock.now(),
        last_error_job=job[:40],
    )
    forget_hook_row(channel_id)


def clear_job_error(channel_id: int, job: str) -> None:
    """The job succeeded on this channel: forget the failure it recorded (not another job's)."""
    Channel.objects.filter(pk=channel_id, last_error_job=job).update(
        last_error="", last_error_at=None, last_error_job=""
    )
    forget_hook_row(channel_id)


def channel_addresses(networks: Iterable[str], workspace_id: int | None = None) -> list[tuple[str, str]]:
    """``(network, API base URL)`` of each live channel on these networks (one workspace's, or
    every one's); the base URL is ``""`` for a channel that talks to the network itself."""
    rows = Channel.live.filter(network__in=list(networks))
    if workspace_id is not None:
        rows = rows.filter(workspace_id=workspace_id)
    return [
        (network, base_url) for network, base_url in rows.order_by("id").values_list("network", "base_url")
    ]


def channels_with_errors(workspace_id: int | None = None) -> QuerySet[Channel]:
    """Live channels whose last periodic job failed, newest failure first (``None``: every workspace)."""
    qs = Channel.live.exclude(last_error="").order_by("-last_error_at", "pk")
    return qs if workspace_id is None else qs.filter(workspace_id=workspace_id)


def rotate_stored_credentials(
    probe: ChannelAccess, renew: Callable[[Mapping[str, str]], Mapping[str, str] | None]
) -> Mapping[str, str] | None:
    """Renew a channel's rotating credentials with its rows locked, so no two workers renew at once
    and a refresh token that works once (X) or a session (Bluesky) is used once.

    The rows renewed together: the channel the access was made for (:data:`CHANNEL_ID_SETTING`),
    and every live channel of the same account whose stored refresh token is the one ``probe``
    started from, or already its successor (one X account connected in several workspaces shares
    a refresh token). Installed as the networks' credential store
    (:func:`rupor.networks.base.install_credential_store`)."""
    mine = str(probe.credentials.get("refresh_token", ""))
    own_pk = probe.settings.get(CHANNEL_ID_SETTING)
    if own_pk is None and not mine:
        return None  # a probe before connecting shares nothing stored: the process keeps it
    with transaction.atomic():
        rows = list(
            Channel.live.select_for_update()
            .filter(network=probe.network, remote_id=probe.remote_id)
            .order_by("pk")
        )
        stored = [(row, row.get_credentials()) for row in rows]
        ours = [
            (row, creds)
            for row, creds in stored
            if row.pk == own_pk
            or (
                mine
                and (
                    creds.get("refresh_token") == mine
                    or creds.get("rotated_from") == hashlib.sha256(mine.encode()).hexdigest()
                )
            )
        ]
        ours.sort(key=lambda pair: pair[0].pk != own_pk)  # the access's own row first
        current: Mapping[str, str] = ours[0][1] if ours else probe.credentials
        fresh = renew(current)
        if fresh is None:
            return current
        updated = dict(fresh)
        if current.get("refresh_token"):
            updated["rotated_from"] = hashlib.sha256(str(current["refresh_token"]).encode()).hexdigest()
        for row, _creds in ours:
            row.set_credentials(updated)
            row.updated_at = clock.now()
            row.save(update_fields=["credentials_encrypted", "updated_at"])
        return updated
