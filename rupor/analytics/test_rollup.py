"""The daily rollup (``PostDay``): the dashboards' figures from it are those computed from every
post, on the same data (in whole-hour and half-hour time zones, deleted posts, reactions-only and
zero-follower posts included); collection keeps it in step; backfill and a new time zone rebuild it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts.models import Workspace
from rupor.analytics import collection, dashboard, rollup, service, testing
from rupor.analytics.collection import ChannelFacts
from rupor.analytics.models import PostDay, PostDayZone, PostMetricReading, PostStat
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning import service as planning

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.reset()


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal, field by field; floats equal up to the last bits (sums added in another order)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (
            path,
            a,
            b,
        )
    else:
        assert a == b and type(a) is type(b), (path, a, b)


def _overview(ws: Workspace, start: dt.date, end: dt.date, *, direct: bool, **kw: Any) -> dashboard.Overview:
    dashboard.USE_ROLLUP = not direct
    try:
        return dashboard.overview(ws.pk, start, end, **kw)
    finally:
        dashboard.USE_ROLLUP = True


def _workspace(make_workspace, zone: str) -> Workspace:
    ws: Workspace = make_workspace("Rollup", timezone=zone)
    for i, network in enumerate(("vk", "telegram", "ok", "vk")):
        Channel.objects.create(workspace=ws, network=network, name=f"{network} {i}", remote_id=f"r{i}")
    testing.fill(ws.pk, days=75, posts_per_day=3, end=TODAY)
    posts = list(PostStat.objects.filter(workspace=ws).order_by("id").values_list("id", flat=True))
    # The awkward cases: deleted posts, zero and unknown followers, missing views and reach.
    PostStat.objects.filter(id__in=posts[::17]).update(deleted_at=NOW)
    PostStat.objects.filter(id__in=posts[3::19]).update(followers=0)
    PostStat.objects.filter(id__in=posts[5::23]).update(followers=None)
    PostStat.objects.filter(id__in=posts[7::11]).update(views=None, reach=None)
    PostStat.objects.filter(id__in=posts[9::29]).update(likes=None, reposts=None, comments=None)
    rollup.rebuild(ws.pk)  # written directly, past collection
    return ws


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "Asia/Kolkata", "America/New_York"])
def test_rollup_figures_are_the_direct_figures(make_workspace, zone):
    ws = _workspace(make_workspace, zone)
    one = Channel.objects.filter(workspace=ws).order_by("pk").first()
    assert one is not None
    for days in (1, 7, 30, 60):
        start = TODAY - dt.timedelta(days=days - 1)
        rolled = _overview(ws, start, TODAY, direct=False)
        _same(rolled, _overview(ws, start, TODAY, direct=True))
        assert rolled.figure("posts").value  # the comparison is over real data
    _same(
        _overview(ws, TODAY - dt.timedelta(days=29), TODAY, direct=False, channel_ids=[one.pk]),
        _overview(ws, TODAY - dt.timedelta(days=29), TODAY, direct=True, channel_ids=[one.pk]),
    )
    assert PostDayZone.objects.get(workspace=ws).zone == zone
    # one row per channel and local day with posts, counting every post once
    totals = PostDay.objects.filter(workspace=ws).values_list("posts", "deleted")
    assert sum(p + d for p, d in totals) == PostStat.objects.filter(workspace=ws).count()


def test_heatmap_rollup_takes_out_channels_outside_the_scope_removed_and_deleted_ones(make_workspace):
    ws = _workspace(make_workspace, "Asia/Kolkata")
    chans = list(Channel.objects.filter(workspace=ws).order_by("pk"))
    start = TODAY - dt.timedelta(days=44)

    def both(**kw: Any) -> dashboard.Overview:
        rolled = _overview(ws, start, TODAY, direct=False, **kw)
        _same(rolled, _overview(ws, start, TODAY, direct=True, **kw))
        return rolled

    whole = both()
    assert set(rollup.hour_channels(ws.pk)) == {c.pk for c in chans}
    # three of four channels: the rollup less the fourth's posts
    three = both(channel_ids=[c.pk for c in chans[:3]])
    assert sum(c.posts for row in three.heatmap for c in row) < sum(
        c.posts for row in whole.heatmap for c in row
    )
    # a removed (archived) channel leaves the dashboards; its posts stay in the rollup, taken out
    Channel.objects.filter(pk=chans[3].pk).update(status=Channel.Status.ARCHIVED)
    _same(both().heatmap, three.heatmap)
    # a channel deleted with its posts: the hourly rollup is rebuilt without them
    chans[2].delete()
    both()
    assert set(rollup.hour_channels(ws.pk)) == {c.pk for c in chans[:2]} | {chans[3].pk}


def test_a_new_time_zone_rebuilds_the_rollup(make_workspace):
    ws = _workspace(make_workspace, "UTC")
    start = TODAY - dt.timedelta(days=6)
    _overview(ws, start, TODAY, direct=False)
    ws.timezone = "Asia/Tokyo"
    ws.save(update_fields=["timezone"])
    _same(_overview(ws, start, TODAY, direct=False), _overview(ws, start, TODAY, direct=True))
    assert PostDayZone.objects.get(workspace=ws).zone == "Asia/Tokyo"


def _read(facts: ChannelFacts, remote: str, at: dt.datetime, **counts: int) -> None:
    reading = PostMetricReading.objects.create(
        workspace_id=facts.workspace_id, channel_id=facts.id, remote_post_id=remote, read_at=at, **counts
    )
    collection.apply_readings(facts, [reading])


def _day(ch: Channel, day: dt.date) -> PostDay:
    return PostDay.objects.get(channel=ch, day=day)


def test_collection_keeps_the_rollup_in_step(make_workspace):
    ws = make_workspace("Collect", timezone="Europe/Moscow")
    ch = Channel.objects.create(workspace=ws, network="vk", name="VK", remote_id="-5")
    facts = ChannelFacts(id=ch.pk, workspace_id=ws.pk, network="vk")
    rollup.rebuild(ws.pk)  # built (empty) before any post
    at = dt.datetime(2026, 3, 30, 22, 30, tzinfo=dt.UTC)  # 31 March, 01:30 in Moscow
    _read(facts, "7", at + dt.timedelta(hours=1), likes=4, reposts=1, comments=2, views=50)
    day = _day(ch, dt.date(2026, 3, 31))
    assert (day.posts, day.likes, day.e, day.views) == (1, 4, 7, 50)
    _read(facts, "7", at + dt.timedelta(hours=6), likes=9, reposts=1, comments=2, views=80)
    day = _day(ch, dt.date(2026, 3, 31))
    assert (day.posts, day.likes, day.e, day.views) == (1, 9, 12, 80)
    _read(facts, "8", at + dt.timedelta(hours=7), likes=1, reposts=0, comments=0, views=10)
    assert _day(ch, dt.date(2026, 3, 31)).posts == 2
    collection.mark_deleted(ch.pk, ["8"], NOW)
    day = _day(ch, dt.date(2026, 3, 31))
    assert (day.posts, day.deleted, day.likes) == (1, 1, 9)
    start = dt.date(2026, 3, 25)
    _same(_overview(ws, start, TODAY, direct=False), _overview(ws, start, TODAY, direct=True))


def test_backfill_rebuilds_the_rollup(make_workspace):
    ws = _workspace(make_workspace, "Europe/Moscow")
    start = TODAY - dt.timedelta(days=29)
    before = _overview(ws, start, TODAY, direct=True)
    PostDay.objects.filter(workspace=ws).delete()
    PostDay.objects.create(
        workspace=ws, channel=Channel.objects.filter(workspace=ws)[0], day=TODAY, posts=999
    )
    service.backfill_summaries(ws.pk)
    assert not PostDay.objects.filter(posts=999).exists()
    _same(_overview(ws, start, TODAY, direct=False), before)


def _slices(
    ws: Workspace, start: dt.date, end: dt.date, *, direct: bool, **kw: Any
) -> dashboard.ContentSlices:
    dashboard.SLICES_IN_SQL = not direct
    try:
        return dashboard.content_slices(ws.pk, start, end, **kw)
    finally:
        dashboard.SLICES_IN_SQL = True


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_slices_in_sql_are_the_slices_from_every_post(make_workspace, zone):
    """On PostgreSQL the "what works" slices (means, exact medians, rates) come from one grouped
    query; they are those computed post by post (SQLite always computes them post by post)."""
    ws = _workspace(make_workspace, zone)
    assert {r.is_selling for r in planning.rubric_facts(ws.pk)} == {True, False}  # the default rubrics
    posts = list(PostStat.objects.filter(workspace=ws).order_by("id").values_list("id", flat=True))
    PostStat.objects.filter(id__in=posts[::13]).update(rubric_id=None)
    PostStat.objects.filter(id__in=posts[2::37]).update(rubric_id=999_999)  # a rubric since deleted
    PostStat.objects.filter(id__in=posts[1::31]).update(text_length=0)
    one = Channel.objects.filter(workspace=ws, network="vk").order_by("pk").first()
    tg = Channel.objects.filter(workspace=ws, network="telegram").order_by("pk").first()
    assert one is not None and tg is not None
    for days in (1, 7, 30, 60):
        start = TODAY - dt.timedelta(days=days - 1)
        fast = _slices(ws, start, TODAY, direct=False)
        _same(fast, _slices(ws, start, TODAY, direct=True))
        assert fast.posts and fast.slice("rubric").rows and fast.selling  # over real data
    assert any(r.median_engagements != int(r.median_engagements or 0) for s in fast.slices for r in s.rows)
    for channel_ids in ([one.pk], [tg.pk]):  # reactions only: the slices compare reactions
        start = TODAY - dt.timedelta(days=29)
        _same(
            _slices(ws, start, TODAY, direct=False, channel_ids=channel_ids),
            _slices(ws, start, TODAY, direct=True, channel_ids=channel_ids),
        )
    empty = TODAY + dt.timedelta(days=1)
    _same(_slices(ws, empty, empty, direct=False), _slices(ws, empty, empty, direct=True))
