"""The token-renewal job: LinkedIn's access token renewed ahead of its end under the channel's
lock, the owner warned a week before the connection ends, and the channel held once it has."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks.linkedin import emulator as emu
from rupor.networks.linkedin import testing as linkedin
from rupor.notifications.models import Notification
from rupor.publishing import testing, tokens


@pytest.fixture(scope="module")
def em():
    running = linkedin.start(rate_limits=False)
    yield running
    running.stop()


def _channel(em, make_workspace, make_user, **creds):
    owner, other = make_user(), make_user()
    ws = make_workspace(owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, other.email, "editor")
    access = linkedin.channel_for(em)
    ch = testing.channel(ws, linkedin.channel_for(em, credentials={**access.credentials, **creds}))
    AuditEntry.objects.create(
        workspace=ws, actor=owner, action="channel.connect", object_type="channel", object_id=str(ch.pk)
    )
    return ch, owner, other


@pytest.mark.django_db
def test_an_access_token_near_its_end_is_renewed_and_stored(em, make_workspace, make_user):
    now = clock.now()
    ch, _owner, _other = _channel(
        em, make_workspace, make_user, access_token_expires_at=(now + dt.timedelta(days=3)).isoformat()
    )
    assert tokens.run_due(now) == 1
    creds = Channel.objects.get(pk=ch.pk).get_credentials()
    assert creds["access_token"] != emu.DEMO_TOKEN
    assert dt.datetime.fromisoformat(creds["access_token_expires_at"]) > now + dt.timedelta(days=59)
    assert Notification.objects.filter(kind=tokens.EVENT).count() == 0  # the refresh token has a year left
    assert tokens.run_due(now) == 0  # nothing more to do


@pytest.mark.django_db
def test_the_owner_is_warned_once_a_week_before_the_connection_ends(em, make_workspace, make_user):
    now = clock.now()
    ch, owner, other = _channel(
        em, make_workspace, make_user, refresh_token_expires_at=(now + dt.timedelta(days=6)).isoformat()
    )
    assert tokens.run_due(now) == 1
    warned = list(Notification.objects.filter(kind=tokens.EVENT))
    assert [n.user_id for n in warned] == [owner.pk]
    assert "LinkedIn" in warned[0].body and "Reconnect" in warned[0].body
    assert other.pk not in [n.user_id for n in warned]
    assert tokens.run_due(now + dt.timedelta(hours=1)) == 0  # once per end date
    assert Notification.objects.filter(kind=tokens.EVENT).count() == 1
    del ch


@pytest.mark.django_db
def test_an_ended_connection_or_refused_refresh_holds_the_channel(em, make_workspace, make_user):
    now = clock.now()
    ended, _o, _x = _channel(
        em, make_workspace, make_user, refresh_token_expires_at=(now - dt.timedelta(days=1)).isoformat()
    )
    refused, _o2, _x2 = _channel(
        em,
        make_workspace,
        make_user,
        refresh_token="revoked",
        access_token_expires_at=(now + dt.timedelta(days=1)).isoformat(),
    )
    tokens.run_due(now)
    for ch in (ended, refused):
        row = Channel.objects.get(pk=ch.pk)
        assert row.status == Channel.Status.RECONNECT
        assert "reconnect LinkedIn" in row.status_message


@pytest.mark.django_db
def test_a_held_channel_whose_refresh_works_is_active_again(em, make_workspace, make_user):
    now = clock.now()
    held, _o, _x = _channel(em, make_workspace, make_user, access_token=emu.EXPIRED_TOKEN)
    Channel.objects.filter(pk=held.pk).update(status=Channel.Status.RECONNECT, status_message="expired")
    refused, _o2, _x2 = _channel(em, make_workspace, make_user, refresh_token="revoked")
    Channel.objects.filter(pk=refused.pk).update(status=Channel.Status.RECONNECT)
    before = len(em.app.emulator.ledger)
    tokens.run_due(now)
    assert [e["kind"] for e in em.app.emulator.ledger[before:]] == ["token_refreshed", "token_refused"]
    back = Channel.objects.get(pk=held.pk)
    assert back.status == Channel.Status.ACTIVE and back.status_message == ""
    assert back.get_credentials()["access_token"] != emu.EXPIRED_TOKEN
    assert Channel.objects.get(pk=refused.pk).status == Channel.Status.RECONNECT
    before = len(em.app.emulator.ledger)
    tokens.run_due(now)  # the refused refresh token is not tried again
    assert [e for e in em.app.emulator.ledger[before:] if e["kind"] == "token_refused"] == []
