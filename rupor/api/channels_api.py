"""Channels: the networks Rupor knows (and what connecting each needs), connected channels."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from rupor.accounts.roles import Perm
from rupor.api import schemas as s
from rupor.api.auth import need
from rupor.api.errors import ERRORS
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import registry

router = Router()


@router.get(
    "/networks",
    response={200: list[s.NetworkOut], **ERRORS},
    tags=["channels"],
    summary="Networks, what each can do, and what connecting needs",
)
def list_networks(request: HttpRequest) -> Any:
    need(request, Perm.CHANNELS_VIEW)
    available = set(registry.available())
    out = []
    for key, name in registry.DISPLAY_NAMES.items():
        if key in available:
            adapter = registry.adapter(key)
            limits = {
                k: (v.total_seconds() if isinstance(v, dt.timedelta) else v)
                for k, v in dataclasses.asdict(adapter.limits).items()
            }
            out.append(
                {
                    "key": key,
                    "name": name,
                    "available": True,
                    "capabilities": sorted(c.value for c in adapter.capabilities),
                    "credential_fields": [
                        {
                            **dataclasses.asdict(f),
                            "label": str(f.label),
                            "help": str(f.help),
                        }  # lazy translations
                        for f in adapter.credential_fields
                    ],
                    "limits": limits,
                }
            )
        else:
            out.append(
                {
                    "key": key,
                    "name": name,
                    "available": False,
                    "capabilities": [],
                    "credential_fields": [],
                    "limits": {},
                }
            )
    return out


def _channel_out(c: Channel) -> dict[str, Any]:
    return {
        "id": c.pk,
        "network": c.network,
        "name": c.name,
        "remote_id": c.remote_id,
        "base_url": c.base_url,
        "status": c.status,
        "status_message": c.status_message,
        "color": c.color,
        "cadence_hours": c.cadence_hours,
        "has_credentials": bool(c.credentials_encrypted),
        "verified_at": c.verified_at,
        "created_at": c.created_at,
        "settings": channels.visible_settings(c),
        "last_error": c.last_error,
        "last_error_at": c.last_error_at,
        "last_error_job": c.last_error_job,
    }


@router.get(
    "/channels", response={200: list[s.ChannelOut], **ERRORS}, tags=["channels"], summary="Connected channels"
)
def list_channels(request: HttpRequest) -> Any:
    who = need(request, Perm.CHANNELS_VIEW)
    return [_channel_out(c) for c in channels.list_channels(who.workspace_id)]


@router.post(
    "/channels",
    response={201: s.ChannelOut, **ERRORS},
    tags=["channels"],
    summary="Connect a channel (credentials are verified against the network)",
)
def create_channel(request: HttpRequest, payload: s.ChannelIn) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    data = channels.ChannelInput(
        network=payload.network,
        name=payload.name,
        remote_id=payload.remote_id,
        credentials=payload.credentials,
        base_url=payload.base_url,
        settings=payload.settings,
        color=payload.color,
        cadence_hours=payload.cadence_hours,
    )
    return Status(201, _channel_out(channels.connect(who, data, verify=payload.verify)))


@router.get(
    "/channels/{channel_id}", response={200: s.ChannelOut, **ERRORS}, tags=["channels"], summary="One channel"
)
def get_channel(request: HttpRequest, channel_id: int) -> Any:
    who = need(request, Perm.CHANNELS_VIEW)
    return _channel_out(channels.get_channel(who.workspace_id, channel_id))


@router.patch(
    "/channels/{channel_id}",
    response={200: s.ChannelOut, **ERRORS},
    tags=["channels"],
    summary="Rename, reconnect or pause a channel",
)
def patch_channel(request: HttpRequest, channel_id: int, payload: s.ChannelPatch) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    changes = payload.dict(exclude_unset=True)
    verify = changes.pop("verify", True)
    return _channel_out(channels.update(who, channel_id, changes, verify=verify))


@router.delete(
    "/channels/{channel_id}",
    response={204: None, **ERRORS},
    tags=["channels"],
    summary="Remove a channel (its published history is kept)",
)
def delete_channel(request: HttpRequest, channel_id: int) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    channels.remove(who, channel_id)
    return Status(204, None)
