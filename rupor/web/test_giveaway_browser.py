"""A giveaway in the browser, from the rules to the published result, against the VK and drand
emulators: created from the form, announced (rules post drafted), the list closed, a drawn
winner who left the community before the draw passed over with the reason, then the public page
and the verifier (the published files recomputed, and the same files uploaded) without signing
in; in en/ru/ko. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.giveaways import service
from rupor.giveaways import testing as gv_testing
from rupor.giveaways.models import Giveaway
from rupor.inbox.testing import connect
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.drand import testing as drand_testing
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.adapter import VkAdapter
from rupor.planning.models import Post
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


def test_giveaway_from_rules_to_verified_result(
    browser: Any, live_server: Any, vk_emu: Any, tmp_path: Path
) -> None:
    relay = drand_testing.start()
    try:
        _run(browser, live_server, vk_emu, relay, tmp_path)
    finally:
        relay.stop()


def _run(browser: Any, live_server: Any, vk: Any, relay: Any, tmp_path: Path) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="UTC")
    access = vk_testing.channel_for(vk, settings={"pace": False})
    channel = connect(ws, access, name="Rupor Demo")
    post = (
        VkAdapter()
        .publish(access, PublishRequest(Content(text="Giveaway!"), "gv-br"), MemoryProgress())
        .remote_id
    )
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    end = start + dt.timedelta(hours=1)
    clock.freeze(start + dt.timedelta(minutes=1))

    with open_page(browser, live_server.url, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.get_by_role("link", name="Giveaways").click()
        page.get_by_role("link", name="New giveaway").first.click()
        expect(page.locator(".gv-caps")).to_contain_text("liked the post")
        page.get_by_label("Channel").select_option(str(channel.pk))
        page.get_by_label("Title").fill("Win a coffee machine")
        page.get_by_label("Prize", exact=True).fill("One coffee machine")
        page.get_by_label("Entries open").fill(start.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Entries close").fill(end.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Liked the post").check()
        page.get_by_label("Commented with the word (optional)").fill("gift")
        page.get_by_label("Contest post on the network (optional)").fill(post)
        page.get_by_label("Reserve").fill("3")
        page.get_by_label("drand relay").fill(relay.url)
        shot(page, "giveaway-form-en.png")
        page.get_by_role("button", name="Create giveaway").click()
        expect(page.locator("h1")).to_contain_text("Win a coffee machine")
        page.get_by_role("button", name="Announce").click()
        expect(page.locator("#giveaway-state")).to_have_text("Announced")
        giveaway = Giveaway.objects.get()
        expect(page.locator(".gv-dl").first).to_contain_text(service.rules_hash(giveaway))
        rules_post = Post.objects.get(pk=giveaway.rules_post_id or 0)
        assert rules_post.status == Post.Status.DRAFT  # drafted for the manager, never sent by itself

        gv_testing.take_part(vk, post, "gift")
        clock.freeze(end + dt.timedelta(minutes=5))
        page.get_by_role("button", name="Close the list").click()
        expect(page.locator("#giveaway-state")).to_have_text("List frozen")
        giveaway.refresh_from_db()
        expect(page.locator("#list-hash")).to_have_text(service.list_hash(giveaway))

        order = gv_testing.expected_order(giveaway)
        vk_testing.audience_membership(vk, int(order[0]), "leave")  # the first drawn leaves before the draw
        when = gv_testing.round_time(giveaway) + dt.timedelta(seconds=10)
        clock.freeze(when)
        drand_testing.set_clock(relay, when)
        page.get_by_role("button", name="Draw").click()
        expect(page.locator("#giveaway-state")).to_have_text("Drawn")
        rows = page.locator("#draw-order tbody tr")
        expect(rows.nth(0)).to_contain_text("Passed over")
        expect(rows.nth(0)).to_contain_text("left the community before the draw")
        expect(rows.nth(1)).to_contain_text(order[1])
        expect(rows.nth(1)).to_contain_text("Winner")
        shot(page, "giveaway-drawn-en.png")
        giveaway.refresh_from_db()
        results = Post.objects.get(pk=giveaway.results_post_id or 0)
        assert results.status == Post.Status.DRAFT and f"@id{order[1]}" in results.text
        page.get_by_role("link", name="Open the results post").click()
        expect(page.locator("body")).to_contain_text("left the community before the draw")

    files = service.published_files(giveaway)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    # Anyone, signed in or not: the public page, its files and the verifier.
    for lang, verdict in (
        ("en", "The draw checks out"),
        ("ru", "Розыгрыш сходится"),
        ("ko", "추첨이 검증되었습니다"),
    ):
        with open_page(browser, live_server.url, viewport={"width": 1100, "height": 900}) as page:
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto(service.public_path(giveaway))
            expect(page.locator("#list-hash")).to_have_text(service.list_hash(giveaway))
            shot(page, f"giveaway-public-{lang}.png")
            page.locator(".gv-actions a.btn").click()
            expect(page.locator("#verdict")).to_contain_text(verdict)
            expect(page.locator("#winners")).to_have_text(order[1])
            expect(page.locator("#steps li.failed")).to_have_count(0)
            shot(page, f"giveaway-verify-{lang}.png")
            if lang == "en":
                page.goto("/giveaways/verify/")
                page.locator("#files").set_input_files([str(tmp_path / n) for n in files])
                page.get_by_role("button", name="Check").click()
                expect(page.locator("#verdict")).to_contain_text(verdict)
                # A tampered list does not check out, and says where.
                entrants = json.loads(files["entrants.json"])
                entrants["entrants"] = [*entrants["entrants"], "99999"]
                (tmp_path / "entrants.json").write_text(json.dumps(entrants))
                page.locator("#files").set_input_files([str(tmp_path / n) for n in files])
                page.get_by_role("button", name="Check").click()
                expect(page.locator("#verdict")).to_contain_text("does NOT check out")
                expect(page.locator("#steps li.failed").first).to_contain_text("SHA-256 of the entrant list")
    vk_testing.audience_membership(vk, int(order[0]), "join")
