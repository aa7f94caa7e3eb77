"""The notification centre: the bell's count, /notifications/ (a member's own notifications only),
opening one (marked read, only paths of this site followed), mark all read, the filter and pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.core import clock
from rupor.notifications import service as notifications
from rupor.notifications.models import Notification
from rupor.web.notification_views import PAGE_SIZE

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@notif.example", PASSWORD)
    moderator = accounts.create_user("mod@notif.example", PASSWORD)
    ws = accounts.create_workspace("Notif", owner, timezone="Asia/Seoul")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, moderator.email, "moderator")
    other_owner = accounts.create_user("owner@elsewhere.example", PASSWORD)
    other = accounts.create_workspace("Elsewhere", other_owner)
    return {"owner": owner, "moderator": moderator, "ws": ws, "other": other, "other_owner": other_owner}


def _notice(world: dict[str, Any], user: User | None, title: str, **fields: Any) -> Notification:
    return Notification.objects.create(
        workspace=fields.pop("workspace", world["ws"]),
        user=user,
        kind="inbox_assigned",
        title=title,
        **fields,
    )


def _bell(html: str) -> str:
    found = re.search(r'<a class="bell".*?</a>', html, re.S)
    assert found, "no bell in the top bar"
    return found.group(0)


def test_the_bell_counts_only_my_unread_and_hides_at_zero(world: dict[str, Any]) -> None:
    client = _client(world["moderator"])
    bell = _bell(client.get(reverse("web:dashboard")).content.decode())
    assert "bell-count" not in bell and reverse("web:notifications") in bell
    _notice(world, world["moderator"], "Mine 1")
    _notice(world, world["moderator"], "Mine 2")
    _notice(world, world["moderator"], "Read", read_at=clock.now())
    _notice(world, world["owner"], "The owner's")
    _notice(world, world["other_owner"], "Elsewhere", workspace=world["other"])
    bell = _bell(client.get(reverse("web:dashboard")).content.decode())
    assert re.search(r'<span class="bell-count"[^>]*>2</span>', bell)


def test_the_bell_costs_one_query(world: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(world["moderator"])
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("web:notifications"))
    counts = [
        q["sql"]
        for q in ctx.captured_queries
        if "notifications_notification" in q["sql"] and "COUNT" in q["sql"]
    ]
    # One for the bell, one for the page's "Unread only (n)".
    assert len(counts) == 2


def test_the_page_lists_my_own_newest_first_in_the_workspace_zone(world: dict[str, Any]) -> None:
    at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # 08:30 on March 2 in Seoul
    _notice(world, world["moderator"], "Older one", body="First body", created_at=at)
    _notice(world, world["moderator"], "Newer one", created_at=at + dt.timedelta(hours=1), read_at=at)
    _notice(world, world["owner"], "The owner's secret")
    _notice(world, None, "Workspace-wide")
    _notice(world, world["other_owner"], "Other workspace", workspace=world["other"])
    html = _client(world["moderator"]).get(reverse("web:notifications")).content.decode()
    assert html.index("Newer one") < html.index("Older one")
    assert "First body" in html and "08:30" in html and "Mar 2, 2026" in html
    for hidden in ("The owner&#x27;s secret", "The owner's secret", "Workspace-wide", "Other workspace"):
        assert hidden not in html
    assert html.count('class="notif unread"') == 1


def test_empty_state_and_the_unread_filter(world: dict[str, Any]) -> None:
    client = _client(world["moderator"])
    html = client.get(reverse("web:notifications")).content.decode()
    assert 'id="notif-empty"' in html and "No notifications yet" in html and 'id="read-all"' not in html
    _notice(world, world["moderator"], "Already read", read_at=clock.now())
    _notice(world, world["moderator"], "Still unread")
    html = client.get(reverse("web:notifications") + "?unread=1").content.decode()
    assert "Still unread" in html and "Already read" not in html
    notifications.mark_read(world["ws"].pk, world["moderator"].pk)
    html = client.get(reverse("web:notifications") + "?unread=1").content.decode()
    assert "Nothing unread" in html


def test_open_marks_read_and_follows_a_path_of_this_site(world: dict[str, Any]) -> None:
    notice = _notice(world, world["moderator"], "Go", link="/inbox/7/")
    client = _client(world["moderator"], csrf=True)
    page = client.get(reverse("web:notifications"))
    token = page.cookies["csrftoken"].value
    url = reverse("web:notification_open", args=[notice.pk])
    assert client.post(url).status_code == 403  # no CSRF token
    res = client.post(url, {"csrfmiddlewaretoken": token})
    assert res.status_code == 302 and res["Location"] == "/inbox/7/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert client.get(url).status_code == 405


@pytest.mark.parametrize(
    "link",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "inbox/3/"],
)
def test_open_never_leaves_the_site(world: dict[str, Any], link: str) -> None:
    notice = _notice(world, world["moderator"], "Odd", link=link)
    res = _client(world["moderator"]).post(reverse("web:notification_open", args=[notice.pk]))
    assert res.status_code == 302 and res["Location"] == reverse("web:notifications")
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_another_members_or_workspaces_notification_is_not_found(world: dict[str, Any]) -> None:
    theirs = _notice(world, world["owner"], "The owner's", link="/inbox/")
    elsewhere = _notice(world, world["other_owner"], "Elsewhere", workspace=world["other"])
    client = _client(world["moderator"])
    for notice in (theirs, elsewhere):
        assert client.post(reverse("web:notification_open", args=[notice.pk])).status_code == 404
        notice.refresh_from_db()
        assert notice.read_at is None


def test_mark_all_read_touches_only_mine(world: dict[str, Any]) -> None:
    _notice(world, world["moderator"], "A")
    _notice(world, world["moderator"], "B")
    theirs = _notice(world, world["owner"], "The owner's")
    client = _client(world["moderator"])
    res = client.post(reverse("web:notifications_read_all"), follow=True)
    assert "All notifications are marked as read." in res.content.decode()
    assert notifications.unread_count(world["ws"].pk, world["moderator"].pk) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "bell-count" not in _bell(res.content.decode())


def test_show_more_pages_beyond_the_first(world: dict[str, Any]) -> None:
    start = clock.now() - dt.timedelta(days=1)
    for i in range(PAGE_SIZE + 3):
        _notice(world, world["moderator"], f"Notice #{i:03d}", created_at=start + dt.timedelta(minutes=i))
    client = _client(world["moderator"])
    first = client.get(reverse("web:notifications")).content.decode()
    assert first.count('<li class="notif') == PAGE_SIZE and 'id="show-more"' in first
    assert f"Notice #{PAGE_SIZE + 2:03d}" in first and "Notice #000" not in first
    second = client.get(reverse("web:notifications") + "?page=2").content.decode()
    assert (
        second.count('<li class="notif') == 3 and "Notice #000" in second and 'id="show-more"' not in second
    )
    assert client.get(reverse("web:notifications") + "?page=abc").status_code == 200


def test_the_page_speaks_russian_and_korean(world: dict[str, Any]) -> None:
    client = _client(world["moderator"])
    ru = client.get(reverse("web:notifications"), headers={"accept-language": "ru"}).content.decode()
    assert "Уведомления" in ru
    ko = client.get(reverse("web:notifications"), headers={"accept-language": "ko"}).content.decode()
    assert "알림" in ko
