"""Share buttons: the snippet's links, escaping, accessibility and colours; the options' checks;
the service's UTM tagging by the workspace's conventions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.links.models import LinkSettings
from rupor.smo import service, share
from rupor.smo.catalog import SHARE_TARGETS, icons
from rupor.smo.share import ShareOptions


def _tree(snippet: str) -> LexborHTMLParser:
    return LexborHTMLParser(snippet)


def one(where: LexborHTMLParser | LexborNode, selector: str) -> LexborNode:
    found = where.css_first(selector)
    assert found is not None, selector
    return found


def test_each_network_has_its_documented_share_address() -> None:
    url, title = "https://example.com/a?b=1", "Spring & co"
    expected = {
        "vk": "https://vk.com/share.php?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&title=Spring%20%26%20co",
        "telegram": "https://t.me/share/url?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&text=Spring%20%26%20co",
        "ok": "https://connect.ok.ru/offer?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&title=Spring%20%26%20co",
        "facebook": "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1",
        "x": "https://twitter.com/intent/tweet?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&text=Spring%20%26%20co",
        "linkedin": "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1",
        "bluesky": "https://bsky.app/intent/compose?text=Spring%20%26%20co%20https%3A%2F%2Fexample.com%2Fa%3Fb%3D1",
        "mastodon": "https://mastodon.social/share?text=Spring%20%26%20co%20https%3A%2F%2Fexample.com%2Fa%3Fb%3D1",
    }
    assert {k: t.link(url, title, "mastodon.social") for k, t in SHARE_TARGETS.items()} == expected


def test_every_share_network_has_a_mark() -> None:
    for key in [*SHARE_TARGETS, "share"]:
        mark = icons()[key]
        assert re.fullmatch(r"#[0-9a-f]{6}", mark.colour) and mark.path.startswith(("M", "m"))


def test_a_fixed_page_snippet_works_without_its_script_and_escapes_what_was_typed() -> None:
    options = ShareOptions(
        networks=("vk", "x", "mastodon", "web_share"),
        page="fixed",
        url="https://example.com/news?id=1",
        title='Spring "menu" <b>& more</b>',
    )
    links = {k: f"https://example.com/news?id=1&utm_source={k}" for k in options.networks}
    snippet = share.snippet(options, links, "social")
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet
    tree = _tree(snippet)
    box = one(tree, ".rs-share")
    assert box.attributes["role"] == "group" and box.attributes["aria-label"] == "Share this page"
    assert box.attributes["data-rs-title"] == 'Spring "menu" <b>& more</b>'
    vk = one(tree, "a.rs-vk")
    assert vk.attributes["aria-label"] == "Share on VK"
    assert vk.attributes["rel"] == "noopener noreferrer" and vk.attributes["target"] == "_blank"
    shared = parse_qs(urlsplit(vk.attributes["href"] or "").query)
    assert shared["url"] == ["https://example.com/news?id=1&utm_source=vk"]
    assert shared["title"] == ['Spring "menu" <b>& more</b>']
    assert one(tree, "svg").attributes["aria-hidden"] == "true"
    native = one(tree, "button.rs-web_share")
    assert "hidden" in native.attributes  # shown by the script where navigator.share exists
    mastodon = one(tree, "details.rs-mastodon-box")
    assert one(mastodon, "input").attributes["value"] == "mastodon.social"
    assert one(mastodon, "label").text().startswith("Your Mastodon server")
    # The script is a constant: nothing typed ever lands inside it.
    script = one(tree, "script").text()
    assert script.strip() == share.SCRIPT.strip() and "menu" not in script
    assert "<script src" not in snippet and "<link" not in snippet  # nothing loaded from elsewhere


def test_the_current_page_is_filled_in_by_the_script_with_its_tags() -> None:
    snippet = share.snippet(ShareOptions(networks=("telegram",), campaign="spring"), {}, "paid_social")
    tree = _tree(snippet)
    link = one(tree, "a.rs-telegram")
    assert link.attributes["href"] == "#"
    assert link.attributes["data-rs-share"] == "https://t.me/share/url?url={url}&text={title}"
    box = one(tree, ".rs-share")
    assert box.attributes["data-rs-utm-medium"] == "paid_social"
    assert box.attributes["data-rs-utm-campaign"] == "spring"
    assert "data-rs-url" not in box.attributes


def test_styles_sizes_and_languages() -> None:
    icons_only = _tree(share.snippet(ShareOptions(networks=("vk",), style="icons", size="lg"), {}, "social"))
    assert icons_only.css_first(".rs-label") is None and icons_only.css_first("svg") is not None
    assert "height:48px" in one(icons_only, "style").text()
    labels = _tree(share.snippet(ShareOptions(networks=("vk",), style="labels"), {}, "social"))
    assert labels.css_first("svg") is None and one(labels, ".rs-label").text() == "VK"
    russian = _tree(share.snippet(ShareOptions(networks=("vk", "web_share"), language="ru"), {}, "social"))
    assert one(russian, "a.rs-vk").attributes["aria-label"] == "Поделиться в VK"
    assert one(russian, ".rs-share").attributes["aria-label"] == "Поделиться страницей"


@pytest.mark.parametrize("key", [*SHARE_TARGETS, "web_share"])
def test_button_colours_keep_white_text_readable(key: str) -> None:
    css = share.snippet(ShareOptions(networks=(key,)), {}, "social")
    found = re.search(rf"\.rs-{key}\{{background:(#[0-9a-f]{{6}});color:(#[0-9a-f]{{6}})\}}", css)
    assert found is not None
    assert share.contrast(found.group(1), found.group(2)) >= 4.5


def test_one_colour_buttons_pick_readable_text() -> None:
    css = share.snippet(ShareOptions(networks=("vk",), colour="mono", mono_colour="#fde047"), {}, "social")
    assert ".rs-vk{background:#fde047;color:#111111}" in css


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"networks": ["vk", "myspace"]}, "networks"),
        ({"networks": []}, "networks"),
        ({"style": "huge"}, "style"),
        ({"mono_colour": "red"}, "mono_colour"),
        ({"page": "fixed", "url": "javascript:alert(1)", "title": "x"}, "url"),
        ({"page": "fixed", "url": "https://example.com/"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"instance": "https://mastodon.social/@me"}, "instance"),
        ({"language": "de"}, "language"),
    ],
)
def test_bad_options_are_refused_with_the_field_to_blame(data: dict[str, Any], field: str) -> None:
    with pytest.raises(service.SmoError) as refused:
        service.parse_share_options(data)
    assert refused.value.field == field and refused.value.message


def test_options_keep_the_kit_order_and_read_comma_lists() -> None:
    options = service.parse_share_options(
        {"networks": "web_share, x,vk", "utm": "0", "campaign": "Spring Sale"}
    )
    assert options.networks == ("vk", "x", "web_share")
    assert options.utm is False and options.campaign == "spring_sale"


@pytest.mark.django_db
def test_the_kit_tags_each_network_by_the_workspace_conventions(make_workspace: Any) -> None:
    ws = make_workspace()
    LinkSettings.objects.create(workspace=ws, utm_enabled=True, medium="paid_social")
    actor = Actor(ws.pk, Role.EDITOR)
    options = service.parse_share_options(
        {
            "networks": ["vk", "bluesky"],
            "page": "fixed",
            "url": "https://shop.example/p?utm_campaign=mine",
            "title": "P",
        }
    )
    kit = service.share_kit(actor, options)
    tagged = parse_qs(urlsplit(kit.tagged["vk"]).query)
    assert tagged == {
        "utm_campaign": ["mine"],  # written by hand: kept
        "utm_source": ["vk"],
        "utm_medium": ["paid_social"],
        "utm_content": ["share_button"],
    }
    assert unquote(kit.links["bluesky"]).endswith(kit.tagged["bluesky"])
    assert kit.links["vk"] in kit.snippet.replace("&amp;", "&")
    with pytest.raises(service.SmoError) as refused:
        service.share_kit(Actor(ws.pk, Role.ANALYST), options)
    assert refused.value.status == 403
