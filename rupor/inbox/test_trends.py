"""Keyword trends and spike alerts: the shared z-score with the daily cycle removed (against
hand-computed values), counts from the inbox and from watched pages' posts, one alert per
spike, in the app and by email as the workspace's settings say, roles and isolation."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.analytics.models import WatchedPage, WatchedPost
from rupor.channels.models import Channel
from rupor.core import spikes
from rupor.inbox import trends
from rupor.inbox.models import InboxItem, MonitoredKeyword, TrendSpike
from rupor.inbox.testing import connect
from rupor.networks.telegram import testing as tg_testing
from rupor.notifications.models import Delivery, Notification

UTC = dt.UTC


def _at(text: str, zone: str = "UTC") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# -- the detector ----------------------------------------------------------------------------


def test_score_against_the_same_hour_removes_the_daily_cycle():
    # Evenings usually bring 8 to 10 mentions: nine this evening is no spike.
    # mean = 63 / 7 = 9; sd = sqrt(6 / 7) = 0.926; the Poisson floor sqrt(9) = 3 wins; z = 0.
    evening = spikes.score(9, [8, 10, 8, 10, 8, 10, 9])
    assert evening.mean == 9 and evening.sd == pytest.approx(math.sqrt(6 / 7))
    assert evening.z == pytest.approx(0.0)
    # Nine at 11:00, when 1 to 3 is usual: mean 2, sd 0.926, floor sqrt(2) = 1.414; z = 7 / 1.414.
    morning = spikes.score(9, [1, 3, 1, 3, 1, 3, 2])
    assert morning.z == pytest.approx(7 / math.sqrt(2))
    assert morning.spike(min_count=5, z_alert=3.0) and not evening.spike(min_count=5, z_alert=3.0)
    # A silent hour: sd 0 and mean 0, so the floor of 1 keeps z finite (= the count).
    assert spikes.score(6, [0] * 7).z == 6.0
    # A spread-out baseline: sd wins over the floor. [0, 10] x 3 + [5]: mean 5, sd sqrt(150 / 7).
    wide = spikes.score(20, [0, 10, 0, 10, 0, 10, 5])
    assert wide.z == pytest.approx(15 / math.sqrt(150 / 7))


def test_score_hour_counts_the_same_wall_clock_hour_across_a_dst_change():
    zone = "Europe/Berlin"  # summer time began on 2026-03-29
    hour = _at("2026-03-30 20:00", zone)
    starts = spikes.same_hours(hour, zone, 2)
    assert starts == [_at("2026-03-29 20:00", zone), _at("2026-03-28 20:00", zone)]
    assert [s.hour for s in starts] == [18, 19]  # UTC: the hour moved, the wall clock did not
    times = [
        _at("2026-03-30 20:10", zone),
        _at("2026-03-30 20:20", zone),
        _at("2026-03-30 20:59", zone),
        _at("2026-03-29 20:30", zone),
        _at("2026-03-28 20:05", zone),
        _at("2026-03-28 20:50", zone),
        _at("2026-03-28 21:00", zone),  # the next hour: not counted
    ]
    found = spikes.score_hour(times, hour, zone, days=2)
    # count 3 against [1, 2]: mean 1.5, sd 0.5, floor sqrt(1.5)
    assert (found.count, found.mean) == (3, 1.5)
    assert found.z == pytest.approx(1.5 / math.sqrt(1.5))
    # Before the hour is over only what came so far counts.
    assert spikes.score_hour(times, hour, zone, days=2, until=_at("2026-03-30 20:30", zone)).count == 2
    assert spikes.hourly_counts(times, _at("2026-03-30 19:00", zone), 3) == [0, 3, 0]


# -- keywords in the inbox and in competitors' posts ------------------------------------------


def _channel(ws: Workspace) -> Channel:
    nowhere: Any = type("E", (), {"url": "http://127.0.0.1:9"})()  # never called
    return connect(ws, tg_testing.channel_for(nowhere, remote_id=f"-100{ws.pk}77"), name="Shop TG")


def _items(channel: Channel, start: dt.datetime, texts: list[str], seq: list[int]) -> None:
    for k, text in enumerate(texts):
        seq[0] += 1
        at = start + dt.timedelta(minutes=k * 50 // max(len(texts), 1))
        InboxItem.objects.create(
            workspace_id=channel.workspace_id,
            channel=channel,
            kind="comment",
            remote_id=f"c{seq[0]}",
            author_name="Someone",
            text=text,
            occurred_at=at,
            received_at=at,
        )


def test_a_keywords_language_filter_counts_only_texts_in_that_language():
    at = dt.datetime(2026, 12, 10, 11, tzinfo=UTC)
    russian = MonitoredKeyword(pk=1, phrase="latte", key="latte", language="ru")
    any_language = MonitoredKeyword(pk=2, phrase="latte", key="latte")
    texts = [
        trends.Text(at, "Latte is great and I would like another cup today", "pages"),  # detected: en
        # detected: ru
        trends.Text(at, "Закажу latte с собой, очень вкусный кофе у вас в кофейне", "pages"),  # noqa: RUF001 - Russian
        trends.Text(at, "latte", "inbox", language="ru"),  # triage already said ru: trusted
        trends.Text(at, "latte", "inbox", language="en"),
    ]
    found = trends.keyword_times([russian, any_language], texts)
    assert [t.text for t in found[1]] == [texts[1].text, "latte"] and found[1][1].language == "ru"
    assert len(found[2]) == 4


@pytest.mark.django_db
def test_keyword_spike_alerts_once_in_app_and_by_email(make_workspace, make_user):
    owner = make_user("boss@example.com")
    ws = make_workspace("Cafe", owner=owner, timezone="Europe/Moscow")
    z = "Europe/Moscow"
    channel = _channel(ws)
    MonitoredKeyword.objects.create(workspace=ws, phrase="Latte", key="latte", minus_words="job")
    seq = [0]
    # A week of history: every evening 2 comments name latte; 11:00 is quiet.
    for back in range(1, 8):
        day = dt.date(2026, 12, 10) - dt.timedelta(days=back)
        _items(channel, _at(f"{day} 20:00", z), ["latte please", "LATTE again"], seq)
        _items(channel, _at(f"{day} 11:00", z), ["just coffee"], seq)
    # Today at 11:00: four comments name it (one more is a job ad: its minus-word leaves it out),
    # and a watched competitor posts about it twice.
    _items(
        channel,
        _at("2026-12-10 11:00", z),
        ["latte!", "latte art", "oat latte", "cold latte", "latte job"],
        seq,
    )
    page = WatchedPage.objects.create(workspace=ws, network="vk", handle="rival", remote_id="3", name="Rival")
    for n in range(2):
        WatchedPost.objects.create(
            workspace=ws,
            page=page,
            remote_id=f"p{n}",
            text="Our new latte",
            published_at=_at(f"2026-12-10 11:{10 + n}", z),
            read_at=_at("2026-12-10 11:30", z),
        )
    now = _at("2026-12-10 11:40", z)
    (trend,) = trends.trends(ws.pk, now)
    # count 6 against [0] x 7: mean 0, sd 0, floor 1: z = 6.
    assert (trend.count, trend.baseline, trend.z, trend.spiking) == (6, 0.0, 6.0, True)
    assert trend.hourly[-1] == 6 and len(trend.hourly) == 24
    assert (trend.inbox, trend.pages) == (6 - 2 + 2, 2)  # yesterday's 20:00 pair is inside the last day
    assert trend.total == 8

    assert trends.check_workspace(ws.pk, now) == 1
    assert trends.check_workspace(ws.pk, now + dt.timedelta(minutes=5)) == 0  # stored once
    note = Notification.objects.get(kind="trend_spike")
    assert "Latte" in note.body and "6" in note.body and note.link == "/analytics/trends/"
    assert Delivery.objects.filter(kind="trend_spike", channel=Delivery.Channel.EMAIL).count() == 1
    # The next hour goes on spiking: stored, same spike, no second alert.
    _items(channel, _at("2026-12-10 12:00", z), ["latte"] * 6, seq)
    assert trends.check_workspace(ws.pk, _at("2026-12-10 12:55", z)) == 0
    assert list(TrendSpike.objects.order_by("hour_start").values_list("count", "notified")) == [
        (6, True),
        (6, False),
    ]
    (trend,) = trends.trends(ws.pk, _at("2026-12-10 12:55", z))
    assert trend.last_spike == _at("2026-12-10 11:00", z)

    # The evening, as busy as usual, is no spike.
    _items(channel, _at("2026-12-10 20:00", z), ["latte", "latte"], seq)
    assert trends.check_workspace(ws.pk, _at("2026-12-10 20:50", z)) == 0


@pytest.mark.django_db
def test_trend_settings_turn_off_email_or_the_alerts(make_workspace, make_user, api_for):
    owner = make_user("owner@example.com")
    ws = make_workspace("Bar", owner=owner)
    channel = _channel(ws)
    MonitoredKeyword.objects.create(workspace=ws, phrase="mojito", key="mojito")
    seq = [0]
    trends.set_settings(Actor(ws.pk, Role.OWNER), alerts=True, email=False)
    _items(channel, _at("2026-12-10 09:00"), ["mojito"] * 5, seq)
    assert trends.check_workspace(ws.pk, _at("2026-12-10 09:55")) == 1
    assert Notification.objects.filter(kind="trend_spike").count() == 1
    assert not Delivery.objects.filter(kind="trend_spike", channel=Delivery.Channel.EMAIL).exists()
    trends.set_settings(Actor(ws.pk, Role.OWNER), alerts=False, email=True)
    _items(channel, _at("2026-12-10 15:00"), ["mojito"] * 9, seq)
    assert trends.check_workspace(ws.pk, _at("2026-12-10 15:55")) == 0
    with pytest.raises(trends.TrendError):
        trends.set_settings(Actor(ws.pk, Role.ANALYST), alerts=True, email=True)

    # The API: analysts read trends, editors do not; another workspace sees none of them.
    assert api_for(ws, "analyst").get("/analytics/trends").json()[0]["phrase"] == "mojito"
    assert api_for(ws, "editor").get("/analytics/trends").status_code == 403
    assert api_for(make_workspace("Other"), "owner").get("/analytics/trends").json() == []
