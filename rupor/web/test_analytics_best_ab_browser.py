"""Best time and A/B tests in the browser: the sidebar leads to the heatmap, one click fills the
queue, and an A/B test is created and read with its warning, in en/ru/ko.
Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rupor.accounts import service as accounts
from rupor.analytics.models import PostStat
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning.models import QueueSlot
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


def test_best_time_to_queue_and_an_ab_test(browser: Any, live_server: Any) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="UTC")
    channel = Channel.objects.create(workspace=ws, network="vk", name="Coffee VK", remote_id="-1")
    start = clock.now() - dt.timedelta(weeks=6)
    start = (start - dt.timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(5):
        for day, hour, value in ((0, 9, 40), (3, 18, 10), (2, 12, 35)):
            PostStat.objects.create(
                workspace=ws,
                channel=channel,
                remote_post_id=f"{i}-{day}",
                published_at=start + dt.timedelta(weeks=i, days=day, hours=hour),
                engagements_24h=value,
                age_24h_hours=24.0,
            )

    with open_page(browser, live_server.url, viewport={"width": 1300, "height": 1000}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.get_by_role("link", name="Analytics").click()
        page.locator(".analytics-tabs").get_by_role("link", name="Best time to post").click()
        expect(page.locator("h1")).to_have_text("Best time to post")
        expect(page.locator("td.hc")).to_have_count(168)
        expect(page.locator("td.hc.best")).to_have_count(2)
        expect(page.locator('td[aria-label^="Monday 09:00"]')).to_have_attribute(
            "aria-label", re.compile(r"^Monday 09:00: 0\.95x a typical post, 5 posts at this hour$")
        )
        shot(page, "best-time-en.png")
        page.get_by_role("button", name="Add these hours to the queue").click()
        expect(page.locator(".message").first).to_contain_text("Added to the queue: Mon 09:00, Wed 12:00.")
        assert sorted(QueueSlot.objects.values_list("weekday", "time")) == [(0, dt.time(9)), (2, dt.time(12))]

        page.get_by_role("link", name="A/B tests").click()
        page.get_by_role("link", name="New A/B test").first.click()
        page.get_by_label("Name").fill("Headline")
        page.get_by_label("Metric").select_option("clicks_views")
        page.locator("#id_a_successes").fill("10")
        page.locator("#id_a_trials").fill("100")
        page.locator("#id_b_successes").fill("200")
        page.locator("#id_b_trials").fill("100")
        page.get_by_role("button", name="Create test").click()
        expect(page.locator(".has-error")).to_contain_text("cannot exceed trials")
        page.locator("#id_b_successes").fill("20")
        page.get_by_role("button", name="Create test").click()
        expect(page.locator("h1")).to_have_text("Headline")
        expect(page.locator(".ab-warn")).to_contain_text("Do not stop early.")
        expect(page.locator("svg.ab-bars rect")).to_have_count(2)
        expect(page.locator(".ab-grid")).to_contain_text("97.5%")
        shot(page, "ab-test-en.png")

    for lang, title in (("ru", "Лучшее время для публикаций"), ("ko", "최적 게시 시간")):
        with open_page(browser, live_server.url) as page:
            sign_in(page, "owner@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/analytics/best-time/")
            expect(page.locator("h1")).to_have_text(title)
            shot(page, f"best-time-{lang}.png")
