"""Adapting, not copying: the similarity of variants, the groups of alike variants, each
network's conventions and the soft checks that follow from them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import translation

from rupor.networks import registry
from rupor.planning import conventions
from rupor.planning.conventions import VariantText, advice, normalise, same_texts, similarity


@dataclass
class Pic:
    kind: str = "photo"
    alt_text: str = ""


def codes(network: str, text: str = "Hello", **kw: object) -> list[str]:
    return [a.code for a in advice(network, text=text, **kw)]  # type: ignore[arg-type]  # test keywords


# -- similarity ------------------------------------------------------------------------------


def test_normalise_drops_case_spacing_punctuation_and_links() -> None:
    assert normalise("  Big NEWS!\n\nRead: https://example.com/a?b=1  now ") == "big news read now"
    assert normalise("www.example.com Hello") == "hello"


def test_identical_after_normalising_is_one() -> None:
    a = "Our new shop opens on Monday. Come by! https://shop.example/a"
    b = "our new shop opens on monday —  come by\nhttps://shop.example/vk-utm"
    assert similarity(a, b) == 1.0


def test_nearly_identical_is_at_least_the_mark_and_different_is_far_below() -> None:
    a = "Our new shop opens on Monday at ten. Come by and get a coffee on us."
    b = "Our new shop opens on Monday at ten. Come by and get a tea on us."
    assert conventions.SIMILAR_RATIO <= similarity(a, b) < 1.0
    c = "Monday: doors open at 10. Free coffee for the first fifty visitors 🎉"
    assert similarity(a, c) < 0.7


def test_empty_texts_are_not_alike() -> None:
    assert similarity("", "") == 0.0
    assert similarity("https://example.com", "https://example.com") == 0.0  # only a link: nothing written


def test_very_long_texts_are_compared_within_the_cap() -> None:
    a = "word " * 50_000
    assert similarity(a, a + "tail") == 1.0  # both cut to COMPARED_WORDS


# -- groups ----------------------------------------------------------------------------------------


def test_same_text_on_different_networks_is_one_group_naming_them() -> None:
    text = "Spring sale: 20% off everything until Sunday."
    groups = same_texts(
        [
            VariantText(1, "Shop (VKontakte)", "vk", text),
            VariantText(2, "Shop (Telegram)", "telegram", text + " "),
            VariantText(3, "Shop (Odnoklassniki)", "ok", "Dear friends, spring is here and so is our sale!"),
        ]
    )
    assert len(groups) == 1
    assert groups[0].keys == [1, 2] and groups[0].identical
    assert "Shop (VKontakte)" in groups[0].message and "Shop (Telegram)" in groups[0].message


def test_two_channels_of_one_network_may_share_a_text() -> None:
    text = "The same news for two VK groups."
    assert same_texts([VariantText(1, "A", "vk", text), VariantText(2, "B", "vk", text)]) == []


def test_a_chain_of_alike_variants_joins_and_reports_the_least_alike_pair() -> None:
    a = "Our new shop opens on Monday at ten. Come by and get a coffee on us."
    b = "Our new shop opens on Monday at ten. Come by and get a tea on us."
    groups = same_texts(
        [VariantText(1, "VK", "vk", a), VariantText(2, "TG", "telegram", a), VariantText(3, "OK", "ok", b)]
    )
    assert len(groups) == 1 and groups[0].keys == [1, 2, 3]
    assert not groups[0].identical and groups[0].similarity == pytest.approx(similarity(a, b))
    assert "%" in groups[0].message


# -- conventions ----------------------------------------------------------------------------------


def test_every_network_has_a_convention_translated() -> None:
    # Every network but the tests' own name-only one (rupor/conftest.py).
    assert set(conventions.CONVENTIONS) == set(registry.DISPLAY_NAMES) - {"examplenet"}
    for key, conv in conventions.CONVENTIONS.items():
        assert conv.network == key and conv.summary and conv.tips
        with translation.override("en"):
            english = str(conv.summary)
        for language in ("ru", "ko"):
            with translation.override(language):
                assert str(conv.summary) != english, (key, language)


def test_tips_are_translated() -> None:
    for conv in conventions.CONVENTIONS.values():
        with translation.override("en"):
            english = [str(t) for t in conv.tips]
        for language in ("ru", "ko"):
            with translation.override(language):
                assert all(str(t) != e for t, e in zip(conv.tips, english, strict=True)), (
                    conv.network,
                    language,
                )


def test_unknown_network_has_no_advice() -> None:
    assert conventions.convention("myspace") is None
    assert advice("myspace", text="x" * 10_000, media=[Pic()]) == []


# -- checks ------------------------------------------------------------------------------------------


def test_instagram_needs_a_picture_or_video() -> None:
    assert "needs_media" in codes("instagram")
    assert "needs_media" not in codes("instagram", media=[Pic(alt_text="A cat")])
    assert "needs_media" not in codes("instagram", media=[Pic(kind="video")])
    assert "needs_media" in codes("youtube") and "needs_media" not in codes("vk")


@pytest.mark.parametrize("network", ["mastodon", "bluesky", "x", "linkedin", "facebook", "instagram"])
def test_alt_text_missing_where_the_network_takes_it(network: str) -> None:
    found = advice(network, text="Hi", media=[Pic(), Pic(alt_text="A red square"), Pic(alt_text="  ")])
    alt = [a for a in found if a.code == "alt_missing"]
    assert len(alt) == 1 and alt[0].message.startswith("2 ")
    assert "alt_missing" not in codes(network, media=[Pic(alt_text="A red square"), Pic(kind="video")])


@pytest.mark.parametrize("network", ["vk", "telegram", "ok", "youtube"])
def test_no_alt_text_advice_where_the_network_has_no_alt_text(network: str) -> None:
    assert "alt_missing" not in codes(network, media=[Pic()])


def test_a_link_in_an_instagram_caption_does_not_click() -> None:
    media = [Pic(alt_text="x")]
    assert "link_not_clickable" in codes("instagram", text="See https://shop.example/new", media=media)
    assert "link_not_clickable" in codes("instagram", text="See it", media=media, link="https://shop.example")
    assert "link_not_clickable" not in codes("instagram", text="Link in bio", media=media)
    assert "link_not_clickable" not in codes("vk", text="See https://shop.example/new")


def test_x_over_one_post_suggests_a_thread() -> None:
    assert "long" not in codes("x", text="a" * 280)
    found = advice("x", text="a" * 281)
    assert [a.code for a in found] == ["long"] and "thread" in found[0].message


def test_long_is_measured_in_the_networks_unit() -> None:
    # X counts a link as 23: with that measure a text of 250 letters and a long link is one post.
    text = "a" * 250 + " https://example.com/" + "p" * 100
    assert "long" in codes("x", text=text)
    assert "long" not in [a.code for a in advice("x", text=text, length=lambda t: 250 + 1 + 23)]


def test_vk_and_telegram_very_long() -> None:
    assert "long" in codes("vk", text="word " * 300) and "long" not in codes("vk", text="word " * 150)
    assert "long" in codes("telegram", text="word " * 500) and "long" not in codes(
        "telegram", text="word " * 300
    )
    assert "long" not in codes("facebook", text="word " * 3000)  # long and expert is welcome there


def test_hashtag_overuse_per_network() -> None:
    six = "News " + " ".join(f"#tag{i}" for i in range(6))
    assert "hashtags" in codes("instagram", text=six, media=[Pic(alt_text="x")])
    assert "hashtags" in codes("x", text="Hi #one #two #three")
    assert "hashtags" not in codes("x", text="Hi #one #two")
    assert "hashtags" not in codes("mastodon", text=six)  # hashtags are how people find posts there
    assert "hashtags" not in codes("x", text="See https://example.com/#a#b#c and issue#1 &#39;")


def test_youtube_title_is_the_first_line() -> None:
    assert "long_title" in codes("youtube", text="T" * 71 + "\nDescription", media=[Pic(kind="video")])
    assert "long_title" not in codes("youtube", text="Short title\n" + "d" * 500, media=[Pic(kind="video")])
