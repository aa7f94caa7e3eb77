"""A Telegram quiz composed in Chromium, beside a Facebook post that gets the same poll as a
comment poll: the composer says which kind each network gets, refuses a right answer that is
no option with the message beside the post, publishes once it is fixed; the quiz is stopped at
its closing time and its results (bars, voters, the share who answered right) are on
Analytics → Polls. Screenshots go into the test's tmp dir (and $RUPOR_SHOTS when set)."""

from __future__ import annotations

import datetime as dt
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.analytics import polls
from rupor.analytics.models import PollResult
from rupor.core import clock
from rupor.networks.facebook import testing as fb_testing
from rupor.networks.telegram import emulator as tg_emu
from rupor.networks.telegram import testing as tg_testing
from rupor.planning.models import Post
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in
from rupor.web.test_every_network_browser import PASSWORD, _settle

pytestmark = MARKS


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, viewport={"width": 1366, "height": 1000}) as tab:
        tab.set_default_timeout(30_000)  # publishing runs the worker in between; a busy machine is slow
        yield tab


@pytest.fixture
def world(db: Any) -> Iterator[dict[str, Any]]:
    tg = tg_testing.start()
    fb = fb_testing.start(rate_limits=False)
    try:
        user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
        ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
        channels = {
            "telegram": pt.channel(ws, tg_testing.channel_for(tg), name="Coffee Telegram"),
            "facebook": pt.channel(ws, fb_testing.channel_for(fb), name="Coffee Facebook"),
        }
        yield {"ws": ws, "channels": channels, "tg": tg, "fb": fb}
    finally:
        tg.stop()
        fb.stop()


def _poll(page: Any, pk: int, question: str, options: list[str]) -> None:
    box = page.locator(f"#variant-box-{pk}")
    box.locator("details.extras > summary").click()
    box.locator(f"input[name=variant_poll_{pk}]").check()
    box.locator(f"#poll-q-{pk}").fill(question)
    while box.locator(f"input[name=variant_poll_option_{pk}]").count() < len(options):
        box.locator("[data-poll-add]").click()
    for index, option in enumerate(options):
        box.locator(f"input[name=variant_poll_option_{pk}]").nth(index).fill(option)


def test_a_telegram_quiz_is_composed_published_and_its_results_shown(
    page: Any, browser: Any, live_server: Any, world: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    tg, fb = world["channels"]["telegram"], world["channels"]["facebook"]
    marker = f"m{uuid.uuid4().hex[:8]}"
    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/posts/new/")
    page.locator("#id_title").fill("Coffee quiz")
    for channel in (tg, fb):
        page.locator(f"input[name=channels][value='{channel.pk}']").check()
    page.get_by_label("Shared text").fill(f"How well do you know coffee? {marker}")

    _poll(page, tg.pk, "Where does coffee come from?", ["Brazil only", "Ethiopia", "Iceland"])
    tg_box = page.locator(f"#variant-box-{tg.pk}")
    expect(tg_box.locator("[data-poll-kind]")).to_have_attribute("data-poll-kind", "native")
    expect(tg_box.locator("[data-poll-kind]")).to_contain_text("Mark a right answer to make it a quiz")
    tg_box.locator(f"#poll-minutes-{tg.pk}").fill("60")
    tg_box.locator(f"#poll-correct-{tg.pk}").fill("4")  # no such option
    tg_box.locator(f"#poll-explanation-{tg.pk}").fill("Coffee was first found in Ethiopia.")

    _poll(page, fb.pk, "Which roast do you like?", ["Light", "Dark"])
    fb_box = page.locator(f"#variant-box-{fb.pk}")
    expect(fb_box.locator("[data-poll-kind]")).to_have_attribute("data-poll-kind", "keyword")
    expect(fb_box.locator("[data-poll-kind]")).to_contain_text("Facebook has no native polls")
    expect(fb_box.locator(f"#poll-correct-{fb.pk}")).to_have_count(0)  # no quizzes there

    page.get_by_role("button", name="Post now").click()
    expect(page.get_by_text("The right answer must be one of the poll's options.").first).to_be_visible()
    assert not PublicationTarget.objects.exists()  # nothing went out
    page.locator(f"#variant-box-{tg.pk} #poll-correct-{tg.pk}").fill("2")
    page.screenshot(path=str(tmp_path / "composer-quiz-en.png"), full_page=True)
    shot(page, "en-composer-quiz.png")
    page.get_by_role("button", name="Post now").click()
    page.wait_for_url("**/posts/")

    post = Post.objects.get()
    assert _settle(post) == {TargetState.PUBLISHED}
    sent = [
        m.payload["poll"]
        for m in tg_testing._emulator(world["tg"]).messages.values()
        if m.chat_id == tg_emu.DEMO_CHANNEL_ID
        and "poll" in m.payload
        and m.payload["poll"]["question"] == "Where does coffee come from?"
    ]
    assert len(sent) == 1
    assert sent[0]["type"] == "quiz" and sent[0]["correct_option_ids"] == [1]
    assert fb_testing.posts_with(world["fb"], marker) == 1
    fb_state = world["fb"].app.state.emulator
    with fb_state.lock:
        [message] = [p["message"] for p in fb_state.posts.values() if marker in p["message"]]
    assert "1 — Light\n2 — Dark" in message and "Reply with the number of your choice" in message

    # The quiz closes after its hour: the job stops it and keeps the final votes.
    tg_testing.advance(world["tg"], 2 * 3600)
    later = clock.now() + dt.timedelta(hours=2)
    assert polls.collect(tg.pk, later) == 1
    assert polls.collect(fb.pk, later) == 1
    quiz = PollResult.objects.get(channel=tg)
    assert quiz.closed and quiz.voters and quiz.correct_share is not None

    page.goto(f"/analytics/polls/?post={post.pk}")
    card = page.locator(".poll-result[data-kind=quiz]")
    expect(card).to_contain_text("Where does coffee come from?")
    expect(card).to_contain_text("Closed")
    expect(card.locator("li.correct")).to_contain_text("Ethiopia")
    expect(card).to_contain_text("answered right")
    expect(card.locator(".poll-bar")).to_have_count(3)
    expect(page.locator(".poll-result[data-kind=keyword]")).to_contain_text("Which roast do you like?")
    page.screenshot(path=str(tmp_path / "poll-results-en.png"), full_page=True)
    shot(page, "en-poll-results.png")

    # The same results in Russian and Korean (the browser's language picks the interface's).
    for lang, closed, right in (
        ("ru", "Закрыт", "ответили правильно"),
        ("ko", "마감됨", "정답을 골랐습니다"),
    ):
        with open_page(
            browser, live_server.url, locale=lang, viewport={"width": 1366, "height": 1000}
        ) as tab:
            tab.goto("/login/")
            tab.locator("input[type=email]").fill("anna@example.com")
            tab.locator("input[type=password]").fill(PASSWORD)
            tab.locator("form button[type=submit]").first.click()
            tab.wait_for_url("**/")
            tab.goto(f"/analytics/polls/?post={post.pk}")
            quiz_card = tab.locator(".poll-result[data-kind=quiz]")
            expect(quiz_card).to_contain_text(closed)
            expect(quiz_card).to_contain_text(right)
            tab.screenshot(path=str(tmp_path / f"poll-results-{lang}.png"), full_page=True)
            shot(tab, f"{lang}-poll-results.png")
