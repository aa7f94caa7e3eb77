"""The composer's preview shows the post as it will look, without figures it does not have yet."""

from __future__ import annotations

import re

import pytest

from rupor.accounts.roles import Role
from rupor.web import test_composer
from rupor.web.test_composer import World, _check

world = test_composer.world  # the composer tests' workspace, channels and media


def _preview(body: str, channel_id: int) -> str:
    match = re.search(rf'id="preview-{channel_id}"[^>]*>(.*)', body, re.S)
    assert match, body
    return match.group(1)


@pytest.mark.parametrize("network", ["vk", "tg", "ok"])
def test_preview_invents_no_view_counts_or_other_figures(world: World, network: str) -> None:
    channel = getattr(world, network)
    body = _check(
        world.client(Role.EDITOR), channel, variant_text="Hello there", variant_first_comment="Details below"
    )
    shown = _preview(body, channel.pk)
    text = re.sub(r"<[^>]+>", " ", shown)
    text = re.sub(r"\b\d{1,2}:\d{2}\b", " ", text)  # the planned time, when there is one
    assert "Hello there" in text
    assert not re.search(r"\d", text), text  # no "👁 1", no likes or shares the post does not have
    assert "pv-views" not in shown
    assert "{#" not in shown  # template comments stay comments


def test_x_preview_looks_like_a_post_on_x_and_counts_weighted_characters(world: World) -> None:
    from rupor.web.test_composer import _connect

    x = _connect(world.owner, "x", "Alpha X", "1600000000000000001")
    client = world.client(Role.EDITOR)
    body = _check(client, x, variant_text="界" * 100 + " https://example.com/" + "a" * 80)
    shown = _preview(body, x.pk)
    assert "pv-x-post" in shown
    assert "@Alpha_X" in shown
    assert "224" in body  # 100 CJK characters weigh 2 each (200), the space 1, the link 23
    over = _check(client, x, variant_text="界" * 141)
    assert "282" in over
    assert "280" in over


def test_facebook_preview_folds_long_text_behind_see_more(world: World) -> None:
    from rupor.web.test_composer import _connect

    page = _connect(world.owner, "facebook", "Alpha Page", "104000000000009")
    client = world.client(Role.EDITOR)
    long_text = "Coffee news. " * 60
    shown = _preview(
        _check(client, page, variant_text=long_text, variant_link="https://example.com/beans"), page.pk
    )
    assert "pv-fb" in shown
    assert "See more" in shown  # 780 characters: Facebook folds after about 480
    assert "EXAMPLE.COM" in shown  # the link card names the site as Facebook does
    text = re.sub(r"<[^>]+>", " ", shown)
    text = re.sub(r"\b\d{1,2}:\d{2}\b", " ", text)
    assert not re.search(r"\d", text.replace("beans", ""))  # no invented likes or shares
    short = _preview(_check(client, page, variant_text="Short one"), page.pk)
    assert "See more" not in short


def test_instagram_preview_is_a_picture_first_post_and_says_what_happens_to_the_picture(world: World) -> None:
    from rupor.planning import media as media_lib
    from rupor.web.test_composer import _connect, _png

    ig = _connect(world.owner, "instagram", "Alpha Coffee", "17841400000000001")
    client = world.client(Role.EDITOR)
    wide = media_lib.save_media(world.owner, "panorama.png", _png(3000, 1000))
    body = _check(
        client, ig, variant_text="Fresh roast today", variant_media=[wide.pk], variant_media_follows="0"
    )
    shown = _preview(body, ig.pk)
    assert "pv-ig" in shown
    assert "aspect-ratio: 1.910 / 1" in shown  # the feed shows it cropped to Instagram's widest
    assert "Fresh roast today" in shown
    assert "will be converted to JPEG" in body
    assert "crops it to the middle" in body
    text_only = _check(client, ig, variant_text="Only words")
    assert "Instagram has no text-only posts" in text_only
