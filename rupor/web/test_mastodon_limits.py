"""A Mastodon channel's limits are its instance's: read from ``/api/v2/instance`` when the channel
is connected or verified again, kept on the channel, and what the composer counts against."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.accounts.roles import Role
from rupor.channels import service as channels
from rupor.core import http
from rupor.networks.base import LIMITS_SETTING
from rupor.networks.mastodon import emulator as emu
from rupor.networks.mastodon import testing
from rupor.web import test_composer
from rupor.web.test_composer import World, _check

world = test_composer.world


@pytest.fixture
def instance() -> Any:
    running = testing.start(max_characters=1000)
    http.allow_origin(running.url)
    yield running
    running.stop()


def test_the_composer_counts_against_the_instances_own_limit(world: World, instance: Any) -> None:
    channel = channels.connect(
        world.owner,
        channels.ChannelInput(
            network="mastodon", base_url=instance.url, credentials={"access_token": emu.DEMO_TOKEN}
        ),
    )
    assert channel.settings[LIMITS_SETTING]["text_max"] == 1000
    assert channel.remote_id == emu.DEMO_ACCOUNT_ID
    client = world.client(Role.EDITOR)
    fits = _check(client, channel, variant_text="a" * 800)
    assert "/ 1,000" in fits or "/ 1000" in fits or "/ 1 000" in fits
    assert "Fits the network" in fits
    over = _check(client, channel, variant_text="a" * 1001)
    assert "allows 1,000" in over or "allows 1000" in over or "allows 1 000" in over
    # The instance changes its limit; verifying the channel again brings the new one.
    instance.app.emulator.configuration["statuses"]["max_characters"] = 600
    channels.update(world.owner, channel.pk, {"credentials": {"access_token": emu.DEMO_TOKEN}})
    channel.refresh_from_db()
    assert channel.settings[LIMITS_SETTING]["text_max"] == 600
    assert "allows 600" in _check(client, channel, variant_text="a" * 700)


def test_the_preview_looks_like_a_mastodon_post(world: World, instance: Any) -> None:
    channel = channels.connect(
        world.owner,
        channels.ChannelInput(
            network="mastodon", base_url=instance.url, credentials={"access_token": emu.DEMO_TOKEN}
        ),
    )
    body = _check(
        world.client(Role.EDITOR),
        channel,
        variant_text="Behind the warning https://example.com/" + "x" * 100,
        variant_spoiler_text="Spoilers",
        variant_visibility="unlisted",
    )
    assert "pv-masto" in body
    assert "Spoilers" in body and "Show more" in body
    assert "links count as 23" in body
    assert '<span class="count">42</span> / 1,000' in body  # 19 characters and a link of 23


def test_the_mastodon_options_are_saved_and_shown_again(world: World, instance: Any) -> None:
    from django.urls import reverse

    from rupor.planning.models import Post

    channel = channels.connect(
        world.owner,
        channels.ChannelInput(
            network="mastodon", base_url=instance.url, credentials={"access_token": emu.DEMO_TOKEN}
        ),
    )
    client = world.client(Role.MANAGER)
    fields = {
        "text": "Coffee notes",
        "title": "Notes",
        "channels": [channel.pk],
        "action": "save",
        f"variant_spoiler_text_{channel.pk}": "Long read",
        f"variant_visibility_{channel.pk}": "private",
        f"variant_language_{channel.pk}": "EN",
    }
    assert client.post(reverse("web:post_new"), fields).status_code == 302
    post = Post.objects.get(title="Notes")
    variant = post.variants.get(channel=channel)
    assert variant.options == {"spoiler_text": "Long read", "visibility": "private", "language": "en"}
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert 'value="Long read"' in page and 'value="private" selected' in page
    # Cleared in the composer, gone from the variant.
    fields.update({f"variant_spoiler_text_{channel.pk}": "", f"variant_visibility_{channel.pk}": ""})
    assert client.post(reverse("web:post_edit", args=[post.pk]), fields).status_code == 302
    variant.refresh_from_db()
    assert variant.options == {"language": "en"}
