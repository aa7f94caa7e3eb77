"""A known state of two workspaces for the operations tests: every figure of the snapshot and of
/metrics has a value these rows decide (workspace ``a``'s, ``b``'s and the instance's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rupor.accounts.models import Workspace
from rupor.analytics.models import PostStat
from rupor.channels.models import Channel
from rupor.core import clock, disk
from rupor.inbox.models import HookDelivery, InboxItem, IntakeCursor, ItemStatus
from rupor.notifications.models import Delivery
from rupor.planning.models import Media
from rupor.publishing import testing as pt
from rupor.publishing.models import Attempt, PublicationTarget, TargetState, WorkerHeartbeat

NOW = dt.datetime(2031, 3, 10, 12, 0, tzinfo=dt.UTC)


def ago(**kw: float) -> dt.datetime:
    return NOW - dt.timedelta(**kw)


@dataclass
class World:
    a: Workspace
    b: Workspace
    vk: Channel  # a's
    tg: Channel  # a's
    other: Channel  # b's (vk too)
    failed_target: int


def _target(ch: Channel, text: str, state: str, **fields: object) -> PublicationTarget:
    target = pt.schedule(ch, text, NOW)
    PublicationTarget.objects.filter(pk=target.pk).update(state=state, **fields)
    return PublicationTarget.objects.get(pk=target.pk)


def _attempt(target: PublicationTarget, outcome: str, finished: dt.datetime) -> None:
    Attempt.objects.create(
        target=target, number=1, worker="w", started_at=finished, finished_at=finished, outcome=outcome
    )


def _item(
    ws: Workspace,
    ch: Channel,
    rid: str,
    status: str,
    *,
    occurred: dt.datetime,
    received: dt.datetime,
    outgoing: bool = False,
) -> None:
    InboxItem.objects.create(
        workspace=ws,
        channel=ch,
        kind="comment",
        remote_id=rid,
        status=status,
        outgoing=outgoing,
        occurred_at=occurred,
        received_at=received,
        text=rid,
    )


def _publishing(a: Workspace, vk: Channel, tg: Channel, other: Channel) -> int:
    # Due and waiting: a has two (the oldest 120 s late), b one (300 s late: the instance's oldest).
    _target(vk, "due 1", TargetState.SCHEDULED, due_at=ago(seconds=120), next_attempt_at=ago(seconds=120))
    _target(tg, "due 2", TargetState.SCHEDULED, due_at=ago(seconds=30), next_attempt_at=ago(seconds=30))
    _target(other, "due b", TargetState.SCHEDULED, due_at=ago(seconds=300), next_attempt_at=ago(seconds=300))
    # Published in the last hour: a's 40 s late on VK and 3 s on Telegram; b's 2000 s late; one of
    # a's two hours ago (outside the window).
    for ch, text, late, when in (
        (vk, "pub vk", 40, 10),
        (tg, "pub tg", 3, 20),
        (other, "pub b", 2000, 5),
        (vk, "pub old", 7, 120),
    ):
        published = ago(minutes=when)
        t = _target(
            ch,
            text,
            TargetState.PUBLISHED,
            due_at=published - dt.timedelta(seconds=late),
            published_at=published,
            next_attempt_at=None,
        )
        _attempt(t, "published", published)
    failed = _target(
        vk,
        "refused",
        TargetState.FAILED,
        error_kind="rejected",
        error_message="The text is too long.",
        updated_at=ago(minutes=5),
        next_attempt_at=None,
    )
    _attempt(failed, "rate_limited", ago(minutes=8))
    _attempt(failed, "rejected", ago(minutes=5))
    _target(
        tg,
        "held",
        TargetState.HELD,
        error_kind="auth_expired",
        error_message="Reconnect it.",
        updated_at=ago(minutes=50),
    )
    WorkerHeartbeat.objects.create(
        worker_id="host:1:alive",
        hostname="host",
        pid=1,
        started_at=ago(hours=1),
        seen_at=ago(seconds=5),
        in_flight=2,
        done=40,
        rate_waits={"vk": {"inline": 3, "inline_s": 1.5, "deferred": 2, "deferred_s": 10.0}},
    )
    WorkerHeartbeat.objects.create(
        worker_id="host:2:stale",
        hostname="host",
        pid=2,
        started_at=ago(hours=2),
        seen_at=ago(minutes=10),
        done=7,
    )
    WorkerHeartbeat.objects.create(
        worker_id="host:3:stopped",
        hostname="other",
        pid=3,
        started_at=ago(hours=3),
        seen_at=ago(hours=2),
        stopped_at=ago(hours=2),
    )
    return failed.pk


def _intake(a: Workspace, b: Workspace, vk: Channel, other: Channel) -> None:
    # Waiting for an answer: a has two (the oldest written 90 minutes ago), b one.
    _item(a, vk, "c1", ItemStatus.NEW, occurred=ago(minutes=90), received=ago(minutes=89))  # 60 s to arrive
    _item(
        a, vk, "c2", ItemStatus.IN_PROGRESS, occurred=ago(minutes=30), received=ago(minutes=29, seconds=50)
    )  # 10 s
    _item(a, vk, "c3", ItemStatus.DONE, occurred=ago(hours=5), received=ago(hours=5))
    _item(a, vk, "ours", ItemStatus.NEW, occurred=ago(minutes=10), received=ago(minutes=10), outgoing=True)
    _item(b, other, "b1", ItemStatus.NEW, occurred=ago(hours=3), received=ago(minutes=2))  # 10680 s
    HookDelivery.objects.create(channel=vk, network="vk", body=b"{}", received_at=ago(seconds=20))
    HookDelivery.objects.create(
        channel=vk, network="vk", body=b"{}", received_at=ago(minutes=30), attempts=5, last_error="bad"
    )
    HookDelivery.objects.create(channel=other, network="vk", body=b"{}", received_at=ago(minutes=40))
    IntakeCursor.objects.create(channel=vk, failures=2, last_error="timeout", retry_at=NOW)


def _stat(ws: Workspace, ch: Channel, rid: str, next_read_at: dt.datetime | None) -> None:
    PostStat.objects.create(
        workspace=ws, channel=ch, remote_post_id=rid, published_at=ago(days=1), next_read_at=next_read_at
    )


def _collection_outbox_media(a: Workspace, b: Workspace, vk: Channel, tg: Channel, other: Channel) -> None:
    _stat(a, vk, "p1", ago(hours=3))  # overdue 3 h
    _stat(a, tg, "p2", ago(minutes=10))
    _stat(a, vk, "p3", NOW + dt.timedelta(hours=1))  # not due
    _stat(b, other, "p4", ago(hours=5))  # b's: the instance's oldest
    Delivery.objects.create(
        workspace=a,
        channel="email",
        kind="target_failed",
        to_email="o@example.com",
        next_attempt_at=ago(seconds=60),
    )
    Delivery.objects.create(
        workspace=a, channel="webhook", kind="target_failed", next_attempt_at=NOW + dt.timedelta(minutes=5)
    )
    Delivery.objects.create(
        workspace=a, channel="email", kind="target_failed", state="failed", next_attempt_at=ago(hours=1)
    )
    Delivery.objects.create(
        workspace=b, channel="email", kind="target_failed", next_attempt_at=ago(seconds=600)
    )
    for ws, size, name in ((a, 100, "one.png"), (a, 250, "two.png"), (b, 1000, "three.png")):
        Media.objects.create(
            workspace=ws,
            file=f"media/{name}",
            kind="photo",
            content_type="image/png",
            size=size,
            sha256="0" * 64,
            original_name=name,
        )


def build(home: Path) -> World:
    """The rows, with the clock frozen at :data:`NOW` (the caller resets it); a few files under
    ``home`` (RUPOR_HOME) for the disk figures: 1000 bytes of media, 24 of database."""
    clock.freeze(NOW)
    a, b = pt.workspace("Ops A"), pt.workspace("Ops B")
    vk = pt.channel(a, pt.scripted_access("vk", token="a-vk"), name="A on VK")
    tg = pt.channel(a, pt.scripted_access("telegram", token="a-tg"), name="A on Telegram")
    other = pt.channel(b, pt.scripted_access("vk", token="b-vk"), name="B on VK")
    Channel.objects.filter(pk=vk.pk).update(
        last_error="Polling failed: timeout", last_error_job="inbox", last_error_at=ago(minutes=3)
    )
    failed = _publishing(a, vk, tg, other)
    _intake(a, b, vk, other)
    _collection_outbox_media(a, b, vk, tg, other)
    (home / "media" / "media").mkdir(parents=True, exist_ok=True)
    (home / "media" / "media" / "one.png").write_bytes(b"x" * 1000)
    (home / "rupor.sqlite3").write_bytes(b"d" * 24)
    return World(a=a, b=b, vk=vk, tg=tg, other=other, failed_target=failed)


@contextmanager
def built(settings: Any, home: Path) -> Iterator[World]:
    """:func:`build` with ``home`` as RUPOR_HOME (pytest-django's ``settings``), the disk figures
    read afresh, and the clock and those figures put back afterwards."""
    settings.RUPOR_HOME = home
    disk.forget()
    try:
        yield build(home)
    finally:
        clock.reset()
        disk.forget()
