"""Instagram into the inbox: comments and their replies under a published post arrive by polling,
are answered as replies on Instagram, and hidden there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.core import clock, http
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks import registry
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.networks.graph import wire as graph
from rupor.networks.instagram import emulator as emu
from rupor.networks.instagram import testing as ig
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import PublicationTarget, TargetState


@pytest.fixture
def em() -> Iterator[RunningEmulator]:
    running = ig.start(rate_limits=False)
    yield running
    running.stop()


def _comment_on_network(em: RunningEmulator, comment_id: str) -> Any:
    with http.client(base_url=em.url, timeout=5) as c:
        return c.get(
            f"/{graph.VERSION}/{comment_id}",
            params={"fields": "hidden"},
            headers={"Authorization": f"Bearer {emu.DEMO_TOKEN}"},
        ).json()


def test_comments_and_replies_arrive_and_are_answered_and_hidden(db: Any, em: RunningEmulator) -> None:
    owner = accounts.create_user("owner@example.com", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    access = ig.channel_for(em)
    channel = connect(ws, access)
    target = publishing_testing.schedule(channel, "Our new cup")
    published = registry.adapter("instagram").publish(
        access,
        PublishRequest(Content(text="Our new cup", media=(ig.photo(),)), uuid.uuid4().hex),
        MemoryProgress(),
    )
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.PUBLISHED, remote_id=published.remote_id, published_at=clock.now()
    )
    question = ig.audience_comment(em, published.remote_id, "Is it dishwasher safe?")
    follow_up = ig.audience_comment(em, published.remote_id, "Same question!", reply_to=question)

    inbox.poll_channel(channel.pk)
    items = {i.remote_id: i for i in InboxItem.objects.filter(channel=channel)}
    assert set(items) == {question, follow_up}
    assert items[question].text == "Is it dishwasher safe?"
    assert items[question].author_name == emu.AUDIENCE[0][1]

    inbox.reply(actor, items[question].pk, "Yes, it is!")
    replies = [c.text for c in registry.adapter("instagram").read_comments(access, published.remote_id)]
    assert "Yes, it is!" in replies

    inbox.hide(actor, items[follow_up].pk)
    assert _comment_on_network(em, follow_up)["hidden"] is True

    inbox.poll_channel(channel.pk)  # read again: nothing twice
    assert InboxItem.objects.filter(channel=channel, remote_id__in=[question, follow_up]).count() == 2
