"""Rotated credentials (the Bluesky session) go back to the channel's encrypted credentials under
its row lock, so every worker and process shares one session and a login happens once."""

from __future__ import annotations

import uuid

import pytest

from rupor.accounts.models import Workspace
from rupor.channels import service
from rupor.channels.models import Channel
from rupor.networks import base
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.bluesky import testing
from rupor.networks.bluesky.adapter import BlueskyAdapter


@pytest.fixture
def running():
    emulator = testing.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _logins(emulator) -> int:
    return sum(1 for e in testing.ledger(emulator) if e["kind"] == "session_created")


@pytest.mark.django_db(transaction=True)
def test_the_session_is_stored_on_the_channel_and_shared(running):
    assert base._credential_store is service.rotate_stored_credentials  # installed by the channels app
    ws = Workspace.objects.create(name="W", slug=f"w-{uuid.uuid4().hex[:6]}")
    access = testing.channel_for(running)
    channel = Channel(
        workspace=ws, network="bluesky", name="B", remote_id=access.remote_id, base_url=access.base_url or ""
    )
    channel.set_credentials(dict(access.credentials))
    channel.save()
    request = PublishRequest(Content(text="stored session"), idempotency_key=uuid.uuid4().hex)
    BlueskyAdapter().publish(service.access(channel), request, MemoryProgress())
    channel.refresh_from_db()
    stored = channel.get_credentials()
    assert "accessJwt" in stored["session"]
    assert stored["app_password"] == testing.demo_credentials()["app_password"]
    # Another process (a fresh adapter, the channel read again) uses the stored session.
    BlueskyAdapter().publish(
        service.access(channel),
        PublishRequest(Content(text="second"), idempotency_key=uuid.uuid4().hex),
        MemoryProgress(),
    )
    assert _logins(running) == 1
    # The stored session passes the credential check (it is the adapter's own field).
    assert service._validate_credentials("bluesky", stored) == stored
    assert service.access(channel).settings[service.CHANNEL_ID_SETTING] == channel.pk
