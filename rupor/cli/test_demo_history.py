"""The demo's past (cli/demo_history.py): made through publishing and collection against the
emulators, the same every time, and kept across processes."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rupor.cli import demo, demo_history
from rupor.core import clock
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator

pytestmark = pytest.mark.django_db(transaction=True)

#: A Wednesday morning: the history runs from Monday 2 March (one whole week before) to here.
NOW = dt.datetime(2026, 3, 11, 9, 30, tzinfo=dt.UTC)
MOSCOW = ZoneInfo("Europe/Moscow")


def start() -> dict[str, RunningEmulator]:
    return {
        network: RunningEmulator(
            registry.emulator_factory(network)(seed=demo.EMULATOR_SEED, rate_limits=True)
        ).start()
        for network in registry.available()
    }


def stop(running: dict[str, RunningEmulator]) -> None:
    for emulator in running.values():
        getattr(demo_history._state(emulator), "stop", lambda: None)()
        emulator.stop()


def build(running: dict[str, RunningEmulator]) -> demo_history.HistoryResult:
    demo_history.rewind(running, demo_history.history_start(NOW, MOSCOW))
    demo.ensure_demo(verify=True, urls={n: e.url for n, e in running.items()})
    made = demo_history.build(running, now=NOW)
    assert made is not None
    return made


def fingerprint() -> dict[str, Any]:
    from rupor.analytics.models import ChannelDay, PostStat, WatchedPost

    return {
        "posts": list(
            PostStat.objects.order_by("channel__network", "published_at").values_list(
                "channel__network", "published_at", "content_format", "likes", "reposts", "comments",
                "views", "readings", "read_at", "followers", "engagements_24h",
            )
        ),
        "days": list(
            ChannelDay.objects.order_by("channel__network", "day").values_list(
                "channel__network", "day", "members", "joins", "leaves"
            )
        ),
        "watched": list(
            WatchedPost.objects.order_by("page__name", "published_at").values_list(
                "page__name", "published_at", "likes", "reposts", "views", "read_at"
            )
        ),
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _week(monkeypatch):
    monkeypatch.setattr(demo_history, "HISTORY_WEEKS", 1)
    yield
    clock.reset()


def test_history_through_the_collection_path_and_the_same_every_time():
    from rupor.accounts.models import User, Workspace
    from rupor.analytics.models import PostMetricReading, PostStat, WatchedPage
    from rupor.planning.models import Media, Post
    from rupor.publishing.models import PublicationTarget

    running = start()
    try:
        made = build(running)
        plan = demo_history.history_plan(demo_history.history_start(NOW, MOSCOW), NOW, MOSCOW)
        assert made.posts == len(plan) >= 10
        # every post on every demo channel but those whose pictures are fetched by URL (no web
        # server serves RUPOR_BASE_URL while the history is built)
        every = len(set(registry.available()) - demo.MEDIA_BY_URL) * len(plan)
        assert made.targets_published == every
        assert not demo_history.needs_history(demo._demo_workspace())
        assert demo_history.build(running, now=NOW) is None  # once

        stats = PostStat.objects.all()
        assert stats.count() == every
        # YouTube's are videos (a picture there is the video's thumbnail).
        assert {s.content_format for s in stats} == {"text", "photo", "link", "video"}
        readings = PostMetricReading.objects.all()
        first, last = readings.order_by("read_at").first(), readings.order_by("read_at").last()
        assert first is not None and last is not None
        assert last.read_at - first.read_at > dt.timedelta(days=7)  # more than a week of readings
        assert set(readings.values_list("source", flat=True)) <= {"poll", "event"}
        assert set(readings.filter(channel__network="vk").values_list("source", flat=True)) == {"poll"}
        assert all(s.readings >= 2 and s.read_at is not None for s in stats.filter(channel__network="vk"))
        # The figures are the VK emulator's own at the moment each was read.
        vk = demo_history._state(running["vk"])
        for stat in stats.filter(channel__network="vk"):
            owner, post_id = (int(x) for x in stat.remote_post_id.split("_"))
            assert stat.read_at is not None
            vk.clock.set(stat.read_at.timestamp(), frozen=True)
            now = vk.engagement(vk.posts[owner][post_id])
            assert (stat.likes, stat.reposts, stat.views) == (now["likes"], now["reposts"], now["views"])
        assert stats.filter(channel__network="vk", likes__gt=0).exists()
        assert WatchedPage.objects.count() == 3 and not WatchedPage.objects.exclude(last_error="").exists()
        once = fingerprint()
        assert once["watched"] and once["days"]
    finally:
        stop(running)

    # A second demo from nothing: the same history, number for number.
    PublicationTarget.objects.all().delete()
    Post.objects.all().delete()
    Media.objects.all().delete()
    Workspace.objects.all().delete()
    User.objects.all().delete()
    running = start()
    try:
        build(running)
        assert fingerprint() == once
    finally:
        stop(running)


def test_worlds_are_kept_for_the_next_process(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_history, "state_path", lambda network: tmp_path / f"{network}.state")
    running = start()
    try:
        vk = demo_history._state(running["vk"])
        vk.clock.set(NOW.timestamp(), frozen=True)
        vk.audience_message("kept")
        posts = {k: dict(v) for k, v in vk.posts.items()}
        demo_history.save_worlds(running)
    finally:
        stop(running)
    running = start()
    try:
        assert demo_history.restore_worlds(running) == len(running)
        vk = demo_history._state(running["vk"])
        assert {k: dict(v) for k, v in vk.posts.items()} == posts
        assert any(m.text == "kept" for ms in vk.messages.values() for m in ms)
    finally:
        stop(running)
