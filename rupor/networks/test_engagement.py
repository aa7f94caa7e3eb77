"""The emulators' audience model (networks/engagement.py) against hand-computed figures."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

import pytest

from rupor.networks import engagement

#: Sunday 4 January 2026, 16:00 UTC = 19:00 in Moscow (the best hour of the best day).
SUNDAY_EVENING = dt.datetime(2026, 1, 4, 16, tzinfo=dt.UTC).timestamp()
#: Monday 5 January 2026, 00:00 UTC = 03:00 in Moscow.
MONDAY_NIGHT = dt.datetime(2026, 1, 5, 0, tzinfo=dt.UTC).timestamp()


def test_curve_saturates_mostly_in_the_first_day():
    assert engagement.curve(0) == 0
    assert engagement.curve(-60) == 0
    # 0.85 (1 - e^-1) + 0.15 (1 - e^(-5/72)) = 0.85 * 0.632121 + 0.15 * 0.067086
    assert engagement.curve(5 * 3600) == pytest.approx(0.547366, abs=1e-6)
    day, week = engagement.curve(24 * 3600), engagement.curve(7 * 24 * 3600)
    assert day == pytest.approx(0.85 * 0.991770 + 0.15 * 0.283469, abs=1e-5)
    assert day / week > 0.85  # most of it in the first day
    assert engagement.curve(60 * 24 * 3600) == pytest.approx(1, abs=1e-6)


def test_hour_of_week_effect_in_the_audience_s_time():
    assert engagement.hour_effect(SUNDAY_EVENING) == pytest.approx(1.40 * 1.15)
    assert engagement.hour_effect(MONDAY_NIGHT) == pytest.approx(0.25 * 0.95)


def test_quality_is_fixed_per_post_and_spread_around_one():
    assert engagement.quality(7, "vk:-1_5") == engagement.quality(7, "vk:-1_5")
    assert engagement.quality(7, "vk:-1_5") != engagement.quality(7, "vk:-1_6")
    values = [engagement.quality(7, f"post {i}") for i in range(2000)]
    assert statistics.median(values) == pytest.approx(1, abs=0.05)
    assert min(values) >= 0.4 and max(values) <= 2.5


def test_post_counts_by_hand():
    q = engagement.quality(1, "k")
    c = engagement.post_counts(
        1, "k", published=SUNDAY_EVENING, now=SUNDAY_EVENING + 5 * 3600, audience=1000, content_format="photo"
    )
    share = 0.5473657
    potential_views = (1000 * 0.9 + 20) * 1.61 * 1.15  # audience, hour effect, photo's views
    assert c.views == int(potential_views * share)  # 932
    assert c.views == 932
    assert c.reach == int(932 * 0.85)
    lifetime = potential_views * q * 1.4  # the post's quality and the photo's pull
    assert c.likes == int(lifetime * 0.045 * share)
    assert c.reposts == int(lifetime * 0.006 * share)
    assert c.comments == int(lifetime * 0.008 * share)
    assert c.engagements == c.likes + c.reposts + c.comments


def test_counters_never_go_down_and_stop_before_publishing():
    ages = [-3600, 0, 60, 3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400, 30 * 86400]
    rows = [
        engagement.post_counts(3, "p", published=MONDAY_NIGHT, now=MONDAY_NIGHT + a, audience=500)
        for a in ages
    ]
    assert rows[0] == rows[1] == engagement.PostCounts(0, 0, 0, 0, 0)
    for before, after in itertools.pairwise(rows):
        assert after.views >= before.views and after.likes >= before.likes
        assert after.reposts >= before.reposts and after.comments >= before.comments


def test_format_and_hour_move_the_same_post():
    def likes(at: float, fmt: str) -> int:
        return engagement.post_counts(
            5, "same", published=at, now=at + 86400, audience=800, content_format=fmt
        ).likes

    assert likes(SUNDAY_EVENING, "video") > likes(SUNDAY_EVENING, "photo") > likes(SUNDAY_EVENING, "text")
    assert likes(SUNDAY_EVENING, "text") > 5 * likes(MONDAY_NIGHT, "text")
    assert likes(SUNDAY_EVENING, "unknown") == likes(SUNDAY_EVENING, "text")


def test_member_flow_is_deterministic_and_keeps_its_rates():
    first = engagement.member_flow(7, "vk:1", 490000, joins_per_day=9, leaves_per_day=4)
    assert first == engagement.member_flow(7, "vk:1", 490000, joins_per_day=9, leaves_per_day=4)
    year = [
        engagement.member_flow(7, "vk:1", h, joins_per_day=9, leaves_per_day=4)
        for h in range(490000, 490000 + 24 * 365)
    ]
    joins, leaves = sum(j for j, _ in year), sum(lv for _, lv in year)
    assert joins == pytest.approx(9 * 365, rel=0.05)
    assert leaves == pytest.approx(4 * 365, rel=0.07)
    # The daily rhythm: more people come in the evening (19:00 in Moscow) than at night (03:00).
    evening = sum(
        j for h, (j, _) in zip(range(490000, 490000 + 24 * 365), year, strict=True) if (h + 3) % 24 == 19
    )
    night = sum(
        j for h, (j, _) in zip(range(490000, 490000 + 24 * 365), year, strict=True) if (h + 3) % 24 == 3
    )
    assert evening > 3 * night
    assert engagement.member_flow(7, "vk:1", 1, joins_per_day=0, leaves_per_day=0) == (0, 0)
