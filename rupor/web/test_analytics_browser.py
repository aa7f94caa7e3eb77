"""The analytics dashboard in the browser: an analyst opens it from the sidebar, changes the
period (a preset, then dates and a channel), sees the figures change, and the page breaks no CSP
rule; then the page in Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rupor.accounts import service as accounts
from rupor.analytics import testing
from rupor.analytics.models import PostStat
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

HEADINGS = {"ru-RU": "Аналитика", "ko-KR": "분석"}


def test_an_analyst_opens_the_dashboard_and_changes_the_period(browser: Any, live_server: Any) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="UTC")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.create_user("analyst@example.com", PASSWORD)
    accounts.add_member(actor, "analyst@example.com", "analyst")
    vk = Channel.objects.create(workspace=ws, network="vk", name="Coffee VK", remote_id="-1")
    Channel.objects.create(workspace=ws, network="telegram", name="Coffee TG", remote_id="@coffee")
    today = clock.now().date()
    testing.fill(ws.pk, days=40, posts_per_day=2, end=today)
    live = PostStat.objects.filter(workspace=ws, deleted_at=None)

    def posts_since(days: int) -> int:
        return live.filter(published_at__date__gte=today - dt.timedelta(days=days - 1)).count()

    csp: list[str] = []
    with open_page(browser, live_server.url) as page:
        page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
        sign_in(page, "analyst@example.com", PASSWORD)
        page.get_by_role("link", name="Analytics").first.click()
        expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
        posts = page.locator('.figure[data-key="posts"] .value')
        expect(posts).to_have_text(str(posts_since(30)))
        expect(page.locator("svg.pygal-chart").first).to_be_visible()
        expect(page.locator("#heatmap tbody tr")).to_have_count(7)

        page.get_by_role("link", name="Last 7 days").click()
        expect(posts).to_have_text(str(posts_since(7)))
        expect(page.locator("#daily-table tbody tr")).to_have_count(7)
        shot(page, "analytics-en.png")

        start = today - dt.timedelta(days=13)
        page.get_by_label("From", exact=True).fill(start.isoformat())
        page.get_by_label("To", exact=True).fill(today.isoformat())
        page.get_by_label("Channel", exact=True).select_option(value=str(vk.pk))
        page.get_by_role("button", name="Show").click()
        only_vk = live.filter(channel=vk, published_at__date__gte=start).count()
        expect(posts).to_have_text(str(only_vk))
        expect(page.locator("#daily-table tbody tr")).to_have_count(14)
        expect(page.locator("#channel-table tbody tr")).to_have_count(1)

        page.get_by_role("link", name="What works").click()
        expect(page.get_by_role("heading", name="What works", exact=True)).to_be_visible()
        expect(page.locator("#slice-table-format tbody tr").first).to_be_visible()
        shot(page, "analytics_content-en.png")
    assert csp == []

    for locale, heading in HEADINGS.items():
        with open_page(browser, live_server.url) as page:
            sign_in(page, "analyst@example.com", PASSWORD)
            page.context.add_cookies(
                [{"name": "django_language", "value": locale[:2], "url": live_server.url}]
            )
            page.goto("/analytics/?days=30")
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            shot(page, f"analytics-{locale}.png")
