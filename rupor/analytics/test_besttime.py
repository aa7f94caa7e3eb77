"""Best time to post against hand-computed figures: shrinkage, circular smoothing, the time
zone, thin data; and the database path (which posts count) and "add to the queue"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.analytics import besttime
from rupor.analytics.models import PostStat
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.planning.models import QueueSlot

#: A Monday, 00:00 UTC.
MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return MONDAY + dt.timedelta(days=day, hours=hour, minutes=minute)


# -- pure arithmetic ---------------------------------------------------------------------------


def test_shrink_is_the_credibility_weighted_mean() -> None:
    # Two posts of ratio 3 (total 6), prior 1, k = 3: (6 + 3·1) / (2 + 3) = 1.8.
    assert besttime.shrink(6.0, 2, 1.0, 3.0) == pytest.approx(1.8)
    # No posts: the prior itself.
    assert besttime.shrink(0.0, 0, 1.25, 3.0) == pytest.approx(1.25)
    # Thin data loses to steady data: one post at 5x → (5 + 3) / 4 = 2.0 against ten posts
    # at 2.5x → (25 + 3) / 13 = 2.1538…
    one_lucky = besttime.shrink(5.0, 1, 1.0, 3.0)
    steady = besttime.shrink(25.0, 10, 1.0, 3.0)
    assert one_lucky == pytest.approx(2.0)
    assert steady == pytest.approx(28 / 13)
    assert steady > one_lucky


def test_smoothing_wraps_sunday_23h_into_monday_0h() -> None:
    values = [0.0] * 168
    values[167] = 4.0  # Sunday 23:00
    out = besttime.smooth_circular(values)
    assert out[167] == pytest.approx(2.0)  # ½ of itself
    assert out[166] == pytest.approx(1.0)  # ¼ to Sunday 22:00
    assert out[0] == pytest.approx(1.0)  # ¼ to Monday 00:00, across the week's end
    assert out[1] == 0.0
    assert sum(out) == pytest.approx(4.0)  # smoothing moves weight, never makes it


def test_hour_of_week_is_read_in_the_workspace_zone() -> None:
    instant = at(0, 21, 30)  # Monday 21:30 UTC
    assert besttime.hour_of_week(instant, "UTC") == 21
    assert besttime.hour_of_week(instant, "Europe/Moscow") == 24  # Tuesday 00:30 (UTC+3)
    assert besttime.hour_of_week(instant, "Asia/Seoul") == 24 + 6  # Tuesday 06:30 (UTC+9)
    assert besttime.hour_of_week(at(6, 23, 59), "UTC") == 167
    assert besttime.hour_of_week(at(0, 0), "America/New_York") == 6 * 24 + 19  # Sunday 19:00


def _samples() -> list[tuple[dt.datetime, int]]:
    # Two posts on Monday 10:00 with 30 engagements, six on Wednesday 15:00 with 10.
    return [(at(0, 10), 30), (at(7, 10), 30)] + [(at(2 + 7 * i, 15), 10) for i in range(6)]


def test_estimate_matches_the_hand_computation() -> None:
    e = besttime.estimate(_samples(), "UTC", k=3.0)
    # median of 10,10,10,10,10,10,30,30 = 10; ratios 3,3,1,1,1,1,1,1; mean μ = 12/8 = 1.5
    assert e.typical == 10
    assert e.mean_ratio == pytest.approx(1.5)
    assert e.posts == 8
    assert e.signal == "thin"
    mon10 = e.slots[10]
    # hour 10 prior: (6 + 3·1.5) / (2 + 3) = 2.1; slot: (6 + 3·2.1) / 5 = 2.46
    assert mon10.posts == 2 and mon10.mean == pytest.approx(3.0)
    assert mon10.prior == pytest.approx(2.1)
    assert mon10.shrunk == pytest.approx(2.46)
    # neighbours have no posts at hours 9 and 11: their prior is μ = 1.5
    assert e.slots[9].shrunk == pytest.approx(1.5)
    assert mon10.score == pytest.approx(0.25 * 1.5 + 0.5 * 2.46 + 0.25 * 1.5)  # 1.98
    # Tuesday 10:00 has no posts: the hour's prior 2.1, smoothed to 1.8, marked as no data
    tue10 = e.slots[24 + 10]
    assert tue10.posts == 0 and tue10.mean is None
    assert tue10.score == pytest.approx(1.8)
    # hour 15 prior: (6 + 4.5) / 9; slot: (6 + 3·prior) / 9
    prior15 = 10.5 / 9
    wed15 = e.slots[2 * 24 + 15]
    assert wed15.shrunk == pytest.approx((6 + 3 * prior15) / 9)
    assert wed15.nearby == 6
    # the best hours: only hours with posts scoring above μ; Wednesday 15:00 (1.28 < 1.5) is not one
    assert wed15.score == pytest.approx(0.75 + 0.5 * (6 + 3 * prior15) / 9)
    assert [(s.weekday, s.hour) for s in e.top] == [(0, 10)]


def test_the_time_zone_moves_the_slots() -> None:
    e = besttime.estimate(_samples(), "Asia/Seoul")  # UTC+9: Monday 10:00 UTC is Monday 19:00
    assert [(s.weekday, s.hour) for s in e.top] == [(0, 19)]
    assert e.slots[3 * 24].posts == 6  # Wednesday 15:00 UTC is Thursday 00:00 in Seoul


def test_too_few_posts_rank_nothing_and_a_flat_channel_is_flat() -> None:
    few = besttime.estimate(_samples()[:7], "UTC")
    assert few.signal == "none" and few.top == []
    assert few.slots[10].posts == 2  # the evidence is still shown
    assert besttime.estimate([], "UTC").slots[0].score == pytest.approx(1.0)
    # A channel whose posts all got no reactions: no signal, every hour alike, no crash.
    zeros = besttime.estimate([(at(0, h), 0) for h in range(10)], "UTC")
    assert {round(s.score, 9) for s in zeros.slots} == {1.0}


def test_best_slots_are_never_neighbours() -> None:
    samples = [(at(7 * i, 10), 50) for i in range(4)] + [(at(7 * i, 11), 45) for i in range(4)]
    samples += [(at(2 + 7 * i, 18), 20) for i in range(4)] + [(at(4 + 7 * i, 8), 10) for i in range(4)]
    e = besttime.estimate(samples, "UTC")
    picked = [s.index for s in e.top]
    assert 10 in picked and 11 not in picked
    assert all(abs(a - b) % 168 not in (1, 167) for a in picked for b in picked if a != b)


# -- from the database --------------------------------------------------------------------------


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@example.com", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Bakery", owner, timezone="Europe/Moscow")
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Bakery TG", remote_id="@bakery")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    return {"ws": ws, "channel": channel, "owner": actor}


def add_stat(
    ws: Workspace,
    channel: Channel,
    when: dt.datetime,
    engagements: int | None,
    age: float | None = 24.0,
    **extra: Any,
) -> PostStat:
    n = PostStat.objects.count()
    return PostStat.objects.create(
        workspace=ws,
        channel=channel,
        remote_post_id=f"p{n}",
        published_at=when,
        engagements_24h=engagements,
        age_24h_hours=age,
        **extra,
    )


def fill(ws: Workspace, channel: Channel) -> None:
    """Two good Mondays 07:00 UTC (10:00 Moscow), two good Fridays 17:00 UTC (20:00) and six
    ordinary Wednesdays 12:00 UTC (15:00)."""
    base = clock.now() - dt.timedelta(weeks=10)
    monday = base - dt.timedelta(days=base.weekday(), hours=base.hour, minutes=base.minute)
    monday = monday.replace(second=0, microsecond=0)
    for week in range(2):
        add_stat(ws, channel, monday + dt.timedelta(weeks=week, hours=7), 30)
        add_stat(ws, channel, monday + dt.timedelta(weeks=week, days=4, hours=17), 25)
    for week in range(6):
        add_stat(ws, channel, monday + dt.timedelta(weeks=week, days=2, hours=12), 10)


def test_best_time_reads_only_posts_with_a_reading_near_24_hours(world: dict[str, Any]) -> None:
    ws, channel = world["ws"], world["channel"]
    fill(ws, channel)
    when = clock.now() - dt.timedelta(days=20)
    add_stat(ws, channel, when, None, None)  # never read at 24 h
    add_stat(ws, channel, when, 999, 72.0)  # the nearest reading was 3 days old
    add_stat(ws, channel, when, 999, 24.0, deleted_at=when + dt.timedelta(days=2))  # deleted
    add_stat(ws, channel, clock.now() - dt.timedelta(weeks=40), 999)  # older than the period
    other_ws = accounts.create_workspace(
        "Other", accounts.create_user("x@example.com", "a-long-enough-passphrase-42")
    )
    other = Channel.objects.create(workspace=other_ws, network="telegram", name="X", remote_id="@x")
    add_stat(other_ws, other, when, 999)

    r = besttime.best_time(world["owner"], channel.pk)
    assert r.timezone == "Europe/Moscow"
    assert r.estimate.posts == 10
    assert (
        r.skipped == 2
    )  # no 24-hour reading, and one read too late (deleted/old ones are not in the period's set)
    assert r.estimate.typical == 10
    # ratios 3, 3, 2.5, 2.5 and six 1s: μ = 1.7; Monday 10:00 scores 2.116, Friday 20:00 1.956
    assert r.estimate.mean_ratio == pytest.approx(1.7)
    assert [(s.weekday, s.hour) for s in r.estimate.top] == [(0, 10), (4, 20)]  # Moscow time
    assert r.estimate.top[0].score == pytest.approx(0.25 * 1.7 * 2 + 0.5 * (6 + 3 * (6 + 3 * 1.7) / 5) / 5)


def test_another_workspace_cannot_read_or_apply(world: dict[str, Any]) -> None:
    other_ws = accounts.create_workspace(
        "Other", accounts.create_user("y@example.com", "a-long-enough-passphrase-42")
    )
    stranger = accounts.Actor(other_ws.pk, Role.OWNER)
    with pytest.raises(besttime.BestTimeError) as exc:
        besttime.best_time(stranger, world["channel"].pk)
    assert exc.value.status == 404
    with pytest.raises(DomainError) as exc2:
        besttime.apply_best_time(stranger, world["channel"].pk)
    assert exc2.value.status == 404


def test_apply_adds_the_best_hours_to_the_queue_once(world: dict[str, Any]) -> None:
    ws, channel = world["ws"], world["channel"]
    fill(ws, channel)
    QueueSlot.objects.create(channel=channel, weekday=4, time=dt.time(20))  # already there
    done = besttime.apply_best_time(world["owner"], channel.pk, count=2)
    assert done.added == [(0, dt.time(10))]
    assert done.existing == [(4, dt.time(20))]
    slots = sorted(QueueSlot.objects.filter(channel=channel).values_list("weekday", "time"))
    assert slots == [(0, dt.time(10)), (4, dt.time(20))]
    again = besttime.apply_best_time(world["owner"], channel.pk, count=2)
    assert again.added == [] and len(again.existing) == 2
    assert QueueSlot.objects.filter(channel=channel).count() == 2


@pytest.mark.parametrize("role", ["editor", "analyst", "client", "moderator"])
def test_apply_needs_the_role_that_edits_the_queue(world: dict[str, Any], role: str) -> None:
    fill(world["ws"], world["channel"])
    actor = accounts.Actor(world["ws"].pk, Role(role))
    with pytest.raises(DomainError) as exc:
        besttime.apply_best_time(actor, world["channel"].pk)
    assert exc.value.status == 403
    assert not QueueSlot.objects.exists()


def test_apply_refuses_without_enough_posts_and_bad_counts(world: dict[str, Any]) -> None:
    add_stat(world["ws"], world["channel"], clock.now() - dt.timedelta(days=3), 5)
    with pytest.raises(besttime.BestTimeError) as exc:
        besttime.apply_best_time(world["owner"], world["channel"].pk)
    assert exc.value.status == 422 and "at least 8" in exc.value.message
    with pytest.raises(besttime.BestTimeError) as bad:
        besttime.apply_best_time(world["owner"], world["channel"].pk, count=0)
    assert bad.value.field == "count"
    with pytest.raises(besttime.BestTimeError) as weeks:
        besttime.best_time(world["owner"], world["channel"].pk, weeks=0)
    assert weeks.value.field == "weeks"
