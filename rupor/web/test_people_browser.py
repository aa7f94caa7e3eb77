"""The audience in the browser: authors with their avatars in the inbox (a picture that does not
load gives way to the initial), and the people page reached from the inbox, in en/ru/ko.
Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import re
from typing import Any

from rupor.accounts import service as accounts
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, publish
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

TITLES = {"en": "People", "ru": "Люди", "ko": "사람들"}


def test_authors_show_with_avatars_and_the_people_page_ranks_them(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Coffee VK")
    inbox.poll_channel(channel.pk)
    target = publish(channel, access, "Which bread?")
    first = vk_testing.audience_comment(vk_emu, target.remote_id, "Rye, of course", user_id=40001)
    vk_testing.audience_comment(vk_emu, target.remote_id, "Agreed!", user_id=40002, reply_to=first)
    inbox.poll_channel(channel.pk)
    state = vk_testing.state(vk_emu)
    # No test reaches the internet: the pictures VK gave are swapped for ones this server has
    # (and one it has not, which the page must hide).
    InboxItem.objects.filter(author_remote_id="40001").update(author_avatar_url="/static/web/favicon.svg")
    InboxItem.objects.filter(author_remote_id="40002").update(author_avatar_url="/static/web/no-such.png")

    with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.goto("/inbox/")
        row = page.locator(".inbox-row", has_text="Rye, of course")
        expect(row.locator(".avatar img")).to_have_count(1)
        expect(row.locator(".followers")).to_contain_text(f"{state.followers(40001):,}")
        broken = page.locator(".inbox-row", has_text="Agreed!")
        expect(broken.locator(".avatar img")).to_have_count(0)  # the initial shows instead
        expect(broken.locator(".avatar")).to_have_text(broken.locator(".author a").inner_text()[0].upper())
        shot(page, "inbox-authors-en.png")
        page.get_by_role("link", name="People").click()
        expect(page.locator("h1")).to_have_text("People")
        first_row = page.locator("table.people tbody tr").first
        expect(first_row).to_contain_text("Rye, of course")
        expect(first_row.locator("td.score")).to_have_text(re.compile(r"^\d+\.\d$"))
        shot(page, "people-en.png")

    for lang in ("ru", "ko"):
        with open_page(browser, live_server.url, viewport={"width": 1300, "height": 900}) as page:
            sign_in(page, "owner@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/inbox/people/")
            expect(page.locator("h1")).to_have_text(TITLES[lang])
            expect(page.locator("table.people tbody tr")).to_have_count(2)
            shot(page, f"people-{lang}.png")
