"""The adapters' live checks speak the person's language; English when no language is active.

Content problems (shown in the composer), verify() explanations and credential field labels are
translated; errors decided from network responses stay English (they are stored as history).
"""

# ruff: noqa: RUF001  (the expected Russian texts are Cyrillic on purpose)

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from rupor.core.timezones import LocalTimeError, to_utc
from rupor.networks.base import Content, Media, Poll
from rupor.networks.errors import Rejected
from rupor.networks.ok.adapter import OkAdapter
from rupor.networks.telegram import testing
from rupor.networks.telegram.adapter import TelegramAdapter
from rupor.networks.vk.adapter import VkAdapter

TG = TelegramAdapter()
LONG = Content(text="a" * 5000)
PHOTO = Media.from_bytes("photo", "a.png", "image/png", b"x" * 10)


def _messages(adapter, content: Content) -> list[str]:
    return [p.message for p in adapter.validate(content)]


def test_telegram_over_length_is_english_by_default():
    assert _messages(TG, LONG) == [
        "Telegram allows 4,096 characters in a text (emoji count as 2); this one has 5,000."
    ]
    captioned = Content(text="a" * 1100, media=(PHOTO,))
    assert _messages(TG, captioned) == [
        "Telegram allows 1,024 characters in a caption (emoji count as 2); this one has 1,100."
    ]


def test_telegram_over_length_in_russian_and_korean():
    with translation.override("ru"):
        assert _messages(TG, LONG) == [
            "Telegram: в тексте максимум 4\xa0096 символов (эмодзи считается за два), а в этом — 5\xa0000."
        ]
        captioned = Content(text="a" * 1100, media=(PHOTO,))
        # 1024 takes the "2-4" plural form in Russian.
        assert _messages(TG, captioned) == [
            "Telegram: в подписи максимум 1\xa0024 символа (эмодзи считается за два), а в этой — 1\xa0100."
        ]
    with translation.override("ko"):
        assert _messages(TG, LONG) == [
            "Telegram 텍스트는 최대 4,096자까지 허용되지만(이모지는 2자로 계산) 이 텍스트는 5,000자입니다."
        ]
    # Leaving the override restores English: nothing sticks to the adapter.
    assert _messages(TG, LONG) == [
        "Telegram allows 4,096 characters in a text (emoji count as 2); this one has 5,000."
    ]


def test_every_text_limit_names_the_network_the_grouped_number_and_the_unit_in_words():
    from rupor.networks.base import TextUnit
    from rupor.networks.text import text_limit_message

    plain = text_limit_message("VK", TextUnit.CHARS, 16384, 20000, caption=False)
    assert plain == "VK allows 16,384 characters in a text; this one has 20,000."
    assert "(a Latin letter takes 1 byte" in text_limit_message(
        "Net", TextUnit.BYTES, 5000, 5001, caption=False
    )
    assert "5,000 bytes" in text_limit_message("Net", TextUnit.BYTES, 5000, 5001, caption=False)
    assert "(a link counts as 23" in text_limit_message("X", TextUnit.WEIGHTED, 280, 300, caption=True)
    assert "(an emoji or a letter with accents counts as 1)" in text_limit_message(
        "N", TextUnit.GRAPHEMES, 500, 501, caption=False
    )
    for unit in TextUnit:
        for caption in (False, True):
            message = text_limit_message("Net", unit, 1000, 1001, caption=caption)
            assert "1,000" in message and "1,001" in message, message
            assert not {"utf16", "graphemes", "weighted", "chars"} & set(message.split()), message


def test_file_size_limit_in_plain_units():
    from rupor.networks.base import Limits

    class Tiny(TelegramAdapter):
        limits = Limits(photo_max_bytes=5 * 1024 * 1024)

    big = Content(
        text="hi", media=(Media.from_bytes("photo", "big.png", "image/png", b"x" * (6 * 1024 * 1024)),)
    )
    assert "big.png is 6.0\xa0MB; Telegram allows at most 5.0\xa0MB." in _messages(Tiny(), big)


def test_counts_take_russian_plural_forms():
    too_many = Content(text="hi", poll=Poll("Q?", tuple(f"o{i}" for i in range(13))))
    with translation.override("ru"):
        assert "Telegram: в опросе максимум 12 вариантов ответа." in _messages(TG, too_many)
        few = _messages(OkAdapter(), Content(text="hi", poll=Poll("Q?", ("only",))))
        assert "Odnoklassniki: в опросе должно быть минимум 2 варианта ответа." in few
    assert "Telegram allows at most 12 poll options." in _messages(TG, too_many)


def test_adapter_specific_checks_are_translated():
    document = Content(text="hi", media=(Media.from_bytes("document", "a.pdf", "application/pdf", b"%PDF"),))
    assert "VK posts take photos and videos; a.pdf is a document." in _messages(VkAdapter(), document)
    with translation.override("ru"):
        assert "К постам ВКонтакте можно прикрепить фото и видео, а a.pdf — документ." in _messages(
            VkAdapter(), document
        )
        assert "Rupor не умеет закреплять посты в Odnoklassniki." in _messages(
            OkAdapter(), Content(text="hi", pin=True)
        )


def test_credential_labels_are_lazy_and_render_in_the_active_language():
    bot_token = TG.credential_fields[0]
    assert str(bot_token.label) == "Bot token"
    with translation.override("ru"):
        assert str(bot_token.label) == "Токен бота"
        assert str(bot_token.help).startswith("Из @BotFather")
    with translation.override("ko"):
        assert str(VkAdapter.credential_fields[1].label) == "커뮤니티 토큰"


def test_verify_explanation_in_russian():
    em = testing.start()
    try:
        channel = testing.broken_channel(em, "no_rights")
        with translation.override("ru"), pytest.raises(Rejected) as caught:
            TG.verify(channel)
        assert caught.value.message == "Бот не является администратором канала."
        with pytest.raises(Rejected) as caught:
            TG.verify(channel)
        assert caught.value.message == "The bot is not an administrator of the channel."
        with translation.override("ru"):
            info = TG.verify(testing.channel_for(em))
        assert any("Rupor показывает только реакции" in note for note in info.notes)
    finally:
        em.stop()


def test_dst_gap_refusal_in_russian():
    gap = dt.datetime(2025, 3, 30, 2, 30)  # a naive wall-clock time is the input here
    with pytest.raises(LocalTimeError) as caught:
        to_utc(gap, "Europe/Berlin")
    assert (
        str(caught.value)
        == "2025-03-30 02:30 does not exist in Europe/Berlin: the clocks jump forward over it."
    )
    with translation.override("ru"), pytest.raises(LocalTimeError) as caught:
        to_utc(gap, "Europe/Berlin")
    assert (
        str(caught.value)
        == "Времени 2025-03-30 02:30 нет в поясе Europe/Berlin: в этот момент часы переводят вперёд."
    )
