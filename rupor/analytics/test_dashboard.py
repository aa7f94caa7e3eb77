"""The dashboards' figures against hand-computed values: zero followers, missing views, deleted
posts, a reactions-only network, days without figures, the previous period and workspaces that
never see each other."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.analytics import dashboard
from rupor.analytics.models import ChannelDay, PostStat
from rupor.channels.models import Channel
from rupor.planning.models import Rubric

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 7)  # 2026-03-02 is a Monday


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


def post(channel: Channel, remote: str, when: dt.datetime, **figures: object) -> PostStat:
    return PostStat.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        remote_post_id=remote,
        published_at=when,
        **figures,
    )


@pytest.fixture
def fixture(make_workspace):
    ws = make_workspace("Shop", timezone="UTC")
    vk = Channel.objects.create(workspace=ws, network="vk", name="VK page", remote_id="-1")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="TG channel", remote_id="@tg")
    useful = Rubric.objects.get(workspace=ws, name="Useful")
    selling = Rubric.objects.get(workspace=ws, name="Selling")
    full = {"followers": 1000}
    post(
        vk,
        "p1",
        at(2, 10),
        likes=10,
        reposts=2,
        comments=3,
        views=300,
        reach=150,
        complaints=1,
        rubric_id=useful.pk,
        content_format="photo",
        text_length=100,
        **full,
    )
    post(
        vk,
        "p2",
        at(3, 18, 30),
        likes=4,
        reposts=0,
        comments=1,
        followers=0,
        rubric_id=selling.pk,
        content_format="text",
        text_length=600,
    )
    post(
        vk,
        "p3",
        at(5, 10, 15),
        likes=20,
        reposts=5,
        comments=5,
        views=1000,
        reach=500,
        content_format="video",
        text_length=0,
        **full,
    )
    post(vk, "p4", at(4, 9), likes=100, reposts=100, comments=100, deleted_at=at(6, 0), **full)
    post(vk, "p5", at(6, 8), **full)  # not read yet
    post(tg, "t1", at(2, 12), likes=40, reactions_only=True, followers=2000)
    # the previous period (2026-02-22 .. 02-28)
    post(vk, "old", at(25, 9, month=2), likes=5, reposts=1, comments=4, views=500, reach=200, **full)
    ChannelDay.objects.create(workspace=ws, channel=vk, day=dt.date(2026, 2, 28), members=990)
    for i in range(7):
        day = START + dt.timedelta(days=i)
        ChannelDay.objects.create(
            workspace=ws, channel=vk, day=day, members=1000 + 10 * i, joins=12, leaves=2, source="stats"
        )
        ChannelDay.objects.create(workspace=ws, channel=tg, day=day, members=2000)
    return ws, vk, tg


def value(o: dashboard.Overview, key: str) -> object:
    return o.figure(key).value


def test_counts_sum_what_is_known_and_say_what_is_not(fixture):
    ws, _vk, _tg = fixture
    o = dashboard.overview(ws.pk, START, END)
    assert value(o, "posts") == 5  # p1 p2 p3 p5 t1; the deleted p4 is left out
    assert value(o, "likes") == 34 and "3 of 4" in o.figure("likes").note
    assert value(o, "reactions") == 40  # Telegram reactions are never likes
    assert value(o, "reposts") == 7 and value(o, "comments") == 9
    assert value(o, "views") == 1300 and "2 of 5" in o.figure("views").note
    assert value(o, "reach") == 650
    assert value(o, "complaints") == 1
    assert value(o, "engagements") == 50
    assert any("1 deleted" in n for n in o.notes)


def test_rates_by_hand(fixture):
    ws, _vk, _tg = fixture
    o = dashboard.overview(ws.pk, START, END)
    approx = pytest.approx
    assert value(o, "er_post") == approx((1.5 + 3.0) / 2)  # p2 has 0 followers, p5 no figures
    assert value(o, "love_rate") == approx((1.0 + 2.0) / 2)
    assert value(o, "talk_rate") == approx((0.3 + 0.5) / 2)
    assert value(o, "amplification_rate") == approx((0.2 + 0.5) / 2)
    assert value(o, "err") == approx(45 / 650 * 100)  # p2 has no reach: out of both sums
    assert value(o, "er_view") == approx(45 / 1300 * 100)
    assert value(o, "er_day") == approx(50 / (1030 * 7) * 100)  # mean members of the VK page
    assert value(o, "reaction_rate") == approx(40 / 2000 * 100)
    assert value(o, "reaction_rate_day") == approx(40 / (2000 * 7) * 100)
    assert value(o, "reaction_rate_view") is None and o.figure("reaction_rate_view").note
    assert o.figure("err").unit == "%" and "reach" in o.figure("err").formula


def test_growth_joins_leaves_and_churn(fixture):
    ws, _vk, _tg = fixture
    o = dashboard.overview(ws.pk, START, END)
    assert value(o, "members") == 1060 + 2000
    assert value(o, "net_growth") == 70  # (1060 + 2000) - (990 + 2000)
    assert value(o, "growth_rate") == pytest.approx(70 / 2990 * 100)
    assert value(o, "joins") == 84 and o.figure("joins").note  # Telegram's are unknown: said
    assert value(o, "leaves") == 14
    assert value(o, "churn") == pytest.approx(14 / 990 * 100)


def test_unknown_joins_are_none_never_zero(make_workspace):
    ws = make_workspace("OK", timezone="UTC")
    ok = Channel.objects.create(workspace=ws, network="ok", name="OK group", remote_id="g1")
    ChannelDay.objects.create(workspace=ws, channel=ok, day=START, members=100)
    o = dashboard.overview(ws.pk, START, END)
    assert value(o, "joins") is None and value(o, "leaves") is None and value(o, "churn") is None
    assert o.figure("joins").note
    assert value(o, "posts") == 0 and value(o, "engagements") is None
    assert value(o, "er_post") is None and o.figure("er_post").note


def test_change_against_the_previous_period(fixture):
    ws, _vk, _tg = fixture
    o = dashboard.overview(ws.pk, START, END)
    assert (o.previous_start, o.previous_end) == (dt.date(2026, 2, 22), dt.date(2026, 2, 28))
    er = o.figure("er_post")
    assert er.previous == pytest.approx(1.0) and er.change_pct == pytest.approx(125.0)
    assert o.figure("engagements").previous == 10 and o.figure("engagements").change_pct == pytest.approx(
        400.0
    )
    members = o.figure("members")  # the previous period knows the VK page's followers only
    assert members.previous == 990 and members.change_pct is None and "different channels" in members.note
    assert dashboard.change_pct(5, 0) is None and dashboard.change_pct(None, 3) is None
    assert dashboard.change_pct(3, -6) == pytest.approx(150.0)


def test_reactions_only_workspace_names_its_rates_reaction_rates(make_workspace):
    ws = make_workspace("TG only", timezone="UTC")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="TG", remote_id="@t")
    post(tg, "t", at(2, 9), likes=12, views=600, reactions_only=True, followers=300)
    o = dashboard.overview(ws.pk, START, END)
    keys = {f.key for f in o.figures}
    assert "er_post" not in keys and "engagements" not in keys and "likes" not in keys
    assert value(o, "reaction_rate") == pytest.approx(4.0)
    assert value(o, "reaction_rate_view") == pytest.approx(2.0)
    slices = dashboard.content_slices(ws.pk, START, END)
    assert slices.basis == "reactions" and slices.slice("format").rows[0].mean_engagements == 12


def test_daily_series_heatmap_and_top_posts(fixture):
    ws, _vk, _tg = fixture
    o = dashboard.overview(ws.pk, START, END)
    assert [d.day for d in o.daily] == [START + dt.timedelta(days=i) for i in range(7)]
    monday = o.daily[1]
    assert (monday.posts, monday.engagements, monday.reactions, monday.members, monday.joins) == (
        2,
        15,
        40,
        3010,
        12,
    )
    assert o.daily[5].posts == 1 and o.daily[5].engagements is None  # p5: not read yet: unknown
    assert o.heatmap[0][10] == dashboard.HeatCell(posts=1, engagements=15, mean=15.0)
    assert o.heatmap[0][12].mean == 40.0 and o.heatmap[3][10].mean == 30.0
    assert o.heatmap[6][0].mean is None and o.heatmap[6][0].posts == 0
    assert [p.remote_post_id for p in o.top_posts] == ["t1", "p3", "p1", "p2"]
    assert o.top_posts[1].er_post == pytest.approx(3.0) and o.top_posts[3].er_post is None
    rows = {r.name: r for r in o.channels}
    assert rows["VK page"].members_start == 990 and rows["TG channel"].joins is None


def test_days_and_hours_are_the_workspace_zone(make_workspace):
    ws = make_workspace("Moscow", timezone="Europe/Moscow")
    vk = Channel.objects.create(workspace=ws, network="vk", name="VK", remote_id="-2")
    post(vk, "late", at(2, 22, 30), likes=3, reposts=0, comments=0)  # Tuesday 01:30 in Moscow
    o = dashboard.overview(ws.pk, START, END)
    assert o.daily[2].day == dt.date(2026, 3, 3) and o.daily[2].posts == 1 and o.daily[1].posts == 0
    assert o.heatmap[1][1].posts == 1
    slices = dashboard.content_slices(ws.pk, START, END)
    assert [r.label for r in slices.slice("hour").rows] == ["01:00"]


def test_what_works_slices_and_mix(fixture):
    ws, _vk, _tg = fixture
    c = dashboard.content_slices(ws.pk, START, END)
    assert c.basis == "engagements" and c.posts == 3  # p1 p2 p3; p5 unread, p4 deleted, t1 reactions
    assert any("reactions" in n for n in c.notes)
    fmt = {r.key: r for r in c.slice("format").rows}
    assert fmt["photo"].mean_engagements == 15 and fmt["video"].mean_er == pytest.approx(3.0)
    assert fmt["text"].mean_er is None  # zero followers: no rate, not 0
    ten = c.slice("hour").rows[0]
    assert (ten.label, ten.posts, ten.mean_engagements, ten.median_engagements) == ("10:00", 2, 22.5, 22.5)
    length = {r.key: r.posts for r in c.slice("length").rows}
    assert length == {"0": 1, "1": 1, "3": 1}
    mix = {m.label: m for m in c.mix}
    assert mix["Useful"].target_share == 40 and mix["Useful"].actual_share == pytest.approx(100 / 3)
    assert mix["No rubric"].posts == 1
    selling = {m.key: m for m in c.selling}
    assert selling["true"].posts == 1 and selling["true"].target_share == 20
    assert selling["false"].mean_engagements == 15


def test_median_of_an_even_and_odd_group():
    assert dashboard._Group(es=[1, 2, 100]).summary().row("k", "k", 3).median_engagements == 2.0
    assert dashboard._Group(es=[1, 2, 100, 7]).summary().row("k", "k", 4).median_engagements == 4.5
    assert dashboard.length_bucket(0) == 0 and dashboard.length_bucket(160) == 1
    assert dashboard.length_bucket(161) == 2 and dashboard.length_bucket(5000) == 4


def test_periods_and_channels_refused(fixture, make_workspace):
    ws, vk, _tg = fixture
    with pytest.raises(dashboard.DashboardError) as exc:
        dashboard.overview(ws.pk, END, START)
    assert exc.value.status == 422
    with pytest.raises(dashboard.DashboardError):
        dashboard.overview(ws.pk, START, START + dt.timedelta(days=dashboard.MAX_DAYS))
    other = make_workspace("Other", timezone="UTC")
    theirs = Channel.objects.create(workspace=other, network="vk", name="Theirs", remote_id="-9")
    post(theirs, "x", at(2, 10), likes=999, reposts=0, comments=0, followers=10)
    with pytest.raises(dashboard.DashboardError) as exc:
        dashboard.overview(ws.pk, START, END, channel_ids=[theirs.pk])
    assert exc.value.status == 404
    assert value(dashboard.overview(ws.pk, START, END), "engagements") == 50  # theirs never counted
    only_vk = dashboard.overview(ws.pk, START, END, channel_ids=[vk.pk])
    assert value(only_vk, "posts") == 4 and "reactions" not in {f.key for f in only_vk.figures}
