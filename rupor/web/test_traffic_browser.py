"""Web analytics in the browser: an owner connects the site's Yandex Metrica from the settings
page (a wrong token is refused and the counter number kept), tests the connection, reads it now,
and sees the site traffic by post beside the link clicks on the Links page and on the post's own
page; the settings page reads in Russian and Korean. ``RUPOR_SHOTS=/some/dir`` keeps screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.channels import service as channels
from rupor.networks.metrica import emulator as metrica_emu
from rupor.networks.metrica import testing as metrica_testing
from rupor.planning import service as planning
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {"ru": ("Веб-аналитика", "Проверить подключение"), "ko": ("웹 분석", "연결 테스트")}  # noqa: RUF001 - Russian on purpose


@pytest.fixture
def metrica() -> Any:
    emulator = metrica_testing.start()
    yield emulator
    emulator.stop()


def test_an_owner_connects_metrica_and_sees_the_visits_of_a_post(
    browser: Any, live_server: Any, metrica: Any
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    channel = channels.connect(
        actor,
        channels.ChannelInput(
            network="telegram", name="Coffee TG", remote_id="@coffee", credentials={"bot_token": "1:x"}
        ),
        verify=False,
    )
    post = planning.create_post(
        actor,
        planning.PostInput(
            title="Grind guide",
            text="Our grind guide",
            variants=(planning.VariantInput(channel_id=channel.pk),),
        ),
    )
    landing = f"https://coffee.example/guide?utm_source=telegram&utm_medium=social&utm_campaign=useful&utm_content={post.pk}"
    metrica_testing.add_landings(metrica, [(landing, dt.datetime.now(dt.UTC) - dt.timedelta(days=3))])

    with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.goto("/settings/")
        page.locator("#web-analytics").get_by_role("link", name="Web analytics settings").click()
        expect(page.locator("h1")).to_have_text("Web analytics")
        form = page.locator("#connect-metrica")
        form.get_by_label("Counter number").fill(metrica_testing.DEMO_COUNTER_ID)
        form.get_by_label("OAuth token").fill("y0_wrong-token")
        form.locator("summary", has_text="Advanced").click()
        form.get_by_label("API address").fill(metrica.url)
        form.get_by_role("button", name="Connect and test").click()
        expect(page.locator("#connect-metrica .errors, #connect-metrica .form-errors").first).to_contain_text(
            "token"
        )
        expect(page.locator("#connect-metrica").get_by_label("Counter number")).to_have_value(
            metrica_testing.DEMO_COUNTER_ID
        )
        expect(page.locator("#connect-metrica").get_by_label("OAuth token")).to_have_value("")
        form = page.locator("#connect-metrica")
        form.get_by_label("OAuth token").fill(metrica_emu.DEMO_TOKEN)
        if not form.get_by_label("API address").is_visible():
            form.locator("summary", has_text="Advanced").click()
        form.get_by_label("API address").fill(metrica.url)
        form.get_by_role("button", name="Connect and test").click()
        expect(page.get_by_text("Yandex Metrica is connected")).to_be_visible()
        expect(page.locator("#source-metrica")).to_contain_text(metrica_emu.DEMO_COUNTER_NAME)
        page.locator("#test-metrica").click()
        expect(page.get_by_text("The connection works")).to_be_visible()
        page.locator("#collect-metrica").click()
        expect(page.get_by_text("rows of")).to_be_visible()
        shot(page, "web-analytics-en.png")
        page.get_by_role("link", name="See the traffic").click()
        expect(page.locator("#traffic-by-post")).to_contain_text("Grind guide")
        expect(page.locator("#traffic-by-campaign")).to_contain_text("useful")
        sessions = page.locator("#traffic-totals .stat .value").first.inner_text()
        assert int(sessions) > 0
        shot(page, "links-traffic-en.png")
        page.locator("#traffic-by-post").get_by_role("link", name=f"#{post.pk}").click()
        expect(page.locator("#post-results")).to_contain_text("Sessions")

    for lang, (title, test_button) in WORDS.items():
        with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
            sign_in(page, "owner@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/settings/web-analytics/")
            expect(page.locator("h1")).to_have_text(title)
            expect(page.locator("#test-metrica")).to_have_text(test_button)
            shot(page, f"web-analytics-{lang}.png")
