"""Helpers for inbox and analytics tests: a channel on an emulator, a post Rupor published there."""

from __future__ import annotations

import uuid
from typing import Any

from rupor.accounts.models import Workspace
from rupor.channels.models import Channel
from rupor.core import clock, http
from rupor.networks import registry
from rupor.networks.base import ChannelAccess, Content, MemoryProgress, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import PublicationTarget, TargetState


def connect(ws: Workspace, access: ChannelAccess, name: str = "") -> Channel:
    return publishing_testing.channel(ws, access, name=name)


def publish(channel: Channel, access: ChannelAccess, text: str) -> PublicationTarget:
    """Publish ``text`` through the adapter and record it as a published target of a Rupor post."""
    target = publishing_testing.schedule(channel, text)
    key = uuid.uuid4().hex
    published = registry.adapter(channel.network).publish(
        access, PublishRequest(Content(text=text), key), MemoryProgress()
    )
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.PUBLISHED,
        remote_id=published.remote_id,
        published_at=published.published_at or clock.now(),
    )
    target.refresh_from_db()
    return target


def ledger(emulator: RunningEmulator) -> list[dict[str, Any]]:
    with http.client(base_url=emulator.url, timeout=5) as client:
        data: Any = client.get("/_emulator/ledger").json()
    return list(data)
