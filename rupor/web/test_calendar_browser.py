"""The calendar in Chromium: drag a post to another day, drop an idea on an hour, move a post
with the keyboard, and see a refusal explained, the way a person would."""

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
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.web.browser_testing import MARKS, expect, open_page, sign_in

PASSWORD = "a-long-enough-passphrase-42"
# Thursday 20 March 2025, 10:00 in Berlin; the clocks go forward on Sunday 30 March.
NOW = dt.datetime(2025, 3, 20, 9, 0, tzinfo=dt.UTC)

pytestmark = MARKS


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, locale="en-US", viewport={"width": 1440, "height": 1600}) as tab:
        yield tab


def _local(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute)  # wall-clock time in the workspace zone


@pytest.fixture
def plan(db: Any) -> dict[str, Any]:
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
    post = planning.create_post(
        actor,
        planning.PostInput(
            text="Croissants are back",
            status=Post.Status.SCHEDULED,
            scheduled_at=_local(2025, 3, 24, 10, 0),
            variants=(planning.VariantInput(channel.pk),),
        ),
    )
    idea = planning.create_post(
        actor, planning.PostInput(text="Easter menu idea", variants=(planning.VariantInput(channel.pk),))
    )
    return {"post": post, "idea": idea, "channel": channel}


def _sign_in(page: Any) -> None:
    sign_in(page, "anna@example.com", PASSWORD)


def _chip(page: Any, post: Post) -> Any:
    return page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-chip')


def test_drag_a_post_to_another_day(page: Any, plan: dict[str, Any]) -> None:
    post = plan["post"]
    _sign_in(page)
    page.goto("/calendar/")
    expect(page.locator(".cal-tz")).to_contain_text("Europe/Berlin")
    source_day = page.locator('td[data-date="2025-03-24"]')
    target_day = page.locator('td[data-date="2025-03-26"]')
    expect(source_day.locator(".cal-chip")).to_contain_text("Croissants are back")

    _chip(page, post).drag_to(target_day)

    expect(page.locator("#cal-live")).to_contain_text("Moved to Wed 26 Mar, 10:00.")
    expect(page.locator('td[data-date="2025-03-26"] .cal-chip')).to_contain_text("Croissants are back")
    expect(page.locator('td[data-date="2025-03-24"] .cal-chip')).to_have_count(0)
    page.reload()
    expect(page.locator('td[data-date="2025-03-26"] .cal-chip')).to_contain_text("10:00")
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 26, 9, 0, tzinfo=dt.UTC)
    assert PublicationTarget.objects.get(variant__post=post).due_at == post.scheduled_at


def test_drop_an_idea_on_an_hour_of_the_week(page: Any, plan: dict[str, Any]) -> None:
    idea = plan["idea"]
    _sign_in(page)
    page.goto("/calendar/?view=week&date=2025-03-31")  # the week after the clocks went forward
    expect(page.locator(".cal-ideas")).to_contain_text("Easter menu idea")
    slot = page.locator('td[data-date="2025-04-02"][data-hour="14"]')
    slot.scroll_into_view_if_needed()
    _chip(page, idea).drag_to(slot)
    expect(page.locator("#cal-live")).to_contain_text("It is still a draft.")
    expect(slot.locator(".cal-chip")).to_contain_text("14:00")
    expect(page.locator(".cal-ideas")).not_to_contain_text("Easter menu idea")
    idea.refresh_from_db()
    assert idea.status == Post.Status.DRAFT
    assert idea.scheduled_at == dt.datetime(2025, 4, 2, 12, 0, tzinfo=dt.UTC)  # 14:00 CEST


def test_move_with_the_keyboard_and_see_a_refusal(page: Any, plan: dict[str, Any]) -> None:
    post = plan["post"]
    _sign_in(page)
    page.goto("/calendar/")
    button = page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-move-btn')
    button.focus()
    page.keyboard.press("Enter")
    field = page.locator(f'.cal-item[data-post-id="{post.pk}"]').get_by_label("New date and time")
    expect(field).to_be_focused()
    field.fill("2025-03-30T02:30")  # does not exist in Berlin: the clocks jump from 02:00 to 03:00
    page.keyboard.press("Enter")
    expect(page.locator("#cal-live .message.error")).to_contain_text("does not exist in Europe/Berlin")
    expect(page.locator('td[data-date="2025-03-24"] .cal-chip')).to_contain_text(
        "Croissants are back"
    )  # nothing moved
    expect(page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-move-btn')).to_be_focused()

    page.keyboard.press("Enter")
    field = page.locator(f'.cal-item[data-post-id="{post.pk}"]').get_by_label("New date and time")
    expect(field).to_be_focused()
    field.fill("2025-03-31T09:15")
    page.keyboard.press("Enter")
    expect(page.locator("#cal-live .message.success")).to_contain_text("Moved to Mon 31 Mar, 09:15.")
    moved = page.locator('td[data-date="2025-03-31"] .cal-chip')
    expect(moved).to_contain_text("09:15")
    expect(moved).to_be_focused()
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 31, 7, 15, tzinfo=dt.UTC)


def test_a_published_post_cannot_be_dragged(page: Any, plan: dict[str, Any]) -> None:
    post = plan["post"]
    PublicationTarget.objects.filter(variant__post=post).update(state=TargetState.PUBLISHED)
    _sign_in(page)
    page.goto("/calendar/")
    chip = _chip(page, post)
    expect(chip).to_have_attribute("draggable", "false")
    expect(page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-move-btn')).to_have_count(0)
    chip.drag_to(page.locator('td[data-date="2025-03-26"]'))
    expect(page.locator('td[data-date="2025-03-24"] .cal-chip')).to_have_count(1)
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 24, 9, 0, tzinfo=dt.UTC)
