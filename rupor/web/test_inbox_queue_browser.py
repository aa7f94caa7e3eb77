"""The inbox queue in Chromium: keyboard shortcuts on the list and on a thread (and never while
typing), ticking items for a bulk action, and "show more" appending the next page. Set
``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.networks.telegram import testing as telegram_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

pytestmark = MARKS

PASSWORD = "a-long-enough-passphrase-42"
NOWHERE = type("E", (), {"url": "http://127.0.0.1:9"})()


def _comment(channel: Any, remote_id: str, text: str, at: dt.datetime) -> int:
    comment = Comment(remote_id, "post-1", Person(f"9{remote_id}", f"Reader {remote_id}"), text, at)
    inbox.ingest_events(
        channel.pk, [Event(EventKind.COMMENT_NEW, remote_id, channel.remote_id, at, comment=comment)]
    )
    return InboxItem.objects.get(channel=channel, remote_id=remote_id).pk


@pytest.fixture
def queue(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    channel = connect(ws, telegram_testing.channel_for(NOWHERE), name="Coffee TG")
    now = clock.now()
    ids = [_comment(channel, str(n), f"Comment {n:02d}", now - dt.timedelta(minutes=n)) for n in range(55)]
    return {"owner": owner, "ids": ids}


def test_keyboard_shortcuts_on_the_list_and_the_thread(
    browser: Any, live_server: Any, queue: dict[str, Any]
) -> None:
    ids = queue["ids"]
    with open_page(browser, live_server.url, viewport={"width": 1280, "height": 900}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, "owner@example.com", PASSWORD)
        page.goto("/inbox/?sort=newest")
        rows = page.locator("#inbox-list .inbox-row")
        expect(rows).to_have_count(50)

        # Typing in a field fires nothing: "j" goes into the field, no row gets the cursor.
        page.locator("#view-name").evaluate("el => el.closest('details').open = true")
        page.locator("#view-name").type("jjk")
        expect(page.locator("#view-name")).to_have_value("jjk")
        expect(page.locator(".inbox-row.kbd-current")).to_have_count(0)
        page.locator("h1").click()

        # j j k: the cursor is on the second row.
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        expect(page.locator(".inbox-row.kbd-current")).to_have_attribute("id", f"item-{ids[1]}")

        # ? shows the help, Esc hides it.
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_be_visible()
        expect(page.locator("#keys-help")).to_contain_text("Assign to me")
        shot(page, "queue-keys-en.png")
        page.keyboard.press("Escape")
        expect(page.locator("#keys-help")).to_be_hidden()

        # a: assigned to me; e: done. The list comes back with the cursor where it was.
        page.keyboard.press("a")
        expect(page.locator(f"#item-{ids[1]} .assignee")).to_be_visible()
        page.keyboard.press("e")
        expect(page.locator(f"#item-{ids[1]} .badge.done")).to_be_visible()
        item = InboxItem.objects.get(pk=ids[1])
        assert item.status == "done" and item.assigned_to_id == queue["owner"].pk

        # Enter opens the item; on the thread, r puts the cursor in the reply box.
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/inbox/{ids[1]}/")
        page.keyboard.press("r")
        expect(page.locator("#reply-text")).to_be_focused()
        page.keyboard.type("reply draft with e and a")  # typed, not shortcuts
        expect(page.locator("#reply-text")).to_have_value("reply draft with e and a")
        page.locator("h1").click()
        page.keyboard.press("e")  # on the thread too: marks done (it already is) through the form
        expect(page.get_by_text("Status changed.")).to_be_visible()

        # From the list, r opens the item with the reply box focused.
        page.goto("/inbox/?sort=newest")
        page.keyboard.press("j")
        page.keyboard.press("r")
        page.wait_for_url(f"**/inbox/{ids[0]}/#reply")
        expect(page.locator("#reply-text")).to_be_focused()
        # and a on a thread assigns to me.
        page.locator("h1").click()
        page.keyboard.press("a")
        expect(page.locator("#i-assignee")).to_have_value(str(queue["owner"].pk))
        assert InboxItem.objects.get(pk=ids[0]).assigned_to_id == queue["owner"].pk
        assert not errors, errors


def test_tick_items_bulk_done_and_show_more(browser: Any, live_server: Any, queue: dict[str, Any]) -> None:
    ids = queue["ids"]
    with open_page(browser, live_server.url, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.goto("/inbox/?sort=newest")
        page.get_by_label("Select all on this page").check()
        expect(page.locator("#picked-count")).to_have_text("Selected: 50")
        page.locator(f"#pick-{ids[0]}").uncheck()
        expect(page.locator("#picked-count")).to_have_text("Selected: 49")
        shot(page, "queue-ticked-en.png")
        page.get_by_role("button", name="Mark done").click()
        expect(page.get_by_text("49 items changed.")).to_be_visible()
        assert InboxItem.objects.filter(status="done").count() == 49
        assert InboxItem.objects.get(pk=ids[0]).status == "new"

        # Show more appends the next page under the first, filters kept.
        page.goto("/inbox/?sort=newest&status=new")
        rows = page.locator("#inbox-list .inbox-row")
        expect(rows).to_have_count(6)  # 55 - 49
        page.goto("/inbox/?sort=newest")
        expect(rows).to_have_count(50)
        page.get_by_role("link", name="Show more").click()
        expect(rows).to_have_count(55)
        expect(page.get_by_text("That is everything that matches.")).to_be_visible()
        expect(page.locator(f"#item-{ids[54]}")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("ru-RU", ("Горячие клавиши", "Выбрать все на странице")),
        ("ko-KR", ("키보드 단축키", "이 페이지 모두 선택")),
    ],
)
def test_the_queue_in_russian_and_korean(
    browser: Any, live_server: Any, queue: dict[str, Any], locale: str, words: tuple[str, str]
) -> None:
    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1280, "height": 900}) as page:
        sign_in_localized(page)
        page.goto("/inbox/")
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_contain_text(words[0])
        expect(page.locator(".bulk-bar")).to_contain_text(words[1])
        shot(page, f"queue-keys-{locale}.png")


def sign_in_localized(page: Any) -> None:
    page.goto("/login/")
    page.locator("input[name=username], input[name=email]").first.fill("owner@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button.btn.primary[type=submit]").click()
    page.wait_for_url("**/")
