"""The audit trail over the API (filtered pages and the streamed CSV, owner and admin keys only),
what API keys do landing in it under their own name, notifications marked unread again, and a
person's email preferences."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.core import clock
from rupor.notifications import service as notifications
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws(make_workspace: Any, make_user: Any) -> Any:
    clock.freeze(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    return make_workspace(owner=make_user("olga@example.com"))


def test_what_a_key_does_is_recorded_under_the_key_and_listed_with_filters(ws: Any, api_for: Any) -> None:
    editor = api_for(ws, "manager")
    created = editor.post("/plan/rubrics", {"name": "Recipes", "color": "#aa3300", "target_share": 0})
    assert created.status_code == 201, created.content
    owner = api_for(ws, "owner")
    page = owner.get("/audit", action="rubric.create")
    assert page.status_code == 200, page.content
    (item,) = page.json()["items"]
    assert item["actor_kind"] == "api_key" and item["actor_user_id"] is None
    key_id = item["actor_api_key_id"]
    assert AuditEntry.objects.get(pk=item["id"]).api_key_id == key_id
    assert item["action_label"] == "Created a rubric" and item["object_type"] == "rubric"
    by_key = owner.get("/audit", who=f"key:{key_id}").json()["items"]
    assert [i["action"] for i in by_key] == ["rubric.create"]
    assert owner.get("/audit", **{"from": "2026-03-11"}).json()["items"] == []


def test_pages_and_the_csv(ws: Any, api_for: Any) -> None:
    for n in range(5):
        clock.advance(dt.timedelta(seconds=1))
        accounts.record(ws.pk, None, "rubric.update", "rubric", n, f"@SUM(A{n})")
    owner = api_for(ws, "owner")
    first = owner.get("/audit", action="rubric.update", limit=2).json()
    assert [i["object_id"] for i in first["items"]] == ["4", "3"] and first["older"] and not first["newer"]
    second = owner.get("/audit", action="rubric.update", limit=2, before=first["older"]).json()
    assert [i["object_id"] for i in second["items"]] == ["2", "1"] and second["newer"]
    export = owner.get("/audit/export.csv", action="rubric.update")
    assert export.status_code == 200 and export.streaming
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r[7] for r in rows[1:]] == ["4", "3", "2", "1", "0"]
    assert all(r[8].startswith("'@SUM") for r in rows[1:])
    assert rows[1][3] == "Rupor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"who": "everyone"}, "who"),
        ({"from": "2026-03-12", "to": "2026-03-01"}, "to"),
        ({"before": "xyz"}, "before"),
        ({"action": "DROP TABLE"}, "action"),
    ],
)
def test_a_filter_that_cannot_be_is_a_422_naming_it(
    ws: Any, api_for: Any, params: dict[str, str], field: str
) -> None:
    res = api_for(ws, "owner").get("/audit", **params)
    assert res.status_code == 422, res.content
    body = res.json()
    assert body["detail"] and [e["field"] for e in body["errors"]] == [field]


def test_only_owners_and_admins_read_it_and_never_another_workspaces(
    ws: Any, api_for: Any, make_workspace: Any, make_user: Any
) -> None:
    other = make_workspace("Other", owner=make_user("stranger@example.com"))
    accounts.record(other.pk, None, "post.delete", "post", 9, "Their plan")
    for role in ("manager", "editor", "analyst", "client"):
        assert api_for(ws, role).get("/audit").status_code == 403
        assert api_for(ws, role).get("/audit/export.csv").status_code == 403
    items = api_for(ws, "admin").get("/audit").json()["items"]
    assert items and all(i["summary"] != "Their plan" for i in items)


def test_notifications_marked_unread_again(ws: Any, api_for: Any) -> None:
    owner = ws.memberships.get().user
    notifications.notify_event(ws.pk, "failed", "x")
    mine = Notification.objects.get(user=owner)
    client = Client()
    client.force_login(owner)
    read = client.post(
        "/api/v1/notifications/read", json.dumps({"all": True}), content_type="application/json"
    )
    assert read.json() == {"marked": 1, "unread": 0}
    again = client.post(
        "/api/v1/notifications/unread", json.dumps({"ids": [mine.pk, 10**9]}), content_type="application/json"
    )
    assert again.json() == {"marked": 1, "unread": 1}
    empty = client.post(
        "/api/v1/notifications/unread", json.dumps({"ids": []}), content_type="application/json"
    )
    assert empty.status_code == 422


def test_a_person_reads_and_changes_their_email_preferences(ws: Any, api_for: Any) -> None:
    owner = ws.memberships.get().user
    client = Client()
    client.force_login(owner)
    got = client.get("/api/v1/me/email-preferences").json()
    assert got["emailed"]["failed"] is True and got["emailed"]["inbox_assigned"] is False
    assert got["defaults"] == notifications.EMAIL_DEFAULTS and got["digest"] is False
    put = client.put(
        "/api/v1/me/email-preferences",
        json.dumps(
            {"emailed": {"failed": False}, "digest": True, "digest_hour": 9, "timezone": "Europe/Moscow"}
        ),
        content_type="application/json",
    )
    assert put.status_code == 200, put.content
    body = put.json()
    assert body["emailed"]["failed"] is False and body["emailed"]["missed"] is True  # others kept
    assert (body["digest"], body["digest_hour"], body["timezone"]) == (True, 9, "Europe/Moscow")
    bad = client.put(
        "/api/v1/me/email-preferences",
        json.dumps({"emailed": {"nonsense": True}, "timezone": "UTC"}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "nonsense" in bad.json()["detail"]
    assert (
        client.put(
            "/api/v1/me/email-preferences", json.dumps({"digest_hour": 25}), content_type="application/json"
        ).status_code
        == 422
    )
    # A key has no person: a clear refusal, not someone else's preferences.
    keyed = api_for(ws, "owner").get("/me/email-preferences")
    assert keyed.status_code == 422 and "person" in keyed.json()["detail"]
