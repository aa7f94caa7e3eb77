"""Proof that the intake stores each comment and message exactly once, whatever the networks do.

Webhooks are delivered over real HTTP to Rupor's live server (by the VK emulator's Callback API
itself, or posted as the network would); polling reads the emulators over real HTTP; everything
is counted in the database afterwards. Duplicates, out-of-order delivery, edits, deletions and
restores, a crash between fetching and storing, malformed bodies and a failing network.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.channels.models import Channel
from rupor.core import clock, http
from rupor.inbox import hooks, jobs
from rupor.inbox import service as inbox_service
from rupor.inbox.models import HookDelivery, InboxItem, IntakeCursor
from rupor.inbox.testing import connect, publish
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.adapter import VkAdapter

pytestmark = pytest.mark.django_db(transaction=True)

HOOK_URLS = "rupor.inbox.testing_urls"
SECRET = "rupor-demo-secret"


@pytest.fixture
def live(live_server, settings) -> str:
    settings.ROOT_URLCONF = HOOK_URLS
    settings.RUPOR_BASE_URL = live_server.url
    http.allow_origin(live_server.url)
    return str(live_server.url)


@pytest.fixture
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    with http.client(timeout=10) as client:
        return client.post(url, content=body, headers={"Content-Type": "application/json", **(headers or {})})


def _vk_events(emulator: RunningEmulator, *kinds: str) -> list[dict[str, Any]]:
    state = vk_testing.state(emulator)
    with state.lock:
        return [dict(e) for _, e in state.groups[1].events if e["type"] in kinds]


def _wait(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def _vk_callback(access, channel, events: tuple[str, ...]) -> None:
    """Configure VK's Callback API (the emulator) to push ``events`` to the channel's hook URL."""
    adapter = VkAdapter()
    server = adapter.call(
        access,
        "groups.addCallbackServer",
        {"group_id": 1, "url": hooks.hook_url(channel), "title": "Rupor", "secret_key": SECRET},
    )
    adapter.call(
        access,
        "groups.setCallbackSettings",
        {"group_id": 1, "server_id": server["server_id"], **dict.fromkeys(events, 1)},
    )
    assert _wait(
        lambda: (
            adapter.call(access, "groups.getCallbackServers", {"group_id": 1})["items"][0]["status"] == "ok"
        )
    )


def _stored() -> None:
    """Wait for the drainer: a webhook answers once the delivery is staged (inbox/staging.py)."""
    assert _wait(lambda: not HookDelivery.objects.exists()), "staged deliveries were not stored"


def _item(channel, remote_id: str) -> InboxItem:
    rows = list(InboxItem.objects.filter(channel=channel, remote_id=remote_id))
    assert len(rows) == 1, rows
    return rows[0]


def test_vk_webhook_and_polling_deliver_every_change_once(live, vk_emu, make_workspace):
    ws = make_workspace("Intake VK")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    inbox_service.poll_channel(channel.pk)  # the long-poll cursor starts here
    _vk_callback(
        access, channel, ("wall_reply_new", "wall_reply_edit", "wall_reply_delete", "wall_reply_restore")
    )
    target = publish(channel, access, "Intake proof #1")
    first = vk_testing.audience_comment(vk_emu, target.remote_id, "Where do you deliver?")
    second = vk_testing.audience_comment(vk_emu, target.remote_id, "Nice!")
    assert _wait(lambda: InboxItem.objects.filter(channel=channel).count() == 2)

    # VK repeats a delivery when unsure; polling then reads the same comments from the long poll.
    url = live + hooks.hook_path(channel)
    for event in _vk_events(vk_emu, "wall_reply_new"):
        for _ in range(2):
            answer = _post(url, json.dumps({**event, "secret": SECRET}).encode())
            assert (answer.status_code, answer.content) == (200, b"ok")
    _stored()
    inbox_service.poll_channel(channel.pk)
    assert InboxItem.objects.filter(channel=channel).count() == 2

    # The author edits, deletes, restores: each arrives by webhook and again by polling.
    vk_testing.audience_change(vk_emu, first, "edit", "Where do you deliver? Moscow?")
    assert _wait(lambda: _item(channel, first).text == "Where do you deliver? Moscow?")
    vk_testing.audience_change(vk_emu, second, "delete")
    assert _wait(lambda: _item(channel, second).status == "deleted")
    inbox_service.poll_channel(channel.pk)
    assert (_item(channel, first).text, _item(channel, second).status) == (
        "Where do you deliver? Moscow?",
        "deleted",
    )
    vk_testing.audience_change(vk_emu, second, "restore")
    assert _wait(lambda: _item(channel, second).status == "new")
    assert _item(channel, second).text == "Nice!"
    inbox_service.poll_channel(channel.pk)
    # Every event delivered once more, in its original order: nothing changes.
    for event in _vk_events(
        vk_emu, "wall_reply_new", "wall_reply_edit", "wall_reply_delete", "wall_reply_restore"
    ):
        assert _post(url, json.dumps({**event, "secret": SECRET}).encode()).status_code == 200
    _stored()
    assert InboxItem.objects.filter(channel=channel).count() == 2
    assert (_item(channel, first).text, _item(channel, second).status) == (
        "Where do you deliver? Moscow?",
        "new",
    )
    assert _item(channel, first).label == ""  # the edit is read by triage again


def test_vk_out_of_order_delivery_ends_where_the_network_is(live, vk_emu, make_workspace):
    """A reply before its parent, an edit before the create, a delete before the create."""
    ws = make_workspace("Out of order")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    target = publish(channel, access, "Intake proof #2")
    parent = vk_testing.audience_comment(vk_emu, target.remote_id, "Parent")
    adapter = registry.adapter("vk")
    reply = adapter.reply_comment(access, target.remote_id, "Reply", reply_to=parent, idempotency_key="k1")
    edited = vk_testing.audience_comment(vk_emu, target.remote_id, "Frist")
    vk_testing.audience_change(vk_emu, edited, "edit", "First")
    gone = vk_testing.audience_comment(vk_emu, target.remote_id, "Spam spam")
    vk_testing.audience_change(vk_emu, gone, "delete")

    url = live + hooks.hook_path(channel)
    events = _vk_events(vk_emu, "wall_reply_new", "wall_reply_edit", "wall_reply_delete")
    for event in reversed(events):  # newest first: every later change before what it changes
        assert _post(url, json.dumps({**event, "secret": SECRET}).encode()).status_code == 200
    _stored()
    assert InboxItem.objects.filter(channel=channel).count() == 4
    assert _item(channel, reply.remote_id).parent_remote_id == parent
    assert _item(channel, reply.remote_id).outgoing is True
    assert _item(channel, parent).text == "Parent"
    assert _item(channel, edited).text == "First"  # the older create does not undo the edit
    assert _item(channel, edited).author_remote_id == "10007"  # ...but fills in who wrote it
    assert _item(channel, gone).status == "deleted"
    assert _item(channel, gone).text == "Spam spam"  # kept for the record, still deleted


def test_telegram_edits_by_webhook_and_polling_are_stored_once(live, make_workspace):
    emulator = tg_testing.start(rate_limits=False)
    try:
        ws = make_workspace("Intake TG")
        access = tg_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "Intake proof #3")
        comment = tg_testing.audience_comment(emulator, target.remote_id, "Is it vegan?")
        tg_testing.audience_edit(emulator, comment, "Is it vegan? And gluten-free?")
        bot = next(iter(tg_testing._emulator(emulator).bots.values()))
        with tg_testing._emulator(emulator).lock:
            updates = [{k: v for k, v in u.items() if k != "_at"} for u in bot.updates]
        assert {k for u in updates for k in u} >= {"message", "edited_message"}
        # Polling (getUpdates) reads the comment and its edit ...
        inbox_service.poll_channel(channel.pk)
        assert _item(channel, comment).text == "Is it vegan? And gluten-free?"
        # ... and Telegram delivers the same updates to the webhook, twice, the edit first.
        url = live + hooks.hook_path(channel)
        header = {"X-Telegram-Bot-Api-Secret-Token": tg_testing.DEMO_WEBHOOK_SECRET}
        for update in [*reversed(updates), *updates]:
            assert _post(url, json.dumps(update).encode(), header).status_code == 200
        _stored()
        assert _item(channel, comment).text == "Is it vegan? And gluten-free?"
        # A direct message edited by its author (Bot API: edited_message in a private chat).
        person = {"id": 555, "is_bot": False, "first_name": "Ada"}
        dm = {"message_id": 9, "date": 1_700_000_000, "chat": {"id": 555, "type": "private"}, "from": person}
        for update in (
            {
                "update_id": 900_002,
                "edited_message": {**dm, "text": "Hello, fixed", "edit_date": 1_700_000_060},
            },
            {"update_id": 900_001, "message": {**dm, "text": "Helo"}},
        ):
            assert _post(url, json.dumps(update).encode(), header).status_code == 200
        _stored()
        message = InboxItem.objects.get(channel=channel, kind="message")
        assert (message.text, message.author_name) == ("Hello, fixed", "Ada")
        assert message.occurred_at == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)  # when written
    finally:
        emulator.stop()


def test_ok_polling_notices_a_deleted_comment(make_workspace):
    emulator = ok_testing.start(rate_limits=False)
    try:
        ws = make_workspace("Intake OK")
        access = ok_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "Intake proof #4")
        kept = ok_testing.audience_comment(emulator, target.remote_id, "Хорошо")
        removed = ok_testing.audience_comment(emulator, target.remote_id, "Реклама")
        inbox_service.poll_channel(channel.pk)
        assert {_item(channel, kept).status, _item(channel, removed).status} == {"new"}
        registry.adapter("ok").delete_comment(access, target.remote_id, removed)  # a moderator on OK
        inbox_service.poll_channel(channel.pk)
        assert (_item(channel, kept).status, _item(channel, removed).status) == ("new", "deleted")
        inbox_service.poll_channel(channel.pk)
        assert InboxItem.objects.filter(channel=channel).count() == 2
    finally:
        emulator.stop()


class _Crash(Exception):
    pass


@pytest.mark.parametrize("when", ["before storing", "after storing"])
def test_a_crash_between_fetching_and_the_cursor_loses_and_duplicates_nothing(
    vk_emu, make_workspace, monkeypatch, when
):
    ws = make_workspace("Crash")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    inbox_service.poll_channel(channel.pk)
    cursor = IntakeCursor.objects.get(channel_id=channel.pk).cursor
    target = publish(channel, access, "Intake proof #5")
    ids = [vk_testing.audience_comment(vk_emu, target.remote_id, f"comment {n}") for n in range(5)]

    real = inbox_service.ingest_events

    def crashing(channel_id, events):
        if when == "after storing":
            real(channel_id, events)
        raise _Crash("the worker died here")

    monkeypatch.setattr(inbox_service, "ingest_events", crashing)
    with pytest.raises(_Crash):
        inbox_service.poll_channel(channel.pk)
    assert IntakeCursor.objects.get(channel_id=channel.pk).cursor == cursor  # not moved past them
    monkeypatch.setattr(inbox_service, "ingest_events", real)
    result = inbox_service.poll_channel(channel.pk)  # the restarted worker reads them again
    assert result.new_items == (5 if when == "before storing" else 0)
    assert sorted(InboxItem.objects.filter(channel=channel).values_list("remote_id", flat=True)) == sorted(
        ids
    )
    assert IntakeCursor.objects.get(channel_id=channel.pk).cursor != cursor


def test_a_network_failing_mid_poll_keeps_what_was_read(vk_emu, make_workspace):
    ws = make_workspace("Mid-poll")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    target = publish(channel, access, "Intake proof #6")
    inbox_service.poll_channel(channel.pk)
    vk_testing.audience_comment(vk_emu, target.remote_id, "before the outage")
    inbox_service.poll_channel(channel.pk)
    vk_testing.audience_comment(vk_emu, target.remote_id, "during the outage")
    vk_testing.faults(vk_emu, {"p_5xx": 1.0})
    try:
        with pytest.raises(inbox_service.InboxError):
            inbox_service.poll_channel(channel.pk)
    finally:
        vk_testing.faults(vk_emu, {"p_5xx": 0.0})
    inbox_service.poll_channel(channel.pk)
    assert InboxItem.objects.filter(channel=channel).count() == 2


def test_malformed_webhook_bodies_are_400_and_recorded_on_the_channel(live, vk_emu, make_workspace):
    ws = make_workspace("Malformed")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    url = live + hooks.hook_path(channel)
    for body in (
        b"not json",
        b"[]",
        b'{"no": "type"}',
        json.dumps(
            {"type": "wall_reply_new", "group_id": 1, "secret": SECRET, "object": {"id": "x"}}
        ).encode(),
        json.dumps({"type": "wall_reply_delete", "group_id": 1, "secret": SECRET, "object": []}).encode(),
    ):
        Channel.objects.filter(pk=channel.pk).update(last_error="", last_error_job="")
        answer = _post(url, body)
        assert answer.status_code == 400, (body, answer.status_code)
        stored = Channel.objects.get(pk=channel.pk)
        assert stored.last_error_job == "webhook" and "could not be read" in stored.last_error, body
    assert not InboxItem.objects.filter(channel=channel).exists()
    # The next good delivery clears it.
    target = publish(channel, access, "Intake proof #7")
    vk_testing.audience_comment(vk_emu, target.remote_id, "a real one")
    (event,) = _vk_events(vk_emu, "wall_reply_new")[-1:]
    assert _post(url, json.dumps({**event, "secret": SECRET}).encode()).status_code == 200
    assert Channel.objects.get(pk=channel.pk).last_error == ""
    # A wrong secret is refused, but is not a broken channel: it is someone else's request.
    assert _post(url, json.dumps({**event, "secret": "guess"}).encode()).status_code == 403


def test_a_failing_network_backs_off_and_the_other_channels_go_on(vk_emu, make_workspace):
    ws = make_workspace("Backoff")
    healthy_access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    healthy = connect(ws, healthy_access, name="healthy")
    broken_emu = vk_testing.start(rate_limits=False)
    try:
        other = make_workspace("Backoff, the other")
        broken = connect(other, vk_testing.channel_for(broken_emu, settings={"pace": False}), name="broken")
        vk_testing.faults(broken_emu, {"p_5xx": 1.0})
        target = publish(healthy, healthy_access, "Intake proof #8")
        now = clock.now()
        jobs.run_due(now)
        vk_testing.audience_comment(vk_emu, target.remote_id, "still arriving")
        state = IntakeCursor.objects.get(channel_id=broken.pk)
        assert state.failures == 1 and state.retry_at is not None
        assert now <= state.retry_at <= now + dt.timedelta(seconds=inbox_service.RETRY_BASE_S)
        assert Channel.objects.get(pk=broken.pk).last_error_job == "inbox"
        # The healthy channel goes on at every interval; the broken one waits for its backoff.
        later = now + jobs.INTERVAL + dt.timedelta(seconds=1)
        assert jobs.run_due(later) == 1
        assert InboxItem.objects.filter(channel=healthy, text="still arriving").count() == 1
        state.refresh_from_db()
        assert state.failures == 2  # it was due again (its backoff had passed) and failed again
        ceilings = [inbox_service.RETRY_BASE_S * 2 ** (n - 1) for n in range(1, 4)]
        assert state.retry_at is not None and state.retry_at <= later + dt.timedelta(seconds=ceilings[1])
        assert service_not_due(broken.pk, state.retry_at - dt.timedelta(seconds=1))
        vk_testing.faults(broken_emu, {"p_5xx": 0.0})
        jobs.run_due(state.retry_at)
        state.refresh_from_db()
        assert (state.failures, state.last_error) == (0, "")
        assert state.retry_at is None
        assert Channel.objects.get(pk=broken.pk).last_error == ""
    finally:
        broken_emu.stop()


def service_not_due(channel_id: int, at: dt.datetime) -> bool:
    return channel_id not in inbox_service.channels_to_poll(at, jobs.INTERVAL)
