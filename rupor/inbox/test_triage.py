"""Offline triage: real model, real rules, clear cases in English, Russian and Korean."""

# ruff: noqa: RUF001  (the Russian texts are Cyrillic on purpose)

from __future__ import annotations

import dataclasses

import pytest

from rupor.inbox import triage
from rupor.inbox.triage import LABELS, Triage, classify

NEGATIVE = [
    ("This is the worst phone I have ever owned. Terrible, a total waste of money.", "en"),
    ("Ужасный сервис, больше никогда не буду пользоваться этим банком.", "ru"),
    ("진짜 최악이다. 돈 아깝고 시간 아까웠다.", "ko"),
]
COMPLAINTS = [
    ("My order never arrived and customer service ignores me. I want a refund.", "en"),
    ("Заказ так и не пришёл, поддержка не отвечает уже неделю. Верните деньги!", "ru"),
    ("배송이 2주째 안 오고 고객센터는 연락이 없네요. 환불해 주세요.", "ko"),
]
QUESTIONS = [
    ("Do you ship to Canada?", "en"),
    ("Подскажите, когда будет новая коллекция?", "ru"),
    ("이 제품 언제 다시 입고되나요?", "ko"),
]
PRAISE = [
    ("I love this! Great quality and the team was wonderful, thank you so much.", "en"),
    ("Отличный магазин, всё понравилось, спасибо большое!", "ru"),
    ("정말 최고예요! 너무 좋아요, 감사합니다.", "ko"),
]
SPAM = [
    ("Earn $500 a day working from home!!! Click here http://bit.ly/xyz", "en"),
    ("Заработок без вложений! Пиши в личку, переходи по ссылке t.me/earnfast", "ru"),
    ("부업으로 월 500 수익! 무료 상담 카톡 문의 http://spam.example.kr/a", "ko"),
]


@pytest.mark.parametrize(("text", "language"), NEGATIVE)
def test_clear_negatives_are_negative_with_high_negativity(text, language):
    [result] = classify([text])
    assert result.label in ("negative", "complaint"), result
    assert result.negativity >= 0.6, result
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), COMPLAINTS)
def test_complaints_about_orders_and_refunds_are_complaints(text, language):
    [result] = classify([text])
    assert result.label == "complaint", result
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), QUESTIONS)
def test_questions_are_questions(text, language):
    [result] = classify([text])
    assert result.label == "question", result
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), PRAISE)
def test_praise_is_praise_with_low_negativity(text, language):
    [result] = classify([text])
    assert result.label == "praise", result
    assert result.negativity <= 0.3, result
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), SPAM)
def test_spam_is_spam(text, language):
    [result] = classify([text])
    assert result.label == "spam", result


def test_results_keep_the_order_across_batches():
    texts = [text for text, _ in NEGATIVE + QUESTIONS + PRAISE + SPAM]
    many = texts * (triage.BATCH // len(texts) + 2)  # more than one batch
    assert len(many) > triage.BATCH
    one_by_one = [classify([text])[0] for text in texts]
    together = classify(many)
    assert len(together) == len(many)
    for i, result in enumerate(together):
        assert result.label == one_by_one[i % len(texts)].label
        assert result.negativity == pytest.approx(one_by_one[i % len(texts)].negativity, abs=0.01)


def test_empty_and_blank_texts_are_neutral_and_keep_their_place():
    results = classify(["", "   ", "Ужасный сервис, больше никогда не буду пользоваться этим банком.", "\t"])
    assert [r.label for r in results][:2] == ["neutral", "neutral"]
    assert results[0] == Triage(label="neutral", negativity=0.0, language="und")
    assert results[2].label in ("negative", "complaint")
    assert results[3].label == "neutral"
    assert classify([]) == []


def test_every_result_is_a_frozen_triage_with_a_known_label_and_a_bounded_negativity():
    results = classify(["ok", "👍", "123", "What?", "Bonjour, le service était horrible."])
    for result in results:
        assert result.label in LABELS
        assert 0.0 <= result.negativity <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        results[0].label = "spam"  # type: ignore[misc]
    assert results[4].language == "fr"


def test_language_detection_never_downloads_and_falls_back_to_the_script():
    assert triage.detect_language("안녕하세요") == "ko"
    assert triage.detect_language("Привет, как дела у тебя сегодня?") == "ru"
    assert triage.detect_language("Hello, how are you doing today?") == "en"
    assert triage.detect_language("12345 !!!") == "und"


def test_rules_alone():
    assert triage.spam_score("Call +7 999 123 45 67 now, promo code SALE, http://x.example.com/a") >= 2
    assert triage.spam_score("Thanks for the quick reply") == 0
    assert triage.is_question("Сколько стоит доставка")
    assert triage.is_question("배송비는 얼마예요?")
    assert not triage.is_question("Thanks for everything.")


def test_nothing_is_fetched_at_run_time(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("triage tried to reach the network")

    monkeypatch.setattr("socket.socket.connect", refuse)
    monkeypatch.setattr("socket.create_connection", refuse)
    triage._language_detector.cache_clear()  # load the language model again, with no network
    triage._encoder.cache_clear()
    [result] = classify(["Where is my refund? The item arrived broken."])
    assert result == Triage(label="complaint", negativity=result.negativity, language="en")
    assert result.negativity >= 0.6


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How much does delivery to Seoul cost?", "en"),
        ("Сколько стоит доставка в Казань?", "ru"),
        ("언제 배송되나요?", "ko"),
    ],
)
def test_a_question_about_delivery_or_orders_is_a_question_not_a_complaint(text, language):
    # Delivery, orders and support are what complaints are about, and what questions are about.
    (result,) = classify([text])
    assert (result.label, result.language) == ("question", language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I am so disappointed, the parcel was delayed again", "en"),
        ("Доставку задержали на неделю, очень разочарован", "ru"),
        ("배송이 너무 늦어요 정말 실망입니다", "ko"),
    ],
)
def test_disappointment_with_a_delivery_is_a_complaint(text, language):
    (result,) = classify([text])
    assert (result.label, result.language) == ("complaint", language)
