"""Competitors: the watchlist collected end to end against the VK and OK emulators, the
comparison's figures against hand-computed values, the median ranking, errors, roles and
workspace isolation."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.analytics import competitors
from rupor.analytics.models import WatchedPage, WatchedPageReading, WatchedPost, WatchedPostReading
from rupor.channels import service as channels
from rupor.core import clock
from rupor.inbox.testing import connect
from rupor.networks import registry
from rupor.networks.ok import testing as ok_testing
from rupor.networks.vk import testing as vk_testing

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
    return ws, connect(ws, access), api_for(ws, "manager")


def test_watch_a_vk_page_collects_members_and_posts_then_readings_on_schedule(vk, vk_emu):
    _ws, channel, api = vk
    res = api.post("/competitors", {"handle": f"https://vk.com/{vk_testing.RIVAL_HANDLE}"})
    assert res.status_code == 201, res.content
    page = res.json()
    assert page["name"] == "Bean Brothers" and page["members"] >= 3000 and page["channel_id"] == channel.pk
    assert page["posts"] == 10 and page["last_error"] == ""
    stored = WatchedPage.objects.get(pk=page["id"])
    assert WatchedPageReading.objects.filter(page=stored).count() == 1
    formats = set(WatchedPost.objects.filter(page=stored).values_list("content_format", flat=True))
    assert formats == {"text", "photo", "video", "link"}
    assert WatchedPostReading.objects.filter(post__page=stored).count() == 10
    # All of them are days old: each is next read at its next age (3 d, 7 d or 30 d).
    for post in WatchedPost.objects.filter(page=stored):
        assert post.next_read_at == competitors.next_reading(post.published_at, post.read_at)
    # The same page twice is refused.
    again = api.post("/competitors", {"handle": vk_testing.RIVAL_HANDLE})
    assert again.status_code == 409 and "already" in again.json()["detail"]

    # A new post appears; the job reads the page when it is due, not before.
    vk_testing.state(vk_emu).public_post(-3, "Fresh roast on Friday")
    now = clock.now()
    assert competitors.run_due(now) == 0
    stored.refresh_from_db()
    later = stored.next_read_at
    assert later is not None and later <= now + competitors.NEW_POSTS_EVERY
    assert competitors.run_due(later) == 1
    fresh = WatchedPost.objects.get(page=stored, text="Fresh roast on Friday")
    assert fresh.readings == 1 and fresh.next_read_at is not None
    # Its one-hour reading: a second reading appended, the counters of that one reading kept.
    vk_testing.advance(vk_emu, 2 * 3600)
    competitors.run_due(fresh.next_read_at + dt.timedelta(minutes=1))
    fresh.refresh_from_db()
    assert fresh.readings == 2
    last = WatchedPostReading.objects.filter(post=fresh).latest("read_at")
    assert (fresh.likes, fresh.reposts, fresh.comments, fresh.views, fresh.read_at) == (
        last.likes,
        last.reposts,
        last.comments,
        last.views,
        last.read_at,
    )


def test_next_reading_decays():
    published = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    assert (
        competitors.next_reading(published, published + 10 * 60 * dt.timedelta(seconds=1)) == published + hour
    )
    assert competitors.next_reading(published, published + hour) == published + 6 * hour
    assert competitors.next_reading(published, published + 30 * hour) == published + 72 * hour
    assert competitors.next_reading(published, published + 31 * 24 * hour) is None


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        (vk_testing.CLOSED_HANDLE, "closed"),
        (vk_testing.PRIVATE_HANDLE, "closed"),
        (vk_testing.DELETED_HANDLE, "deleted or blocked"),
        (vk_testing.BANNED_HANDLE, "deleted or blocked"),
        ("no_such_community_xyz", "does not know this community"),
    ],
)
def test_pages_that_cannot_be_watched_are_refused_in_words(vk, handle, words):
    _ws, _channel, api = vk
    res = api.post("/competitors", {"handle": handle})
    assert res.status_code == 422, res.content
    assert words in res.json()["detail"]
    assert not WatchedPage.objects.exists()


def test_a_failing_page_keeps_its_data_and_shows_the_error(vk, vk_emu):
    _ws, _channel, api = vk
    page = api.post("/competitors", {"handle": vk_testing.COMPETITOR_HANDLE}).json()
    posts = WatchedPost.objects.filter(page_id=page["id"]).count()
    assert posts > 0
    vk_testing.queue_error(vk_emu, "wall.get", 10)  # VK's internal error
    stored = WatchedPage.objects.get(pk=page["id"])
    assert stored.next_read_at is not None
    assert competitors.run_due(stored.next_read_at) == 0
    shown = api.get(f"/competitors/{page['id']}").json()
    assert "internal error" in shown["last_error"] and shown["members"] == page["members"]
    assert WatchedPost.objects.filter(page_id=page["id"]).count() == posts
    stored.refresh_from_db()
    assert stored.next_read_at is not None and stored.last_error_at is not None
    assert stored.failures == 1 and stored.next_read_at == stored.last_error_at + competitors.RETRY_FIRST
    # The next success clears it.
    assert competitors.run_due(stored.next_read_at) == 1
    assert api.get(f"/competitors/{page['id']}").json()["last_error"] == ""


def test_roles_and_workspace_isolation(vk, make_workspace, api_for):
    ws, _channel, manager = vk
    page = manager.post("/competitors", {"handle": vk_testing.COMPETITOR_HANDLE}).json()
    for role in ("analyst",):
        api = api_for(ws, role)
        assert api.get("/competitors").status_code == 200
        assert api.get("/competitors/comparison").status_code == 200
        assert api.post("/competitors", {"handle": vk_testing.RIVAL_HANDLE}).status_code == 403
        assert api.delete(f"/competitors/{page['id']}").status_code == 403
    for role in ("editor", "moderator", "client"):
        api = api_for(ws, role)
        assert api.get("/competitors").status_code == 403
        assert api.get("/competitors/comparison").status_code == 403
    stranger = api_for(make_workspace("Other"), "owner")
    assert stranger.get("/competitors").json() == []
    assert stranger.get(f"/competitors/{page['id']}").status_code == 404
    assert stranger.delete(f"/competitors/{page['id']}").status_code == 404
    assert stranger.get("/competitors/comparison").json()["pages"] == []
    assert manager.delete(f"/competitors/{page['id']}").status_code == 204
    assert not WatchedPage.objects.exists()


def test_ok_group_watched_end_to_end(make_workspace, api_for, vk_emu):
    emulator = ok_testing.start(rate_limits=False)
    try:
        ws = make_workspace("OK shop")
        connect(ws, ok_testing.channel_for(emulator))
        connect(ws, vk_testing.channel_for(vk_emu, settings={"pace": False}))
        api = api_for(ws, "owner")
        # A bare short name: VK does not know it, OK does.
        res = api.post("/competitors", {"handle": ok_testing.COMPETITOR_HANDLE})
        assert res.status_code == 201, res.content
        body = res.json()
        assert body["network"] == "ok" and body["posts"] > 0 and body["members"]
        # An address names its network.
        assert competitors.network_of("https://vk.com/bean_brothers") == "vk"
        assert competitors.network_of("ok.ru/group/1") == "ok" and competitors.network_of("rivalnews") == ""
        vk_page = api.post("/competitors", {"handle": f"https://vk.com/{vk_testing.RIVAL_HANDLE}"})
        assert vk_page.status_code == 201 and vk_page.json()["network"] == "vk"
        assert api.delete(f"/competitors/{vk_page.json()['id']}").status_code == 204
        table = api.get("/competitors/comparison").json()
        assert table["pages"][0]["posts"] == body["posts"]
        missing = api.post("/competitors", {"handle": "no_such_group_here"})
        assert missing.status_code in (404, 422) and missing.json()["detail"]
    finally:
        emulator.stop()


# -- figures -------------------------------------------------------------------------------


def _page(ws, name: str, members: list[tuple[dt.datetime, int]]) -> WatchedPage:
    page = WatchedPage.objects.create(workspace=ws, network="vk", handle=name, remote_id=name, name=name)
    for at, n in members:
        WatchedPageReading.objects.create(page=page, read_at=at, members=n)
    return page


def _post(page, n: int, at, likes, reposts, comments, views=None, fmt="text"):
    return WatchedPost.objects.create(
        workspace_id=page.workspace_id,
        page=page,
        remote_id=f"{page.name}-{n}",
        text=f"post {n}",
        published_at=at,
        content_format=fmt,
        likes=likes,
        reposts=reposts,
        comments=comments,
        views=views,
        read_at=at + dt.timedelta(days=1),
    )


def test_comparison_figures_match_hand_computed_values(make_workspace):
    ws = make_workspace("Figures")
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=14)
    a = _page(ws, "alpha", [(start - dt.timedelta(days=1), 900), (start + dt.timedelta(days=13), 1000)])
    b = _page(ws, "beta", [(start + dt.timedelta(days=2), 200)])
    # alpha: 4 posts; E = 12, 30, 6, 60 (likes/reposts/comments split below); views on two.
    _post(a, 1, start + dt.timedelta(days=1), 10, 1, 1, views=100, fmt="photo")
    _post(a, 2, start + dt.timedelta(days=3), 20, 5, 5, views=300, fmt="photo")
    _post(a, 3, start + dt.timedelta(days=5), 4, 1, 1, fmt="video")
    _post(a, 4, start + dt.timedelta(days=8), 50, 5, 5)
    _post(a, 5, end + dt.timedelta(hours=1), 999, 0, 0)  # after the period: left out
    # beta: 2 posts; E = 2 and 8.
    _post(b, 1, start + dt.timedelta(days=4), 2, 0, 0, fmt="link")
    _post(b, 2, start + dt.timedelta(days=6), 6, 1, 1, fmt="link")

    out = competitors.compare(ws.pk, start, end)
    fa, fb = sorted(out.pages, key=lambda p: p.page.name)
    assert fa.posts == 4 and fa.members == 1000 and fa.members_start == 900
    assert fa.growth == 100 and fa.growth_pct == pytest.approx(100 / 900 * 100, abs=1e-4)
    assert fa.posts_per_week == pytest.approx(2.0)  # 4 posts / 14 days x 7
    # Avg ERpost = (12 + 30 + 6 + 60) / 1000 / 4 x 100 = 2.7 %
    assert fa.er_post == pytest.approx(2.7)
    # Avg ERday = 108 / 1000 / 14 x 100
    assert fa.er_day == pytest.approx(108 / 1000 / 14 * 100, abs=1e-4)
    # Avg ERview = mean(12/100, 30/300) x 100 = 11 %
    assert fa.er_view == pytest.approx(11.0)
    assert fa.love_rate == pytest.approx(84 / 1000 / 4 * 100)  # likes 10+20+4+50
    assert fa.amplification_rate == pytest.approx(12 / 1000 / 4 * 100)
    assert fa.talk_rate == pytest.approx(12 / 1000 / 4 * 100)
    assert fa.formats == {"photo": 0.5, "video": 0.25, "text": 0.25}
    assert fa.median_engagements == 21.0  # median of 6, 12, 30, 60
    # beta: one reading inside the period is both start and end: growth is unknown, not 0.
    assert fb.members == 200 and fb.members_start == 200 and fb.growth is None and fb.growth_pct is None
    assert fb.er_post == pytest.approx(10 / 200 / 2 * 100) and fb.er_view is None
    assert fb.formats == {"link": 1.0} and fb.median_engagements == 5.0

    # Top posts against each page's own median: beta's 8 (8/5 = 1.6) beats alpha's 30 (30/21).
    ranked = [(t.page_name, t.engagements, t.relative) for t in out.top_posts]
    assert [r[:2] for r in ranked[:3]] == [("alpha", 60), ("beta", 8), ("alpha", 30)]
    assert [r[2] for r in ranked[:3]] == pytest.approx([60 / 21, 1.6, 30 / 21], abs=1e-4)
    assert [r[2] for r in ranked] == sorted((r[2] for r in ranked), reverse=True)


def test_a_page_without_members_or_posts_has_no_rates(make_workspace):
    ws = make_workspace("Empty")
    _page(ws, "quiet", [])
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    out = competitors.compare(ws.pk, start, start + dt.timedelta(days=7))
    (row,) = out.pages
    assert row.posts == 0 and row.er_post is None and row.members is None and row.formats == {}
    assert out.top_posts == ()
    with pytest.raises(competitors.AnalyticsError):
        competitors.compare(ws.pk, start, start)


def test_a_median_of_zero_ranks_nothing():
    assert competitors.relative_scores([0, 0, 3]) == (0.0, [None, None, None])
    assert competitors.relative_scores([2, 4, 8]) == (4.0, [0.5, 1.0, 2.0])


def test_collection_takes_a_small_share_of_the_rate_limit(vk):
    ws, channel, _api = vk
    actor = Actor(ws.pk, Role.OWNER)
    for handle in (vk_testing.COMPETITOR_HANDLE, vk_testing.RIVAL_HANDLE, "rupor_demo"):
        competitors.add_page(actor, handle)
    budget = competitors.calls_per_pass(registry.adapter("vk"), channels.access_for(channel.pk))
    # VK's user token: 3 calls a second; 5 % of that over a 30-second pass is 4 calls: two pages.
    assert budget == 4
    WatchedPage.objects.update(next_read_at=None)
    assert competitors.run_due(clock.now()) == 2  # the third waits for the next pass
    assert competitors.run_due(clock.now()) == 1


def test_cli_adds_lists_and_removes(vk):
    from click.testing import CliRunner

    from rupor.cli.main import cli

    ws, _channel, _api = vk
    runner = CliRunner()
    added = runner.invoke(cli, ["competitors", "add", "--workspace", ws.slug, vk_testing.RIVAL_HANDLE])
    assert added.exit_code == 0, added.output
    page_id, network, name, members = added.output.strip().split("\t")
    assert network == "vk" and name == "Bean Brothers" and int(members) >= 3000
    listed = runner.invoke(cli, ["competitors", "list", "--workspace", ws.slug])
    assert listed.exit_code == 0 and "Bean Brothers" in listed.output
    refused = runner.invoke(cli, ["competitors", "add", "--workspace", ws.slug, vk_testing.PRIVATE_HANDLE])
    assert refused.exit_code == 1 and "closed" in refused.output
    assert runner.invoke(cli, ["competitors", "remove", "--workspace", ws.slug, page_id]).exit_code == 0
    assert runner.invoke(cli, ["competitors", "remove", "--workspace", ws.slug, page_id]).exit_code == 1
