"""The inbox list as a queue in the web app: bulk actions with per-item refusals, saved views,
dates in the workspace's zone, "show more" pages that keep the filters, and the dashboard's
counter of what needs an answer."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry, User
from rupor.core import clock
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, SavedView
from rupor.inbox.testing import connect
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.networks.telegram import testing as telegram_testing
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"
NOWHERE = type("E", (), {"url": "http://127.0.0.1:9"})()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _comment(channel: Any, remote_id: str, text: str, at: dt.datetime) -> InboxItem:
    comment = Comment(remote_id, "post-1", Person(f"9{remote_id}", f"Reader {remote_id}"), text, at)
    inbox.ingest_events(
        channel.pk, [Event(EventKind.COMMENT_NEW, remote_id, channel.remote_id, at, comment=comment)]
    )
    return InboxItem.objects.get(channel=channel, remote_id=remote_id)


@pytest.fixture
def team(db: Any) -> dict[str, Any]:
    users = {r: accounts.create_user(f"{r}@example.com", PASSWORD) for r in ("owner", "moderator", "analyst")}
    ws = accounts.create_workspace("Coffee House", users["owner"], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    accounts.add_member(owner, "moderator@example.com", "moderator")
    accounts.add_member(owner, "analyst@example.com", "analyst")
    channel = connect(ws, telegram_testing.channel_for(NOWHERE), name="Coffee TG")
    other = accounts.create_workspace("Other", accounts.create_user("other@example.com", PASSWORD))
    theirs = _comment(
        connect(other, telegram_testing.channel_for(NOWHERE)), "99", "Their secret", clock.now()
    )
    return {"ws": ws, "users": users, "channel": channel, "theirs": theirs}


def test_bulk_status_assign_and_done_with_per_item_refusals(team: dict[str, Any]) -> None:
    now = clock.now()
    items = [
        _comment(team["channel"], str(n), f"Question {n}", now - dt.timedelta(minutes=n)) for n in range(3)
    ]
    ids = [str(i.pk) for i in items]
    client = _client(team["users"]["moderator"])
    back = "label=&unanswered=1&view=&after=zzz"
    res = client.post(
        reverse("web:inbox_bulk"),
        {"ids": [*ids, str(team["theirs"].pk)], "action": "status", "status": "in_progress", "back": back},
        follow=True,
    )
    assert res.redirect_chain[-1][0] == reverse("web:inbox") + "?unanswered=1"  # the filters, not the page
    html = res.content.decode()
    assert "3 items changed." in html
    assert f"Item {team['theirs'].pk}: No such inbox item." in html
    assert set(InboxItem.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"in_progress"}
    assert InboxItem.objects.get(pk=team["theirs"].pk).status == "new"

    owner = team["users"]["owner"]
    res = _client(owner).post(
        reverse("web:inbox_bulk"),
        {"ids": ids[:2], "action": "assign", "assigned_to": team["users"]["moderator"].pk},
    )
    assert res.status_code == 302
    assert Notification.objects.filter(user=team["users"]["moderator"], kind="inbox_assigned").count() == 2
    # The moderator sees what was given to them once, on the inbox page, with a link to each item.
    page = client.get(reverse("web:inbox")).content.decode()
    assert "Given to you since you last looked" in page and f'href="/inbox/{ids[0]}/"' in page
    assert "Given to you since you last looked" not in client.get(reverse("web:inbox")).content.decode()

    client.post(reverse("web:inbox_bulk"), {"ids": ids, "action": "done"})
    assert set(InboxItem.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"done"}
    # The keyboard's one-item action (HTMX) gets the refreshed list with the message in it.
    res = client.post(
        reverse("web:inbox_bulk") + "?status=done",
        {"ids": ids[0], "action": "assign", "assigned_to": "me"},
        HTTP_HX_REQUEST="true",
    )
    assert res.status_code == 200 and "1 item changed." in res.content.decode()
    assert InboxItem.objects.get(pk=ids[0]).assigned_to_id == team["users"]["moderator"].pk
    assert AuditEntry.objects.filter(workspace=team["ws"], action="inbox.bulk").count() == 4

    # Nothing ticked: said so, nothing changed.
    res = client.post(reverse("web:inbox_bulk"), {"action": "done"}, follow=True)
    assert "Choose at least one item." in res.content.decode()
    # The analyst may look at nothing in the inbox, let alone change it.
    assert (
        _client(team["users"]["analyst"])
        .post(reverse("web:inbox_bulk"), {"ids": ids, "action": "done"})
        .status_code
        == 403
    )


def test_saved_views_save_open_rename_delete(team: dict[str, Any]) -> None:
    client = _client(team["users"]["moderator"])
    res = client.post(
        reverse("web:inbox_view_save"),
        {"name": "My complaints", "back": "label=complaint&unanswered=1&after=abc&evil=1"},
        follow=True,
    )
    view = SavedView.objects.get()
    assert view.filters == {"label": "complaint", "unanswered": "1"} and not view.shared
    url, _ = res.redirect_chain[-1]
    assert "label=complaint" in url and f"view={view.pk}" in url
    html = res.content.decode()
    assert "View “My complaints” saved." in html and 'aria-current="page">My complaints' in html
    # A moderator may not share; the owner may, and everyone sees a shared view.
    client.post(reverse("web:inbox_view_save"), {"name": "All", "shared": "1", "back": ""})
    assert SavedView.objects.count() == 1
    _client(team["users"]["owner"]).post(
        reverse("web:inbox_view_save"), {"name": "Waiting", "shared": "1", "back": "unanswered=1"}
    )
    page = client.get(reverse("web:inbox")).content.decode()
    assert "My complaints" in page and "Waiting" in page
    assert "My complaints" not in _client(team["users"]["owner"]).get(reverse("web:inbox")).content.decode()
    # Rename and delete one's own; someone's personal view is a 404 for others.
    act = reverse("web:inbox_view_act", args=[view.pk])
    res = client.post(act, {"action": "rename", "name": "Angry", "back": f"view={view.pk}"}, follow=True)
    assert "View renamed to “Angry”." in res.content.decode()
    assert _client(team["users"]["owner"]).post(act, {"action": "delete"}).status_code == 404
    res = client.post(act, {"action": "rename", "name": "  ", "back": ""}, follow=True)
    assert "Give the view a name." in res.content.decode()
    client.post(act, {"action": "delete"})
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_dates_in_the_workspaces_zone_and_bad_dates_said(team: dict[str, Any]) -> None:
    # 21:30 UTC on 1 March is 2 March in Moscow.
    _comment(team["channel"], "1", "After Moscow midnight", dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC))
    _comment(team["channel"], "2", "Moscow evening", dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC))
    client = _client(team["users"]["moderator"])
    html = client.get(reverse("web:inbox"), {"from": "2026-03-02", "to": "2026-03-02"}).content.decode()
    assert "After Moscow midnight" in html and "Moscow evening" not in html
    assert 'value="2026-03-02"' in html
    html = client.get(reverse("web:inbox"), {"from": "2026-03-03", "to": "2026-03-01"}).content.decode()
    assert "The end date is before the start date." in html and "Moscow evening" in html
    html = client.get(reverse("web:inbox"), {"from": "tomorrow"}).content.decode()
    assert "is not a date" in html


def test_show_more_pages_keep_the_filters(team: dict[str, Any]) -> None:
    now = clock.now()
    for n in range(60):
        _comment(team["channel"], str(n), f"Comment number {n:02d}", now - dt.timedelta(minutes=n))
    client = _client(team["users"]["moderator"])
    html = client.get(reverse("web:inbox"), {"sort": "newest", "unanswered": "1"}).content.decode()
    assert html.count('class="post-row inbox-row') == 50
    more = re.search(r'hx-get="([^"]+)"[^>]*data-more', html)
    assert more is not None
    url = more.group(1).replace("&amp;", "&")
    assert "sort=newest" in url and "unanswered=1" in url and "after=" in url
    rest = client.get(url).content.decode()
    assert rest.count('class="post-row inbox-row') == 10
    assert "Comment number 50" in rest and "Comment number 49" not in rest
    assert "That is everything that matches." in rest and "data-more" not in rest
    # A cursor someone edited by hand is the first page, not an error.
    assert client.get(reverse("web:inbox_list"), {"after": "nonsense"}).status_code == 200


def test_the_dashboard_counts_what_needs_an_answer(team: dict[str, Any]) -> None:
    now = clock.now()
    a = _comment(team["channel"], "1", "Where is my order?", now)
    _comment(team["channel"], "2", "Nice", now)
    InboxItem.objects.filter(pk=a.pk).update(label="complaint", assigned_to=team["users"]["moderator"])
    html = _client(team["users"]["moderator"]).get(reverse("web:dashboard")).content.decode()
    block = html[html.index('id="inbox-waiting"') :]
    assert re.search(r'href="/inbox/\?unanswered=1"><div class="value">2<', block)
    assert re.search(r'href="/inbox/\?unanswered=1&amp;label=complaint"><div class="value">1<', block)
    assert re.search(r'href="/inbox/\?unanswered=1&amp;mine=1"><div class="value">1<', block)
    # Roles that do not see the inbox do not see the counter either.
    analyst = _client(team["users"]["analyst"]).get(reverse("web:dashboard")).content.decode()
    assert 'id="inbox-waiting"' not in analyst
