"""One post for every network, in Chromium: each network's emulator runs, the composer gets one
shared text, the networks with their own conventions get their own words (a short line for X, a
professional one for LinkedIn, a conversational one for Mastodon and Bluesky), every preview
follows, "Post now" publishes, and each emulator holds the post exactly once — also after the
worker runs again. Networks without text-only posts (Instagram: a picture Meta fetches from Rupor's
address) are left out here; their own tests and the chaos test publish there. Set
``RUPOR_SCREENSHOTS=/some/dir`` to keep a screenshot of the composer."""

from __future__ import annotations

import importlib
import os
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.channels.models import Channel
from rupor.networks import registry
from rupor.networks.base import Capability
from rupor.planning.models import Post
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.worker import run_worker
from rupor.web.browser_testing import MARKS, expect, open_page, sign_in

PASSWORD = "a-long-enough-passphrase-42"
SHOTS = os.environ.get("RUPOR_SCREENSHOTS", "")

pytestmark = MARKS

#: The network's own words, where its convention differs from the shared text ({m}: the marker).
OWN_WORDS = {
    "x": "Croissants out of the oven at nine. First come, first served {m}",
    "linkedin": "How a neighbourhood bakery doubled its morning sales with one change to the menu {m}",
    "mastodon": "Who else loves a croissant still warm from the oven? Ours come out at nine {m}",
    "bluesky": "Warm croissants at nine: what do you take with yours? {m}",
}


def _testing(network: str) -> Any:
    return importlib.import_module(f"rupor.networks.{network}.testing")


def _needs_video(network: str) -> bool:
    caps = registry.adapter(network).capabilities
    return Capability.PUBLISH_VIDEO in caps and Capability.PUBLISH_TEXT not in caps


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, viewport={"width": 1366, "height": 1000}) as tab:
        yield tab


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    running: dict[str, Any] = {}
    try:
        for network in registry.available():
            if Capability.PUBLISH_TEXT not in registry.adapter(network).capabilities:
                continue
            running[network] = _testing(network).start(rate_limits=False)
        yield running
    finally:
        for emulator in running.values():
            emulator.stop()


@pytest.fixture
def world(db: Any, emulators: dict[str, Any]) -> dict[str, Any]:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    channels = {
        network: pt.channel(
            ws,
            _testing(network).channel_for(emulator),
            name=f"Coffee {registry.display_name(network)}",
        )
        for network, emulator in emulators.items()
    }
    return {"ws": ws, "channels": channels}


def _settle(post: Post) -> set[str]:
    states: set[str] = set()
    for _ in range(80):
        run_worker(once=True, concurrency=2, worker_id="w-every-network")
        states = set(PublicationTarget.objects.filter(variant__post=post).values_list("state", flat=True))
        if states <= {TargetState.PUBLISHED, TargetState.FAILED, TargetState.HELD}:
            break
    return states


def test_one_post_adapted_for_every_network_is_published_on_each_exactly_once(
    page: Any, world: dict[str, Any], emulators: dict[str, Any]
) -> None:
    channels: dict[str, Channel] = world["channels"]
    assert {"vk", "telegram", "ok"} <= set(channels)
    marker = f"m{uuid.uuid4().hex[:8]}"
    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/posts/new/")
    page.locator("#id_title").fill("Croissants at nine")
    for channel in channels.values():
        page.locator(f"input[name=channels][value='{channel.pk}']").check()
    shared = f"Fresh croissants every morning at nine, see https://coffee.example/menu {marker}"
    page.get_by_label("Shared text").fill(shared)
    for network, channel in channels.items():
        preview = page.locator(f"#preview-{channel.pk}")
        expect(preview).to_be_visible()
        if network not in OWN_WORDS:
            expect(preview).to_contain_text("Fresh croissants every morning")
    for network, words in OWN_WORDS.items():
        if network not in channels:
            continue
        channel = channels[network]
        box = page.locator(f"#variant-box-{channel.pk}")
        box.locator("textarea[name^=variant_text_]").fill(words.format(m=marker))
        expect(page.locator(f"#preview-{channel.pk}")).to_contain_text(words.format(m=marker)[:30])
    page.wait_for_timeout(400)
    if SHOTS:
        pathlib.Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(pathlib.Path(SHOTS) / "every-network-composer.png"), full_page=True)

    page.get_by_role("button", name="Post now").click()
    page.wait_for_url("**/posts/")
    post = Post.objects.get()
    assert post.variants.count() == len(channels)
    assert _settle(post) == {TargetState.PUBLISHED}
    # The worker runs again: nothing goes out twice.
    run_worker(once=True, concurrency=2, worker_id="w-every-network")
    for network, emulator in emulators.items():
        assert _testing(network).posts_with(emulator, marker) == 1, network

    page.goto("/posts/")
    row = page.locator("article.post-row", has_text="Croissants at nine")
    expect(row.locator("[data-status]").first).to_have_text("Published")
