"""Telegram HTML parsing and UTF-16 counting, checked against the Bot API's formatting rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupor.networks.base import Content, Media, Poll
from rupor.networks.telegram.adapter import TelegramAdapter
from rupor.networks.telegram.formatting import (
    EntityParseError,
    escape,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    plain_length,
)
from rupor.networks.text import utf16_length


def test_supported_tags_become_entities_with_utf16_offsets():
    text, entities = parse_html(
        '😀 <b>bold</b> <i>it</i> <a href="https://t.me/x">link</a> <tg-spoiler>s</tg-spoiler>'
    )
    assert text == "😀 bold it link s"
    assert entities == [
        {"offset": 3, "length": 4, "type": "bold"},
        {"offset": 8, "length": 2, "type": "italic"},
        {"offset": 11, "length": 4, "type": "text_link", "url": "https://t.me/x"},
        {"offset": 16, "length": 1, "type": "spoiler"},
    ]


def test_every_documented_tag_is_accepted_and_nesting_works():
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
        '<span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>long</blockquote><b>bold <i>both</i></b>"
    )
    text, entities = parse_html(html)
    assert text == "bsieunskdptcx = 1qlongbold both"
    kinds = [e["type"] for e in entities]
    assert kinds.count("bold") == 3
    assert "expandable_blockquote" in kinds
    assert {"offset": 12, "length": 5, "type": "pre", "language": "python"} in entities


def test_the_four_named_entities_and_numeric_references_are_decoded():
    assert parse_html("&lt;b&gt; &amp; &quot;x&quot; &#128512; &#x41; &nbsp;")[0] == '<b> & "x" 😀 A &nbsp;'


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<x>hi</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("<b>hi</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("hi</b>", "Unexpected end tag at byte offset 2"),
        ("<b>hi", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("ж <b>x</b> a < b", 'Unsupported start tag "" at byte offset 14'),
    ],
)
def test_malformed_markup_gives_tdlib_messages(html, message):
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert str(caught.value) == message


@given(st.text())
def test_escaped_text_parses_back_to_itself(text):
    assert parse_html(escape(text))[0] == text
    assert plain_length(escape(text)) == utf16_length(text)


@given(
    st.lists(
        st.sampled_from(["a", "ж", "한", "😀", "e\u0301", "👍🏽", "\u0301", "&", "<"]),
        min_size=1,
        max_size=2500,
    ).map("".join)
)
def test_adapter_limit_is_utf16_units(text):
    adapter = TelegramAdapter()
    problems = adapter.validate(Content(text=text))
    too_long = utf16_length(text) > 4096
    assert any(p.field == "text" for p in problems) == too_long


def test_limits_count_emoji_as_two_and_combining_marks_separately():
    adapter = TelegramAdapter()
    assert adapter.text_length("😀") == 2
    assert adapter.text_length("e\u0301") == 2  # e + combining acute accent
    assert not adapter.validate(Content(text="😀" * 2048))
    assert adapter.validate(Content(text="😀" * 2048 + "a"))
    # Markup does not count: this is 4096 visible characters.
    html = "<b>" + "я" * 4096 + "</b>"
    assert not adapter.validate(Content(text=html, options={"format": "html"}))
    assert adapter.validate(Content(text="<b>x</i>", options={"format": "html"}))[0].field == "text"


def test_caption_limit_and_album_and_poll_rules():
    adapter = TelegramAdapter()
    photo = Media.from_bytes("photo", "a.png", "image/png", b"x")
    assert adapter.validate(Content(text="a" * 1025, media=(photo,)))
    assert not adapter.validate(Content(text="a" * 1024, media=(photo,)))
    assert adapter.validate(Content(text="a", media=(photo,) * 11))
    assert adapter.validate(Content(poll=Poll("Q?", tuple(str(i) for i in range(13)))))
    assert adapter.validate(Content(poll=Poll("Q?", ("a", "b"), anonymous=False)))
    assert not adapter.validate(Content(poll=Poll("Q?", ("a", "b"))))


def test_markdown_v2_entities_escapes_and_reserved_characters():
    text, entities = parse_markdown_v2("*bold* _it_ __u__ ~s~ ||sp|| [link](https://x.y) `co.de` 1\\.5 😀")
    assert text == "bold it u s sp link co.de 1.5 😀"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
    ]
    assert entities[5]["url"] == "https://x.y"
    assert parse_markdown_v2("```python\nx = 1.\n```") == (
        "x = 1.\n",
        [{"offset": 0, "length": 7, "type": "pre", "language": "python"}],
    )
    with pytest.raises(
        EntityParseError, match=r"Character '\.' is reserved and must be escaped with the preceding"
    ):
        parse_markdown_v2("Hello.")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*bold")


def test_legacy_markdown():
    assert parse_markdown("*b* _i_ [t](http://a) 1.5")[0] == "b i t 1.5"
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte offset 0"):
        parse_markdown("*b")
