"""Polls and quizzes as a post type: rules on save, keyword polls written into the text."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels.models import Channel
from rupor.networks.base import Content, Poll
from rupor.planning import compose, polls
from rupor.planning.models import PostVariant
from rupor.planning.service import PostInput, VariantInput, variant_content

pytestmark = pytest.mark.django_db

LATER = dt.datetime(2099, 3, 1, 10, 0)
QUIZ = {"question": "2+2?", "options": ["3", "4", "5"], "correct_option": 1, "explanation": "Simple sums."}


@pytest.fixture
def world(make_workspace):
    ws = make_workspace("Polls")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    fb = Channel.objects.create(workspace=ws, network="facebook", name="Our Page", remote_id="1")
    vk = Channel.objects.create(workspace=ws, network="vk", name="Our VK", remote_id="1")
    return ws, tg, fb, vk


def _save(ws, channel, poll, intent=compose.Intent.SAVE, text="Hello"):
    return compose.compose(
        compose.ComposeRequest(
            Actor(ws.pk, Role.MANAGER, label="manager"),
            PostInput(text=text, scheduled_at=LATER, variants=(VariantInput(channel.pk, poll=poll),)),
            intent=intent,
        )
    )


def test_a_telegram_quiz_is_saved_and_goes_out_as_one(world):
    ws, tg, _fb, _vk = world
    saved = _save(ws, tg, dict(QUIZ, minutes="90"), intent=compose.Intent.SCHEDULE)
    assert saved.ok, saved.refusals
    variant = PostVariant.objects.get(channel=tg)
    stored = variant.poll
    assert stored is not None
    assert stored["correct_option"] == 1
    assert stored["minutes"] == 90
    content = variant_content(variant)
    assert content.poll == Poll(
        "2+2?", ("3", "4", "5"), correct_option=1, explanation="Simple sums.", minutes=90
    )
    assert polls.kind_for("telegram", content.poll) == polls.Kind.QUIZ


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"correct_option": 3}, "variants[0].poll.correct_option"),
        ({"correct_option": "second"}, "variants[0].poll.correct_option"),
        ({"multiple": True}, "variants[0].poll.multiple"),
        ({"explanation": "x" * 201}, "variants[0].poll.explanation"),
        ({"minutes": 43801}, "variants[0].poll.minutes"),
        ({"minutes": 0}, "variants[0].poll.minutes"),
    ],
)
def test_a_quiz_against_telegrams_rules_is_refused_on_save_even_as_a_draft(world, change, field):
    ws, tg, _fb, _vk = world
    refused = _save(ws, tg, dict(QUIZ, **change))
    assert not refused.ok
    assert refused.status == 422
    assert refused.refusals[0].field == field
    assert refused.refusals[0].message
    assert not PostVariant.objects.exists()


def test_no_quiz_where_the_network_has_none(world):
    ws, _tg, fb, vk = world
    for channel in (fb, vk):
        refused = _save(ws, channel, QUIZ)
        assert not refused.ok and refused.status == 422
        assert refused.refusals[0].field == "variants[0].poll.correct_option"
        assert "has no quizzes" in refused.refusals[0].message


def test_a_keyword_poll_is_written_into_the_text_in_the_posts_language(world):
    ws, _tg, fb, _vk = world
    poll = {"question": "Какой день лучше?", "options": ["Понедельник", "Пятница"], "minutes": 120}
    saved = _save(ws, fb, poll, intent=compose.Intent.SCHEDULE, text="Опрос недели")
    assert saved.ok, saved.refusals
    content = variant_content(PostVariant.objects.get(channel=fb))
    assert content.poll is None
    assert content.text.startswith("Опрос недели\n\n📊 Какой день лучше?\n1 — Понедельник\n2 — Пятница\n")
    assert "2 часа" in content.text


def test_keyword_polls_take_two_to_nine_options(world):
    ws, _tg, fb, _vk = world
    refused = _save(ws, fb, {"question": "Q", "options": [str(i) for i in range(10)]})
    assert not refused.ok and refused.refusals[0].field == "variants[0].poll.options"


def test_language_of():
    assert polls.language_of("Hello there") == "en"
    assert polls.language_of("Привет") == "ru"
    assert polls.language_of("안녕하세요 hello") == "ko"


def test_as_published_leaves_native_polls_alone():
    content = Content(text="Hi", poll=Poll("Q", ("a", "b")))
    assert polls.as_published("telegram", content) is content
    written = polls.as_published("linkedin", content)
    assert written.poll is None and "1 — a" in written.text
