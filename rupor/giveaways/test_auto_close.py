"""The worker closes a giveaway when its entries end and draws it once the named drand round is
out, against the VK and drand emulators: nothing early, each step once however many workers
pass, a person acting meanwhile wins without a second list or draw, a round the relay does not
have yet is waited for (and said), and a giveaway whose round came first is left to a person."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from rupor.accounts.models import AuditEntry
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.core import clock
from rupor.giveaways import service
from rupor.giveaways import testing as gv_testing
from rupor.giveaways.models import Giveaway
from rupor.inbox.testing import connect
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.drand import testing as drand_testing
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.adapter import VkAdapter
from rupor.notifications.models import Notification
from rupor.planning.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def vk():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def relay():
    emulator = drand_testing.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def announced(vk, relay, make_workspace, make_user) -> dict[str, Any]:
    owner = make_user()
    ws = make_workspace("Coffee", owner=owner)
    access = vk_testing.channel_for(vk, settings={"pace": False})
    channel = connect(ws, access, name="Rupor Demo")
    manager = Actor(ws.pk, Role.MANAGER, owner.pk, label="manager@example.com")
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    clock.freeze(start)
    post = VkAdapter().publish(
        access, PublishRequest(Content(text="Giveaway!"), f"gv-auto-{ws.pk}"), MemoryProgress()
    )
    giveaway = service.create_giveaway(
        manager,
        service.GiveawayInput(
            channel_id=channel.pk,
            title="Win a coffee machine",
            starts_at=start,
            ends_at=start + dt.timedelta(days=1),
            post_remote_id=post.remote_id,
            require_member=True,
            require_like=True,
            comment_keyword="gift",
            winners=1,
            reserve=2,
            beacon_url=relay.url,
        ),
    )
    giveaway = service.announce(manager, giveaway.pk)
    gv_testing.take_part(vk, post.remote_id, "gift")
    return {"ws": ws, "owner": owner, "manager": manager, "giveaway": giveaway}


def _state(giveaway: Giveaway) -> str:
    return str(Giveaway.objects.get(pk=giveaway.pk).state)


def test_closed_at_the_end_and_drawn_at_the_round_each_once(announced: dict[str, Any], relay: Any) -> None:
    giveaway, ws = announced["giveaway"], announced["ws"]
    clock.freeze(giveaway.ends_at - dt.timedelta(seconds=1))
    assert service.run_due(clock.now()) == 0 and _state(giveaway) == Giveaway.State.ANNOUNCED

    clock.freeze(giveaway.ends_at + dt.timedelta(seconds=30))
    assert service.run_due(clock.now()) == 1
    closed = Giveaway.objects.get(pk=giveaway.pk)
    assert closed.state == Giveaway.State.CLOSED and closed.auto_until is None
    entrants = json.loads(closed.entrants_json)
    assert entrants["entrants"] == sorted(str(u) for u in gv_testing.ENTRANTS)
    assert service.run_due(clock.now()) == 0  # a second worker, or the next pass: nothing more
    entry = AuditEntry.objects.get(workspace=ws, action="giveaway.close")
    assert entry.actor_id is None and entry.api_key_id is None and entry.actor_label == ""  # Rupor itself

    # The round's time has come, but the relay does not have the round yet: wait and say so.
    round_at = gv_testing.round_time(closed)
    clock.freeze(round_at + dt.timedelta(seconds=1))
    drand_testing.set_clock(relay, round_at - dt.timedelta(seconds=5))
    assert service.run_due(clock.now()) == 0
    waiting = Giveaway.objects.get(pk=giveaway.pk)
    assert waiting.state == Giveaway.State.CLOSED and waiting.auto_note
    assert waiting.auto_until == clock.now() + service.AUTO_RETRY
    drand_testing.set_clock(relay, round_at + dt.timedelta(seconds=5))
    assert service.run_due(clock.now()) == 0  # tried again only after AUTO_RETRY

    clock.freeze(round_at + service.AUTO_RETRY + dt.timedelta(seconds=1))
    assert service.run_due(clock.now()) == 1
    drawn = Giveaway.objects.get(pk=giveaway.pk)
    assert drawn.state == Giveaway.State.DRAWN and drawn.auto_note == ""
    record = service.draw_record(drawn)
    assert record["order"] == gv_testing.expected_order(drawn)
    assert service.verify_files([json.loads(service.bundle(drawn))]).ok
    assert service.run_due(clock.now()) == 0
    results = Post.objects.filter(workspace=ws, title__startswith="Giveaway results")
    assert results.count() == 1 and results.get().status == Post.Status.DRAFT  # never published by itself
    notice = Notification.objects.get(workspace=ws, kind="giveaway_drawn")
    assert notice.user_id == announced["owner"].pk and notice.link == f"/giveaways/{giveaway.pk}/"


def test_a_person_closing_meanwhile_wins_and_the_workers_reading_is_dropped(
    announced: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    giveaway = announced["giveaway"]
    clock.freeze(giveaway.ends_at + dt.timedelta(seconds=30))
    real_collect = service._collect

    def slow_collect(*args: Any) -> list[str]:
        found = real_collect(*args)
        # While the worker reads the network, the manager presses "Close" and it commits first.
        Giveaway.objects.filter(pk=giveaway.pk).update(
            state=Giveaway.State.CLOSED, entrants_json='{"theirs":1}'
        )
        return found

    monkeypatch.setattr(service, "_collect", slow_collect)
    assert service.run_due(clock.now()) == 0
    kept = Giveaway.objects.get(pk=giveaway.pk)
    assert kept.state == Giveaway.State.CLOSED and kept.entrants_json == '{"theirs":1}'
    assert not AuditEntry.objects.filter(action="giveaway.close").exists()


def test_a_claimed_giveaway_is_left_to_the_worker_holding_it(announced: dict[str, Any]) -> None:
    giveaway = announced["giveaway"]
    now = giveaway.ends_at + dt.timedelta(seconds=30)
    clock.freeze(now)
    assert service._claim(giveaway, now)  # another worker took it a moment ago
    assert service.run_due(now) == 0 and _state(giveaway) == Giveaway.State.ANNOUNCED
    # …and if that worker died, its claim runs out and the next pass closes it.
    clock.freeze(now + service.AUTO_LEASE)
    assert service.run_due(clock.now()) == 1 and _state(giveaway) == Giveaway.State.CLOSED


def test_a_giveaway_whose_round_came_first_is_left_for_a_person(announced: dict[str, Any]) -> None:
    giveaway = announced["giveaway"]
    clock.freeze(gv_testing.round_time(giveaway) + dt.timedelta(seconds=1))
    assert service.run_due(clock.now()) == 0
    left = Giveaway.objects.get(pk=giveaway.pk)
    assert left.state == Giveaway.State.ANNOUNCED and "Too late" in left.auto_note
    service.cancel(announced["manager"], giveaway.pk)
    assert _state(giveaway) == Giveaway.State.CANCELLED
    assert service.run_due(clock.now()) == 0


def test_a_person_drawing_by_hand_still_works_and_the_worker_then_does_nothing(
    announced: dict[str, Any], relay: Any
) -> None:
    giveaway, manager = announced["giveaway"], announced["manager"]
    clock.freeze(giveaway.ends_at + dt.timedelta(seconds=30))
    service.close(manager, giveaway.pk)
    with pytest.raises(service.GiveawayError) as again:
        service.close(manager, giveaway.pk)
    assert again.value.status == 409
    round_at = gv_testing.round_time(Giveaway.objects.get(pk=giveaway.pk))
    clock.freeze(round_at + dt.timedelta(seconds=1))
    drand_testing.set_clock(relay, round_at + dt.timedelta(seconds=5))
    service.draw(manager, giveaway.pk)
    assert service.run_due(clock.now()) == 0
    assert Post.objects.filter(workspace=announced["ws"], title__startswith="Giveaway results").count() == 1
    assert AuditEntry.objects.get(action="giveaway.draw").actor_id == manager.user_id
