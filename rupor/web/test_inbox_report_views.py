"""The response-time report (page, CSV, API) and the business-hours and alerts settings (page,
API), by role, with items in the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.inbox import response
from rupor.inbox.models import InboxItem, ResponseSettings
from rupor.inbox.testing import connect
from rupor.networks.telegram import testing as telegram_testing

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)  # a Thursday, 15:00 in Moscow


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _item(channel: Channel, n: int, occurred: dt.datetime, **fields: Any) -> InboxItem:
    return InboxItem.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        kind="comment",
        remote_id=str(n),
        conversation_remote_id="post-1",
        author_name=f"Person {n}",
        text=f"Comment {n}",
        occurred_at=occurred,
        received_at=occurred,
        **fields,
    )


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    clock.freeze(NOW)
    users = {
        role: accounts.create_user(f"{role}@example.com", "a-long-enough-passphrase-42")
        for role in ("owner", "manager", "moderator", "analyst", "client", "editor")
    }
    ws = accounts.create_workspace("Coffee House", users["owner"], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("manager", "moderator", "analyst", "client", "editor"):
        accounts.add_member(owner, f"{role}@example.com", role)
    nowhere: Any = type("E", (), {"url": "http://127.0.0.1:9"})()
    tg = connect(ws, telegram_testing.channel_for(nowhere), name="Coffee TG")
    mod = users["moderator"]
    _item(
        tg,
        1,
        NOW - dt.timedelta(hours=2),
        first_response_at=NOW - dt.timedelta(hours=1, minutes=45),
        first_responder=mod,
    )
    _item(
        tg,
        2,
        NOW - dt.timedelta(hours=3),
        first_response_at=NOW - dt.timedelta(hours=1),
        first_responder=mod,
        resolved_at=NOW,
        resolved_by=mod,
    )
    _item(tg, 3, NOW - dt.timedelta(days=1), label="negative")
    _item(tg, 4, NOW - dt.timedelta(days=1), first_response_at=NOW - dt.timedelta(hours=20))
    return {"ws": ws, "users": users, "tg": tg, "owner": owner}


def test_report_page_by_role(world):
    users = world["users"]
    for role in ("owner", "manager", "moderator", "analyst"):
        res = _client(users[role]).get(reverse("web:inbox_report"))
        assert res.status_code == 200, role
    for role in ("client", "editor"):
        assert _client(users[role]).get(reverse("web:inbox_report")).status_code == 403
    page = _client(users["analyst"]).get(reverse("web:inbox_report"), {"days": 7}).content.decode()
    assert "Response times" in page and 'id="day-chart"' in page
    assert "moderator" in page and "On the network (outside Rupor)" in page and "Nobody yet" in page
    assert "75 %" in page  # three of four answered
    assert "wall-clock time" in page
    # Only owners, admins and managers see the way to the settings.
    assert reverse("web:inbox_response_settings") not in page
    owner_page = _client(users["owner"]).get(reverse("web:inbox_report")).content.decode()
    assert reverse("web:inbox_response_settings") in owner_page


def test_report_period_errors_are_clear(world):
    client = _client(world["users"]["owner"])
    res = client.get(reverse("web:inbox_report"), {"since": "yesterday", "until": "2026-12-03"})
    assert res.status_code == 422 and "YYYY-MM-DD" in res.content.decode()
    res = client.get(reverse("web:inbox_report"), {"since": "2026-12-03", "until": "2026-12-01"})
    assert res.status_code == 422 and "ends before it starts" in res.content.decode()
    assert 'value="2026-12-01"' in res.content.decode()  # what was typed stays in the form


def test_csv_export(world):
    res = _client(world["users"]["analyst"]).get(
        reverse("web:inbox_report_csv"), {"since": "2026-11-27", "until": "2026-12-03"}
    )
    assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
    assert "response-times-2026-11-27-2026-12-03.csv" in res["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(res.content.decode())))
    total = rows[0]
    assert (total["group"], total["needing_answer"], total["answered"], total["response_rate"]) == (
        "total",
        "4",
        "3",
        "0.750",
    )
    mod = next(r for r in rows if r["name"] == "moderator")
    assert (mod["first_response_median_min"], mod["resolution_mean_min"]) == ("67.5", "180.0")
    assert _client(world["users"]["client"]).get(reverse("web:inbox_report_csv")).status_code == 403
    bad = _client(world["users"]["owner"]).get(reverse("web:inbox_report_csv"), {"since": "x", "until": "y"})
    assert bad.status_code == 422


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "business_hours": "on",
        "days": ["0", "1", "2", "3", "4"],
        "day_start": "09:00",
        "day_end": "18:00",
        "timezone": "",
        "holidays": "2026-12-31\n2027-01-01",
        "alert_after_minutes": "45",
        "spike_alerts": "on",
        "alert_roles": ["owner", "manager"],
    }
    data.update(changes)
    return data


def test_settings_page_saves_and_refuses_clearly(world):
    users = world["users"]
    url = reverse("web:inbox_response_settings")
    for role in ("moderator", "analyst", "client", "editor"):
        assert _client(users[role]).get(url).status_code == 403
    manager = _client(users["manager"])
    assert manager.get(url).status_code == 200
    res = manager.post(url, _form(alert_user_ids=[str(users["moderator"].pk)]))
    assert res.status_code == 302
    saved = response.settings_for(world["ws"].pk)
    assert saved.business_hours and saved.alert_after_minutes == 45
    assert saved.holidays == (dt.date(2026, 12, 31), dt.date(2027, 1, 1))
    assert saved.alert_user_ids == (users["moderator"].pk,)
    assert response.alert_recipients(world["ws"].pk) == sorted(
        [users["owner"].pk, users["manager"].pk, users["moderator"].pk]
    )
    # The report now counts business hours.
    page = _client(users["owner"]).get(reverse("web:inbox_report")).content.decode()
    assert "business hours only" in page

    # Bad input: each refusal names its field, and what was typed stays.
    res = manager.post(url, _form(holidays="2026-12-31\nnew year"))
    assert res.status_code == 422 and "Not a date: new year" in res.content.decode()
    assert "2026-12-31\nnew year" in res.content.decode()
    res = manager.post(url, _form(timezone="Mars/Olympus"))
    assert res.status_code == 422 and "Mars/Olympus" in res.content.decode()
    res = manager.post(url, _form(day_end="09:00"))
    assert res.status_code == 422 and "different times" in res.content.decode()
    res = manager.post(url, _form(alert_after_minutes="-5"))
    assert res.status_code == 422
    assert response.settings_for(world["ws"].pk).alert_after_minutes == 45  # nothing half-saved


def test_api_report_and_settings(world, api_for):
    ws = world["ws"]
    analyst = api_for(ws, "analyst")
    res = analyst.get("/inbox/response-report", since="2026-11-27", until="2026-12-03")
    assert res.status_code == 200, res.content
    body = res.json()
    assert (body["total"]["needing"], body["total"]["answered"], body["total"]["rate"]) == (4, 3, 0.75)
    assert body["business_hours"] is False and body["zone"] == "Europe/Moscow"
    assert {r["key"] for r in body["by_teammate"]} == {
        f"user:{world['users']['moderator'].pk}",
        "network",
        "nobody",
    }
    assert len(body["days"]) == 7
    csv_res = analyst.get("/inbox/response-report", since="2026-11-27", until="2026-12-03", format="csv")
    assert csv_res.status_code == 200 and csv_res.content.decode().startswith("group,name,")
    bad = analyst.get("/inbox/response-report", since="2026-12-03", until="2026-11-01")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "until"
    assert api_for(ws, "client").get("/inbox/response-report").status_code == 403

    assert analyst.get("/inbox/response-settings").json()["alert_after_minutes"] == 60
    payload = {**analyst.get("/inbox/response-settings").json(), "business_hours": True, "day_end": "02:00"}
    refused = analyst.client.put(
        "/api/v1/inbox/response-settings",
        payload,
        content_type="application/json",
        headers={"Authorization": f"Bearer {analyst.key}"},
    )
    assert refused.status_code == 403
    admin = api_for(ws, "admin")
    ok = admin.client.put(
        "/api/v1/inbox/response-settings",
        payload,
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin.key}"},
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["day_end"] == "02:00:00" and ResponseSettings.objects.get().business_hours
    wrong = admin.client.put(
        "/api/v1/inbox/response-settings",
        {**payload, "alert_roles": ["overlord"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin.key}"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "alert_roles"
