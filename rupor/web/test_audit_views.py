"""The audit page (/audit/) and its CSV: owners and admins only, this workspace only, every
filter of the form applied to the list and the export alike, a refused filter said plainly, and
the email preferences card of the profile page with the notification list's read/unread."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.core import clock
from rupor.notifications import service as notifications
from rupor.notifications.models import EmailPreference, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _rows(response: Any) -> list[list[str]]:
    """The CSV a streamed answer carries."""
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _browser(user: User, ws: Workspace) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = ws.slug
    session.save()
    return client


@pytest.fixture
def team(make_user: Any, make_workspace: Any) -> dict[str, Any]:
    clock.freeze(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    owner = make_user("olga@example.com")
    ws = make_workspace(owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    people = {"owner": owner}
    for role in ("admin", "manager", "analyst"):
        people[role] = make_user(f"{role}@example.com")
        accounts.add_member(actor, people[role].email, role)
    key = accounts.create_api_key(actor, ws, "editor", name="Make.com")
    key_actor = accounts.authenticate_api_key(key.key)
    assert key_actor is not None
    clock.freeze(dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC))
    accounts.record(ws.pk, key_actor, "post.create", "post", 41, "draft: =cmd|' /C calc'!A0")
    accounts.record(ws.pk, actor, "post.delete", "post", 42, "Winter menu")
    other = make_workspace("Other", owner=make_user("stranger@example.com"))
    accounts.record(other.pk, None, "post.delete", "post", 43, "Their secret plan")
    return {"ws": ws, "actor": actor, "key": key, "other": other, **people}


def test_owners_and_admins_read_the_trail_others_are_refused(team: dict[str, Any]) -> None:
    ws = team["ws"]
    for role in ("owner", "admin"):
        page = _browser(team[role], ws).get(reverse("web:audit"))
        assert page.status_code == 200
        html = page.content.decode()
        assert "Winter menu" in html and "Deleted a post" in html
        assert "Make.com" in html  # the API key is named on what it did
        assert "Their secret plan" not in html
        assert reverse("web:audit") in _browser(team[role], ws).get(reverse("web:dashboard")).content.decode()
    for role in ("manager", "analyst"):
        assert _browser(team[role], ws).get(reverse("web:audit")).status_code == 403
        assert _browser(team[role], ws).get(reverse("web:audit_export")).status_code == 403
        assert (
            reverse("web:audit")
            not in _browser(team[role], ws).get(reverse("web:dashboard")).content.decode()
        )


def test_the_filters_narrow_the_page_and_the_export_alike(team: dict[str, Any]) -> None:
    client = _browser(team["owner"], team["ws"])
    query = {"who": f"key:{team['key'].id}", "from": "2026-03-12", "to": "2026-03-12", "action": "post.*"}
    html = client.get(reverse("web:audit"), query).content.decode()
    assert "Created a post" in html and "Winter menu" not in html
    assert f'value="key:{team["key"].id}" selected' in html  # the form shows what is applied
    export = client.get(reverse("web:audit") + "export.csv", query)
    assert export.status_code == 200 and export.streaming
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    rows = _rows(export)
    assert len(rows) == 2 and rows[1][5] == "post.create"
    assert rows[1][8] == "draft: =cmd|' /C calc'!A0"  # only a cell's start makes a formula
    # The page links to the export with the same filters.
    assert "export.csv?who=key" in html


def test_a_formula_in_a_summary_never_reaches_a_spreadsheet_as_one(team: dict[str, Any]) -> None:
    accounts.record(team["ws"].pk, team["actor"], "rubric.create", "rubric", 1, "=1+2")
    export = _browser(team["owner"], team["ws"]).get(reverse("web:audit_export"), {"action": "rubric.create"})
    assert _rows(export)[1][8] == "'=1+2"


def test_a_refused_filter_is_said_and_the_export_refused(team: dict[str, Any]) -> None:
    client = _browser(team["owner"], team["ws"])
    page = client.get(reverse("web:audit"), {"from": "2026-03-12", "to": "2026-03-01"})
    assert page.status_code == 400
    html = page.content.decode()
    assert "The end date is before the start date." in html
    assert 'value="2026-03-01"' in html  # what they typed stays in the form
    assert client.get(reverse("web:audit_export"), {"from": "tomorrow"}).status_code == 400
    assert client.get(reverse("web:audit"), {"before": "garbage"}).status_code == 400


def test_pages_of_the_trail(team: dict[str, Any]) -> None:
    ws, actor = team["ws"], team["actor"]
    for n in range(60):
        clock.advance(dt.timedelta(seconds=1))
        accounts.record(ws.pk, actor, "rubric.update", "rubric", n, f"rubric change {n}")
    client = _browser(team["owner"], ws)
    first = client.get(reverse("web:audit")).content.decode()
    assert "rubric change 59" in first and "rubric change 9<" not in first and 'id="audit-older"' in first
    older = first.split('id="audit-older"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(reverse("web:audit") + older).content.decode()
    assert "rubric change 9<" in second and "rubric change 59" not in second
    assert 'id="audit-newer"' in second


def test_read_and_unread_again_on_the_notification_list(team: dict[str, Any]) -> None:
    ws, owner = team["ws"], team["owner"]
    notifications.notify_event(ws.pk, "failed", "The post failed.", link="/publishing/")
    mine = Notification.objects.get(user=owner)
    client = _browser(owner, ws)
    assert "Mark as read" in client.get(reverse("web:notifications")).content.decode()
    back = client.post(reverse("web:notification_read", args=[mine.pk]), {"unread": "1"})
    assert back.status_code == 302 and back["Location"].endswith("?unread=1")
    assert notifications.unread_count(ws.pk, owner.pk) == 0
    html = client.get(reverse("web:notifications")).content.decode()
    assert "Mark as unread" in html and 'class="bell-count"' not in html
    client.post(reverse("web:notification_unread", args=[mine.pk]))
    assert notifications.unread_count(ws.pk, owner.pk) == 1
    assert (
        'class="bell-count" aria-hidden="true">1<'
        in client.get(reverse("web:notifications")).content.decode()
    )
    # Someone else's is not found.
    theirs = Notification.objects.get(user=team["admin"])
    assert client.post(reverse("web:notification_read", args=[theirs.pk])).status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_profile_page_saves_email_preferences_and_keeps_a_refused_form(team: dict[str, Any]) -> None:
    owner, client = team["owner"], _browser(team["owner"], team["ws"])
    html = client.get(reverse("web:profile")).content.decode()
    assert "Email notifications" in html and 'name="email_failed" value="1" checked' in html
    assert 'name="email_inbox_assigned" value="1">' in html  # off by default
    assert 'value="Europe/Moscow"' in html  # the digest's zone starts as the workspace's
    form = {
        "email_inbox_assigned": "1",
        "email_missed": "1",
        "digest": "daily",
        "digest_hour": "7",
        "timezone": "Asia/Seoul",
    }
    saved = client.post(reverse("web:email_preferences"), form, follow=True)
    assert "Your email preferences are saved." in saved.content.decode()
    prefs = notifications.email_preferences(owner.pk)
    assert prefs.wants("inbox_assigned") and prefs.wants("missed") and not prefs.wants("failed")
    assert (prefs.digest, prefs.digest_hour, prefs.timezone) == (True, 7, "Asia/Seoul")
    refused = client.post(reverse("web:email_preferences"), {**form, "timezone": "Asia/Seol"}, follow=True)
    html = refused.content.decode()
    assert "is not a known time zone" in html and 'value="Asia/Seol"' in html
    assert EmailPreference.objects.get(user=owner).timezone == "Asia/Seoul"  # nothing half-saved
    # Shown once: the next visit shows what is stored.
    assert 'value="Asia/Seoul"' in client.get(reverse("web:profile")).content.decode()
