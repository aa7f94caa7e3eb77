"""The site-traffic routes against the Metrica emulator: connect (credentials go in, never come
out), test, read now, the table by post and campaign, CSV, roles and refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from rupor.networks.metrica import emulator as metrica_emu
from rupor.networks.metrica import testing as metrica_testing

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)
LANDING = "https://shop.example/?utm_source=vk&utm_medium=social&utm_campaign=useful&utm_content=77"


@pytest.fixture
def metrica():
    emulator = metrica_testing.start()
    metrica_testing.add_landings(emulator, [(LANDING, NOW - dt.timedelta(days=3))])
    yield emulator
    emulator.stop()


def _put(api, emulator, **changes):
    body = {
        "account_id": metrica_testing.DEMO_COUNTER_ID,
        "secret": metrica_emu.DEMO_TOKEN,
        "base_url": emulator.url,
        **changes,
    }
    return api.client.put(
        "/api/v1/links/traffic/sources/metrica",
        json.dumps(body),
        content_type="application/json",
        headers=api._headers(),
    )


def test_connect_read_and_show_traffic_over_the_api(make_workspace, api_for, metrica):
    ws = make_workspace()
    api = api_for(ws, "owner")
    res = _put(api, metrica, goal="301")
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["name"] == metrica_emu.DEMO_COUNTER_NAME and body["goal_name"] == "Order placed"
    assert metrica_emu.DEMO_TOKEN not in res.content.decode()
    listed = api.get("/links/traffic/sources")
    assert listed.status_code == 200 and metrica_emu.DEMO_TOKEN not in listed.content.decode()
    assert [s["kind"] for s in listed.json()] == ["metrica"]
    assert api.post("/links/traffic/sources/metrica/test", {}).status_code == 200
    read = api.post("/links/traffic/sources/metrica/collect", {})
    assert read.status_code == 200 and read.json()["rows"] > 0
    analyst = api_for(ws, "analyst")
    lines = analyst.get("/links/traffic", by="post", days=30).json()
    assert [(line["post_id"], line["network"]) for line in lines] == [(77, "vk")]
    assert lines[0]["traffic"]["sessions"] > 0
    assert analyst.get("/links/traffic", by="campaign", days=0).json()[0]["campaign"] == "useful"
    csv = analyst.get("/links/traffic/export.csv", by="post")
    assert csv.status_code == 200 and csv.content.decode().startswith("post_id,network,campaign")


def test_refusals_are_plain_and_roles_are_checked(make_workspace, api_for, metrica):
    ws = make_workspace()
    owner, manager, analyst = api_for(ws, "owner"), api_for(ws, "manager"), api_for(ws, "analyst")
    bad = _put(owner, metrica, secret="y0_revoked")
    assert bad.status_code == 422 and bad.json()["detail"]
    assert owner.get("/links/traffic/sources").json() == []
    assert _put(manager, metrica).status_code == 403
    assert owner.post("/links/traffic/sources/metrica/test", {}).status_code == 404
    assert owner.post("/links/traffic/sources/matomo/test", {}).status_code == 422
    assert _put(owner, metrica, verify=False).status_code == 200
    assert analyst.post("/links/traffic/sources/metrica/collect", {}).status_code == 403
    assert manager.post("/links/traffic/sources/metrica/collect", {}).status_code == 200
    assert manager.delete("/links/traffic/sources/metrica").status_code == 403
    assert owner.delete("/links/traffic/sources/metrica").status_code == 204
    assert owner.get("/links/traffic").json() == []  # nothing connected: nothing to show
