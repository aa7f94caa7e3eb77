"""Community widgets: each network's embed code from the channel's ids and its newest post, the
values a person types (checked), and the service over the workspace's channels."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels.models import Channel
from rupor.networks.graph.wire import VERSION
from rupor.smo import service
from rupor.smo.widgets import ChannelFacts, widgets_for


def _one(facts: ChannelFacts, overrides: dict[str, str] | None = None, lang: str = "en") -> Any:
    (widget,) = widgets_for(facts, overrides or {}, lang)
    return widget


def test_vk_and_ok_widgets_come_from_the_channel_ids() -> None:
    vk = _one(ChannelFacts(1, "vk", "Bakery", "-42"))
    assert (
        'VK.Widgets.Group("vk_groups_42", {mode: 4, wide: 1, width: "auto", height: 400}, 42);' in vk.snippet
    )
    assert '<script src="https://vk.com/js/api/openapi.js?169"></script>' in vk.snippet
    ok = _one(ChannelFacts(2, "ok", "Bakery", "70000000000001"))
    assert 'OK.CONNECT.insertGroupWidget("ok_group_70000000000001", "70000000000001"' in ok.snippet
    assert ok.script_host == "connect.ok.ru"
    assert _one(ChannelFacts(3, "vk", "Odd", "someone")).snippet == ""


def test_the_facebook_page_plugin_names_the_page_and_speaks_the_language() -> None:
    widget = _one(ChannelFacts(4, "facebook", "Rupor <Coffee>", "104000000000001"), lang="ru")
    assert 'data-href="https://www.facebook.com/104000000000001"' in widget.snippet
    assert f"connect.facebook.net/ru_RU/sdk.js#xfbml=1&amp;version={VERSION}" in widget.snippet
    assert "Rupor &lt;Coffee&gt;" in widget.snippet


def test_telegram_widgets_read_the_newest_post_and_accept_typed_values() -> None:
    facts = ChannelFacts(
        5, "telegram", "News", "-1001", post_remote_id="43,44", post_url="https://t.me/rupor_news/43"
    )
    post, discussion = widgets_for(facts, {}, "en")
    assert 'data-telegram-post="rupor_news/43"' in post.snippet
    assert 'data-telegram-discussion="rupor_news"' in discussion.snippet
    private = ChannelFacts(6, "telegram", "News", "-1001", post_remote_id="7")
    post, discussion = widgets_for(private, {}, "en")
    assert post.snippet == "" and discussion.snippet == ""
    assert [f.value for f in post.fields] == ["", "7"]
    typed, _ = widgets_for(private, {"6-username": "@rupor_news", "6-post": "abc"}, "en")
    assert typed.snippet == "" and typed.fields[1].error
    typed, discussion = widgets_for(private, {"6-username": "@rupor_news", "6-post": "12"}, "en")
    assert 'data-telegram-post="rupor_news/12"' in typed.snippet
    assert 'data-telegram-discussion="rupor_news"' in discussion.snippet


def test_x_timeline_needs_the_handle() -> None:
    found = _one(ChannelFacts(7, "x", "Rupor", "1600", post_url="https://x.com/rupor_demo/status/1"))
    assert (
        'href="https://twitter.com/rupor_demo"' in found.snippet and "Posts by @rupor_demo" in found.snippet
    )
    empty = _one(ChannelFacts(8, "x", "Rupor", "1600"))
    assert empty.snippet == "" and empty.fields[0].name == "handle"
    bad = _one(ChannelFacts(8, "x", "Rupor", "1600"), {"8-handle": "not a handle"})
    assert bad.snippet == "" and bad.fields[0].error


def test_post_embeds_of_mastodon_bluesky_and_linkedin() -> None:
    mastodon = _one(ChannelFacts(9, "mastodon", "Rupor", "1", post_url="https://social.example/@rupor/1234"))
    assert 'src="https://social.example/@rupor/1234/embed"' in mastodon.snippet
    assert 'src="https://social.example/embed.js"' in mastodon.snippet
    uri = "at://did:plc:abc/app.bsky.feed.post/3kxyz"
    bluesky = _one(ChannelFacts(10, "bluesky", "Rupor", "did:plc:abc", post_remote_id=uri))
    assert (
        f'data-bluesky-uri="{uri}"' in bluesky.snippet and "embed.bsky.app/static/embed.js" in bluesky.snippet
    )
    from_url = _one(
        ChannelFacts(10, "bluesky", "Rupor", "did:plc:abc"),
        {"10-post": "https://bsky.app/profile/rupor.example/post/3kq"},
    )
    assert 'data-bluesky-uri="at://rupor.example/app.bsky.feed.post/3kq"' in from_url.snippet
    linkedin = _one(ChannelFacts(11, "linkedin", "Rupor", "10000001", post_remote_id="urn:li:share:7100"))
    assert 'src="https://www.linkedin.com/embed/feed/update/urn:li:share:7100"' in linkedin.snippet
    wrong = _one(ChannelFacts(9, "mastodon", "Rupor", "1"), {"9-post": "javascript:alert(1)"})
    assert wrong.snippet == "" and wrong.fields[0].error


def test_networks_without_a_widget_get_none() -> None:
    assert widgets_for(ChannelFacts(12, "youtube", "Rupor", "UC1"), {}, "en") == []


@pytest.mark.django_db
def test_the_service_builds_widgets_for_the_workspace_live_channels_only(make_workspace: Any) -> None:
    ws = make_workspace()
    other = make_workspace("Other")
    Channel.objects.create(workspace=ws, network="vk", name="Bakery VK", remote_id="42")
    Channel.objects.create(workspace=ws, network="telegram", name="Bakery TG", remote_id="@bakery_news")
    Channel.objects.create(workspace=ws, network="ok", name="Gone", remote_id="7", status="archived")
    Channel.objects.create(workspace=other, network="vk", name="Theirs", remote_id="99")
    found = service.community_widgets(Actor(ws.pk, Role.EDITOR), {}, language="en")
    assert [(w.channel_name, w.kind) for w in found] == [
        ("Bakery VK", "community"),
        ("Bakery TG", "post"),
        ("Bakery TG", "discussion"),
    ]
    assert 'data-telegram-discussion="bakery_news"' in found[2].snippet
    with pytest.raises(service.SmoError):
        service.community_widgets(Actor(ws.pk, Role.MODERATOR), {})
