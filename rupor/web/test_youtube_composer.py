"""A YouTube variant in the composer: its own title, tags, privacy, public-at time and playlist go
into ``Content.options``, come back when editing, and the preview looks like a watch page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from rupor.accounts.roles import Role
from rupor.channels import service as channels
from rupor.core import http
from rupor.networks.youtube import testing
from rupor.planning.models import Post
from rupor.web import test_composer
from rupor.web.test_composer import World, _check

world = test_composer.world


@pytest.fixture
def youtube() -> Any:
    running = testing.start()
    http.allow_origin(running.url)
    yield running
    running.stop()


def _channel(world: World, running: Any) -> Any:
    return channels.connect(
        world.owner,
        channels.ChannelInput(
            network="youtube",
            remote_id=testing.DEMO_REMOTE_ID,
            base_url=running.url,
            credentials=testing.demo_credentials(),
        ),
    )


def test_the_youtube_options_are_saved_and_shown_again(world: World, youtube: Any) -> None:
    channel = _channel(world, youtube)
    client = world.client(Role.MANAGER)
    fields = {
        "text": "Roasting day\nHow we roast, step by step.",
        "title": "Roast",
        "channels": [channel.pk],
        "action": "save",
        f"variant_yt_title_{channel.pk}": "How we roast",
        f"variant_yt_tags_{channel.pk}": "coffee, roasting",
        f"variant_yt_privacy_{channel.pk}": "unlisted",
        f"variant_yt_publish_at_{channel.pk}": "2099-05-01T09:30",
        f"variant_yt_playlist_{channel.pk}": "PLrupor0demo0launches",
    }
    assert client.post(reverse("web:post_new"), fields).status_code == 302
    variant = Post.objects.get(title="Roast").variants.get(channel=channel)
    assert variant.options == {
        "title": "How we roast",
        "tags": "coffee, roasting",
        "privacy": "unlisted",
        "publish_at": "2099-05-01T09:30:00Z",
        "playlist": "PLrupor0demo0launches",
    }
    page = client.get(reverse("web:post_edit", args=[variant.post_id])).content.decode()
    assert 'value="How we roast"' in page and 'value="unlisted" selected' in page
    assert 'value="2099-05-01T09:30"' in page
    fields.update({f"variant_yt_privacy_{channel.pk}": "", f"variant_yt_publish_at_{channel.pk}": ""})
    assert client.post(reverse("web:post_edit", args=[variant.post_id]), fields).status_code == 302
    variant.refresh_from_db()
    assert "privacy" not in variant.options and "publish_at" not in variant.options


def test_the_preview_looks_like_a_watch_page_and_asks_for_a_video(world: World, youtube: Any) -> None:
    channel = _channel(world, youtube)
    body = _check(
        world.client(Role.EDITOR),
        channel,
        variant_text="Roasting day\nHow we roast <b>",
        variant_yt_tags="coffee",
    )
    assert "pv-yt" in body and "Roasting day" in body and "#coffee" in body
    assert "&lt;b&gt;" in body  # escaped
    assert "attach exactly one video file" in body
    assert "YouTube does not accept &lt; or &gt; in a description." in body
