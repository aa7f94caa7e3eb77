"""A VK giveaway end to end against the VK and drand emulators: rules frozen with a future
round, the list collected (likes ∩ keyword comments ∩ members, staff and named people out),
a drawn winner who left the community before the draw replaced from the reserve with the reason,
the results post drafted (never published), the files verified alone; the network's limits
said up front; roles; timing refusals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.core import clock
from rupor.giveaways import service
from rupor.giveaways import testing as gv_testing
from rupor.giveaways.models import Giveaway
from rupor.inbox.testing import connect
from rupor.networks.drand import testing as drand_testing
from rupor.networks.vk import testing as vk_testing
from rupor.planning import service as planning
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
def setup(vk, make_workspace, make_user):
    owner = make_user()
    ws = make_workspace("Coffee", owner=owner)
    access = vk_testing.channel_for(vk, settings={"pace": False})
    channel = connect(ws, access, name="Rupor Demo")
    manager = Actor(ws.pk, Role.MANAGER, owner.pk, label="manager")
    return ws, channel, manager, access


def _input(channel_id, relay, post, start, **over):
    fields: dict[str, Any] = {
        "channel_id": channel_id,
        "title": "Win a coffee machine",
        "prize": "One coffee machine",
        "starts_at": start,
        "ends_at": start + dt.timedelta(days=1),
        "post_remote_id": post,
        "require_member": True,
        "require_like": True,
        "comment_keyword": "gift",
        "excluded_ids": ("10019",),
        "winners": 1,
        "reserve": 3,
        "beacon_url": relay.url,
    }
    fields.update(over)
    return service.GiveawayInput(**fields)


def test_a_winner_who_left_before_the_draw_is_replaced_from_the_reserve(setup, vk, relay):
    _ws, channel, manager, access = setup
    from rupor.networks.base import Content, MemoryProgress, PublishRequest
    from rupor.networks.vk.adapter import VkAdapter

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    clock.freeze(start)
    post = (
        VkAdapter()
        .publish(access, PublishRequest(Content(text="Giveaway!"), "gv-svc"), MemoryProgress())
        .remote_id
    )
    giveaway = service.create_giveaway(manager, _input(channel.pk, relay, post, start))
    assert giveaway.state == Giveaway.State.DRAFT and service.public_giveaway.__name__  # drafts are private
    with pytest.raises(service.GiveawayError):
        service.public_giveaway(giveaway.public_id)

    giveaway = service.announce(manager, giveaway.pk)
    rules = json.loads(giveaway.rules_json)
    assert rules["beacon"]["round"] == giveaway.beacon_round
    assert dt.datetime.fromisoformat(rules["beacon"]["round_time"]) > giveaway.ends_at + service.CLOSE_WINDOW
    rules_post = planning.get_post(channel.workspace_id, giveaway.rules_post_id or 0)
    assert rules_post.status == Post.Status.DRAFT and service.rules_hash(giveaway) in rules_post.text

    # Ten members like and comment with the keyword; one of them is excluded by name; someone
    # who is not a member comments too; the community's admin (staff) takes part.
    gv_testing.take_part(vk, post, "GIFT")
    gv_testing.take_part(vk, post, "gift", users=(777777, 100))
    vk_testing.audience_comment(vk, post, "no keyword here", user_id=10030)
    with pytest.raises(service.GiveawayError) as early:
        service.close(manager, giveaway.pk)
    assert early.value.status == 409

    clock.freeze(giveaway.ends_at + dt.timedelta(minutes=5))
    giveaway = service.close(manager, giveaway.pk)
    entrants = json.loads(giveaway.entrants_json)
    assert entrants["entrants"] == sorted(str(u) for u in gv_testing.ENTRANTS if u != 10019)
    with pytest.raises(service.GiveawayError):
        service.draw(manager, giveaway.pk)  # the beacon round has not come

    order = gv_testing.expected_order(giveaway)
    first = order[0]
    vk_testing.audience_membership(vk, int(first), "leave")
    when = gv_testing.round_time(giveaway) + dt.timedelta(seconds=10)
    clock.freeze(when)
    drand_testing.set_clock(relay, when)
    giveaway = service.draw(manager, giveaway.pk)
    record = service.draw_record(giveaway)
    assert record["order"] == order
    assert record["rechecks"][0] == {"entrant": first, "eligible": False, "reason": "left"}
    assert record["winners"] == [order[1]] and record["reserve"] == order[2:]
    results = planning.get_post(channel.workspace_id, giveaway.results_post_id or 0)
    assert results.status == Post.Status.DRAFT
    assert f"@id{order[1]}" in results.text and "left the community before the draw" in results.text

    # Anyone can recompute it from the published files, one by one or as the bundle.
    files = [json.loads(t) for t in service.published_files(giveaway).values()]
    checked = service.verify_files(files)
    assert checked.ok and checked.winners == [order[1]]
    assert checked.replaced == [{"entrant": first, "reason": "left"}]
    assert service.verify_files([json.loads(service.bundle(giveaway))]).ok
    assert service.public_giveaway(giveaway.public_id).pk == giveaway.pk
    vk_testing.audience_membership(vk, int(first), "join")


def test_closing_after_the_beacon_is_public_is_refused(setup, vk, relay):
    _ws, channel, manager, _access = setup
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock.freeze(start)
    giveaway = service.create_giveaway(manager, _input(channel.pk, relay, "-1_1", start))
    giveaway = service.announce(manager, giveaway.pk)
    clock.freeze(gv_testing.round_time(giveaway) + dt.timedelta(seconds=1))
    with pytest.raises(service.GiveawayError) as late:
        service.close(manager, giveaway.pk)
    assert late.value.status == 409 and "Too late" in late.value.message


def test_conditions_a_network_cannot_check_are_refused_and_named(make_workspace, make_user):
    from rupor.networks.telegram import testing as tg_testing

    assert service.checks_for("vk") == dict.fromkeys(service.CONDITION_NEEDS, True)
    tg = service.checks_for("telegram")
    assert tg["member"] and not tg["like"] and not tg["repost"]
    owner = make_user()
    ws = make_workspace("TG", owner=owner)
    em = tg_testing.start()
    try:
        channel = connect(ws, tg_testing.channel_for(em))
        manager = Actor(ws.pk, Role.MANAGER, owner.pk)
        start = dt.datetime.now(dt.UTC)
        with pytest.raises(service.GiveawayError) as refused:
            service.create_giveaway(
                manager,
                service.GiveawayInput(
                    channel.pk,
                    "T",
                    start,
                    start + dt.timedelta(days=1),
                    require_like=True,
                    exclude_staff=False,
                ),
            )
        assert refused.value.status == 422 and "liked the post" in refused.value.message
    finally:
        em.stop()


def test_roles_managers_create_others_only_view(setup, relay):
    ws, channel, manager, _access = setup
    start = dt.datetime.now(dt.UTC)
    editor = Actor(ws.pk, Role.EDITOR, None)
    with pytest.raises(service.GiveawayError) as refused:
        service.create_giveaway(editor, _input(channel.pk, relay, "-1_1", start))
    assert refused.value.status == 403
    made = service.create_giveaway(manager, _input(channel.pk, relay, "-1_1", start))
    assert [g.pk for g in service.list_giveaways(editor)] == [made.pk]
    other = Actor(ws.pk + 999, Role.OWNER, None)
    with pytest.raises(service.GiveawayError) as hidden:
        service.get_giveaway(other, made.pk)
    assert hidden.value.status == 404


def test_without_a_named_post_the_published_rules_post_is_counted(setup, vk, relay):
    from rupor.networks.base import Content, MemoryProgress, PublishRequest
    from rupor.networks.vk.adapter import VkAdapter
    from rupor.publishing.models import PublicationTarget, TargetState

    _ws, channel, manager, access = setup
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    clock.freeze(start)
    giveaway = service.create_giveaway(manager, _input(channel.pk, relay, "", start, excluded_ids=()))
    giveaway = service.announce(manager, giveaway.pk)
    assert service.contest_post(giveaway) == ""  # drafted, not published: nothing to count yet
    clock.freeze(giveaway.ends_at + dt.timedelta(minutes=1))
    with pytest.raises(service.GiveawayError) as unpublished:
        service.close(manager, giveaway.pk)
    assert unpublished.value.status == 409
    # The manager publishes the rules post (as the engine would: its target becomes published).
    rules_post = planning.get_post(channel.workspace_id, giveaway.rules_post_id or 0)
    target = PublicationTarget.objects.get(variant__post=rules_post)
    remote = VkAdapter().publish(
        access, PublishRequest(Content(text=rules_post.text), "gv-rules"), MemoryProgress()
    )
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.PUBLISHED, remote_id=remote.remote_id
    )
    gv_testing.take_part(vk, remote.remote_id, "gift", users=(10040, 10041))
    giveaway = service.close(manager, giveaway.pk)
    entrants = json.loads(giveaway.entrants_json)
    assert entrants["post"] == remote.remote_id and entrants["entrants"] == ["10040", "10041"]
