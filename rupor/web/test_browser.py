"""The web UI in Chromium, driven like a person would: sign in, switch workspace, connect a
channel, write a draft, switch the language."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import registry
from rupor.planning.models import Post
from rupor.web.browser_testing import MARKS, expect, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture
def anna(db: Any) -> Any:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    accounts.create_workspace("Seoul Bakery", user, timezone="Asia/Seoul")
    return user


def _sign_in(page: Any) -> None:
    sign_in(page, "anna@example.com", PASSWORD)


def test_sign_in_and_switch_workspace(page: Any, anna: Any) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".form-errors").is_visible()
    _sign_in(page)
    assert page.locator("h1").inner_text() == "Coffee House"
    page.locator("#workspace-menu summary").click()
    page.get_by_role("button", name="Seoul Bakery").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Seoul Bakery"
    assert "Asia/Seoul" in page.locator(".page-head").inner_text()


def test_connect_a_channel_then_write_a_draft(page: Any, anna: Any) -> None:
    _sign_in(page)
    emulator = None
    if "telegram" in registry.available():
        from rupor.networks.telegram import testing as tg

        emulator = tg.start()
        try:
            page.goto("/channels/")
            page.get_by_role("link", name="Telegram").click()
            page.get_by_label("Bot token").fill("7000000001:AAE-revoked-0000000000000000000")
            page.get_by_label("Remote id").fill(tg.DEMO_REMOTE_ID)
            page.get_by_label("API base URL").fill(emulator.url)
            page.get_by_role("button", name="Verify and connect").click()
            assert page.locator(
                ".has-error, .form-errors"
            ).first.is_visible()  # the network's refusal, in words
            for name, value in tg.demo_credentials().items():
                page.locator(f"[name=cred_{name}]").fill(value)
            page.get_by_role("button", name="Verify and connect").click()
            page.wait_for_url("**/channels/")
            assert page.locator(".message.success").is_visible()
        finally:
            emulator.stop()
    else:  # no adapter yet: connect through the service, without verification
        user = anna
        workspace = accounts.workspaces_for(user)[0]
        actor = accounts.actor_for_user(user, workspace)
        assert actor is not None
        channels.connect(
            actor,
            channels.ChannelInput(network="telegram", name="Coffee news", remote_id="@coffee"),
            verify=False,
        )
        page.goto("/channels/")
    channel = Channel.live.get()
    assert channel.name in page.locator("table").inner_text()

    page.goto("/posts/new/")
    page.get_by_label("Shared text").fill("Pumpkin latte is back ☕")
    page.get_by_role("checkbox", name=channel.name).check()
    variant = page.locator(f"#variant-{channel.pk}")
    assert variant.input_value() == "Pumpkin latte is back ☕"  # prefilled from the shared text
    counter = page.locator(f"#counter-{channel.pk} .count")
    if "telegram" in registry.available():
        expect(counter).to_have_text("23")  # UTF-16 units, as Telegram counts (the emoji is 1)
        variant.fill("x" * 5000)
        expect(page.locator(f"#counter-{channel.pk} .counter.over")).to_be_visible()
    else:
        counter.wait_for()
    variant.fill("Pumpkin latte is back! Telegram edition")
    page.get_by_label("Shared text").fill("Changed shared text")
    assert variant.input_value() == "Pumpkin latte is back! Telegram edition"  # an edited variant stays
    page.get_by_label("Publish at").fill("2031-05-01T09:30")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/posts/")
    post = Post.objects.get()
    assert post.status == "draft"
    assert [v.text for v in post.variants.all()] == ["Pumpkin latte is back! Telegram edition"]
    row = page.locator(".post-row").first.inner_text()
    assert "Changed shared text" in row and "Not scheduled" in row


def test_language_switch_to_russian(page: Any, anna: Any) -> None:
    _sign_in(page)
    page.locator("#user-menu summary").click()
    page.get_by_role("button", name="Русский").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ru"
    nav = page.locator(".sidebar").inner_text()
    assert "Панель" in nav and "Посты" in nav and "Каналы" in nav
    page.goto("/posts/")
    assert page.locator("h1").inner_text() == "Посты"
    assert "Постов пока нет" in page.locator("main").inner_text()
