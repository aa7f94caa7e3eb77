"""A published post in the web UI: its status everywhere, no "Post now" / "Add to queue", its
time kept, and a saved change sent out as an edit where the network allows it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from rupor.accounts.roles import Role
from rupor.channels.models import Channel
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.web.test_composer import World, _fast_and_private, world  # noqa: F401 - fixtures


def _published(w: World, channels: list[Channel], text: str = "Out there") -> Post:
    post = planning.create_post(
        w.owner,
        planning.PostInput(
            title=text,
            text=text,
            status=Post.Status.SCHEDULED,
            publish_now=True,
            variants=tuple(planning.VariantInput(c.pk) for c in channels),
        ),
    )
    PublicationTarget.objects.filter(variant__post=post).update(state=TargetState.PUBLISHED, remote_id="1_1")
    return post


def _form(w: World, post: Post, text: str) -> dict[str, Any]:
    local = timezone.localtime(post.scheduled_at, timezone=ZoneInfo(w.ws.timezone))
    channels = [v.channel_id for v in post.variants.all()]
    return {
        "text": text,
        "title": post.title,
        "channels": channels,
        "action": "save",
        "scheduled_at": local.strftime("%Y-%m-%dT%H:%M"),
    }


def test_the_list_says_published_and_filters_by_it(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    done = _published(world, [world.vk, world.tg])
    waiting = planning.create_post(
        world.owner,
        planning.PostInput(
            title="Later",
            text="Later",
            status=Post.Status.SCHEDULED,
            scheduled_at=timezone.now() + dt.timedelta(days=3),
            variants=(planning.VariantInput(world.vk.pk),),
        ),
    )
    client = world.client(Role.MANAGER)
    html = client.get(reverse("web:posts")).content.decode()
    assert 'data-status="published">Published</span>' in html
    published = client.get(reverse("web:posts"), {"status": "published"}).content.decode()
    scheduled = client.get(reverse("web:posts"), {"status": "scheduled"}).content.decode()
    assert reverse("web:post_edit", args=[done.pk]) in published
    assert reverse("web:post_edit", args=[waiting.pk]) not in published
    assert reverse("web:post_edit", args=[done.pk]) not in scheduled
    assert reverse("web:post_edit", args=[waiting.pk]) in scheduled
    dashboard = client.get(reverse("web:dashboard")).content.decode()
    assert 'data-status="published"' in dashboard


def test_a_published_post_offers_no_post_now_and_sends_an_edit(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    post = _published(world, [world.vk, world.tg])
    client = world.client(Role.MANAGER)
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert 'value="now"' not in page and 'value="queue"' not in page and 'value="schedule"' not in page
    assert "Saving a change sends it to the networks as an edit." in page
    assert 'data-status="published"' in page
    response = client.post(reverse("web:post_edit", args=[post.pk]), _form(world, post, "Corrected words"))
    assert response.status_code == 302, response.content.decode()
    states = set(PublicationTarget.objects.filter(variant__post=post).values_list("state", flat=True))
    assert states == {TargetState.EDITING}
    assert Post.objects.get(pk=post.pk).scheduled_at == post.scheduled_at


def test_a_network_that_cannot_edit_says_so_and_refuses(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    post = _published(world, [world.ok])
    client = world.client(Role.MANAGER)
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "Odnoklassniki cannot edit a published post" in page
    response = client.post(reverse("web:post_edit", args=[post.pk]), _form(world, post, "Corrected words"))
    assert response.status_code == 400
    assert "does not let a published post be edited" in response.content.decode()
    assert Post.objects.get(pk=post.pk).text == "Out there"
    assert set(PublicationTarget.objects.filter(variant__post=post).values_list("state", flat=True)) == {
        TargetState.PUBLISHED
    }


def test_a_new_time_for_a_published_post_is_refused(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    post = _published(world, [world.vk])
    client = world.client(Role.MANAGER)
    data = _form(world, post, "Out there")
    data["scheduled_at"] = "2035-01-01T10:00"
    response = client.post(reverse("web:post_edit", args=[post.pk]), data)
    assert response.status_code == 400
    assert "it stays at the time it went out" in response.content.decode()
    assert Post.objects.get(pk=post.pk).scheduled_at == post.scheduled_at


def test_the_calendar_shows_and_filters_the_status(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    done = _published(world, [world.vk, world.tg])
    half = _published(world, [world.vk, world.tg], text="Half out")
    PublicationTarget.objects.filter(variant__post=half, channel=world.tg).update(
        state=TargetState.UNCONFIRMED
    )
    client = world.client(Role.MANAGER)
    link_done = reverse("web:post_edit", args=[done.pk])
    link_half = reverse("web:post_edit", args=[half.pk])
    html = client.get(reverse("web:calendar")).content.decode()
    assert "cal-chip state-published" in html and "cal-chip state-needs_attention" in html
    published = client.get(reverse("web:calendar"), {"status": "published"}).content.decode()
    attention = client.get(reverse("web:calendar"), {"status": "needs_attention"}).content.decode()
    scheduled = client.get(reverse("web:calendar"), {"status": "scheduled"}).content.decode()
    assert link_done in published and link_half not in published
    assert link_half in attention and link_done not in attention
    assert link_done not in scheduled and link_half not in scheduled
    assert 'value="needs_attention"' in html and 'value="partially_published"' in html


def test_partly_published_names_only_the_published_network_that_cannot_edit(world: World) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    post = _published(world, [world.vk, world.ok])
    PublicationTarget.objects.filter(variant__post=post, channel=world.ok).update(state=TargetState.FAILED)
    client = world.client(Role.MANAGER)
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert 'data-status="partially_published"' in page
    assert "Odnoklassniki cannot edit" not in page  # nothing went out there: nothing to edit
    assert "Saving a change sends it to the networks as an edit." in page
