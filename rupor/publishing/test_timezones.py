"""Scheduling across DST changes: what a person types in the workspace's zone is when it goes out."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.core import clock
from rupor.planning import service as planning
from rupor.publishing import engine, ratelimit
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC

CASES = [
    # zone, local wall time typed, expected UTC instant
    (
        "Europe/Moscow",
        dt.datetime(2011, 3, 26, 12, 0),
        dt.datetime(2011, 3, 26, 9, 0, tzinfo=UTC),
    ),  # UTC+3 (winter)
    (
        "Europe/Moscow",
        dt.datetime(2011, 3, 27, 12, 0),
        dt.datetime(2011, 3, 27, 8, 0, tzinfo=UTC),
    ),  # permanent UTC+4
    (
        "Europe/Moscow",
        dt.datetime(2014, 10, 25, 12, 0),
        dt.datetime(2014, 10, 25, 8, 0, tzinfo=UTC),
    ),  # still UTC+4
    (
        "Europe/Moscow",
        dt.datetime(2014, 10, 26, 12, 0),
        dt.datetime(2014, 10, 26, 9, 0, tzinfo=UTC),
    ),  # back to UTC+3
    (
        "Europe/Moscow",
        dt.datetime(2014, 10, 26, 1, 30),
        dt.datetime(2014, 10, 25, 21, 30, tzinfo=UTC),
    ),  # ambiguous: first
    ("Europe/Berlin", dt.datetime(2024, 3, 31, 3, 30), dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),
    (
        "Europe/Berlin",
        dt.datetime(2024, 10, 27, 2, 30),
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
    ),  # ambiguous: first
    ("America/New_York", dt.datetime(2024, 3, 10, 3, 30), dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),
    (
        "America/New_York",
        dt.datetime(2024, 11, 3, 1, 30),
        dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC),
    ),  # ambiguous: first
    ("Asia/Seoul", dt.datetime(2024, 6, 1, 9, 0), dt.datetime(2024, 6, 1, 0, 0, tzinfo=UTC)),  # no DST today
    (
        "Asia/Seoul",
        dt.datetime(1988, 6, 1, 9, 0),
        dt.datetime(1988, 6, 1, 23, 0, tzinfo=UTC) - dt.timedelta(days=1),
    ),  # 1988 DST, UTC+10
]

GAPS = [
    ("Europe/Moscow", dt.datetime(2011, 3, 27, 2, 30)),
    ("Europe/Berlin", dt.datetime(2024, 3, 31, 2, 30)),
    ("America/New_York", dt.datetime(2024, 3, 10, 2, 30)),
]


@pytest.fixture(autouse=True)
def _scripted():
    pt.ScriptedAdapter.reset()
    previous = ratelimit.use("memory")
    with pt.scripted_networks():
        yield
    clock.reset()
    ratelimit.use(previous)


def _actor(tz: str) -> tuple[Actor, int]:
    ws = pt.workspace(tz=tz)
    ch = pt.channel(ws, pt.scripted_access())
    return Actor(workspace_id=ws.pk, role=Role.OWNER, label="test"), ch.pk


@pytest.mark.parametrize(("tz", "local", "expected"), CASES)
def test_local_time_becomes_the_right_instant_and_goes_out_then(tz, local, expected):
    clock.freeze(expected - dt.timedelta(days=1))
    actor, channel_id = _actor(tz)
    post = planning.create_post(
        actor,
        planning.PostInput(
            text="tz",
            status="scheduled",
            scheduled_at=local,
            variants=(planning.VariantInput(channel_id=channel_id),),
        ),
    )
    target = PublicationTarget.objects.get(variant__post_id=post.pk)
    assert target.due_at == expected
    # The calendar shows the same wall time the person typed.
    assert target.due_at.astimezone(__import__("zoneinfo").ZoneInfo(tz)).replace(tzinfo=None) == local
    clock.freeze(expected - dt.timedelta(seconds=1))
    assert engine.claim_due_targets("tz", 10) == []
    clock.freeze(expected)
    run_worker(once=True, concurrency=1, worker_id="tz")
    target.refresh_from_db()
    assert target.state == TargetState.PUBLISHED


@pytest.mark.parametrize(("tz", "local"), GAPS)
def test_times_skipped_by_spring_forward_are_refused(tz, local):
    clock.freeze(dt.datetime(2010, 1, 1, tzinfo=UTC))
    actor, channel_id = _actor(tz)
    with pytest.raises(planning.PlanningError):
        planning.create_post(
            actor,
            planning.PostInput(
                text="gap",
                status="scheduled",
                scheduled_at=local,
                variants=(planning.VariantInput(channel_id=channel_id),),
            ),
        )


def test_daily_slot_keeps_wall_time_across_a_dst_change():
    """10:00 in Berlin every day: one hour apart in UTC before and after the clocks change."""
    clock.freeze(dt.datetime(2024, 3, 1, tzinfo=UTC))
    actor, channel_id = _actor("Europe/Berlin")
    dues = []
    for day in (30, 31):
        post = planning.create_post(
            actor,
            planning.PostInput(
                text=f"d{day}",
                status="scheduled",
                scheduled_at=dt.datetime(2024, 3, day, 10, 0),
                variants=(planning.VariantInput(channel_id=channel_id),),
            ),
        )
        dues.append(PublicationTarget.objects.get(variant__post_id=post.pk).due_at)
    assert dues[0] is not None and dues[1] is not None
    assert dues[1] - dues[0] == dt.timedelta(hours=23)
    assert Workspace.objects.count() >= 1
