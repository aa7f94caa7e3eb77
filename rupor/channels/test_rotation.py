"""Rotating credentials (X's refresh token works once) are renewed once and stored on every row."""

from __future__ import annotations

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.channels import service
from rupor.channels.models import Channel
from rupor.networks import base
from rupor.networks.x import emulator as emu
from rupor.networks.x import testing
from rupor.networks.x.adapter import XAdapter


@pytest.fixture
def x_emulator():
    running = testing.start()
    yield running
    running.stop()
    base._rotated.clear()


def _connect(slug: str, running) -> Channel:
    user = accounts.create_user(f"{slug}@example.com", "a-long-password-1")
    ws = accounts.create_workspace(slug, user)
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    return service.connect(
        actor,
        service.ChannelInput(
            network="x",
            remote_id=testing.DEMO_REMOTE_ID,
            credentials={**testing.demo_credentials(), "access_token": emu.EXPIRED_TOKEN},
            base_url=running.url,
        ),
        verify=False,
    )


@pytest.mark.django_db
def test_a_renewal_is_stored_on_every_channel_that_held_the_old_refresh_token(x_emulator):
    first, second = _connect("alpha", x_emulator), _connect("beta", x_emulator)
    adapter = XAdapter()
    info = adapter.verify(service.access_for(first.pk))  # expired: renewed, then verified
    assert info.remote_id == testing.DEMO_REMOTE_ID
    stored = [Channel.objects.get(pk=c.pk).get_credentials() for c in (first, second)]
    assert stored[0]["refresh_token"] == stored[1]["refresh_token"] != emu.DEMO_REFRESH_TOKEN
    assert stored[0]["access_token"] != emu.EXPIRED_TOKEN
    assert stored[0]["expires_at"]
    # A worker still holding the old pair (read before the renewal) takes the stored one instead of
    # spending a refresh token again.
    base._rotated.clear()
    stale = service.access_for(second.pk)
    stale = type(stale)(
        stale.network,
        stale.remote_id,
        {**testing.demo_credentials(), "access_token": emu.EXPIRED_TOKEN},
        stale.base_url,
    )
    adapter.verify(stale)
    refreshed = [e for e in x_emulator.app.emulator.ledger if e["kind"] == "token_refreshed"]
    assert len(refreshed) == 1
    # Saving the channel later keeps working: Rupor's own bookkeeping is not an unknown field.
    user = User.objects.get(email="alpha@example.com")
    owner = accounts.actor_for_user(user, first.workspace)
    assert owner is not None
    service.update(
        owner, first.pk, {"name": "Renamed", "credentials": {"client_id": emu.DEMO_CLIENT_ID}}, verify=False
    )
