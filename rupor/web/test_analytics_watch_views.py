"""The competitors and trends pages: who sees and changes what, clear refusals that keep what
was typed, the comparison and top posts, the sparkline, and workspace isolation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.analytics.models import WatchedPage
from rupor.inbox.models import MonitoredKeyword, ResponseSettings
from rupor.inbox.testing import connect
from rupor.networks.vk import testing as vk_testing
from rupor.web.analytics_watch_views import sparkline

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"
COMPETITORS = "/analytics/competitors/"
TRENDS = "/analytics/trends/"


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any, vk_emu) -> dict[str, Any]:
    users = {
        role: accounts.create_user(f"{role}@example.com", PASSWORD)
        for role in ("owner", "manager", "analyst", "editor", "client")
    }
    ws = accounts.create_workspace("Coffee House", users["owner"])
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("manager", "analyst", "editor", "client"):
        accounts.add_member(owner, f"{role}@example.com", role)
    channel = connect(ws, vk_testing.channel_for(vk_emu, settings={"pace": False}))
    return {"ws": ws, "users": users, "channel": channel}


def test_a_manager_watches_a_page_and_sees_it_compared(world):
    client = _client(world["users"]["manager"])
    empty = client.get(COMPETITORS)
    assert empty.status_code == 200 and 'id="page-form"' in empty.content.decode()
    added = client.post(
        COMPETITORS, {"action": "add", "handle": vk_testing.RIVAL_HANDLE, "channel": str(world["channel"].pk)}
    )
    assert added.status_code == 302
    body = client.get(COMPETITORS).content.decode()
    assert "Bean Brothers" in body and 'id="comparison"' in body and 'id="top-posts"' in body
    assert "Avg ERpost (Popsters)" in body  # each figure names its formula
    # The period switch.
    assert client.get(COMPETITORS + "?days=7").status_code == 200
    assert client.get(COMPETITORS + "?days=zzz").status_code == 200  # unknown: the default
    # Read now, then remove.
    page = WatchedPage.objects.get()
    assert client.post(COMPETITORS, {"action": "read", "page": str(page.pk)}).status_code == 302
    assert client.post(COMPETITORS, {"action": "remove", "page": str(page.pk)}).status_code == 302
    assert not WatchedPage.objects.exists()


def test_a_closed_page_is_refused_in_words_and_the_input_kept(world):
    client = _client(world["users"]["owner"])
    res = client.post(COMPETITORS, {"action": "add", "handle": vk_testing.CLOSED_HANDLE})
    assert res.status_code == 422
    body = res.content.decode()
    assert 'id="page-problem"' in body and "closed" in body and f'value="{vk_testing.CLOSED_HANDLE}"' in body
    bad = client.post(COMPETITORS, {"action": "add", "handle": "x", "channel": "not-a-number"})
    assert bad.status_code == 404
    gone = client.post(COMPETITORS, {"action": "remove", "page": "99999999999999999999"})
    assert gone.status_code == 302  # a message, never a 500


def test_roles_on_the_pages(world):
    analyst = _client(world["users"]["analyst"])
    page = analyst.get(COMPETITORS)
    assert page.status_code == 200 and 'id="page-form"' not in page.content.decode()
    assert analyst.post(COMPETITORS, {"action": "add", "handle": vk_testing.RIVAL_HANDLE}).status_code == 403
    assert analyst.get(TRENDS).status_code == 200
    assert analyst.post(TRENDS, {"alerts": "on"}).status_code == 403
    for role in ("editor", "client"):
        client = _client(world["users"][role])
        assert client.get(COMPETITORS).status_code == 403
        assert client.get(TRENDS).status_code == 403
    # The sidebar shows Analytics to those who may open it.
    # The sidebar leads to analytics, whose tabs include competitors (merged with the dashboards).
    assert 'href="/analytics/"' in analyst.get("/").content.decode()
    assert "/analytics/competitors/" not in _client(world["users"]["editor"]).get("/").content.decode()


def test_trends_page_lists_keywords_with_a_sparkline_and_saves_settings(world, make_workspace):
    ws = world["ws"]
    MonitoredKeyword.objects.create(workspace=ws, phrase="latte", key="latte")
    client = _client(world["users"]["manager"])
    body = client.get(TRENDS).content.decode()
    assert 'id="trend-' in body and '<svg class="spark"' in body and "latte" in body
    assert client.post(TRENDS, {"alerts": "on"}).status_code == 302
    row = ResponseSettings.objects.get(workspace=ws)
    assert row.trend_alerts and not row.trend_email
    # Another workspace sees none of it.
    other = accounts.create_user("other@example.com", PASSWORD)
    accounts.create_workspace("Elsewhere", other)
    assert "latte" not in _client(other).get(TRENDS).content.decode()


def test_sparkline_scales_to_the_highest_hour_and_is_labelled():
    svg = str(sparkline((0, 2, 4), "three hours"))
    assert 'aria-label="three hours"' in svg and "<title>three hours</title>" in svg
    assert 'points="0.0,30.0 84.0,16.0 168.0,2.0"' in svg
    flat = str(sparkline((0, 0), "quiet"))
    assert 'points="0.0,30.0 168.0,30.0"' in flat
