"""The best-time and A/B test endpoints: shapes, roles, workspaces and clear refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from rupor.accounts.models import Workspace
from rupor.analytics.models import ABTest, PostStat
from rupor.channels.models import Channel
from rupor.conftest import Api
from rupor.core import clock
from rupor.planning.models import QueueSlot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_workspace: Callable[..., Workspace]) -> dict[str, Any]:
    ws = make_workspace("Bakery", timezone="UTC")
    channel = Channel.objects.create(workspace=ws, network="vk", name="Bakery VK", remote_id="-1")
    start = clock.now() - dt.timedelta(weeks=6)
    start = (start - dt.timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(5):  # Mondays 09:00: 40 engagements; Thursdays 18:00: 10; Wednesdays 12:00: 35
        for day, hour, value in ((0, 9, 40), (3, 18, 10), (2, 12, 35)):
            PostStat.objects.create(
                workspace=ws,
                channel=channel,
                remote_post_id=f"{i}-{day}",
                published_at=start + dt.timedelta(weeks=i, days=day, hours=hour),
                engagements_24h=value,
                age_24h_hours=24.5,
                likes=value,
                reach=1000,
            )
    other = make_workspace("Other")
    return {"ws": ws, "channel": channel, "other": other}


def test_best_time_answers_168_slots_with_evidence(
    world: dict[str, Any], api_for: Callable[..., Api]
) -> None:
    res = api_for(world["ws"], "analyst").get(f"/channels/{world['channel'].pk}/best-time")
    assert res.status_code == 200, res.content
    body = res.json()
    assert len(body["slots"]) == 168 and body["posts"] == 15 and body["signal"] == "thin"
    assert body["timezone"] == "UTC" and body["typical_engagements"] == 35
    assert (body["top"][0]["weekday"], body["top"][0]["hour"], body["top"][0]["posts"]) == (0, 9, 5)
    empty = body["slots"][5]
    assert empty["posts"] == 0 and empty["mean"] is None


def test_best_time_refusals(world: dict[str, Any], api_for: Callable[..., Api]) -> None:
    channel = world["channel"].pk
    assert api_for(world["other"]).get(f"/channels/{channel}/best-time").status_code == 404
    assert api_for(world["ws"], "client").get(f"/channels/{channel}/best-time").status_code == 403
    bad = api_for(world["ws"]).get(f"/channels/{channel}/best-time", weeks=0)
    assert bad.status_code == 422 and bad.json()["errors"]
    assert api_for(world["ws"], "analyst").post(f"/channels/{channel}/best-time/apply", {}).status_code == 403
    assert api_for(world["ws"]).post(f"/channels/{channel}/best-time/apply", {"count": 9}).status_code == 422


def test_apply_creates_queue_slots(world: dict[str, Any], api_for: Callable[..., Api]) -> None:
    res = api_for(world["ws"], "manager").post(
        f"/channels/{world['channel'].pk}/best-time/apply", {"count": 2}
    )
    assert res.status_code == 200, res.content
    # Thursday 18:00 is below the channel's average: never a "best" hour
    assert res.json()["added"] == [{"weekday": 0, "time": "09:00:00"}, {"weekday": 2, "time": "12:00:00"}]
    assert QueueSlot.objects.filter(channel=world["channel"]).count() == 2


def test_ab_test_crud_and_statistics(world: dict[str, Any], api_for: Callable[..., Api]) -> None:
    manager = api_for(world["ws"], "manager")
    body = {
        "name": "Headline",
        "metric": "clicks_views",
        "a": {"label": "Short", "successes": 10, "trials": 100},
        "b": {"label": "Long", "successes": 20, "trials": 100},
    }
    res = manager.post("/ab-tests", body)
    assert res.status_code == 201, res.content
    made = res.json()
    assert made["a"]["wilson_low"] == pytest.approx(0.0552, abs=5e-5)
    assert made["p_value"] == pytest.approx(0.04767, abs=1e-4)
    assert made["prob_b_beats_a"] == pytest.approx(0.975, abs=1e-3) and made["bayes_method"] == "exact"
    assert made["planned_reached"] is False and "Do not stop" in made["warning"]
    assert made["baseline"] == pytest.approx(0.1) and made["baseline_given"] is False  # A's first rate
    analyst = api_for(world["ws"], "analyst")
    assert [t["id"] for t in analyst.get("/ab-tests").json()] == [made["id"]]
    assert analyst.get(f"/ab-tests/{made['id']}").json()["b"]["label"] == "Long"
    assert analyst.post("/ab-tests", body).status_code == 403
    assert analyst.delete(f"/ab-tests/{made['id']}").status_code == 403
    assert api_for(world["other"]).get(f"/ab-tests/{made['id']}").status_code == 404
    put = manager.client.put(
        f"/api/v1/ab-tests/{made['id']}",
        '{"name": "Renamed", "metric": "clicks_views", "a": {"successes": 1, "trials": 10}}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {manager.key}"},
    )
    assert put.status_code == 200 and put.json()["name"] == "Renamed" and put.json()["b"]["source"] == "none"
    assert manager.delete(f"/ab-tests/{made['id']}").status_code == 204
    assert not ABTest.objects.exists()


@pytest.mark.parametrize(
    ("arms", "field"),
    [
        ({"a": {"successes": 11, "trials": 10}}, "a.successes"),
        ({"b": {"successes": -1, "trials": 10}}, "b.successes"),
        ({"a": {"successes": 1}}, "a.trials"),
        ({"a": {"post_stat_id": 2**40}}, "a.post_stat_id"),
        ({"baseline": 1.2}, "baseline"),
    ],
)
def test_ab_test_bad_input_is_a_clear_4xx(
    world: dict[str, Any], api_for: Callable[..., Api], arms: dict[str, Any], field: str
) -> None:
    res = api_for(world["ws"]).post("/ab-tests", {"name": "x", "metric": "er_reach", **arms})
    assert res.status_code in (400, 404, 422), res.content
    out = res.json()
    fields = [e.get("field") for e in out["errors"]] + [out.get("field")]
    assert any(f and f.startswith(field) for f in fields) or field in str(out), out
    assert not ABTest.objects.exists()


def test_ab_test_from_a_post_of_the_workspace(world: dict[str, Any], api_for: Callable[..., Api]) -> None:
    stat = PostStat.objects.filter(channel=world["channel"]).first()
    assert stat is not None
    api = api_for(world["ws"])
    choices = api.get("/ab-tests/posts").json()
    assert stat.pk in [c["id"] for c in choices]
    res = api.post(
        "/ab-tests", {"name": "Post", "a": {"post_stat_id": stat.pk}, "b": {"successes": 30, "trials": 1000}}
    )
    assert res.status_code == 201, res.content
    assert (res.json()["a"]["successes"], res.json()["a"]["trials"]) == (stat.likes, 1000)
    assert api_for(world["other"]).get("/ab-tests/posts").json() == []
