"""The inbox queue through the API: bulk actions, one item's status and assignee, saved views,
date filters and cursor pages with a Link header."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.networks.telegram import testing as telegram_testing
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db

NOWHERE = type("E", (), {"url": "http://127.0.0.1:9"})()


def _comment(channel, remote_id: str, at: dt.datetime) -> int:
    comment = Comment(
        remote_id, "post-1", Person(f"9{remote_id}", f"Reader {remote_id}"), f"Text {remote_id}", at
    )
    inbox.ingest_events(
        channel.pk, [Event(EventKind.COMMENT_NEW, remote_id, channel.remote_id, at, comment=comment)]
    )
    return InboxItem.objects.get(channel=channel, remote_id=remote_id).pk


@pytest.fixture
def setup(make_workspace, make_user, api_for):
    owner, mod = make_user("owner@example.com"), make_user("mod@example.com")
    ws = make_workspace("Coffee", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, mod.email, "moderator")
    channel = connect(ws, telegram_testing.channel_for(NOWHERE), name="Coffee TG")
    now = clock.now()
    ids = [_comment(channel, str(n), now - dt.timedelta(hours=n)) for n in range(5)]
    return {"ws": ws, "channel": channel, "ids": ids, "mod": mod, "api": api_for(ws, "owner")}


def test_bulk_reports_each_item(setup, make_workspace):
    api, ids = setup["api"], setup["ids"]
    other = connect(make_workspace("Other"), telegram_testing.channel_for(NOWHERE))
    foreign = _comment(other, "99", clock.now())
    res = api.post("/inbox/bulk", {"ids": [*ids[:2], foreign], "action": "status", "status": "in_progress"})
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["done"] == ids[:2]
    assert body["failed"] == [{"id": foreign, "message": "No such inbox item.", "status": 404}]
    res = api.post("/inbox/bulk", {"ids": ids, "action": "assign", "assigned_to_id": setup["mod"].pk})
    assert res.json()["done"] == ids
    assert Notification.objects.filter(user=setup["mod"], kind="inbox_assigned").count() == len(ids)
    bad = api.post("/inbox/bulk", {"ids": ids, "action": "status", "status": "answered"})
    assert bad.status_code == 422 and "detail" in bad.json()
    assert api.post("/inbox/bulk", {"ids": [], "action": "done"}).status_code == 422


def test_one_items_status_and_assignee(setup):
    api, item = setup["api"], setup["ids"][0]
    res = api.post(f"/inbox/{item}/status", {"status": "done"})
    assert res.status_code == 200 and res.json()["status"] == "done"
    assert api.post(f"/inbox/{item}/status", {"status": "hidden"}).status_code == 422
    res = api.post(f"/inbox/{item}/assign", {"assigned_to_id": setup["mod"].pk})
    assert res.status_code == 200 and res.json()["assigned_to_id"] == setup["mod"].pk
    assert api.post(f"/inbox/{item}/assign", {"assigned_to_id": None}).json()["assigned_to_id"] is None
    assert api.get(f"/inbox/{item}").json()["id"] == item
    assert api.post("/inbox/999999/status", {"status": "done"}).status_code == 404


def test_pages_follow_the_link_header(setup):
    api, ids = setup["api"], setup["ids"]
    seen: list[int] = []
    res = api.get("/inbox", limit=2, unanswered="true")
    while True:
        assert res.status_code == 200, res.content
        seen += [i["id"] for i in res.json()]
        link = res.headers.get("Link")
        if not link:
            break
        assert res.headers["X-Next-Cursor"] in link and "unanswered=true" in link  # filters are kept
        found = re.match(r'<([^>]+)>; rel="next"', link)
        assert found is not None
        path = found.group(1)
        res = api.client.get(path, headers=api._headers())
    assert seen == ids
    bad = api.get("/inbox", after="garbage")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after"


def test_date_filter_in_the_workspace_zone(setup):
    api = setup["api"]
    today = clock.now().astimezone(dt.timezone(dt.timedelta(hours=3))).date()  # Europe/Moscow
    listed = api.get("/inbox", **{"from": today.isoformat(), "to": today.isoformat()}).json()
    expected = [
        i.pk
        for i in InboxItem.objects.filter(pk__in=setup["ids"])
        if i.occurred_at.astimezone(dt.timezone(dt.timedelta(hours=3))).date() == today
    ]
    assert sorted(i["id"] for i in listed) == sorted(expected)
    wrong = api.get("/inbox", **{"from": "2026-03-02", "to": "2026-03-01"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "to"
    assert api.get("/inbox", **{"from": "yesterday"}).status_code == 422
    assert api.get("/inbox", network="myspace").status_code == 422


def test_saved_views_crud(setup, api_for):
    api = setup["api"]
    res = api.post("/inbox/views", {"name": "Complaints", "shared": True, "filters": {"label": "complaint"}})
    assert res.status_code == 201, res.content
    view = res.json()
    assert view["shared"] is True and view["filters"] == {"label": "complaint"}
    personal = api.post("/inbox/views", {"name": "Mine", "filters": {}})
    assert personal.status_code == 422  # an API key has no person to keep it for
    assert [v["name"] for v in api.get("/inbox/views").json()] == ["Complaints"]
    moderator = api_for(setup["ws"], "moderator")
    assert moderator.patch(f"/inbox/views/{view['id']}", {"name": "Mine now"}).status_code == 403
    assert api.patch(f"/inbox/views/{view['id']}", {"name": "Angry people"}).json()["name"] == "Angry people"
    assert api.get(f"/inbox/views/{view['id']}").json()["name"] == "Angry people"
    assert api.delete(f"/inbox/views/{view['id']}").status_code == 204
    assert api.get(f"/inbox/views/{view['id']}").status_code == 404
