"""Monitoring in the browser: a manager reaches it from the inbox, adds a keyword (a refused one
keeps its text), the worker's search brings a VK post in as a mention with its keyword and link,
and the page reads in Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

from typing import Any

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.inbox import jobs
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {"ru": ("Мониторинг", "Отслеживать"), "ko": ("모니터링", "모니터링")}


def test_a_manager_watches_a_keyword_and_the_found_post_arrives(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("boss@example.com", PASSWORD).email, "manager")
    connect(ws, vk_testing.channel_for(vk_emu, settings={"pace": False}), name="Coffee VK")
    post = vk_testing.public_post(vk_emu, 10200, "Capybara mocha at Coffee House is wonderful")

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "boss@example.com", PASSWORD)
        page.goto("/inbox/")
        page.locator("#monitoring-link").click()
        expect(page.locator("h1")).to_have_text("Monitoring")
        page.get_by_label("Word or phrase").fill("c")
        page.get_by_label("Minus-words").fill("cheap")
        page.get_by_role("button", name="Watch").click()
        expect(page.locator("#keyword-problem")).to_contain_text("at least 2 characters")
        expect(page.get_by_label("Minus-words")).to_have_value("cheap")
        page.get_by_label("Word or phrase").fill("Capybara mocha")
        page.get_by_role("button", name="Watch").click()
        expect(page.get_by_text("Rupor now watches “Capybara mocha”.")).to_be_visible()
        shot(page, "monitoring-en.png")

        assert jobs.run_monitoring(clock.now()) >= 1
        page.goto("/inbox/")
        row = page.locator(".inbox-row", has_text="Capybara mocha at Coffee House")
        expect(row).to_contain_text("keyword “Capybara mocha”")
        expect(row.get_by_role("link", name="on the network")).to_have_attribute(
            "href", f"https://vk.com/wall{post}"
        )
        row.get_by_role("link", name="Open").click()
        expect(page.locator("#answer-on-network")).to_be_visible()
        shot(page, "monitoring-mention-en.png")
    assert InboxItem.objects.filter(workspace=ws, kind="mention", remote_id=post).count() == 1

    for lang, (title, button) in WORDS.items():
        with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
            sign_in(page, "boss@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/inbox/monitoring/")
            expect(page.locator("h1")).to_have_text(title)
            expect(page.get_by_role("button", name=button)).to_be_visible()
            shot(page, f"monitoring-{lang}.png")
