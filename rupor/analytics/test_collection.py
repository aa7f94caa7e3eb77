"""The summary tables kept in step with readings, and every formula against hand-computed values
(zero followers, missing views, deleted posts, reactions-only networks, readings with gaps)."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.analytics import collection, service
from rupor.analytics.collection import ChannelFacts
from rupor.analytics.models import (
    AudienceSnapshot,
    ChannelDay,
    ChannelMetricReading,
    MemberEvent,
    PostMetricReading,
    PostStat,
)
from rupor.networks.base import AudienceCount, ChannelAccess, ChannelDayStats
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import PublicationTarget, TargetState

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def _channel(ws, network: str = "vk"):
    access = ChannelAccess(network=network, remote_id="1", credentials={}, base_url="http://127.0.0.1:9")
    ch = publishing_testing.channel(ws, access)
    return ch, ChannelFacts(id=ch.pk, workspace_id=ws.pk, network=network)


def _published(ch, text: str, remote_id: str, at: dt.datetime = T0, **variant) -> PublicationTarget:
    target = publishing_testing.schedule(ch, text, at, **variant)
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.PUBLISHED,
        remote_id=remote_id,
        published_at=at,
        remote_url=f"https://vk.com/wall{remote_id}",
    )
    target.refresh_from_db()
    return target


def _members(ch, at: dt.datetime, members: int) -> None:
    ChannelMetricReading.objects.create(workspace_id=ch.workspace_id, channel=ch, read_at=at, members=members)


def _read(
    facts: ChannelFacts, remote: str, at: dt.datetime, source: str = "poll", **counts
) -> PostMetricReading:
    reading = PostMetricReading.objects.create(
        workspace_id=facts.workspace_id,
        channel_id=facts.id,
        remote_post_id=remote,
        read_at=at,
        source=source,
        **counts,
    )
    collection.apply_readings(facts, [reading], schedule=source == "poll")
    return reading


# -- the schedule ------------------------------------------------------------------------------


def test_schedule_reads_at_1h_6h_24h_3d_7d_30d_then_stops():
    at = None
    seen = []
    for _ in range(7):
        nxt = collection.next_read_at(T0, at)
        if nxt is None:
            break
        seen.append(nxt - T0)
        at = nxt + dt.timedelta(minutes=2)  # read a little after it was due
    assert seen == [H, 6 * H, 24 * H, dt.timedelta(days=3), dt.timedelta(days=7), dt.timedelta(days=30)]
    # A late read (the job was down): the step it fell into counts as done.
    assert collection.next_read_at(T0, T0 + 5 * H + dt.timedelta(minutes=50)) == T0 + 24 * H
    # A read before the first step (a person pressed "collect now") leaves the 1 h read due.
    assert collection.next_read_at(T0, T0 + dt.timedelta(minutes=10)) == T0 + H


# -- PostStat from one reading ------------------------------------------------------------------


def test_post_stat_row_has_the_published_facts_and_followers_at_publishing(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    _members(ch, T0 - 2 * H, 1000)
    _members(ch, T0 + 2 * H, 1040)  # after publishing: not the denominator
    target = _published(ch, "Hello  world\nagain", "-1_5", link="https://example.com/x")
    assert collection.track_published(facts) == 1
    assert collection.track_published(facts) == 0  # once
    stat = PostStat.objects.get(channel=ch, remote_post_id="-1_5")
    assert stat.target_id == target.pk and stat.post_id == target.variant.post_id
    assert stat.content_format == "link" and stat.text_length == len("Hello  world\nagain")
    assert stat.text_excerpt == "Hello world again" and stat.url == "https://vk.com/wall-1_5"
    assert stat.published_at == T0 and stat.followers == 1000
    assert stat.next_read_at == T0 + H and stat.readings == 0 and stat.read_at is None


def test_counters_come_from_one_reading_never_merged(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    _members(ch, T0, 200)
    _published(ch, "p", "-1_1")
    collection.track_published(facts)
    _read(facts, "-1_1", T0 + H, likes=10, reposts=2, comments=3, views=400, reach=300)
    # A later reading without reach or views (a gap): the row takes it whole, so no rate can
    # divide its counters by the older reach.
    _read(facts, "-1_1", T0 + 6 * H, likes=20, reposts=4, comments=6)
    stat = PostStat.objects.get(channel=ch)
    assert (stat.likes, stat.reposts, stat.comments, stat.views, stat.reach) == (20, 4, 6, None, None)
    assert stat.read_at == T0 + 6 * H and stat.readings == 2
    assert stat.next_read_at == T0 + 24 * H
    # A reading with no counter at all (Telegram without pending reaction totals) is counted
    # but changes no figure.
    _read(facts, "-1_1", T0 + 24 * H)
    stat.refresh_from_db()
    assert stat.likes == 20 and stat.read_at == T0 + 6 * H and stat.readings == 3
    assert stat.next_read_at == T0 + 3 * 24 * H


def test_engagements_at_24h_follow_the_reading_nearest_24_hours(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    _published(ch, "p", "-1_2")
    collection.track_published(facts)
    _read(facts, "-1_2", T0 + 6 * H, likes=5, reposts=0, comments=1)
    stat = PostStat.objects.get(channel=ch)
    assert stat.engagements_24h == 6 and stat.age_24h_hours == 6
    _read(facts, "-1_2", T0 + 25 * H, likes=30, reposts=3, comments=7)
    _read(facts, "-1_2", T0 + 72 * H, likes=50, reposts=5, comments=9)
    stat.refresh_from_db()
    assert stat.engagements_24h == 40 and stat.age_24h_hours == 25
    assert stat.likes == 50  # the newest reading for the counters


def test_reactions_only_readings_are_marked(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws, "telegram")
    _published(ch, "p", "77")
    collection.track_published(facts)
    service.record_reactions(ch.pk, "77", {"👍": 7, "🔥": 2}, T0 + 2 * H)
    stat = PostStat.objects.get(channel=ch)
    assert stat.likes == 9 and stat.reactions_only and stat.reposts is None and stat.views is None
    assert stat.next_read_at == T0 + H  # a pushed total does not move the schedule
    assert stat.readings == 1


def test_deleted_posts_are_marked_and_no_longer_read(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    _published(ch, "p", "-1_3")
    collection.track_published(facts)
    _read(facts, "-1_3", T0 + H, likes=1, reposts=0, comments=0)
    assert collection.mark_deleted(ch.pk, ["-1_3"], T0 + 6 * H) == 1
    stat = PostStat.objects.get(channel=ch)
    assert stat.deleted_at == T0 + 6 * H and stat.next_read_at is None and stat.likes == 1
    assert collection.due_posts(ch.pk, T0 + 100 * H, 10) == []


def test_backfill_rebuilds_rows_from_stored_readings(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws, "telegram")
    _members(ch, T0 - H, 500)
    _published(ch, "p", "9")
    for at, likes in ((T0 + H, 3), (T0 + 30 * H, 8)):
        PostMetricReading.objects.create(
            workspace=ws, channel=ch, remote_post_id="9", read_at=at, likes=likes, source="poll"
        )
    MemberEvent.objects.create(workspace=ws, channel=ch, remote_id="j1", kind="join", occurred_at=T0)
    MemberEvent.objects.create(workspace=ws, channel=ch, remote_id="l1", kind="leave", occurred_at=T0 + H)
    MemberEvent.objects.create(workspace=ws, channel=ch, remote_id="l2", kind="leave", occurred_at=T0 + 2 * H)
    collection.backfill([facts])
    collection.backfill([facts])  # again: the same rows
    stat = PostStat.objects.get(channel=ch)
    assert stat.readings == 2 and stat.likes == 8 and stat.followers == 500 and stat.reactions_only
    assert stat.engagements_24h == 8 and stat.age_24h_hours == 30
    day = ChannelDay.objects.get(channel=ch, day=T0.date())
    assert (day.joins, day.leaves, day.source) == (1, 2, "events")
    assert ChannelDay.objects.get(channel=ch, day=(T0 - H).date()).members == 500


# -- ChannelDay ---------------------------------------------------------------------------------


def test_vk_daily_statistics_fill_days_and_audience(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    yesterday, today = T0.date() - dt.timedelta(days=1), T0.date()
    days = (
        ChannelDayStats(
            yesterday,
            joins=4,
            leaves=1,
            reach=900,
            views=1500,
            audience=(AudienceCount("visitors", "sex", "f", 30), AudienceCount("visitors", "sex", "m", 20)),
        ),
        ChannelDayStats(today, joins=2, leaves=0, reach=100, views=120),
    )
    collection.apply_channel_metrics(facts, read_at=T0, members=321, days=days)
    row = ChannelDay.objects.get(channel=ch, day=yesterday)
    assert (row.joins, row.leaves, row.reach, row.views, row.source, row.members) == (
        4,
        1,
        900,
        1500,
        "stats",
        None,
    )
    row = ChannelDay.objects.get(channel=ch, day=today)
    assert (row.joins, row.leaves, row.members, row.source) == (2, 0, 321, "stats")
    assert dict(AudienceSnapshot.objects.filter(channel=ch, day=yesterday).values_list("key", "count")) == {
        "f": 30,
        "m": 20,
    }


def test_ok_joins_and_leaves_stay_unknown_never_zero(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws, "ok")
    collection.apply_channel_metrics(facts, read_at=T0, members=50)
    row = ChannelDay.objects.get(channel=ch, day=T0.date())
    assert row.members == 50 and row.joins is None and row.leaves is None and row.source == ""
    _members(ch, T0 - 24 * H, 40)
    _members(ch, T0, 50)
    growth = service.channel_growth(ws.pk, ch.pk, T0 - 24 * H, T0)
    assert growth.joins is None and growth.leaves is None and growth.churn is None
    assert growth.net_growth == 10 and growth.growth_rate == 25.0
    assert any("unknown" in n for n in growth.notes)


def test_telegram_member_events_count_per_day_and_churn(make_workspace):
    ws = make_workspace()
    ch, _facts = _channel(ws, "telegram")
    _members(ch, T0 - H, 200)  # members at the start of the period
    _members(ch, T0 + 10 * H, 196)
    changes = [service.MemberChange(f"l{i}", False, T0 + i * H) for i in range(8)]
    changes += [service.MemberChange(f"j{i}", True, T0 + i * H) for i in range(4)]
    assert service.record_member_events(ch.pk, changes) == 12
    assert service.record_member_events(ch.pk, changes[:3]) == 0  # delivered twice: counted once
    row = ChannelDay.objects.get(channel=ch, day=T0.date())
    assert (row.joins, row.leaves, row.source) == (4, 8, "events")
    growth = service.channel_growth(ws.pk, ch.pk, T0 - dt.timedelta(minutes=30), T0 + 11 * H)
    assert growth.members_start == 200 and growth.members_end == 196 and growth.net_growth == -4
    assert (growth.joins, growth.leaves, growth.joins_source) == (4, 8, "events")
    assert growth.churn == 4.0  # 8 / 200 x 100%
    assert growth.growth_rate == -2.0
    assert "churn" in growth.formulas


def test_vk_growth_joins_from_daily_statistics_only_when_every_day_is_covered(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws)
    d0 = T0.date()
    days = tuple(ChannelDayStats(d0 + dt.timedelta(days=i), joins=3, leaves=i) for i in range(3))
    collection.apply_channel_metrics(facts, read_at=T0 + 50 * H, members=110, days=days)
    _members(ch, T0, 100)
    _members(ch, T0 + 50 * H, 110)
    start = dt.datetime.combine(d0, dt.time(), tzinfo=dt.UTC)
    growth = service.channel_growth(ws.pk, ch.pk, start, start + dt.timedelta(days=2, hours=23))
    assert (growth.joins, growth.leaves, growth.joins_source) == (9, 3, "stats")
    assert growth.churn == 3.0  # 3 / 100 x 100%
    # One day more than the statistics cover: unknown, not a partial sum.
    growth = service.channel_growth(ws.pk, ch.pk, start, start + dt.timedelta(days=3, hours=1))
    assert growth.joins is None and growth.churn is None


# -- rates --------------------------------------------------------------------------------------


def test_rates_against_hand_computed_values():
    assert service.engagements(10, 2, 3) == 15
    assert service.engagements(None, None, None) is None
    assert service.engagements(7, None, None) == 7
    assert service._pct(15, 300) == 5.0
    assert service._pct(15, 0) is None  # zero followers: no rate, not infinity
    assert service._pct(15, None) is None  # missing views
    assert service._pct(1, 3) == 33.3333
    assert service.churn(8, 200) == 4.0 and service.churn(None, 200) is None and service.churn(3, 0) is None


def test_post_summary_uses_one_reading_and_names_reaction_rates(make_workspace):
    ws = make_workspace()
    ch, facts = _channel(ws, "telegram")
    _members(ch, T0 - H, 0)  # zero followers: no rate by followers
    target = _published(ch, "p", "55")
    collection.track_published(facts)
    _read(facts, "55", T0 + H, likes=4, reactions={"👍": 4})
    summary = service.post_summary(ws.pk, target.variant.post_id)
    v = summary.variants[0]
    assert v.likes == 4 and v.engagements == 4 and v.followers == 0 and v.er_followers is None
    assert v.reactions_only and "Reaction rate" in v.rate_names["er_followers"]
    assert any("reactions" in n for n in v.notes)

    ws2 = make_workspace("Second")
    ch2, facts2 = _channel(ws2)
    _members(ch2, T0 - H, 400)
    target2 = _published(ch2, "p", "-1_9")
    collection.track_published(facts2)
    _read(facts2, "-1_9", T0 + H, likes=10, reposts=2, comments=8, views=1000, reach=800)
    _read(facts2, "-1_9", T0 + 2 * H, source="event", likes=12)  # counters without reach
    v = service.post_summary(ws2.pk, target2.variant.post_id).variants[0]
    assert (v.likes, v.reposts, v.comments, v.reach, v.views) == (12, None, None, None, None)
    assert v.er_reach is None and v.er_views is None  # never 12 / an older reach
    assert v.er_followers == 3.0  # 12 / 400 x 100%
    _read(facts2, "-1_9", T0 + 3 * H, likes=20, reposts=4, comments=16, views=1000, reach=800)
    v = service.post_summary(ws2.pk, target2.variant.post_id).variants[0]
    assert v.engagements == 40 and v.er_reach == 5.0 and v.er_views == 4.0 and v.er_followers == 10.0
    assert not v.reactions_only and "ERpost" in v.rate_names["er_followers"]
    collection.mark_deleted(ch2.pk, ["-1_9"], T0 + 4 * H)
    v = service.post_summary(ws2.pk, target2.variant.post_id).variants[0]
    assert v.deleted_at == T0 + 4 * H and v.engagements == 40
    assert any("deleted" in n for n in v.notes)


def test_cli_backfill_rebuilds_a_workspace(make_workspace):
    from click.testing import CliRunner

    from rupor.cli.main import cli

    ws = make_workspace()
    ch, _facts = _channel(ws, "telegram")
    _published(ch, "p", "31")
    PostMetricReading.objects.create(workspace=ws, channel=ch, remote_post_id="31", read_at=T0 + H, likes=4)
    result = CliRunner().invoke(cli, ["metrics", "backfill", "--workspace", ws.slug])
    assert result.exit_code == 0, result.output
    assert "1 channels, 1 post rows" in result.output
    assert PostStat.objects.get(channel=ch).likes == 4
    bad = CliRunner().invoke(cli, ["metrics", "backfill", "--workspace", "no-such-workspace"])
    assert bad.exit_code == 2 and "no workspace" in bad.output
