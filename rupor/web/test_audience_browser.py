"""The audience page in the browser: an analyst opens it from the sidebar, switches channel and
who is counted, and reads the bars and their change; in English, Russian and Korean.
Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rupor.accounts import service as accounts
from rupor.analytics import collection
from rupor.inbox.testing import connect
from rupor.networks.base import AudienceCount, ChannelDayStats
from rupor.networks.ok import testing as ok_testing
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

HEADINGS = {"ru-RU": ("Аудитория", "Женщины"), "ko-KR": ("오디언스", "여성")}


def test_an_analyst_reads_the_audience(browser: Any, live_server: Any) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.create_user("analyst@example.com", PASSWORD)
    accounts.add_member(actor, "analyst@example.com", "analyst")
    nowhere: Any = type("E", (), {"url": "http://127.0.0.1:9"})()
    vk = connect(ws, vk_testing.channel_for(nowhere), name="Coffee VK")
    ok = connect(ws, ok_testing.channel_for(nowhere), name="Coffee OK")
    facts = collection.ChannelFacts(vk.pk, ws.pk, "vk")
    today = dt.datetime.now(dt.UTC).date()
    for days_ago, women in ((10, 50), (0, 60)):
        rows = (
            AudienceCount("visitors", "sex", "f", women),
            AudienceCount("visitors", "sex", "m", 100 - women),
            AudienceCount("reach", "sex", "f", 300),
            AudienceCount("reach", "sex", "m", 100),
            AudienceCount("reach", "device", "mobile", 280),
            AudienceCount("reach", "device", "other", 120),
        )
        collection.store_audience(facts, ChannelDayStats(today - dt.timedelta(days=days_ago), audience=rows))

    with open_page(browser, live_server.url) as page:
        sign_in(page, "analyst@example.com", PASSWORD)
        page.get_by_role("link", name="Analytics").click()
        page.locator(".analytics-tabs").get_by_role("link", name="Audience").click()
        expect(page.get_by_role("heading", name="Audience", exact=True)).to_be_visible()
        expect(page.locator("#audience-sex")).to_contain_text("Women")
        expect(page.locator("#audience-sex")).to_contain_text("60.0%")
        expect(page.locator("#audience-sex")).to_contain_text("+10.0 pp")
        expect(page.locator("#history-sex tbody tr")).to_have_count(2)
        shot(page, "audience-en.png")
        page.get_by_label("Who is counted").select_option("reach")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#audience-device")).to_contain_text("Mobile")
        expect(page.locator("#audience-sex")).to_contain_text("75.0%")
        page.get_by_label("Channel", exact=True).select_option(str(ok.pk))
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_text("does not read OK audiences")).to_be_visible()

    for locale, (heading, women_word) in HEADINGS.items():
        with open_page(browser, live_server.url) as page:
            sign_in(page, "analyst@example.com", PASSWORD)
            page.context.add_cookies(
                [{"name": "django_language", "value": locale[:2], "url": live_server.url}]
            )
            page.goto(f"/analytics/audience/?channel={vk.pk}")
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            expect(page.locator("#audience-sex")).to_contain_text(women_word)
            shot(page, f"audience-{locale}.png")
