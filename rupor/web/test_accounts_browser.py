"""What a person sees when sign-in is throttled and when an invitation is for someone else,
in English, Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.web.browser_testing import MARKS, expect, open_page, shot

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {
    "en-US": ("Too many failed sign-ins", "Sign out and continue"),
    "ru-RU": ("Слишком много неудачных попыток входа", "Выйти и продолжить"),
    "ko-KR": ("로그인 실패가 너무 많습니다", "로그아웃하고 계속"),
}


@pytest.mark.parametrize("locale", list(WORDS))
def test_throttled_sign_in_and_someone_elses_invitation(browser: Any, live_server: Any, locale: str) -> None:
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    _invitation, token = accounts.invite(actor, "barista@example.com", "editor")
    accounts.create_user("someone@example.com", PASSWORD)
    throttled_words, sign_out_words = WORDS[locale]
    lang = locale[:2]

    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1100, "height": 800}) as page:
        page.goto(reverse("web:login"))
        for _ in range(20):
            page.locator("#id_username").fill("someone@example.com")
            page.locator("#id_password").fill("wrong password")
            page.locator("button[type=submit].primary").click()
        page.locator("#id_password").fill(PASSWORD)
        page.locator("button[type=submit].primary").click()
        expect(page.locator(".form-errors")).to_contain_text(throttled_words)
        shot(page, f"login-throttled-{lang}.png")

    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1100, "height": 800}) as page:
        clock.advance(dt.timedelta(minutes=2))
        page.goto(reverse("web:login"))
        page.locator("#id_username").fill("owner@example.com")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("button[type=submit].primary").click()
        page.wait_for_url("**/")
        page.goto(reverse("web:invitation", args=[token]))
        expect(page.locator(".callout")).to_contain_text("barista@example.com")
        shot(page, f"invitation-other-account-{lang}.png")
        page.get_by_role("button", name=sign_out_words).click()
        expect(page.locator("#id_password1")).to_be_visible()
        shot(page, f"invitation-after-sign-out-{lang}.png")
