"""The inbox in the browser: a moderator opens a comment that came from the VK emulator, replies,
and VK shows the reply once; the list picks up a new comment by itself. The pages in English,
Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {
    "ru-RU": ("Входящие", "Отправить ответ"),
    "ko-KR": ("받은 편지함", "답장 보내기"),
}


def test_a_moderator_answers_a_vk_comment_once(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("mod@example.com", PASSWORD).email, "moderator")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Coffee VK")
    target = publish(channel, access, "Autumn menu is out")
    vk_testing.audience_comment(vk_emu, target.remote_id, "Is there a vegan option?")
    inbox.poll_channel(channel.pk)

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "mod@example.com", PASSWORD)
        inbox_link = page.locator(".sidebar a", has_text="Inbox")
        expect(inbox_link.locator(".nav-count")).to_have_text("1")
        inbox_link.click()
        row = page.locator(".inbox-row", has_text="Is there a vegan option?")
        expect(row).to_contain_text("Coffee VK")
        shot(page, "inbox-list-en.png")

        # A new comment shows up without reloading the page.
        vk_testing.audience_comment(vk_emu, target.remote_id, "And gluten-free?")
        inbox.poll_channel(channel.pk)
        expect(page.locator(".inbox-row", has_text="And gluten-free?")).to_be_visible(timeout=25_000)

        row.get_by_role("link", name="Open").click()
        page.get_by_label("Your reply").fill("Yes, the pumpkin soup!")
        shot(page, "inbox-thread-en.png")
        page.get_by_role("button", name="Send reply").click()
        expect(page.get_by_text("Your reply was sent.")).to_be_visible()
        expect(page.locator(".thread li.ours")).to_contain_text("Yes, the pumpkin soup!")
        shot(page, "inbox-thread-replied-en.png")

    sent = [
        e for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == "Yes, the pumpkin soup!"
    ]
    assert len(sent) == 1
    on_vk = [
        c
        for c in registry.adapter("vk").read_comments(access, target.remote_id)
        if c.text == "Yes, the pumpkin soup!"
    ]
    assert len(on_vk) == 1
    item = InboxItem.objects.get(text="Is there a vegan option?")
    assert item.status == "answered"

    for locale, (title, send) in WORDS.items():
        lang = locale[:2]
        with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
            sign_in(page, "mod@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto(reverse("web:inbox"))
            expect(page.locator("h1")).to_have_text(title)
            shot(page, f"inbox-list-{lang}.png")
            page.goto(reverse("web:inbox_item", args=[item.pk]))
            expect(page.get_by_role("button", name=send)).to_be_visible()
            shot(page, f"inbox-thread-{lang}.png")
