"""Analytics end to end: readings collected from the emulators through the API, append-only,
with honest gaps (Telegram views) and named formulas."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from rupor.analytics import jobs
from rupor.analytics.models import ChannelDay, ChannelMetricReading, MemberEvent, PostMetricReading, PostStat
from rupor.core import clock
from rupor.inbox.testing import connect, publish
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import PublicationTarget

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def vk(vk_emu, make_workspace, api_for):
    ws = make_workspace("VK shop")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    return ws, connect(ws, access), access, api_for(ws, "analyst")


def test_vk_post_metrics_collected_twice_are_two_readings_with_rates(vk, vk_emu):
    _ws, channel, access, api = vk
    target = publish(channel, access, "Metrics post")
    post_id = target.variant.post_id
    res = api.get(f"/posts/{post_id}/metrics")
    assert res.status_code == 200
    assert res.json()["variants"][0]["readings"] == 0 and res.json()["variants"][0]["notes"]
    first = api.post(f"/channels/{channel.pk}/metrics/collect", {})
    assert first.status_code == 200, first.content
    assert first.json()["post_readings"] == 1 and first.json()["channel_readings"] == 1
    vk_testing.advance(vk_emu, 3 * 3600)  # the audience engages over emulator time
    assert api.post(f"/channels/{channel.pk}/metrics/collect", {}).status_code == 200
    readings = list(PostMetricReading.objects.filter(target_id=target.pk).order_by("read_at", "id"))
    assert len(readings) == 2  # append-only: a second reading, not an overwrite
    assert readings[1].views is not None and readings[1].views >= (readings[0].views or 0)

    body = api.get(f"/posts/{post_id}/metrics").json()
    variant = body["variants"][0]
    assert variant["readings"] == 2 and variant["network"] == "vk"
    assert variant["views"] == readings[1].views
    e = (variant["likes"] or 0) + (variant["reposts"] or 0) + (variant["comments"] or 0)
    assert variant["engagements"] == e
    # Followers at publishing: no count was read before the post, so the first one read after.
    assert (
        variant["followers"]
        == ChannelMetricReading.objects.filter(channel=channel).earliest("read_at").members
    )
    if variant["followers"]:
        assert variant["er_followers"] == pytest.approx(e / variant["followers"] * 100, abs=1e-3)
    if variant["reach"]:
        assert variant["er_reach"] == pytest.approx(e / variant["reach"] * 100, abs=1e-3)
    assert variant["er_views"] == pytest.approx(e / variant["views"] * 100, abs=1e-3)
    assert "ERR" in body["formulas"]["er_reach"] and "Popsters" in body["formulas"]["er_followers"]


def test_vk_channel_growth_and_member_events_counted_once(vk, vk_emu, settings):
    _ws, channel, _access, api = vk
    settings.ROOT_URLCONF = "rupor.inbox.testing_urls"
    start = clock.now() - dt.timedelta(minutes=1)
    assert api.post(f"/channels/{channel.pk}/metrics/collect", {}).status_code == 200
    vk_testing.advance(vk_emu, 5 * 3600)
    clock.advance(dt.timedelta(hours=1))
    assert api.post(f"/channels/{channel.pk}/metrics/collect", {}).status_code == 200
    # A join pushed by the Callback API, delivered twice, counts once.
    from rupor.inbox import hooks

    path = hooks.hook_path(channel)
    join = {
        "type": "group_join",
        "group_id": 1,
        "event_id": "join-77",
        "v": "5.199",
        "object": {"user_id": 10077, "join_type": "join"},
        "secret": "rupor-demo-secret",
    }
    for _ in range(2):
        assert Client().post(path, json.dumps(join), content_type="application/json").status_code == 200
    assert MemberEvent.objects.filter(channel=channel).count() == 1
    res = api.get(
        f"/channels/{channel.pk}/metrics",
        start=start.isoformat(),
        end=(clock.now() + dt.timedelta(minutes=1)).isoformat(),
    )
    assert res.status_code == 200, res.content
    body = res.json()
    assert len(body["points"]) == 2
    assert body["members_end"] - body["members_start"] == body["net_growth"]
    assert body["joins"] == 1
    if body["members_start"]:
        assert body["growth_rate"] == pytest.approx(
            body["net_growth"] / body["members_start"] * 100, abs=1e-3
        )
    assert "growth" in body["formulas"]["growth_rate"].lower()
    bad = api.get(f"/channels/{channel.pk}/metrics", start="2025-01-02T00:00:00Z", end="2025-01-01T00:00:00Z")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "end"
    assert api.get(f"/channels/{channel.pk}/metrics", start="not a date").status_code == 422


def test_telegram_views_are_none_and_said_so(make_workspace, api_for):
    emulator = tg_testing.start(rate_limits=False)
    try:
        ws = make_workspace("TG")
        api = api_for(ws, "owner")
        access = tg_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "Views check")
        res = api.post(f"/channels/{channel.pk}/metrics/collect", {})
        assert res.status_code == 200, res.content
        reading = PostMetricReading.objects.get(target_id=target.pk)
        assert reading.views is None and reading.reach is None  # never an invented number
        assert ChannelMetricReading.objects.get(channel=channel).members is not None
        variant = api.get(f"/posts/{target.variant.post_id}/metrics").json()["variants"][0]
        assert variant["views"] is None and variant["er_views"] is None and variant["er_reach"] is None
        assert any("view counts" in n for n in variant["notes"])
        # Competitor pages: the Bot API cannot read them — a plain message, not an error page.
        res = api.get(f"/channels/{channel.pk}/competitors/durov")
        assert res.status_code == 422 and "Telegram" in res.json()["detail"]
    finally:
        emulator.stop()


def test_vk_competitor_page(vk):
    _ws, channel, _access, api = vk
    res = api.get(f"/channels/{channel.pk}/competitors/{vk_testing.COMPETITOR_HANDLE}")
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["name"] and body["members"] is not None and "Popsters" in body["formula"]
    res = api.get(f"/channels/{channel.pk}/competitors/no_such_community_xyz")
    assert 400 <= res.status_code < 500 and "detail" in res.json()


def test_job_reads_posts_on_the_decaying_schedule(vk, vk_emu):
    _ws, channel, access, _api = vk
    target = publish(channel, access, "Job metrics")
    published = target.published_at
    assert published is not None
    assert jobs.run_due(clock.now()) == 1  # the channel's own figures; the post is not due yet
    assert ChannelMetricReading.objects.filter(channel=channel).count() == 1
    assert PostMetricReading.objects.filter(channel=channel).count() == 0
    stat = PostStat.objects.get(channel=channel, remote_post_id=target.remote_id)
    assert stat.next_read_at == published + dt.timedelta(hours=1) and stat.target_id == target.pk
    assert stat.followers == ChannelMetricReading.objects.get(channel=channel).members
    day = ChannelDay.objects.get(channel=channel, day=clock.now().date())
    assert day.members == stat.followers and day.source == "stats" and day.joins is not None

    # An hour on (on both clocks), the post is read, once, in one batch.
    clock.advance(dt.timedelta(hours=1, minutes=1))
    vk_testing.advance(vk_emu, 3660)
    assert jobs.run_due(clock.now()) == 1
    first = PostMetricReading.objects.get(channel=channel)
    stat.refresh_from_db()
    assert stat.readings == 1 and stat.read_at == first.read_at and stat.views == first.views
    assert stat.next_read_at == published + dt.timedelta(hours=6)
    assert jobs.run_due(clock.now() + dt.timedelta(minutes=10)) == 0  # nothing due

    # Six hours after publishing: the second read, and the numbers have moved.
    clock.advance(dt.timedelta(hours=5))
    vk_testing.advance(vk_emu, 5 * 3600)
    assert jobs.run_due(clock.now()) == 1
    second = PostMetricReading.objects.filter(channel=channel).latest("read_at")
    stat.refresh_from_db()
    assert stat.readings == 2 and second.views is not None and first.views is not None
    assert second.views > first.views and stat.views == second.views and stat.likes == second.likes
    assert stat.next_read_at == published + dt.timedelta(hours=24)
    e = (second.likes or 0) + (second.reposts or 0) + (second.comments or 0)
    assert stat.engagements_24h == e  # the reading nearest 24 h so far

    # Deleted on the network: marked, and no longer read.
    from rupor.networks import registry

    registry.adapter("vk").delete(access, target.remote_id)
    clock.advance(dt.timedelta(hours=18))
    vk_testing.advance(vk_emu, 18 * 3600)
    jobs.run_due(clock.now())
    stat.refresh_from_db()
    assert stat.deleted_at is not None and stat.next_read_at is None and stat.views == second.views


def test_job_defers_to_publishing(vk, vk_emu):
    _ws, channel, access, _api = vk
    publish(channel, access, "Deferred metrics")
    soon = publishing_testing.schedule(channel, "Due soon", clock.now() + dt.timedelta(minutes=5))
    assert jobs.run_due(clock.now()) == 0  # a post is due on the channel: collection waits
    assert ChannelMetricReading.objects.filter(channel=channel).count() == 0
    PublicationTarget.objects.filter(pk=soon.pk).update(state="cancelled")
    # Publishing just used the channel's rate limit: collection waits too.
    from rupor.networks import registry
    from rupor.publishing import ratelimit

    ratelimit.try_acquire(registry.adapter("vk").rate_limits(access, None))
    assert jobs.run_due(clock.now()) == 0
    ratelimit.use("memory")  # the bucket idle again (fresh)
    assert jobs.run_due(clock.now()) == 1
    assert ChannelMetricReading.objects.filter(channel=channel).count() == 1


def test_roles_and_other_workspaces(vk, make_workspace, api_for):
    ws, channel, access, analyst = vk
    target = publish(channel, access, "Role metrics")
    post_id = target.variant.post_id
    endpoints = [
        ("get", f"/posts/{post_id}/metrics"),
        ("get", f"/channels/{channel.pk}/metrics"),
        ("post", f"/channels/{channel.pk}/metrics/collect"),
        ("get", f"/channels/{channel.pk}/competitors/{vk_testing.COMPETITOR_HANDLE}"),
    ]
    for role in ("editor", "moderator", "client"):
        api = api_for(ws, role)
        for method, path in endpoints:
            res = api.get(path) if method == "get" else api.post(path, {})
            assert res.status_code == 403, (role, path, res.status_code)
    for method, path in endpoints:
        res = analyst.get(path) if method == "get" else analyst.post(path, {})
        assert res.status_code == 200, (path, res.content)
    stranger = api_for(make_workspace("Other"), "owner")
    for method, path in endpoints:
        res = stranger.get(path) if method == "get" else stranger.post(path, {})
        assert res.status_code == 404, (path, res.status_code)
        assert "detail" in res.json()


def test_telegram_and_ok_collection_end_to_end(make_workspace):
    from rupor.networks.ok import testing as ok_testing

    tg = tg_testing.start(rate_limits=False)
    ok = ok_testing.start(rate_limits=False)
    try:
        ws = make_workspace("Both")
        tg_access, ok_access = tg_testing.channel_for(tg), ok_testing.channel_for(ok)
        tg_ch, ok_ch = connect(ws, tg_access), connect(ws, ok_access)
        tg_post = publish(tg_ch, tg_access, "Telegram stats")
        ok_post = publish(ok_ch, ok_access, "OK stats")
        assert jobs.run_due(clock.now()) == 2  # both channels' own figures
        today = clock.now().date()
        ok_day = ChannelDay.objects.get(channel=ok_ch, day=today)
        assert ok_day.members is not None and ok_day.joins is None and ok_day.leaves is None
        assert ok_day.source == ""  # OK tells neither: unknown, not 0
        tg_day = ChannelDay.objects.get(channel=tg_ch, day=today)
        assert tg_day.members is not None and (tg_day.joins, tg_day.leaves, tg_day.source) == (0, 0, "events")

        clock.advance(dt.timedelta(hours=1, minutes=1))
        tg_testing.advance(tg, 3660)
        ok_testing.advance_clock(ok, 3660)
        assert jobs.run_due(clock.now()) == 2  # both posts' first scheduled read
        ok_stat = PostStat.objects.get(channel=ok_ch, remote_post_id=ok_post.remote_id)
        assert ok_stat.readings == 1 and ok_stat.likes is not None and not ok_stat.reactions_only
        assert ok_post.published_at is not None
        assert ok_stat.next_read_at == ok_post.published_at + dt.timedelta(hours=6)
        tg_stat = PostStat.objects.get(channel=tg_ch, remote_post_id=tg_post.remote_id)
        assert tg_stat.readings == 1 and tg_stat.views is None
        if tg_stat.likes is not None:  # reaction totals were pending in the update queue
            assert tg_stat.reactions_only and tg_stat.reposts is None

        # A join and a leave delivered by Telegram recount the day; churn follows.
        from rupor.analytics import service

        service.record_member_events(
            tg_ch.pk,
            [
                service.MemberChange("j-1", True, clock.now()),
                service.MemberChange("l-1", False, clock.now()),
            ],
        )
        # The day the events fell on (the clock moved an hour on: near midnight UTC that is tomorrow).
        tg_day = ChannelDay.objects.get(channel=tg_ch, day=clock.now().date())
        assert (tg_day.joins, tg_day.leaves) == (1, 1)
        growth = service.channel_growth(ws.pk, tg_ch.pk, clock.now() - dt.timedelta(hours=2), clock.now())
        assert growth.leaves == 1 and growth.members_start
        assert growth.churn == pytest.approx(100 / growth.members_start, abs=1e-3)
    finally:
        tg.stop()
        ok.stop()


def test_x_public_metrics_reach_analytics(make_workspace):
    from rupor.networks.x import testing as x_testing

    emulator = x_testing.start(rate_limits=False)
    try:
        ws = make_workspace("X")
        access = x_testing.channel_for(emulator)
        channel = connect(ws, access)
        post = publish(channel, access, "X stats")
        assert jobs.run_due(clock.now()) == 1  # the account's followers
        assert ChannelDay.objects.get(channel=channel, day=clock.now().date()).members == 1200
        clock.advance(dt.timedelta(hours=1, minutes=1))
        x_testing.advance_clock(emulator, 3660)
        assert jobs.run_due(clock.now()) == 1  # the post's first scheduled read
        stat = PostStat.objects.get(channel=channel, remote_post_id=post.remote_id)
        assert stat.readings == 1
        assert stat.views is not None and stat.views > 0  # impressions
        assert stat.likes is not None and stat.reposts is not None and stat.comments is not None
        assert not stat.reactions_only
    finally:
        emulator.stop()
