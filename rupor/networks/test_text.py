from hypothesis import given
from hypothesis import strategies as st

from rupor.networks.base import TextUnit
from rupor.networks.text import grapheme_length, measure, utf16_length, weighted_length


def test_utf16_counts_astral_characters_as_two_units():
    assert utf16_length("привет") == 6
    assert utf16_length("😀") == 2
    assert utf16_length("👍🏽") == 4  # emoji + skin tone modifier
    assert utf16_length("한국어") == 3


def test_graphemes_join_combining_marks_and_emoji_sequences():
    assert grapheme_length("é") == 1  # e + combining acute
    assert grapheme_length("👨‍👩‍👧") == 1
    assert grapheme_length("й") == 1  # и + combining breve
    assert measure("👨‍👩‍👧", TextUnit.BYTES) == 18


def test_weighted_length_counts_urls_as_23_and_cjk_as_two():
    assert weighted_length("hello") == 5
    assert weighted_length("see https://example.com/a/very/long/path/that/goes/on") == 4 + 23
    assert weighted_length("한국") == 4


@given(st.text())
def test_units_are_ordered_for_any_text(text):
    graphemes = grapheme_length(text)
    chars = len(text)
    assert graphemes <= chars <= utf16_length(text) <= measure(text, TextUnit.BYTES) or text == ""
    assert utf16_length(text) <= 2 * chars
