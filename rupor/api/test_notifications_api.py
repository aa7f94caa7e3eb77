"""GET /api/v1/notifications and POST /api/v1/notifications/read: a person's own notifications
(browser session), the workspace-wide ones for an API key with no person behind it, never another
member's or another workspace's; bad bodies answer in the ErrorOut shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.core import clock
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notice(ws: Workspace, user: User | None, title: str, **fields: Any) -> Notification:
    return Notification.objects.create(workspace=ws, user=user, kind="inbox_assigned", title=title, **fields)


@pytest.fixture
def world(make_workspace: Any, make_user: Any, api_for: Any) -> dict[str, Any]:
    owner = make_user("owner@api-notif.example")
    moderator = make_user("mod@api-notif.example")
    ws = make_workspace("Api notif", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, moderator.email, "moderator")
    other = make_workspace("Other", owner=make_user("other@api-notif.example"))
    session = Client()
    session.force_login(moderator)
    return {
        "ws": ws,
        "owner": owner,
        "moderator": moderator,
        "other": other,
        "session": session,
        "headers": {"X-Rupor-Workspace": ws.slug},
        "api": api_for(ws, "analyst"),
    }


def test_a_person_gets_their_own_newest_first(world: dict[str, Any]) -> None:
    mod = world["moderator"]
    _notice(world["ws"], mod, "Older", body="b", link="/inbox/1/", target_id=1)
    newest = _notice(world["ws"], mod, "Newer", read_at=clock.now())
    _notice(world["ws"], world["owner"], "The owner's")
    _notice(world["ws"], None, "Workspace-wide")
    _notice(world["other"], None, "Elsewhere")
    res = world["session"].get("/api/v1/notifications", headers=world["headers"])
    assert res.status_code == 200, res.content
    data = res.json()
    assert [n["title"] for n in data["items"]] == ["Newer", "Older"]
    assert data["unread"] == 1
    assert data["items"][0]["id"] == newest.pk and data["items"][0]["read"] is True
    assert data["items"][1] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "kind": "inbox_assigned",
        "title": "Older",
        "body": "b",
        "link": "/inbox/1/",
        "target_id": 1,
        "created_at": "",
        "read": False,
    }
    unread = world["session"].get("/api/v1/notifications?unread_only=true", headers=world["headers"]).json()
    assert [n["title"] for n in unread["items"]] == ["Older"]


def test_an_api_key_gets_the_workspace_wide_ones(world: dict[str, Any]) -> None:
    _notice(world["ws"], world["moderator"], "Personal")
    _notice(world["ws"], None, "Workspace-wide")
    _notice(world["other"], None, "Elsewhere")
    data = world["api"].get("/notifications").json()
    assert [n["title"] for n in data["items"]] == ["Workspace-wide"] and data["unread"] == 1


@pytest.mark.parametrize("limit", ["0", "201", "x"])
def test_limit_is_checked(world: dict[str, Any], limit: str) -> None:
    res = world["api"].get("/notifications", limit=limit)
    assert res.status_code == 422 and res.json()["detail"] and "errors" in res.json()


def test_limit_cuts_the_list(world: dict[str, Any]) -> None:
    for i in range(5):
        _notice(world["ws"], None, f"N{i}")
    assert len(world["api"].get("/notifications", limit=2).json()["items"]) == 2


def _read(world: dict[str, Any], body: Any) -> Any:
    return world["session"].post(
        "/api/v1/notifications/read",
        json.dumps(body),
        content_type="application/json",
        headers=world["headers"],
    )


def test_mark_some_by_id_skipping_others(world: dict[str, Any]) -> None:
    mod = world["moderator"]
    a = _notice(world["ws"], mod, "A")
    b = _notice(world["ws"], mod, "B")
    theirs = _notice(world["ws"], world["owner"], "The owner's")
    elsewhere = _notice(world["other"], None, "Elsewhere")
    res = _read(world, {"ids": [a.pk, theirs.pk, elsewhere.pk, 999999]})
    assert res.status_code == 200, res.content
    assert res.json() == {"marked": 1, "unread": 1}
    assert _read(world, {"ids": [a.pk]}).json() == {"marked": 0, "unread": 1}  # already read
    for n, read in ((a, True), (b, False), (theirs, False), (elsewhere, False)):
        n.refresh_from_db()
        assert (n.read_at is not None) is read


def test_mark_all(world: dict[str, Any]) -> None:
    _notice(world["ws"], world["moderator"], "A")
    _notice(world["ws"], world["moderator"], "B")
    theirs = _notice(world["ws"], world["owner"], "The owner's")
    assert _read(world, {"all": True}).json() == {"marked": 2, "unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all": False},
        {"all": True, "ids": [1]},
        {"ids": "1"},
        {"ids": [1] * 501},
        {"ids": [2**70]},
        {"ids": [0]},
    ],
)
def test_bad_bodies_answer_422_in_the_error_shape(world: dict[str, Any], body: Any) -> None:
    res = _read(world, body)
    assert res.status_code == 422, res.content
    assert res.json()["detail"] and isinstance(res.json()["errors"], list)


def test_an_api_key_marks_only_the_workspace_wide_ones(world: dict[str, Any]) -> None:
    personal = _notice(world["ws"], world["moderator"], "Personal")
    _notice(world["ws"], None, "Workspace-wide")
    assert world["api"].post("/notifications/read", {"all": True}).json() == {"marked": 1, "unread": 0}
    personal.refresh_from_db()
    assert personal.read_at is None


def test_session_writes_need_csrf(world: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["moderator"])
    res = client.post("/api/v1/notifications/read", '{"all": true}', content_type="application/json")
    assert res.status_code in (401, 403)
