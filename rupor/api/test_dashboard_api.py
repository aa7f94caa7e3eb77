"""/api/v1/analytics/overview, /content and /export: the dashboards' data, validation, roles and
workspaces."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from rupor.analytics import testing
from rupor.analytics.models import ChannelDay, PostStat
from rupor.channels.models import Channel
from rupor.core import clock

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop(make_workspace):
    clock.freeze(NOW)
    ws = make_workspace("Shop", timezone="UTC")
    vk = Channel.objects.create(workspace=ws, network="vk", name="VK page", remote_id="-1")
    return ws, vk


def test_overview_by_hand(shop, api_for):
    ws, vk = shop
    PostStat.objects.create(
        workspace=ws,
        channel=vk,
        remote_post_id="1",
        published_at=NOW - dt.timedelta(days=1),
        likes=8,
        reposts=1,
        comments=1,
        views=200,
        reach=100,
        followers=500,
    )
    PostStat.objects.create(
        workspace=ws,
        channel=vk,
        remote_post_id="0",
        published_at=NOW - dt.timedelta(days=8),
        likes=4,
        reposts=0,
        comments=1,
        views=100,
        reach=50,
        followers=500,
    )
    ChannelDay.objects.create(workspace=ws, channel=vk, day=NOW.date(), members=500)
    res = api_for(ws, "analyst").get("/analytics/overview", days="7")
    assert res.status_code == 200, res.content
    body = res.json()
    figures = {f["key"]: f for f in body["figures"]}
    assert figures["engagements"]["value"] == 10 and figures["engagements"]["previous"] == 5
    assert figures["engagements"]["change_pct"] == pytest.approx(100.0)
    assert figures["err"]["value"] == pytest.approx(10.0) and "reach" in figures["err"]["formula"]
    assert figures["er_post"]["value"] == pytest.approx(2.0) and figures["er_post"]["unit"] == "%"
    assert figures["joins"]["value"] is None and figures["joins"]["note"]
    assert len(body["daily"]) == 7 and len(body["heatmap"]) == 7 and len(body["heatmap"][0]) == 24
    assert body["top_posts"][0]["remote_post_id"] == "1"
    assert (body["start"], body["end"]) == ("2026-03-14", "2026-03-20")


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "yesterday"}, 422, "from"),
        ({"from": "2026-03-10", "to": "2026-03-1x"}, 422, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, 422, "from"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, 422, "to"),
        ({"days": "-3"}, 422, "days"),
        ({"channel": "x"}, 422, "channel"),
        ({"channel": "99999"}, 404, "channel"),
    ],
)
def test_bad_queries_are_refused_with_reasons(shop, api_for, params, status, field):
    ws, _vk = shop
    res = api_for(ws, "owner").get("/analytics/overview", **params)
    assert res.status_code == status, res.content
    assert res.json()["detail"] and res.json()["errors"][0]["field"] == field


def test_another_workspaces_channel_is_a_404(shop, api_for, make_workspace):
    ws, _vk = shop
    other = make_workspace("Other", timezone="UTC")
    theirs = Channel.objects.create(workspace=other, network="vk", name="Theirs", remote_id="-5")
    api = api_for(ws, "owner")
    assert api.get("/analytics/overview", channel=str(theirs.pk)).status_code == 404
    assert api.get("/analytics/content", channel=str(theirs.pk)).status_code == 404
    assert api.get("/analytics/export/daily.csv", channel=str(theirs.pk)).status_code == 404


def test_roles(shop, api_for):
    ws, _vk = shop
    assert api_for(ws, "client").get("/analytics/overview").status_code == 200
    assert api_for(ws, "client").get("/analytics/content").status_code == 403
    assert api_for(ws, "client").get("/analytics/export/mix.csv").status_code == 403
    assert api_for(ws, "editor").get("/analytics/overview").status_code == 403
    assert api_for(ws, "moderator").get("/analytics/export/daily.csv").status_code == 403
    assert api_for(ws, "analyst").get("/analytics/content").status_code == 200


def test_content_and_export_parse_back(shop, api_for):
    ws, vk = shop
    testing.fill(ws.pk, days=20, end=NOW.date())
    api = api_for(ws, "manager")
    body = api.get("/analytics/content", days="20").json()
    assert [s["key"] for s in body["slices"]] == ["rubric", "format", "length", "hour", "weekday"]
    assert body["posts"] == sum(r["posts"] for r in body["slices"][1]["rows"])
    res = api.get("/analytics/export/format.csv", days="20")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][1] == "Posts" and sum(int(r[1]) for r in rows[1:]) == body["posts"]
    assert api.get("/analytics/export/nothing.csv").status_code == 404
    assert api.get("/analytics/export/overview.csv").status_code == 422
    assert api.get("/analytics/export/overview.xlsx").status_code == 200
    assert vk.pk in api.get("/analytics/overview", channel=str(vk.pk)).json()["channel_ids"]
