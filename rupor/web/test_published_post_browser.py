"""A post that tells the truth about itself, in Chromium: published through the VK and Telegram
emulators, it says "Published" in the list, on its page and in the calendar, offers no "Post now",
and a changed text goes out as an edit (the emulators record an edit, not a second post)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.core import http
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.worker import run_worker
from rupor.web.browser_testing import MARKS, expect, open_page, sign_in

PASSWORD = "a-long-enough-passphrase-42"
#: Where screenshots go when RUPOR_SCREENSHOTS is set (a person looks at them; tests do not).
SHOTS = os.environ.get("RUPOR_SCREENSHOTS", "")

pytestmark = MARKS


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, viewport={"width": 1366, "height": 1000}) as tab:
        yield tab


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    running = {"vk": vk_testing.start(rate_limits=False), "telegram": tg_testing.start(rate_limits=False)}
    yield running
    for emulator in running.values():
        emulator.stop()


def _settle(post: Post, want: str) -> set[str]:
    for _ in range(50):
        run_worker(once=True, concurrency=2, worker_id="w-browser")
        states = set(PublicationTarget.objects.filter(variant__post=post).values_list("state", flat=True))
        if states == {want}:
            break
    return states


def _ledger(emulator: Any) -> list[str]:
    with http.client(base_url=emulator.url, timeout=5) as client:
        return [e["kind"] for e in client.get("/_emulator/ledger").json()]


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        pathlib.Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(pathlib.Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def published(db: Any, emulators: dict[str, Any]) -> Post:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    vk = pt.channel(ws, vk_testing.channel_for(emulators["vk"]), name="Coffee VK")
    tg = pt.channel(ws, tg_testing.channel_for(emulators["telegram"]), name="Coffee Telegram")
    post = planning.create_post(
        actor,
        planning.PostInput(
            title="Croissants",
            text="Fresh croissants at nine",
            status=Post.Status.SCHEDULED,
            publish_now=True,
            variants=(planning.VariantInput(vk.pk), planning.VariantInput(tg.pk)),
        ),
    )
    assert _settle(post, TargetState.PUBLISHED) == {TargetState.PUBLISHED}
    return post


def test_a_published_post_says_so_and_is_edited_not_reposted(
    page: Any, published: Post, emulators: dict[str, Any]
) -> None:
    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/posts/")
    row = page.locator("article.post-row", has_text="Croissants")
    expect(row.locator("[data-status]").first).to_have_text("Published")
    _shot(page, "posts-en")

    page.goto(f"/posts/{published.pk}/edit/")
    expect(page.locator("h1 [data-status]")).to_have_text("Published")
    assert page.get_by_role("button", name="Post now").count() == 0
    assert page.get_by_role("button", name="Add to queue").count() == 0
    expect(page.locator(".composer-note")).to_contain_text(
        "Saving a change sends it to the networks as an edit."
    )
    _shot(page, "post-published-en")
    page.goto("/")
    expect(page.locator(".slot [data-status]").first).to_have_text("Published")
    _shot(page, "dashboard-en")
    page.goto("/calendar/?view=week")
    expect(page.locator(".cal-chip.state-published").first).to_be_visible()
    _shot(page, "calendar-week-en")
    page.goto(f"/posts/{published.pk}/edit/")

    before = {name: _ledger(emulator) for name, emulator in emulators.items()}
    page.locator("textarea[name=text]").fill("Fresh croissants at nine, and pains au chocolat")
    page.get_by_role("button", name="Save and edit on the networks").click()
    page.wait_for_url("**/posts/")
    assert _settle(published, TargetState.PUBLISHED) == {TargetState.PUBLISHED}
    new_vk = _ledger(emulators["vk"])[len(before["vk"]) :]
    new_tg = _ledger(emulators["telegram"])[len(before["telegram"]) :]
    assert "post_edited" in new_vk and "post_created" not in new_vk
    assert "message_edited" in new_tg and "message_sent" not in new_tg

    page.reload()
    expect(row.locator("[data-status]").first).to_have_text("Published")
    row.get_by_role("link", name="Published").first.click()
    expect(page.locator(".target-what")).to_contain_text("Croissants")
    expect(page.locator("table").first).to_contain_text("Edited")
    link = page.get_by_role("link", name="Open on the network")
    href = link.get_attribute("href")
    assert href and href.startswith(("http://127.0.0.1", "http://localhost"))
    with http.client(timeout=5) as client:
        assert "pains au chocolat" in client.get(href).text
    _shot(page, "target-en")

    for language in ("ru", "ko"):
        origin = page.evaluate("location.origin")
        page.context.add_cookies([{"name": "django_language", "value": language, "url": f"{origin}/"}])
        page.reload()
        _shot(page, f"target-{language}")
        page.goto(f"/posts/{published.pk}/edit/")
        _shot(page, f"post-published-{language}")
        page.goto("/posts/")
        _shot(page, f"posts-{language}")
