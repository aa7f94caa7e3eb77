"""Two-factor sign-in in Chromium, in English, Russian and Korean: turn it on with a code computed
from the key the page shows, sign out, sign in with the app's code, then with a recovery code;
an owner requires it and a member without it is sent to set it up. Set ``RUPOR_SHOTS=/some/dir``
to keep screenshots."""

from __future__ import annotations

import datetime as dt
from base64 import b32decode
from typing import Any

import pytest
from django_otp.oath import TOTP

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.web.browser_testing import MARKS, expect, open_page, shot

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {
    "en-US": ("recovery code", "requires two-factor sign-in"),
    "ru-RU": ("коду восстановления", "требует от участников двухфакторного входа"),
    "ko-KR": ("복구 코드", "2단계 로그인을 요구합니다"),
}


def app_code(secret: str) -> str:
    """What an authenticator app holding ``secret`` (as the page shows it) displays now."""
    key = b32decode(secret.replace(" ", ""))
    totp = TOTP(key, step=30, digits=6)
    totp.time = clock.now().timestamp()
    return f"{totp.token():06d}"


def sign_out(page: Any) -> None:
    page.evaluate("document.querySelector(\"form[action='/logout/']\").submit()")
    page.wait_for_url("**/login/")


def password_step(page: Any, email: str) -> None:
    page.goto("/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit].primary").click()


@pytest.mark.parametrize("locale", list(WORDS))
def test_turn_on_sign_in_with_the_app_and_a_recovery_code_then_require_it(
    browser: Any, live_server: Any, locale: str
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.create_user("barista@example.com", PASSWORD)
    accounts.add_member(actor, "barista@example.com", "manager")
    recovery_words, required_words = WORDS[locale]
    lang = locale[:2]

    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1200, "height": 900}) as page:
        page.goto("/login/", timeout=60_000)  # the server's first answer builds its URL map and API
        password_step(page, "owner@example.com")
        page.wait_for_url("**/")
        page.goto("/profile/")
        page.locator("#two-factor a.btn.primary").click()
        page.wait_for_url("**/profile/two-factor/")
        qr = page.locator("#two-factor-qr")
        expect(qr).to_be_visible()
        assert page.evaluate("document.querySelector('#two-factor-qr').naturalWidth") > 100  # it drew
        shot(page, f"two-factor-setup-{lang}.png")
        secret = page.locator("#two-factor-secret").inner_text()
        page.locator("#id_code").fill("000000" if app_code(secret) != "000000" else "111111")
        page.locator("#two-factor-confirm").click()
        expect(page.locator("#id_code_errors")).to_be_visible()  # a wrong code is refused
        page.locator("#id_code").fill(app_code(secret))
        page.locator("#two-factor-confirm").click()
        codes = page.locator("#recovery-codes li").all_inner_texts()
        assert len(codes) == 10
        shot(page, f"two-factor-codes-{lang}.png")
        assert accounts.has_two_factor(owner.pk)
        sign_out(page)

        # The app's code, a step later (the code that turned it on is spent).
        clock.advance(dt.timedelta(seconds=30))
        password_step(page, "owner@example.com")
        page.wait_for_url("**/login/two-factor/")
        page.goto("/posts/")  # half signed in: nothing opens
        page.wait_for_url("**/login/?next=/posts/")
        page.goto("/login/two-factor/")
        shot(page, f"two-factor-login-{lang}.png")
        page.locator("#id_code").fill(app_code(secret))
        page.locator("button[type=submit].primary").click()
        page.wait_for_url(live_server.url + "/")
        sign_out(page)

        # A recovery code, which works once and says how many are left.
        password_step(page, "owner@example.com")
        page.wait_for_url("**/login/two-factor/")
        page.locator("#id_code").fill(codes[0])
        page.locator("button[type=submit].primary").click()
        page.wait_for_url(live_server.url + "/")
        expect(page.locator(".messages, [role=status], .toast").first).to_contain_text(recovery_words)
        page.goto("/profile/")
        expect(page.locator("#two-factor")).to_contain_text("9")
        shot(page, f"two-factor-profile-{lang}.png")

        # The owner requires it of every member.
        page.goto("/settings/")
        page.locator("#require-two-factor").check()
        page.locator("#two-factor-form button[type=submit]").click()
        expect(page.locator("#require-two-factor")).to_be_checked()
        page.goto("/members/")
        expect(page.locator(".two-factor-state .badge.ok")).to_have_count(1)
        expect(page.locator(".two-factor-state .badge.warn")).to_have_count(1)
        shot(page, f"two-factor-members-{lang}.png")

    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1200, "height": 900}) as page:
        password_step(page, "barista@example.com")
        page.wait_for_url("**/profile/two-factor/")
        expect(page.locator(".callout").first).to_contain_text(required_words)
        shot(page, f"two-factor-required-{lang}.png")
        page.goto("/calendar/")
        page.wait_for_url("**/profile/two-factor/")
        secret = page.locator("#two-factor-secret").inner_text()
        page.locator("#id_code").fill(app_code(secret))
        page.locator("#two-factor-confirm").click()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        page.goto("/calendar/")
        page.wait_for_url("**/calendar/")
