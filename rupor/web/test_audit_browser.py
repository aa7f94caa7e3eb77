"""The audit page and the email preferences in Chromium, in English, Russian and Korean: an owner
filters the trail by an API key and a date, pages on, exports the filtered CSV (downloaded, with
the same filters and the formula neutralised); a person turns an email event off, picks the daily
digest, is refused a misspelt time zone without losing the form, and marks a notification read
and unread again."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.notifications import service as notifications
from rupor.web.browser_testing import MARKS, expect, open_page, shot

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture(autouse=True)
def _warm() -> None:
    """Import every page's code before the browser's first request (the live server shares this
    process): on a busy machine the first request otherwise outlasts the browser's timeout."""
    Client().get("/login/")


#: The page's words in each language the test walks through.
WORDS = {
    "en": {"title": "Audit trail", "filter": "Filter", "key": "API key", "deleted": "Deleted a post"},
    "ru": {"title": "Журнал действий", "filter": "Показать", "key": "API-ключ", "deleted": "Удалён пост"},
    "ko": {"title": "감사 기록", "filter": "필터", "key": "API 키", "deleted": "게시물 삭제"},
}


def _team() -> dict[str, Any]:
    owner = accounts.create_user("olga@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    key = accounts.create_api_key(actor, ws, "editor", name="Make.com")
    key_actor = accounts.authenticate_api_key(key.key)
    assert key_actor is not None
    accounts.record(ws.pk, key_actor, "post.create", "post", 41, '=HYPERLINK("http://evil")')
    accounts.record(ws.pk, actor, "post.delete", "post", 42, "Winter menu")
    # An older day, for the date filter and a second page.
    old = AuditEntry.objects.filter(workspace=ws)
    for n in range(55):
        accounts.record(ws.pk, key_actor, "rubric.update", "rubric", n, f"rubric change {n}")
    old.filter(action="rubric.update").update(at=dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC))
    return {"ws": ws, "owner": owner, "key": key}


@pytest.mark.parametrize("lang", ["en", "ru", "ko"])
def test_an_owner_filters_pages_and_exports_the_trail(browser: Any, live_server: Any, lang: str) -> None:
    team = _team()
    words = WORDS[lang]
    with open_page(browser, live_server.url, locale=lang, accept_downloads=True) as page:
        sign_in_any(page, "olga@example.com")
        page.goto("/")
        page.locator("a[href='/audit/']").first.click()
        page.wait_for_url("**/audit/")
        expect(page.get_by_role("heading", name=words["title"], exact=True)).to_be_visible()
        expect(page.locator("#audit-table")).to_contain_text(words["deleted"])
        expect(page.locator("#audit-older")).to_be_visible()  # 58 entries: more than a page
        shot(page, f"{lang}-audit.png")

        # Only what the key did, on January 15 (the workspace's days).
        page.locator("#a-who").select_option(f"key:{team['key'].id}")
        page.locator("#a-from").fill("2026-01-15")
        page.locator("#a-to").fill("2026-01-15")
        page.get_by_role("button", name=words["filter"], exact=True).click()
        page.wait_for_url("**/audit/?*")
        rows = page.locator("#audit-table tbody tr")
        expect(rows).to_have_count(50)
        expect(page.locator("#audit-table")).not_to_contain_text("Winter menu")
        expect(rows.first).to_contain_text(words["key"])
        page.locator("#audit-older").click()
        expect(page.locator("#audit-table tbody tr")).to_have_count(5)
        expect(page.locator("#audit-newer")).to_be_visible()

        with page.expect_download() as download:
            page.locator("#audit-export").click()
        path = download.value.path()
        assert path is not None
        with open(path, encoding="utf-8") as f:
            exported = list(csv.reader(io.StringIO(f.read())))
        assert len(exported) == 56  # the header and the 55 entries of that key on that day
        assert {r[5] for r in exported[1:]} == {"rubric.update"}

        # The whole trail: the formula a key wrote is text in the spreadsheet.
        page.goto("/audit/")
        with page.expect_download() as download:
            page.locator("#audit-export").click()
        path = download.value.path()
        assert path is not None
        with open(path, encoding="utf-8") as f:
            summaries = [r[8] for r in csv.reader(f)]
        assert '\'=HYPERLINK("http://evil")' in summaries

        # A date that cannot be is said, and the trail is still there.
        page.goto("/audit/?from=2026-03-02&to=2026-03-01")
        expect(page.locator("#audit-problem")).to_be_visible()
        expect(page.locator("#audit-table")).to_be_visible()


def sign_in_any(page: Any, email: str) -> None:
    """Sign in whatever the page's language (the login form's fields by name)."""
    page.goto("/login/")
    page.locator("input[name=username], input[type=email]").first.fill(email)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/")


@pytest.mark.parametrize("lang", ["en", "ru", "ko"])
def test_a_person_chooses_their_email_and_marks_notifications(
    browser: Any, live_server: Any, lang: str
) -> None:
    team = _team()
    ws, owner = team["ws"], team["owner"]
    notifications.notify_event(ws.pk, "failed", "The spring post failed.")
    with open_page(browser, live_server.url, locale=lang) as page:
        sign_in_any(page, "olga@example.com")
        page.goto("/notifications/")
        expect(page.locator("#bell .bell-count")).to_have_text("1")
        item = page.locator("li.notif", has_text="The spring post failed.")
        item.locator("[data-toggle-read]").click()
        expect(page.locator("#bell .bell-count")).to_have_count(0)
        expect(page.locator("li.notif.unread")).to_have_count(0)
        page.locator("li.notif", has_text="The spring post failed.").locator("[data-toggle-read]").click()
        expect(page.locator("#bell .bell-count")).to_have_text("1")
        shot(page, f"{lang}-notifications.png")

        page.locator("#email-prefs-link").click()
        page.wait_for_url("**/profile/#email-prefs")
        form = page.locator("#email-prefs-form")
        expect(form.locator("input[name=email_failed]")).to_be_checked()
        expect(form.locator("input[name=email_inbox_assigned]")).not_to_be_checked()
        form.locator("input[name=email_failed]").uncheck()
        form.locator("input[name=email_inbox_assigned]").check()
        form.locator("input[name=digest][value=daily]").check()
        form.locator("#ep-hour").select_option("7")
        form.locator("#ep-tz").fill("Asia/Seol")
        form.locator("#email-prefs-save").click()
        expect(page.locator("#email-prefs-error")).to_be_visible()
        # Nothing was lost: the form shows what was sent.
        expect(form.locator("input[name=email_failed]")).not_to_be_checked()
        expect(form.locator("input[name=email_inbox_assigned]")).to_be_checked()
        expect(form.locator("#ep-tz")).to_have_value("Asia/Seol")
        form.locator("#ep-tz").fill("Asia/Seoul")
        form.locator("#email-prefs-save").click()
        expect(page.locator("#email-prefs-error")).to_have_count(0)
        expect(form.locator("input[name=digest][value=daily]")).to_be_checked()
        shot(page, f"{lang}-profile-email.png")
    prefs = notifications.email_preferences(owner.pk)
    assert not prefs.wants("failed") and prefs.wants("inbox_assigned")
    assert (prefs.digest, prefs.digest_hour, prefs.timezone) == (True, 7, "Asia/Seoul")
