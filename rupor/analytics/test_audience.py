"""Audience demographics end to end: VK community statistics from the emulator, stored per day,
read back through the API and the page (roles, languages), and networks that tell nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.analytics import audience, service
from rupor.analytics.models import AudienceSnapshot, ChannelDay
from rupor.inbox.testing import connect, publish
from rupor.networks import registry
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.ok import testing as ok_testing
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def test_emulator_sections_follow_the_vk_schema_and_move_with_members(vk_emu):
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    adapter = registry.adapter("vk")
    # A post gives the day a reach (the emulator's reach and visitors come from its posts).
    adapter.publish(access, PublishRequest(Content(text="Audience day"), "aud-1"), MemoryProgress())
    vk_testing.advance(vk_emu, 2 * 3600)
    m = adapter.channel_metrics(access)
    assert len(m.days) == 2 and m.days[0].day < m.days[1].day  # yesterday and today
    # The day of the post (today or, near midnight, yesterday) has a reach.
    today = next(d for d in reversed(m.days) if d.reach)
    visitors = [a for a in today.audience if a.basis == "visitors"]
    reach = [a for a in today.audience if a.basis == "reach"]
    assert {a.dimension for a in visitors} == {"sex", "age", "sex_age", "city", "country"}
    assert {a.dimension for a in reach} == {"sex", "age", "sex_age", "city", "country", "device"}
    sex = {a.key: a.count for a in reach if a.dimension == "sex"}
    assert set(sex) <= {"f", "m"} and sum(sex.values()) == today.reach  # the whole reach, split
    devices = {a.key: a.count for a in reach if a.dimension == "device"}
    assert sum(devices.values()) == today.reach and devices["mobile"] == int(today.reach * 0.7)
    cities = [a for a in visitors if a.dimension == "city"]
    assert all(a.label for a in cities) and all(a.key.isdigit() for a in cities)
    countries = [a for a in visitors if a.dimension == "country"]
    assert {a.key for a in countries} <= {"RU", "KZ", "BY"}
    # Deterministic: the same answer twice.
    again = adapter.channel_metrics(access).days
    assert next(d for d in again if d.day == today.day).audience == today.audience


def test_audience_collected_daily_through_the_api_and_page(vk_emu, make_workspace, make_user, api_for):
    owner = make_user()
    ws = make_workspace("VK audience", owner=owner)
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    publish(channel, access, "Audience post")
    vk_testing.advance(vk_emu, 2 * 3600)
    service.collect_channel_metrics(channel.pk)
    # The newest day VK reported (the emulator's clock runs ahead of Rupor's here).
    today = AudienceSnapshot.objects.filter(channel=channel).latest("day").day
    day = ChannelDay.objects.get(channel=channel, day=today)
    assert day.reach is not None and day.source == "stats"

    api = api_for(ws, "analyst")
    res = api.get(f"/channels/{channel.pk}/audience", basis="reach")
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["supported"] and body["day"] == today.isoformat()
    assert body["compared_day"] in (
        None,
        (today - dt.timedelta(days=1)).isoformat(),
    )  # yesterday, if reported
    dims = {b["dimension"]: b for b in body["breakdowns"]}
    assert list(dims) == ["sex", "age", "sex_age", "city", "country", "device"]
    sex = dims["sex"]
    assert sum(bar["count"] for bar in sex["bars"]) == sex["total"] == day.reach
    assert sum(bar["share"] for bar in sex["bars"]) == pytest.approx(100, abs=0.05)
    assert {bar["label"] for bar in sex["bars"]} <= {"Women", "Men"}

    # A later day, with the audience changed: shares move and the change is shown in pp.
    snapshot = {
        (a.dimension, a.key): a.count for a in AudienceSnapshot.objects.filter(channel=channel, basis="reach")
    }
    earlier = today - dt.timedelta(days=5)
    AudienceSnapshot.objects.bulk_create(
        AudienceSnapshot(
            workspace=ws, channel=channel, day=earlier, basis="reach", dimension="sex", key=k, count=v
        )
        for k, v in {"f": 50, "m": 50}.items()
    )
    body = api.get(f"/channels/{channel.pk}/audience", basis="reach", days=30).json()
    assert body["compared_day"] == earlier.isoformat()
    bars = {bar["key"]: bar for bar in body["breakdowns"][0]["bars"]}
    f_share = round(snapshot[("sex", "f")] / (snapshot[("sex", "f")] + snapshot[("sex", "m")]) * 100, 2)
    assert bars["f"]["share"] == f_share and bars["f"]["share_before"] == 50.0
    assert bars["f"]["change"] == pytest.approx(f_share - 50, abs=0.01)
    history = {h["dimension"]: h for h in body["history"]}
    days = [r["day"] for r in history["sex"]["rows"]]
    assert days[0] == earlier.isoformat() and days[-1] == today.isoformat()
    # Outside the window: no comparison.
    assert api.get(f"/channels/{channel.pk}/audience", basis="reach", days=1).json()["compared_day"] is None

    # Bad input: a clear 422 naming the field.
    bad = api.get(f"/channels/{channel.pk}/audience", basis="everyone")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "basis"
    assert api.get(f"/channels/{channel.pk}/audience", days=0).status_code == 422
    # Roles and other workspaces.
    for role in ("editor", "moderator", "client"):
        assert api_for(ws, role).get(f"/channels/{channel.pk}/audience").status_code == 403
    stranger = api_for(make_workspace("Other"), "owner")
    assert stranger.get(f"/channels/{channel.pk}/audience").status_code == 404

    # The page, in each language.
    client = Client()
    client.force_login(owner)
    page = client.get("/analytics/audience/", {"channel": str(channel.pk), "basis": "reach"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="audience-sex"' in html and "Women" in html and 'id="history-sex"' in html
    for lang, word in (("ru", "Женщины"), ("ko", "여성")):
        client.cookies["django_language"] = lang
        res = client.get("/analytics/audience/", {"channel": str(channel.pk), "basis": "reach"})
        assert word in res.content.decode(), lang
    assert client.get("/analytics/audience/", {"channel": str(channel.pk), "basis": "x"}).status_code == 422
    editor = accounts.create_user("ed@example.com", "a-long-enough-passphrase-42")
    owner_actor = accounts.actor_for_user(owner, ws)
    assert owner_actor is not None
    accounts.add_member(owner_actor, "ed@example.com", "editor")
    other = Client()
    other.force_login(editor)
    assert other.get("/analytics/audience/").status_code == 403


def test_ok_and_telegram_say_why_there_is_no_audience(make_workspace, api_for):
    ws = make_workspace()
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    ok = connect(ws, ok_testing.channel_for(nowhere))
    body = api_for(ws, "analyst").get(f"/channels/{ok.pk}/audience").json()
    assert body["supported"] is False and body["breakdowns"] == [] and "getStatPeople" in body["notes"][0]
    assert audience.unsupported_reason("telegram")
