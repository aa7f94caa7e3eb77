"""Response times in the browser: a manager sets business hours (a mistyped holiday is refused
with what was typed kept), then reads the report; the pages in English, Russian and Korean.
Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.inbox import response
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.telegram import testing as telegram_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

HEADINGS = {"ru-RU": "Скорость ответа", "ko-KR": "응답 시간"}


def test_a_manager_sets_business_hours_and_reads_the_report(browser: Any, live_server: Any) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    manager = accounts.create_user("manager@example.com", PASSWORD)
    accounts.add_member(actor, manager.email, "manager")
    nowhere: Any = type("E", (), {"url": "http://127.0.0.1:9"})()
    tg = connect(ws, telegram_testing.channel_for(nowhere), name="Coffee TG")
    now = clock.now()
    for n, minutes in enumerate((12, 30, 95), start=1):
        occurred = now - dt.timedelta(hours=3 + n)
        InboxItem.objects.create(
            workspace_id=ws.pk,
            channel=tg,
            kind="comment",
            remote_id=str(n),
            conversation_remote_id="post-1",
            author_name=f"Reader {n}",
            text=f"Question {n}",
            occurred_at=occurred,
            received_at=occurred,
            first_response_at=occurred + dt.timedelta(minutes=minutes),
            first_responder=manager,
        )

    with open_page(browser, live_server.url) as page:
        sign_in(page, "manager@example.com", PASSWORD)
        page.goto("/inbox/settings/")
        page.get_by_label("Count response times in business hours").check()
        page.get_by_label("Holidays").fill("2026-12-31\n31.12.2026")
        page.get_by_label("Alert when a negative item or complaint waits longer than (minutes)").fill("30")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Not a date: 31.12.2026")).to_be_visible()
        expect(page.get_by_label("Holidays")).to_have_value("2026-12-31\n31.12.2026")
        expect(
            page.get_by_label("Alert when a negative item or complaint waits longer than (minutes)")
        ).to_have_value("30")
        shot(page, "inbox_settings-error-en.png")
        page.get_by_label("Holidays").fill("2026-12-31")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Inbox settings saved.")).to_be_visible()
        saved = response.settings_for(ws.pk)
        assert saved.business_hours and saved.holidays == (dt.date(2026, 12, 31),)
        assert saved.alert_after_minutes == 30

        page.get_by_role("link", name="Response times").first.click()
        expect(page.get_by_role("heading", name="Response times")).to_be_visible()
        expect(page.locator("#schedule-note")).to_contain_text("business hours only")
        expect(page.locator("#report-teammates")).to_contain_text("manager")
        page.get_by_role("link", name="Last 7 days").click()
        expect(page.locator("#day-chart li")).to_have_count(7)
        shot(page, "inbox_report-en.png")

    for locale, heading in HEADINGS.items():
        with open_page(browser, live_server.url) as page:
            sign_in(page, "manager@example.com", PASSWORD)
            page.context.add_cookies(
                [{"name": "django_language", "value": locale[:2], "url": live_server.url}]
            )
            page.goto("/inbox/report/?days=7")
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            shot(page, f"inbox_report-{locale}.png")
            page.goto("/inbox/settings/")
            shot(page, f"inbox_settings-{locale}.png")
