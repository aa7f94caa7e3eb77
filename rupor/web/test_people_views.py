"""The inbox's authors (avatar, name, followers) in the list and the thread, and the people
page with its CSV, by role and across workspaces."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.core import clock
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.telegram import testing as telegram_testing

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    users = {r: accounts.create_user(f"{r}@example.com", PASSWORD) for r in ("owner", "moderator", "editor")}
    ws = accounts.create_workspace("Coffee House", users["owner"], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("moderator", "editor"):
        accounts.add_member(owner, f"{role}@example.com", role)
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    channel = connect(ws, telegram_testing.channel_for(nowhere), name="Coffee TG")
    now = clock.now()

    def item(rid: str, author: str, name: str, text: str, **fields: Any) -> InboxItem:
        return InboxItem.objects.create(
            workspace_id=ws.pk,
            channel=channel,
            kind="comment",
            remote_id=rid,
            conversation_remote_id="post-1",
            author_remote_id=author,
            author_name=name,
            text=text,
            occurred_at=now - dt.timedelta(hours=1),
            **fields,
        )

    items = {
        "anna": item(
            "1",
            "11",
            "Anna Petrova",
            '=HYPERLINK("http://evil") is my favourite cake',
            author_url="https://vk.com/id11",
            author_avatar_url="https://vk.com/images/camera_100.png?u=11",
            author_followers=1234,
        ),
        "boris": item("2", "12", "Boris", "Agree with Anna", parent_remote_id="1"),
        "vera": item("3", "13", "Vera", "Me too", parent_remote_id="1"),
    }
    return {"ws": ws, "users": users, "channel": channel, "items": items}


def test_the_list_and_the_thread_show_avatar_name_link_and_followers(world: dict[str, Any]) -> None:
    client = _client(world["users"]["moderator"])
    for url in (reverse("web:inbox_list"), reverse("web:inbox_item", args=[world["items"]["anna"].pk])):
        html = client.get(url).content.decode()
        assert 'src="https://vk.com/images/camera_100.png?u=11"' in html
        assert 'referrerpolicy="no-referrer"' in html
        assert (
            '<a href="https://vk.com/id11" rel="noopener noreferrer" target="_blank">Anna Petrova</a>' in html
        )
        assert "1,234 followers" in html
    client = _client(world["users"]["moderator"])
    client.cookies["django_language"] = "ru"
    html = client.get(reverse("web:inbox_list"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert re.search(r"1\s234 подписчика", html)  # grouped the Russian way, the plural that fits


def test_the_people_page_ranks_who_others_answer(world: dict[str, Any]) -> None:
    client = _client(world["users"]["moderator"])
    inbox_html = client.get(reverse("web:inbox")).content.decode()
    assert reverse("web:inbox_people") in inbox_html  # linked from the inbox's header
    res = client.get(reverse("web:inbox_people"), {"days": "7"})
    assert res.status_code == 200
    html = res.content.decode()
    assert html.index("Anna Petrova") < html.index("Boris")
    assert "2 people" in html  # two people answered Anna
    assert reverse("web:inbox_item", args=[world["items"]["boris"].pk]) in html  # their latest items
    # Unknown filters fall back to the defaults; a channel of another workspace says so.
    assert client.get(reverse("web:inbox_people"), {"days": "abc", "network": "nope"}).status_code == 200
    other = accounts.create_workspace("Other", accounts.create_user("o@example.com", PASSWORD))
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    theirs = connect(other, telegram_testing.channel_for(nowhere))
    html = client.get(reverse("web:inbox_people"), {"channel": theirs.pk}).content.decode()
    assert "Anna Petrova" not in html and "Nobody wrote in this period" in html


def test_the_people_csv_is_the_same_list_guarded_against_formulas(world: dict[str, Any]) -> None:
    res = _client(world["users"]["owner"]).get(reverse("web:inbox_people_csv"), {"days": "30"})
    assert res.status_code == 200
    assert res["Content-Type"] == "text/csv; charset=utf-8"
    assert res["Content-Disposition"].endswith('-people-30d.csv"')
    rows = list(csv.DictReader(io.StringIO(res.content.decode("utf-8-sig"))))
    anna = rows[0]
    assert anna["name"] == "Anna Petrova"
    assert anna["rank"] == "1" and anna["remote_id"] == "11" and anna["followers"] == "1234"
    assert anna["replies_received"] == "2" and anna["repliers"] == "2"
    assert anna["latest_text"].startswith("'=HYPERLINK")  # a spreadsheet will not run it


def test_roles_without_the_inbox_cannot_see_people(world: dict[str, Any]) -> None:
    editor = _client(world["users"]["editor"])
    assert editor.get(reverse("web:inbox_people")).status_code == 403
    assert editor.get(reverse("web:inbox_people_csv")).status_code == 403
