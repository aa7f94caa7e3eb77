"""The webhook fast path: a delivery is checked, staged in one INSERT and answered; the drainer
stores it. Crashes between the two lose nothing, repeats are stored once, bad bodies are refused
before anything is staged, and a restarted drainer picks up what was left."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import dbpool
from rupor.inbox import hooks, jobs, staging
from rupor.inbox import service as inbox_service
from rupor.inbox.models import HookDelivery, InboxItem
from rupor.inbox.testing import connect
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = vk_testing.demo_credentials()["callback_secret"]


@pytest.fixture(scope="module")
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def no_drainer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies right after answering: its drainer thread never runs."""
    monkeypatch.setattr(staging.drainer, "ensure_started", lambda: None)
    monkeypatch.setattr(staging.drainer, "wake", lambda: None)


@pytest.fixture
def channel(vk_emu, make_workspace) -> Channel:
    ws = make_workspace("Staging")
    return connect(ws, vk_testing.channel_for(vk_emu, settings={"pace": False}))


class _Fallback:
    """Django's place in the WSGI chain: records what reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.calls.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"django"]


def _call(
    app, path: str, body: bytes, method: str = "POST", length: str | None = None
) -> tuple[int, bytes, dict[str, str]]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(app(environ, start_response))
    return seen["status"], out, seen["headers"]


def _comment(n: int, *, kind: str = "wall_reply_new", text: str = "Where do you deliver?") -> bytes:
    obj = {
        "id": n,
        "from_id": 10_000 + n,
        "post_id": 1,
        "owner_id": -1,
        "date": 1_700_000_000 + n,
        "text": text,
        "parents_stack": [],
    }
    return json.dumps({"group_id": 1, "type": kind, "object": obj, "secret": SECRET}).encode()


def _remote_ids(channel: Channel) -> list[str]:
    return sorted(InboxItem.objects.filter(channel=channel).values_list("remote_id", flat=True))


def test_a_crash_between_staging_and_draining_loses_nothing(channel, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for n in range(1, 6):
        assert _call(app, path, _comment(n))[:2] == (200, b"ok")
    # Answered "ok" five times, stored nothing yet: all five wait in the staging table.
    assert HookDelivery.objects.filter(channel=channel).count() == 5
    assert not InboxItem.objects.filter(channel=channel).exists()
    # The worker's job (or the next server's drainer) stores them.
    assert jobs.run_staged(None) == 5  # type: ignore[arg-type]  # the job ignores the time
    assert _remote_ids(channel) == [f"-1_{n}" for n in range(1, 6)]
    assert not HookDelivery.objects.exists()


class _Killed(BaseException):
    """The process dies in the middle of a drain (not an error the drainer could catch)."""


def test_a_crash_in_the_middle_of_a_drain_stores_each_item_once(channel, no_drainer, monkeypatch):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for n in range(1, 4):
        assert _call(app, path, _comment(n))[0] == 200
    real = inbox_service.ingest_for

    def dies_after_storing(ch, events):
        real(ch, events)
        raise _Killed

    monkeypatch.setattr(inbox_service, "ingest_for", dies_after_storing)
    with pytest.raises(_Killed):
        staging.drain()
    # The drain's transaction never committed: no items, every row still staged.
    assert not InboxItem.objects.filter(channel=channel).exists()
    assert HookDelivery.objects.count() == 3
    monkeypatch.setattr(inbox_service, "ingest_for", real)
    assert staging.drain() == 3
    assert _remote_ids(channel) == ["-1_1", "-1_2", "-1_3"]


def test_repeats_across_staging_polling_and_drains_are_stored_once(channel, vk_emu, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for body in (_comment(1), _comment(2), _comment(1)):  # VK repeats a delivery
        assert _call(app, path, body)[0] == 200
    assert staging.drain() == 3
    # The same comment staged again after it was stored (polling or another repeat) ...
    assert _call(app, path, _comment(2))[0] == 200
    assert _call(app, path, _comment(3))[0] == 200
    # ... and a drain that read rows another drainer had stored already (the rows come back).
    staged = list(HookDelivery.objects.values("channel_id", "network", "body", "headers", "received_at"))
    assert staging.drain() == 2
    HookDelivery.objects.bulk_create(HookDelivery(**row) for row in staged)
    assert staging.drain() == 2
    assert _remote_ids(channel) == ["-1_1", "-1_2", "-1_3"]
    assert InboxItem.objects.filter(channel=channel).count() == 3


def test_order_of_arrival_is_kept_through_the_staging_table(channel, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for body in (
        _comment(7, text="Frist"),
        _comment(7, kind="wall_reply_edit", text="First"),
        _comment(8, text="spam"),
        _comment(8, kind="wall_reply_delete"),
    ):
        assert _call(app, path, body)[0] == 200
    staging.drain()
    assert InboxItem.objects.get(channel=channel, remote_id="-1_7").text == "First"
    assert InboxItem.objects.get(channel=channel, remote_id="-1_8").status == "deleted"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"no": "type"}',
        _comment(1)[:-10],
        json.dumps(
            {"type": "wall_reply_new", "group_id": 1, "secret": SECRET, "object": {"id": "x"}}
        ).encode(),
    ],
)
def test_malformed_bodies_are_400_recorded_and_never_staged(channel, body, no_drainer):
    app = hooks.wsgi_route(_Fallback())
    status, _out, headers = _call(app, hooks.hook_path(channel), body)
    assert status == 400
    assert headers["X-Content-Type-Options"] == "nosniff"
    stored = Channel.objects.get(pk=channel.pk)
    assert stored.last_error_job == "webhook" and "could not be read" in stored.last_error
    assert not HookDelivery.objects.exists()
    # The next good delivery clears the recorded error at once (before it is drained).
    assert _call(app, hooks.hook_path(channel), _comment(1))[0] == 200
    assert Channel.objects.get(pk=channel.pk).last_error == ""


def test_the_route_refuses_what_django_refused(channel, no_drainer):
    fallback = _Fallback()
    app, path = hooks.wsgi_route(fallback), hooks.hook_path(channel)
    wrong_token = path.rsplit("/", 2)[0] + "/not-the-token/"
    assert _call(app, wrong_token, _comment(1))[:2] == (404, b"no such hook")
    assert _call(app, path.replace("/vk/", "/ok/"), _comment(1))[0] == 404  # another network's URL
    assert _call(app, path, b"x" * (hooks.MAX_BODY + 1))[0] == 413
    assert _call(app, path, _comment(1), length="-5")[0] == 400
    wrong_secret = _comment(1).replace(SECRET.encode(), b"guess")
    assert _call(app, path, wrong_secret)[0] == 403
    assert not HookDelivery.objects.exists() and fallback.calls == []
    # Not a delivery: Django answers (405 for a GET there, the web app elsewhere).
    assert _call(app, path, b"", method="GET")[1] == b"django"
    assert _call(app, "/inbox/", b"")[1] == b"django"
    assert fallback.calls == [path, "/inbox/"]


def test_a_restarted_drainer_picks_up_leftovers(channel, monkeypatch):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    with monkeypatch.context() as m:  # the first process answers and dies
        m.setattr(staging.drainer, "ensure_started", lambda: None)
        m.setattr(staging.drainer, "wake", lambda: None)
        for n in range(1, 4):
            assert _call(app, path, _comment(n))[0] == 200
    assert HookDelivery.objects.count() == 3
    restarted = staging._Drainer()  # what `rupor serve` starts
    restarted.ensure_started()
    try:
        deadline = time.monotonic() + staging.IDLE_S + 10
        while HookDelivery.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _remote_ids(channel) == ["-1_1", "-1_2", "-1_3"]
        # Awake, it stores a new delivery within moments, without waiting for its idle pass.
        restarted.wake()
        assert _call(app, path, _comment(4))[0] == 200
        restarted.wake()
        deadline = time.monotonic() + 5
        while InboxItem.objects.filter(channel=channel).count() < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert InboxItem.objects.filter(channel=channel).count() == 4
    finally:
        restarted.stop()


def test_a_row_that_cannot_be_read_again_is_kept_aside_with_the_reason(channel, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    assert _call(app, path, _comment(1))[0] == 200
    assert _call(app, path, _comment(2))[0] == 200
    # The channel's Callback API secret changed between staging and draining.
    row = Channel.objects.get(pk=channel.pk)
    row.set_credentials({**row.get_credentials(), "callback_secret": "rotated"})
    row.save(update_fields=["credentials_encrypted"])
    assert staging.drain() == 2
    kept = list(HookDelivery.objects.values_list("attempts", "last_error"))
    assert len(kept) == 2 and all(a == staging.MAX_ATTEMPTS and "no longer reads" in e for a, e in kept)
    assert staging.drain() == 0  # not tried again and again


def test_the_prepared_insert_stores_what_bulk_create_stores(channel):
    """``_Batch`` inserts new items with ``core/prepared.PreparedObjectInsert`` (one executemany);
    every column must read back as ``bulk_create`` would have written it."""
    from rupor.core import prepared

    now = timezone.now()

    def item(remote_id: str) -> InboxItem:
        return InboxItem(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            kind="comment",
            remote_id=remote_id,
            text="Где доставка? 배송",
            author_name="Reader",
            occurred_at=now - dt.timedelta(minutes=3),
            received_at=now,
            updated_at=now,
            negativity=0.25,
            author_followers=10,
            outgoing=True,
        )

    InboxItem.objects.bulk_create([item("bulk")])
    prepared.PreparedObjectInsert(InboxItem).insert([item("prepared"), item("prepared-2")])
    rows = {
        r["remote_id"]: {k: v for k, v in r.items() if k not in ("id", "remote_id")}
        for r in InboxItem.objects.filter(channel=channel).values()
    }
    assert rows["prepared"] == rows["bulk"] == rows["prepared-2"]
    with pytest.raises(IntegrityError):  # the unique key still guards against a repeat
        prepared.PreparedObjectInsert(InboxItem).insert([item("bulk")])


def test_the_channel_row_is_read_once_a_second_and_a_change_made_here_counts_at_once(
    channel, no_drainer, monkeypatch, django_assert_num_queries
):
    from rupor.channels import service as channels_service

    clock_s = [1000.0]
    monkeypatch.setattr(channels_service, "_seconds", lambda: clock_s[0])
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    assert _call(app, path, _comment(1))[0] == 200
    # Within the second: the row is not read again (only the staging INSERT is written).
    token = hooks.hook_token(channel)
    with django_assert_num_queries(0):
        assert channels_service.hook_target("vk", channel.pk, token) is not None
    # A new token saved in this process counts at once: the old URL is a 404.
    Channel.objects.get(pk=channel.pk).save()  # any save forgets what was read
    fresh = Channel.objects.get(pk=channel.pk)
    fresh.settings = {**fresh.settings, "hook_token": "a-new-token-after-a-leak"}
    fresh.save(update_fields=["settings"])
    assert _call(app, path, _comment(2))[0] == 404
    # Changed by another process (no signal here): the old row answers until the second is over.
    assert _call(app, hooks.hook_path(fresh), _comment(3))[0] == 200
    Channel.objects.filter(pk=channel.pk).update(status="archived")  # removed
    assert _call(app, hooks.hook_path(fresh), _comment(4))[0] == 200
    clock_s[0] += channels_service.HOOK_ROW_TTL_S
    assert _call(app, hooks.hook_path(fresh), _comment(5))[0] == 404
    assert HookDelivery.objects.filter(channel=channel).count() == 3


def test_a_thread_waiting_for_the_group_write_holds_no_pooled_connection(channel, no_drainer):
    """Request threads beyond the pool's size once left the writer of a group without a
    connection (every waiter held one): 500s after the pool's timeout under load."""
    from django.db import connection

    if not dbpool.pooled():
        pytest.skip("connections are pooled on PostgreSQL only")
    target = channels.hook_target("vk", channel.pk, hooks.hook_path(channel).rstrip("/").rsplit("/", 1)[1])
    assert target is not None
    pool = connection.pool  # type: ignore[attr-defined]  # the PostgreSQL wrapper's, pooled here

    def stage(n: int, hold_first: bool) -> None:
        if hold_first:
            Channel.objects.filter(pk=channel.pk).exists()  # this thread now holds a connection
        staging.stage(target, {}, _comment(n))
        dbpool.give_back()

    def in_use() -> int:
        stats = pool.get_stats()
        return int(stats.get("pool_size", 0) - stats.get("pool_available", 0))

    dbpool.give_back()
    before = in_use()  # another test's drainer thread may still hold one
    group = staging._GROUP
    staging._WRITE_LOCK.__enter__()  # the group's writer waits here, as behind a long write
    try:
        writer = threading.Thread(target=stage, args=(1, True))
        writer.start()
        _until(lambda: group._writing)
        waiter = threading.Thread(target=stage, args=(2, True))
        waiter.start()
        _until(lambda: len(group._pending) == 1)
        assert in_use() == before  # neither the writer nor the waiter holds one
    finally:
        staging._WRITE_LOCK.__exit__()
    writer.join(10)
    waiter.join(10)
    assert HookDelivery.objects.filter(channel_id=channel.pk).count() == 2


def _until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "the threads did not get there"
        time.sleep(0.005)
