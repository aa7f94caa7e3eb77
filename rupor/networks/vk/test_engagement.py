"""The VK emulator's numbers move with its clock (networks/engagement.py): counters grow with a
post's age, posts at good hours do better, and members change by exactly the joins and leaves
that ``stats.get`` reports."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import engagement
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing

#: Sunday 1 March 2026, 16:00 UTC (19:00 in Moscow) and the same Sunday at 00:00 UTC (03:00).
EVENING = dt.datetime(2026, 3, 1, 16, tzinfo=dt.UTC).timestamp()
NIGHT = dt.datetime(2026, 3, 1, 0, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def vk():
    """A fresh emulator whose world began a week before the moments these tests use."""
    running = testing.start(rate_limits=False)
    state = testing.state(running)
    state.clock.set(NIGHT - 7 * 86400, frozen=True)
    state.reset()
    yield running
    state.stop()
    running.stop()


def at(vk: RunningEmulator, when: float) -> None:
    testing.state(vk).clock.set(when, frozen=True)


def call(vk: RunningEmulator, method: str, **params: Any) -> Any:
    data = {"v": "5.199", "access_token": emu.ADMIN_TOKEN, **{k: str(v) for k, v in params.items()}}
    with http.client(base_url=vk.url, timeout=5) as client:
        body = client.post(f"/method/{method}", data=data).json()
    assert "response" in body, body
    return body["response"]


def post(vk: RunningEmulator, text: str) -> int:
    return int(call(vk, "wall.post", owner_id=-emu.DEMO_GROUP_ID, from_group=1, message=text)["post_id"])


def counts(vk: RunningEmulator, post_id: int) -> tuple[int, int, int]:
    item = call(vk, "wall.getById", posts=f"-{emu.DEMO_GROUP_ID}_{post_id}")["items"][0]
    return item["views"]["count"], item["likes"]["count"], item["reposts"]["count"]


def members(vk: RunningEmulator) -> int:
    return int(
        call(vk, "groups.getById", group_id=emu.DEMO_GROUP_ID, fields="members_count")["groups"][0][
            "members_count"
        ]
    )


def test_counters_grow_with_age_along_the_curve(vk):
    at(vk, EVENING)
    pid = post(vk, "growing")
    seen = []
    for hours in (0, 1, 6, 24, 72, 168):
        at(vk, EVENING + hours * 3600)
        seen.append(counts(vk, pid))
    assert seen[0] == (0, 0, 0)
    assert all(b[0] >= a[0] and b[1] >= a[1] and b[2] >= a[2] for a, b in itertools.pairwise(seen))
    assert seen[-1][1] > 0
    assert seen[3][0] >= 0.85 * seen[-1][0]  # most of it in the first day
    # Exactly the model's figures for this post (its key, publishing time, audience, format).
    state = testing.state(vk)
    model = engagement.post_counts(
        state.seed,
        f"vk:-{emu.DEMO_GROUP_ID}_{pid}",
        published=EVENING,
        now=EVENING + 168 * 3600,
        audience=state.posts[-emu.DEMO_GROUP_ID][pid].audience,
    )
    assert seen[-1] == (model.views, model.likes, model.reposts)


def test_evening_posts_do_better_than_night_posts(vk):
    """The hour-of-week effect best time to post finds: ten posts each at 03:00 and 19:00
    Moscow time, compared at the same age (24 hours)."""
    night, evening = [], []
    for day in range(10):
        at(vk, NIGHT + day * 86400)
        night.append((post(vk, f"night {day}"), NIGHT + day * 86400))
        at(vk, EVENING + day * 86400)
        evening.append((post(vk, f"evening {day}"), EVENING + day * 86400))

    def likes_at_a_day(posts: list[tuple[int, float]]) -> int:
        total = 0
        for pid, when in posts:
            at(vk, when + 86400)
            total += counts(vk, pid)[1]
        return total

    assert likes_at_a_day(evening) > 3 * likes_at_a_day(night)


def test_members_change_by_the_joins_and_leaves_stats_get_reports(vk):
    start = NIGHT + 86400  # a UTC midnight: stats.get's days start there
    at(vk, start - 1)
    before = members(vk)
    at(vk, start + 3 * 86400 - 1)
    after = members(vk)
    days = call(
        vk,
        "stats.get",
        group_id=emu.DEMO_GROUP_ID,
        interval="day",
        timestamp_from=int(start),
        timestamp_to=int(start + 3 * 86400),
    )
    assert len(days) == 3
    joined = sum(d["activity"]["subscribed"] for d in days)
    left = sum(d["activity"]["unsubscribed"] for d in days)
    assert joined > 0 and left > 0
    assert after - before == joined - left
