"""The notification centre in Chromium: the bell's count, opening a notification (it is read and
its page opens), the bell following along, and mark all as read."""

from __future__ import annotations

from typing import Any

from rupor.accounts import service as accounts
from rupor.notifications.models import Notification
from rupor.web.browser_testing import MARKS, expect, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


def test_the_bell_leads_to_the_centre_and_opening_reads(page: Any) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    for title, link in (("Go to members", "/members/"), ("Elsewhere", "https://evil.example/")):
        Notification.objects.create(workspace=ws, user=owner, kind="inbox_assigned", title=title, link=link)

    sign_in(page, "owner@example.com", PASSWORD)
    page.goto("/")
    bell = page.locator("#bell")
    expect(bell.locator(".bell-count")).to_have_text("2")
    bell.click()
    page.wait_for_url("**/notifications/")
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    expect(page.locator("li.notif.unread")).to_have_count(2)

    page.locator("li.notif", has_text="Go to members").get_by_role("button", name="Open").click()
    page.wait_for_url("**/members/")
    expect(page.locator("#bell .bell-count")).to_have_text("1")

    page.goto("/notifications/")
    page.locator("li.notif", has_text="Elsewhere").get_by_role("button", name="Open").click()
    page.wait_for_url("**/notifications/")
    expect(page.locator("#bell .bell-count")).to_have_count(0)
    expect(page.locator("li.notif.unread")).to_have_count(0)
    assert "evil.example" not in page.url
