"""Competitors and trends in the browser: a manager opens Analytics from the sidebar, watches a
VK community (a closed one is refused and the text kept), sees it compared with its top posts,
switches the period and the tab, and the pages read in Russian and Korean. Set
``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

from typing import Any

from rupor.accounts import service as accounts
from rupor.inbox.testing import connect
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {"ru": ("Конкуренты", "Тренды"), "ko": ("경쟁사", "트렌드")}


def test_a_manager_watches_a_competitor_and_compares(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("boss@example.com", PASSWORD).email, "manager")
    connect(ws, vk_testing.channel_for(vk_emu, settings={"pace": False}), name="Coffee VK")

    with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
        sign_in(page, "boss@example.com", PASSWORD)
        page.get_by_role("link", name="Analytics").click()
        page.locator(".analytics-tabs").get_by_role("link", name="Competitors").click()
        expect(page.locator(".analytics-tabs a[aria-current=page]")).to_have_text("Competitors")
        page.get_by_label("Address or short name").fill(vk_testing.CLOSED_HANDLE)
        page.get_by_role("button", name="Watch").click()
        expect(page.locator("#page-problem")).to_contain_text("closed")
        expect(page.get_by_label("Address or short name")).to_have_value(vk_testing.CLOSED_HANDLE)
        page.get_by_label("Address or short name").fill(f"https://vk.com/{vk_testing.RIVAL_HANDLE}")
        page.get_by_role("button", name="Watch").click()
        expect(page.get_by_text("Rupor now watches Bean Brothers.")).to_be_visible()
        expect(page.locator("#comparison")).to_contain_text("Bean Brothers")
        expect(page.locator("#top-posts tbody tr").first).to_contain_text("Bean Brothers")
        page.get_by_role("link", name="Last 7 days").click()
        expect(page).to_have_url(f"{live_server.url}/analytics/competitors/?days=7")
        shot(page, "competitors-en.png")
        page.get_by_role("link", name="Trends").click()
        expect(page.locator("h2#trends-title")).to_be_visible()
        expect(page.locator("#trend-settings")).to_be_visible()

    for lang, (competitors_tab, trends_tab) in WORDS.items():
        with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
            sign_in(page, "boss@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/analytics/competitors/")
            expect(page.locator(".analytics-tabs a[aria-current=page]")).to_have_text(competitors_tab)
            expect(page.locator(".analytics-tabs").get_by_role("link", name=trends_tab)).to_be_visible()
            shot(page, f"competitors-{lang}.png")
