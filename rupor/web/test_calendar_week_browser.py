"""The week view in Chromium: it opens at the week's first post, and posts scrolled out of view
are announced ("2 posts earlier ↑") and brought back with one click."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.channels import service as channels
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.web.browser_testing import MARKS, expect, open_page, sign_in

PASSWORD = "a-long-enough-passphrase-42"
NOW = dt.datetime(2025, 3, 20, 9, 0, tzinfo=dt.UTC)  # Thursday 10:00 in Berlin

pytestmark = MARKS


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    # a laptop screen: the week's box shows about eight hours
    with open_page(browser, live_server.url, locale="en-US", viewport={"width": 1366, "height": 768}) as tab:
        yield tab


@pytest.fixture
def week(db: Any) -> dict[str, Post]:
    clock.freeze(NOW)
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Berlin Bakery", user, timezone="Europe/Berlin")
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    creds = {f.name: "x" for f in registry.adapter("telegram").credential_fields if f.required}
    channel = channels.connect(
        actor,
        channels.ChannelInput(network="telegram", name="Bakery news", remote_id="@bakery", credentials=creds),
        verify=False,
    )
    posts = {}
    for name, when in [
        ("Dawn bake", dt.datetime(2025, 3, 17, 6, 0)),
        ("Breakfast", dt.datetime(2025, 3, 18, 7, 30)),
        ("Late special", dt.datetime(2025, 3, 22, 22, 0)),
    ]:
        posts[name] = planning.create_post(
            actor,
            planning.PostInput(
                text=name,
                status=Post.Status.DRAFT,
                scheduled_at=when,
                variants=(planning.VariantInput(channel.pk),),
            ),
        )
    return posts


def _in_view(page: Any, text: str) -> bool:
    return bool(
        page.evaluate(
            """(text) => {
            const box = document.querySelector('[data-cal-scroll]');
            const b = box.getBoundingClientRect(), top = b.top + box.querySelector('thead').offsetHeight;
            const item = [...box.querySelectorAll('.cal-chip')].find((c) => c.textContent.includes(text));
            const r = item.getBoundingClientRect();
            return r.top >= top - 1 && r.bottom <= b.bottom + 1;
        }""",
            text,
        )
    )


def test_week_opens_at_the_first_post_and_signs_the_hidden_ones(page: Any, week: dict[str, Post]) -> None:
    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/calendar/?view=week&date=2025-03-20")
    expect(page.locator(".cal-chip", has_text="Dawn bake")).to_be_visible()
    assert _in_view(page, "Dawn bake")  # 06:00 on Monday, before the old 08:00 fold
    earlier, later = page.locator("[data-cal-earlier]"), page.locator("[data-cal-later]")
    expect(earlier).to_be_hidden()
    expect(later).to_have_text("1 post later ↓")
    page.screenshot(path="/work/screens/h5/week-opens-at-first-post.png") if _screens() else None

    page.locator("[data-cal-scroll]").evaluate("(box) => { box.scrollTop = box.scrollHeight; }")
    expect(earlier).to_have_text("2 posts earlier ↑")
    expect(later).to_be_hidden()
    assert not _in_view(page, "Dawn bake")
    page.screenshot(path="/work/screens/h5/week-earlier-mark.png") if _screens() else None

    earlier.click()
    expect(earlier).to_have_text("1 post earlier ↑")
    assert _in_view(page, "Breakfast")
    earlier.click()
    expect(earlier).to_be_hidden()
    assert _in_view(page, "Dawn bake")


def _screens() -> bool:
    import pathlib

    return pathlib.Path("/work/screens/h5").is_dir()


def test_month_entries_show_their_time_and_every_network_at_1366(page: Any, week: dict[str, Post]) -> None:
    late = week["Late special"]
    actor = accounts.actor_for_user(late.workspace.memberships.get().user, late.workspace)
    assert actor is not None
    channel_ids = [late.variants.get().channel_id]
    for network, remote in (("vk", "1"), ("ok", "2")):
        creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
        channel_ids.append(
            channels.connect(
                actor,
                channels.ChannelInput(
                    network=network, name=f"Bakery {network}", remote_id=remote, credentials=creds
                ),
                verify=False,
            ).pk
        )
    planning.create_post(
        actor,
        planning.PostInput(
            text="All three",
            status=Post.Status.DRAFT,
            scheduled_at=dt.datetime(2025, 3, 22, 9, 0),
            variants=tuple(planning.VariantInput(pk) for pk in channel_ids),
        ),
    )
    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/calendar/?date=2025-03-20")
    chip = page.locator('td[data-date="2025-03-22"] .cal-chip', has_text="All three")
    expect(chip).to_be_visible()
    assert chip.locator(".cal-nets .net").count() == 3
    # Nothing of the time or the network badges is cut off: each lies inside its row and its chip.
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.cal-month .cal-chip')].flatMap((chip) => {
            const inside = (r, box) => r.width > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5 &&
                                       r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5;
            const c = chip.getBoundingClientRect();
            return [...chip.querySelectorAll('.cal-time, .cal-nets .net')]
              .filter((el) => !inside(el.getBoundingClientRect(), c) ||
                              !inside(el.getBoundingClientRect(), el.parentElement.getBoundingClientRect()))
              .map((el) => chip.textContent.trim().slice(0, 20) + ': ' + el.textContent.trim());
        })"""
    )
    assert clipped == []
    if _screens():
        page.locator(".cal-month").screenshot(path="/work/screens/h5/month-1366.png")
