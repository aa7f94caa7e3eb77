"""The composer's "Thread" field (X, Bluesky: posts after the first, separated by lines of ---),
its live check per post, the "Split into a thread" button, and saving and re-saving the parts."""

from __future__ import annotations

import json

from django.urls import reverse

from rupor.accounts.roles import Role
from rupor.networks.text import weighted_length
from rupor.planning.models import Post
from rupor.web import test_composer
from rupor.web.test_composer import World, _check, _connect

world = test_composer.world


def test_the_thread_field_shows_only_where_the_network_posts_threads(world: World) -> None:
    x = _connect(world.owner, "x", "Alpha X", "100")
    bluesky = _connect(world.owner, "bluesky", "Alpha Bluesky", "did:plc:alpha")
    page = world.client(Role.EDITOR).get(reverse("web:post_new")).content.decode()
    assert f'name="variant_thread_{x.pk}"' in page
    assert f'name="variant_thread_{bluesky.pk}"' in page
    assert f'name="variant_thread_{world.vk.pk}"' not in page
    assert f'name="variant_thread_{world.tg.pk}"' not in page
    assert "Separate the posts with a line of three dashes" in page


def test_each_post_of_the_thread_is_counted_and_its_problems_named(world: World) -> None:
    x = _connect(world.owner, "x", "Alpha X", "100")
    client = world.client(Role.EDITOR)
    body = _check(client, x, variant_text="First", variant_thread="Second\n---\n" + "字" * 141)
    assert "Post 2" in body and '<span class="count">6</span> / 280' in body
    assert '<li class="over">Post 3' in body and '<span class="count">282</span>' in body
    assert "Post 3 of the thread has 282; X allows 280." in body
    assert body.count('class="pv-x-post pv-x-reply"') == 2  # the preview shows both replies
    bluesky = _connect(world.owner, "bluesky", "Alpha Bluesky", "did:plc:alpha")
    sky = _check(client, bluesky, variant_text="First", variant_thread="👩‍👩‍👧" * 301)
    assert "Post 2 of the thread has 301; Bluesky allows 300." in sky


def test_the_thread_is_saved_shown_again_kept_on_resave_and_removed_when_cleared(world: World) -> None:
    x = _connect(world.owner, "x", "Alpha X", "100")
    client = world.client(Role.MANAGER)
    fields = {
        "text": "Our spring menu, in three posts",
        "title": "Thread",
        "channels": [x.pk],
        "action": "save",
        f"variant_thread_{x.pk}": "Coffee first\n---\nThen cake",
    }
    assert client.post(reverse("web:post_new"), fields).status_code == 302
    post = Post.objects.get(title="Thread")
    variant = post.variants.get(channel=x)
    assert variant.options == {"thread": ["Coffee first", "Then cake"]}
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "Coffee first\n---\nThen cake</textarea>" in page
    # Saved again as the page shows it: the parts stay.
    fields["text"] = "Our spring menu, in three posts!"
    assert client.post(reverse("web:post_edit", args=[post.pk]), fields).status_code == 302
    variant.refresh_from_db()
    assert variant.options == {"thread": ["Coffee first", "Then cake"]}
    fields[f"variant_thread_{x.pk}"] = "  \n---\n"
    assert client.post(reverse("web:post_edit", args=[post.pk]), fields).status_code == 302
    variant.refresh_from_db()
    assert variant.options == {}


def test_split_into_a_thread_is_offered_for_a_long_x_text_and_fills_the_field(world: World) -> None:
    x = _connect(world.owner, "x", "Alpha X", "100")
    client = world.client(Role.EDITOR)
    text = " ".join(f"Sentence {n} says something about the new roast." for n in range(15))
    body = _check(client, x, variant_text=text)
    assert "data-thread-split" in body and "Split into a thread" in body
    assert "data-thread-split" not in _check(client, x, variant_text="Short")
    res = client.post(
        reverse("web:post_thread_split"), {"channel": x.pk, "text": text, "thread": "Last word"}
    )
    assert res.status_code == 200
    data = json.loads(res.content)
    parts = [data["text"], *data["thread"].split("\n---\n")]
    assert parts[-1] == "Last word"  # what was typed in the field stays, after the split-off posts
    assert all(weighted_length(p) <= 280 for p in parts)
    assert " ".join(parts[:-1]) == text
    # Not a thread network, or not this workspace's channel: no split.
    assert (
        client.post(reverse("web:post_thread_split"), {"channel": world.vk.pk, "text": text}).status_code
        == 404
    )
    assert client.post(reverse("web:post_thread_split"), {"channel": "nope", "text": text}).status_code == 404
    assert (
        world.client(Role.ANALYST).post(reverse("web:post_thread_split"), {"channel": x.pk}).status_code
        == 403
    )
