"""The morning of an SMM manager, end to end in Chromium against the emulated networks.

Compose one post for VK and Telegram → send it (the workspace needs the client's approval) → find
it in the calendar → drag it to another day → the client approves it through the magic link,
without an account → at the new time the worker publishes it, exactly once on each network by the
emulators' own records.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks.emulation import RunningEmulator
from rupor.networks.telegram import testing as telegram_testing
from rupor.networks.vk import testing as vk_testing
from rupor.planning.models import Post
from rupor.publishing import ratelimit
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.worker import run_worker
from rupor.web.browser_testing import MARKS, expect, open_page

PASSWORD = "a-long-enough-passphrase-42"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday, 12:00 in Moscow

pytestmark = MARKS


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    previous = ratelimit.use("memory")
    clock.freeze(NOW)
    yield
    clock.reset()
    ratelimit.use(previous)


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, RunningEmulator]]:
    running = {
        "vk": vk_testing.start(rate_limits=False),
        "telegram": telegram_testing.start(rate_limits=False),
    }
    yield running
    for emulator in running.values():
        emulator.stop()


@pytest.fixture
def studio(db: Any, emulators: dict[str, RunningEmulator]) -> tuple[Channel, Channel]:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    Workspace.objects.filter(pk=ws.pk).update(approval=Workspace.Approval.CLIENT)
    vk = pt.channel(ws, vk_testing.channel_for(emulators["vk"]), name="Coffee House VK")
    tg = pt.channel(ws, telegram_testing.channel_for(emulators["telegram"]), name="Coffee House TG")
    return vk, tg


def test_compose_schedule_drag_and_the_client_approves(
    page: Any,
    browser: Any,
    live_server: Any,
    studio: tuple[Channel, Channel],
    emulators: dict[str, RunningEmulator],
) -> None:
    vk, tg = studio
    marker = f"flow-{uuid.uuid4().hex[:8]}"
    page.set_viewport_size({"width": 1440, "height": 1000})

    # 1. Compose for two networks and send it for approval at Tuesday 10 March, 10:30 Moscow time.
    page.goto("/login/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto("/posts/new/")
    page.locator(f"input[name=channels][value='{vk.pk}']").check()
    page.locator(f"input[name=channels][value='{tg.pk}']").check()
    page.get_by_label("Shared text").fill(f"Spring menu is here: lavender latte {marker}")
    expect(page.locator(f"#preview-{vk.pk} .pv-text")).to_contain_text("lavender latte")
    expect(page.locator(f"#preview-{tg.pk} .pv-text")).to_contain_text("lavender latte")
    page.locator("#id_scheduled_at").fill("2026-03-10T10:30")
    page.get_by_role("button", name="Send to the client").click()
    page.wait_for_url("**/posts/*/edit/")  # back on the post, where the client's link is made
    expect(page.locator(".message.success")).to_contain_text("now it waits for the client")
    post = Post.objects.get(text__contains=marker)
    assert post.status == Post.Status.CLIENT_REVIEW
    assert post.variants.count() == 2
    assert not PublicationTarget.objects.filter(
        variant__post=post, state=TargetState.SCHEDULED
    ).exists()  # not approved yet

    # 2. The calendar shows it on the 10th at 10:30; drag it to Thursday the 12th.
    page.goto("/calendar/?date=2026-03-01")
    expect(page.locator(".cal-tz")).to_contain_text("Europe/Moscow")
    chip = page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-chip')
    expect(page.locator('td[data-date="2026-03-10"]')).to_contain_text("10:30")
    chip.drag_to(page.locator('td[data-date="2026-03-12"]'))
    expect(page.locator("#cal-live")).to_contain_text("Moved to Thu 12 Mar, 10:30.")
    expect(page.locator(f'td[data-date="2026-03-12"] .cal-item[data-post-id="{post.pk}"]')).to_be_visible()
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2026, 3, 12, 7, 30, tzinfo=dt.UTC)

    # 3. A review link for the client, from the post's approval panel.
    page.goto(f"/posts/{post.pk}/edit/")
    expect(page.locator("#id_scheduled_at")).to_have_value("2026-03-12T10:30")
    page.get_by_role("button", name="Get client review link").click()
    link = page.locator("#client-link").inner_text().strip()
    path = urllib.parse.urlsplit(link).path
    assert path.startswith("/review/")

    # 4. The client, with no account and no session, approves it.
    with open_page(browser, live_server.url) as review:
        review.goto(path)
        card = review.locator(f"#post-{post.pk}")
        expect(card).to_contain_text("Thursday, March 12, 10:30")
        expect(card).to_contain_text("lavender latte")
        card.get_by_role("button", name="Approve").click()
        expect(review.locator(f"#post-{post.pk}")).to_contain_text("You approved this post.")
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    targets = list(PublicationTarget.objects.filter(variant__post=post))
    assert {t.due_at for t in targets} == {post.scheduled_at}
    assert {t.state for t in targets} == {TargetState.SCHEDULED}

    # 5. Nothing goes out before its time; at 10:30 on the 12th it goes out once on each network.
    run_worker(once=True, concurrency=2)
    assert vk_testing.posts_with(emulators["vk"], marker) == 0
    assert telegram_testing.posts_with(emulators["telegram"], marker) == 0
    clock.freeze(dt.datetime(2026, 3, 12, 7, 30, 5, tzinfo=dt.UTC))
    run_worker(once=True, concurrency=2)
    run_worker(once=True, concurrency=2)
    assert {t.state for t in PublicationTarget.objects.filter(variant__post=post)} == {TargetState.PUBLISHED}
    assert vk_testing.posts_with(emulators["vk"], marker) == 1
    assert telegram_testing.posts_with(emulators["telegram"], marker) == 1

    # The team sees it published in the calendar.
    page.goto("/calendar/?date=2026-03-01")
    expect(page.locator(f'td[data-date="2026-03-12"] .cal-item[data-post-id="{post.pk}"]')).to_be_visible()
    expect(page.locator(f'.cal-item[data-post-id="{post.pk}"] .cal-chip')).to_have_attribute(
        "draggable", "false"
    )
