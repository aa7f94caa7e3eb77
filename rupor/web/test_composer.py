"""The composer through Django's test client: live validation of whole variants (text, media,
polls, links) in each network's units, previews that escape what people type, media picked
and uploaded per variant, post now / add to queue, approvals by role, and refusals that keep
everything typed."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Role
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning import slots
from rupor.planning.models import Media, Post, Review
from rupor.web import previews

PASSWORD = "a-long-enough-passphrase-42"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_and_private(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _png(
    width: int = 64, height: int = 48, fmt: str = "PNG", colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, fmt)
    return out.getvalue()


def _connect(actor: accounts.Actor, network: str, name: str, remote_id: str) -> Channel:
    creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
    return channels.connect(
        actor,
        channels.ChannelInput(network=network, name=name, remote_id=remote_id, credentials=creds),
        verify=False,
    )


@dataclass
class World:
    ws: Workspace
    users: dict[Role, User]
    owner: accounts.Actor
    vk: Channel
    tg: Channel
    ok: Channel
    photo: Media
    other_media: Media

    def client(self, role: Role) -> Client:
        client = Client()
        client.force_login(self.users[role])
        session = client.session
        session[SESSION_KEY] = self.ws.slug
        session.save()
        return client


@pytest.fixture
def world(db: Any) -> World:
    users = {
        role: accounts.create_user(f"{role.value}@example.com", PASSWORD, name=role.value.title())
        for role in Role
    }
    ws = accounts.create_workspace("Alpha", users[Role.OWNER], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users[Role.OWNER], ws)
    assert owner is not None
    for role, user in users.items():
        if role is not Role.OWNER:
            accounts.add_member(owner, user.email, role.value)
    vk = _connect(owner, "vk", "Alpha VK", "1")
    tg = _connect(owner, "telegram", "Alpha Telegram", "@alpha")
    ok = _connect(owner, "ok", "Alpha OK", "2")
    photo = media_lib.save_media(owner, "sunrise.png", _png())
    stranger = accounts.create_user("stranger@example.com", PASSWORD)
    other = accounts.create_workspace("Beta", stranger)
    other_actor = accounts.actor_for_user(stranger, other)
    assert other_actor is not None
    other_media = media_lib.save_media(other_actor, "secret.png", _png(colour=(1, 2, 3)))
    return World(ws, users, owner, vk, tg, ok, photo, other_media)


def _future(days: int = 2) -> str:
    return (clock.now() + dt.timedelta(days=days)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def _check(client: Client, channel: Channel, **fields: Any) -> str:
    data = {"channel": channel.pk, "text": fields.pop("text", ""), "channels": [channel.pk]}
    data.update({f"{k}_{channel.pk}" if k.startswith("variant_") else k: v for k, v in fields.items()})
    response = client.post(reverse("web:post_check"), data)
    assert response.status_code == 200, response.content
    return response.content.decode()


# -- previews ------------------------------------------------------------------------------------


def test_script_in_the_text_is_escaped_in_every_preview(world: World) -> None:
    client = world.client(Role.EDITOR)
    evil = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    for channel in (world.vk, world.tg, world.ok):
        body = _check(client, channel, variant_text=evil, variant_first_comment=evil)
        assert "<script>" not in body and "<img src=x" not in body, channel.network
        assert "&lt;script&gt;" in body
    # Telegram HTML mode: markup Telegram refuses is shown as typed (escaped) with the reason.
    body = _check(client, world.tg, variant_text=evil, variant_format="html")
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "formatting is invalid" in body


def test_telegram_html_is_rendered_as_telegram_would(world: World) -> None:
    client = world.client(Role.EDITOR)
    text = (
        '<b>Bold</b> and <a href="https://example.com/x">a link</a> and <a href="javascript:alert(1)">bad</a>'
    )
    body = _check(client, world.tg, variant_text=text, variant_format="html")
    assert "<strong>Bold</strong>" in body
    assert 'href="https://example.com/x"' in body
    assert "javascript:" not in body
    # Counted after parsing, in UTF-16 units: "Bold and a link and bad" is 23.
    assert ">23</span> / 4,096" in body
    # Without the formatting switch the tags are plain text, as Telegram shows them.
    plain = _check(client, world.tg, variant_text="<b>Bold</b>")
    assert "<strong>" not in plain and "&lt;b&gt;Bold&lt;/b&gt;" in plain


def test_render_entities_nests_and_escapes() -> None:
    html = previews.render_entities(
        "a<b> 😀 bold",
        [{"offset": 8, "length": 4, "type": "bold"}, {"offset": 0, "length": 12, "type": "italic"}],
    )
    assert str(html) == "<em>a&lt;b&gt; 😀 <strong>bold</strong></em>"


def test_vk_preview_folds_long_text_and_shows_media_poll_link(world: World) -> None:
    client = world.client(Role.EDITOR)
    long_text = "Word " * 120
    body = _check(
        client,
        world.vk,
        variant_text=long_text,
        variant_media=[world.photo.pk],
        variant_media_follows="0",
        variant_link="https://example.com/article",
        variant_poll="1",
        variant_poll_question="Coffee or tea?",
        variant_poll_option=["Coffee", "Tea"],
        variant_poll_anonymous="1",
        variant_first_comment="Details below",
    )
    assert "Show more…" in body
    assert world.photo.thumbnail.url in body
    assert "Coffee or tea?" in body and "Anonymous poll" in body
    assert "example.com" in body
    assert "Details below" in body
    assert 'hx-swap-oob="innerHTML"' in body and f'id="preview-{world.vk.pk}"' in body
    assert "Fits the network" in body


# -- live validation of the whole variant ----------------------------------------------------------


def test_media_problems_are_shown_live(world: World) -> None:
    client = world.client(Role.EDITOR)
    gif = media_lib.save_media(world.owner, "anim.gif", _png(fmt="GIF"))
    body = _check(client, world.tg, variant_text="Hi", variant_media=[gif.pk], variant_media_follows="0")
    assert "Telegram does not accept image/gif as a photo" in body
    many = [media_lib.save_media(world.owner, f"p{i}.png", _png(colour=(i, 0, 0))).pk for i in range(11)]
    body = _check(client, world.tg, text="Hi", media=many)  # the shared selection, followed by default
    assert "at most 10 media items" in body
    # A Telegram caption is at most 1024 UTF-16 units.
    body = _check(
        client, world.tg, variant_text="a" * 1025, variant_media=[world.photo.pk], variant_media_follows="0"
    )
    assert "1,025</span> / 1,024" in body and 'class="counter over"' in body


def test_the_counter_groups_thousands_as_the_language_does(world: World) -> None:
    client = world.client(Role.EDITOR)
    assert '<span class="count">12</span> / 4,096' in _check(client, world.tg, text="Hello, world")
    client.cookies["django_language"] = "ru"
    assert '<span class="count">12</span> / 4\xa0096' in _check(client, world.tg, text="Hello, world")


def test_poll_and_link_problems_are_shown_live(world: World) -> None:
    client = world.client(Role.EDITOR)
    body = _check(
        client,
        world.vk,
        variant_text="Vote",
        variant_poll="1",
        variant_poll_question="Which?",
        variant_poll_option=[f"Option {i}" for i in range(11)],
        variant_poll_anonymous="1",
    )
    assert "at most 10 poll options" in body
    body = _check(
        client, world.tg, variant_poll="1", variant_poll_question="Which?", variant_poll_option=["A", "B"]
    )
    assert "must be anonymous" in body  # the anonymous box was left unticked
    body = _check(
        client,
        world.tg,
        variant_text="x",
        variant_poll="1",
        variant_poll_question="Q",
        variant_poll_option=["A", "B"],
        variant_poll_anonymous="1",
        variant_media=[world.photo.pk],
        variant_media_follows="0",
    )
    assert "cannot attach photos or videos to a poll" in body
    body = _check(
        client,
        world.ok,
        variant_poll="1",
        variant_poll_question="Q",
        variant_poll_option=["Only one", ""],
        variant_poll_anonymous="1",
    )
    assert "at least 2 poll options" in body
    body = _check(client, world.vk, variant_text="x", variant_link="example.com/no-scheme")
    assert "a link starts with http:// or https://" in body


def test_media_of_another_workspace_cannot_be_attached(world: World) -> None:
    client = world.client(Role.MANAGER)
    body = _check(
        client, world.vk, variant_text="x", variant_media=[world.other_media.pk], variant_media_follows="0"
    )
    assert f"Media {world.other_media.pk} is not in this workspace" in body
    assert world.other_media.file.url not in body
    response = client.post(
        reverse("web:post_new"),
        {
            "text": "Borrowed",
            "channels": [world.vk.pk],
            "media": [world.other_media.pk],
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert f"Media {world.other_media.pk} does not exist in this workspace" in response.content.decode()
    assert not Post.objects.filter(text="Borrowed").exists()
    library = client.get(reverse("web:post_media_library")).content.decode()
    assert "sunrise.png" in library and "secret.png" not in library


# -- media upload ------------------------------------------------------------------------------


def test_upload_from_the_composer(world: World) -> None:
    client = world.client(Role.EDITOR)
    url = reverse("web:post_media_upload")
    response = client.post(url, {"file": SimpleUploadedFile("beach.jpg", _png(800, 600, "JPEG"))})
    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "beach.jpg" and data["kind"] == "photo" and data["thumb"]
    assert Media.objects.get(pk=data["id"]).workspace_id == world.ws.pk
    bad = client.post(url, {"file": SimpleUploadedFile("notes.txt", b"just some text")})
    assert bad.status_code == 400
    assert "not a picture or video" in bad.json()["error"]
    assert client.post(url, {}).status_code == 400
    assert (
        world.client(Role.ANALYST).post(url, {"file": SimpleUploadedFile("a.png", _png())}).status_code == 403
    )


# -- saving: drafts, variants, time -------------------------------------------------------------------


def _composer(world: World, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": "Shared words",
        "title": "Launch",
        "channels": [world.vk.pk, world.tg.pk],
        "media": [world.photo.pk],
        f"variant_text_{world.tg.pk}": "Telegram words",
        f"variant_media_follows_{world.tg.pk}": "1",
        f"variant_media_follows_{world.vk.pk}": "1",
        f"variant_link_{world.vk.pk}": "https://example.com/launch",
        f"variant_first_comment_{world.vk.pk}": "First!",
        f"variant_poll_{world.vk.pk}": "1",
        f"variant_poll_question_{world.vk.pk}": "Coming?",
        f"variant_poll_option_{world.vk.pk}": ["Yes", "No"],
        f"variant_poll_anonymous_{world.vk.pk}": "1",
    }
    data.update(extra)
    return data


def test_draft_keeps_media_poll_link_and_first_comment_per_variant(world: World) -> None:
    client = world.client(Role.EDITOR)
    response = client.post(reverse("web:post_new"), _composer(world, action="save"))
    assert response.status_code == 302
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.DRAFT
    variants = {v.channel_id: v for v in post.variants.all()}
    vk, tg = variants[world.vk.pk], variants[world.tg.pk]
    assert vk.text == "Shared words" and tg.text == "Telegram words"
    assert [m.media_id for m in vk.variantmedia_set.all()] == [world.photo.pk]
    assert [m.media_id for m in tg.variantmedia_set.all()] == [world.photo.pk]
    assert vk.poll == {"question": "Coming?", "options": ["Yes", "No"], "multiple": False, "anonymous": True}
    assert (vk.link, vk.first_comment) == ("https://example.com/launch", "First!")
    page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert 'value="Coming?"' in page and "https://example.com/launch" in page and "First!" in page
    assert f'name="variant_media_{world.vk.pk}" value="{world.photo.pk}"' in page


def test_scheduled_at_in_the_query_prefills_the_time(world: World) -> None:
    page = (
        world.client(Role.MANAGER)
        .get(reverse("web:post_new"), {"scheduled_at": "2031-05-04T10:30"})
        .content.decode()
    )
    assert 'value="2031-05-04T10:30"' in page
    assert (
        world.client(Role.MANAGER).get(reverse("web:post_new"), {"scheduled_at": "garbage"}).status_code
        == 200
    )


def test_a_refusal_keeps_everything_typed(world: World) -> None:
    client = world.client(Role.MANAGER)
    response = client.post(
        reverse("web:post_new"), _composer(world, action="schedule", scheduled_at="2020-01-01T10:00")
    )
    assert response.status_code == 400
    assert "past" in response.context["form"].errors["scheduled_at"][0]
    page = response.content.decode()
    for kept in (
        "Shared words",
        "Telegram words",
        'value="Coming?"',
        'value="Yes"',
        "https://example.com/launch",
        "First!",
        f'name="media" value="{world.photo.pk}"',
    ):
        assert kept in page, kept
    assert not Post.objects.filter(title="Launch").exists()


def test_an_over_limit_variant_is_refused_where_it_is(world: World) -> None:
    client = world.client(Role.MANAGER)
    response = client.post(
        reverse("web:post_new"),
        _composer(
            world,
            action="schedule",
            scheduled_at=_future(),
            **{f"variant_text_{world.tg.pk}": "a" * 1100},
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Some variants do not fit their networks" in page
    assert "Telegram allows 1,024 characters in a caption (emoji count as 2); this one has 1,100." in page
    assert "variant refused" in page
    assert not Post.objects.filter(title="Launch").exists()


def test_schedule_and_post_now(world: World) -> None:
    client = world.client(Role.MANAGER)
    when = "2031-06-01T09:30"
    response = client.post(reverse("web:post_new"), _composer(world, action="schedule", scheduled_at=when))
    assert response.status_code == 302
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.SCHEDULED
    assert post.scheduled_at == dt.datetime(2031, 6, 1, 6, 30, tzinfo=dt.UTC)  # 09:30 in Moscow
    listing = client.get(reverse("web:posts")).content.decode()
    assert "Scheduled for 2031-06-01 09:30 (Europe/Moscow)." in listing
    response = client.post(reverse("web:post_new"), _composer(world, action="now", title="Now"))
    assert response.status_code == 302
    now_post = Post.objects.get(title="Now")
    assert now_post.status == Post.Status.SCHEDULED
    assert (
        now_post.scheduled_at is not None and abs((now_post.scheduled_at - clock.now()).total_seconds()) < 60
    )
    assert "Publishing now" in client.get(reverse("web:posts")).content.decode()


def test_editor_sees_no_schedule_buttons_and_cannot_post_now(world: World) -> None:
    client = world.client(Role.EDITOR)
    page = client.get(reverse("web:post_new")).content.decode()
    assert 'value="schedule"' not in page and 'value="now"' not in page
    assert "Your role writes drafts" in page
    response = client.post(reverse("web:post_new"), _composer(world, action="now"))
    assert response.status_code == 400
    assert not Post.objects.filter(title="Launch").exists()


def test_add_to_queue_without_and_with_slots(world: World) -> None:
    client = world.client(Role.MANAGER)
    response = client.post(reverse("web:post_new"), _composer(world, action="queue"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "no free queue slot" in page.lower() or "has a free queue slot" in page
    assert 'href="/queue/"' in page and "Set up queue slots" in page
    assert "Telegram words" in page  # nothing typed is lost
    assert not Post.objects.filter(title="Launch").exists()
    slots.add_slot(world.owner, world.vk.pk, 0, dt.time(10, 0))
    response = client.post(reverse("web:post_new"), _composer(world, action="queue"))
    assert response.status_code == 302
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.SCHEDULED
    assert post.scheduled_at is not None
    local = post.scheduled_at.astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert (local.weekday(), local.hour, local.minute) == (0, 10, 0)
    message = client.get(reverse("web:posts")).content.decode()
    assert "Added to the queue" in message and f"{local:%Y-%m-%d} 10:00 (Europe/Moscow)" in message


# -- approvals --------------------------------------------------------------------------------------


def _set_mode(world: World, mode: str) -> None:
    Workspace.objects.filter(pk=world.ws.pk).update(approval=mode)


def test_internal_approval_by_role(world: World) -> None:
    _set_mode(world, Workspace.Approval.INTERNAL)
    editor = world.client(Role.EDITOR)
    page = editor.get(reverse("web:post_new")).content.decode()
    assert 'value="submit"' in page and 'value="schedule"' not in page
    assert "approved before they are scheduled" in page
    response = editor.post(
        reverse("web:post_new"), _composer(world, action="submit", scheduled_at="2031-06-01T09:30")
    )
    assert response.status_code == 302
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.IN_REVIEW
    review_url = reverse("web:post_review", args=[post.pk])
    assert editor.post(review_url, {"decision": "approve"}).status_code == 403
    assert world.client(Role.ANALYST).post(review_url, {"decision": "approve"}).status_code == 403
    manager = world.client(Role.MANAGER)
    page = manager.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert 'value="approve"' in page and "Submitted for review" in page
    # Requesting changes needs a comment: the panel says so and keeps what was typed.
    response = manager.post(
        review_url, {"decision": "request_changes", "comment": "  "}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "a comment is required" in response.content.decode()
    response = manager.post(
        review_url,
        {"decision": "request_changes", "comment": "Shorter, please"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("web:post_edit", args=[post.pk])
    post.refresh_from_db()
    assert post.status == Post.Status.CHANGES_REQUESTED
    page = editor.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "Shorter, please" in page and "Manager@example.com".lower() in page.lower()
    response = editor.post(review_url, {"decision": "submit"})
    assert response.status_code == 302
    response = manager.post(review_url, {"decision": "approve", "comment": "Good"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.approved_at is not None
    decisions = list(Review.objects.filter(post=post).values_list("decision", flat=True))
    assert decisions == ["submitted", "changes_requested", "submitted", "approved"]


def test_reject_and_manager_self_approval(world: World) -> None:
    _set_mode(world, Workspace.Approval.INTERNAL)
    manager = world.client(Role.MANAGER)
    page = manager.get(reverse("web:post_new")).content.decode()
    assert "Approve and schedule" in page
    response = manager.post(
        reverse("web:post_new"), _composer(world, action="schedule", scheduled_at="2031-06-01T09:30")
    )
    assert response.status_code == 302
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.SCHEDULED
    assert Review.objects.filter(post=post, decision="approved").exists()
    other = planning.create_post(
        world.owner, planning.PostInput(text="Meh", variants=(planning.VariantInput(world.vk.pk),))
    )
    from rupor.planning import approvals

    editor_actor = accounts.actor_for_user(world.users[Role.EDITOR], world.ws)
    assert editor_actor is not None
    approvals.submit(editor_actor, other.pk)
    response = manager.post(
        reverse("web:post_review", args=[other.pk]), {"decision": "reject", "comment": "Off-brand"}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == Post.Status.REJECTED


def test_client_mode_and_the_client_link(world: World) -> None:
    _set_mode(world, Workspace.Approval.CLIENT)
    manager = world.client(Role.MANAGER)
    page = manager.get(reverse("web:post_new")).content.decode()
    assert "Send to the client" in page and 'value="now"' not in page
    response = manager.post(
        reverse("web:post_new"), _composer(world, action="schedule", scheduled_at="2031-06-01T09:30")
    )
    post = Post.objects.get(title="Launch")
    assert post.status == Post.Status.CLIENT_REVIEW
    assert response.status_code == 302 and response["Location"] == reverse("web:post_edit", args=[post.pk])
    page = manager.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "Get client review link" in page
    link_url = reverse("web:post_client_link", args=[post.pk])
    assert world.client(Role.EDITOR).post(link_url).status_code == 403
    response = manager.post(link_url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    match = re.search(r'<code id="client-link">([^<]+)</code>', body)
    assert match and "/review/" in match.group(1)
    assert 'data-copy="#client-link"' in body
    # Without HTMX the link comes back as a message on the post's page.
    response = manager.post(link_url)
    assert response.status_code == 302
    assert "/review/" in manager.get(response["Location"]).content.decode()


def test_client_link_refused_when_the_post_does_not_wait_for_the_client(world: World) -> None:
    _set_mode(world, Workspace.Approval.CLIENT)
    post = planning.create_post(
        world.owner, planning.PostInput(text="Draft", variants=(planning.VariantInput(world.vk.pk),))
    )
    response = world.client(Role.MANAGER).post(
        reverse("web:post_client_link", args=[post.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "not waiting for the client" in response.content.decode()


def test_review_views_of_another_workspace_answer_404(world: World) -> None:
    stranger = User.objects.get(email="stranger@example.com")
    other = accounts.workspaces_for(stranger)[0]
    actor = accounts.actor_for_user(stranger, other)
    assert actor is not None
    channel = _connect(actor, "vk", "Beta VK", "9")
    post = planning.create_post(
        actor, planning.PostInput(text="Theirs", variants=(planning.VariantInput(channel.pk),))
    )
    manager = world.client(Role.MANAGER)
    assert (
        manager.post(reverse("web:post_review", args=[post.pk]), {"decision": "approve"}).status_code == 404
    )
    assert manager.post(reverse("web:post_client_link", args=[post.pk])).status_code == 404
    assert manager.post(reverse("web:post_check"), {"channel": channel.pk}).status_code == 404


def test_bluesky_alt_texts_are_kept_and_previewed_like_a_bluesky_post(world: World) -> None:
    bsky = _connect(world.owner, "bluesky", "Alpha Bluesky", "did:plc:alpha")
    client = world.client(Role.EDITOR)
    data = {
        "text": "Hi @mina.bsky.social, see https://example.com #launch",
        "title": "Bluesky launch",
        "channels": [bsky.pk],
        "media": [world.photo.pk],
        f"variant_media_follows_{bsky.pk}": "1",
        f"variant_alt_{bsky.pk}": "A sunrise over the bay\n",
        "action": "save",
    }
    assert client.post(reverse("web:post_new"), data).status_code == 302
    variant = Post.objects.get(title="Bluesky launch").variants.get()
    assert variant.options == {"alt": ["A sunrise over the bay"]}
    page = client.get(reverse("web:post_edit", args=[variant.post_id])).content.decode()
    assert "A sunrise over the bay</textarea>" in page
    preview = _check(client, bsky, text="Hi @mina.bsky.social #launch", media=[world.photo.pk])
    assert "pv-bsky" in preview
    assert '<span class="pv-tag">@mina.bsky.social</span>' in preview
    assert '<span class="pv-tag">#launch</span>' in preview
    assert "/ 300" in preview  # the limit, counted in graphemes
    # Clearing the descriptions removes them.
    data[f"variant_alt_{bsky.pk}"] = ""
    client.post(reverse("web:post_edit", args=[variant.post_id]), data)
    variant.refresh_from_db()
    assert "alt" not in variant.options


def test_linkedin_preview_looks_like_a_linkedin_post_and_counts_to_3000(world: World) -> None:
    client = world.client(Role.EDITOR)
    linkedin = _connect(world.owner, "linkedin", "Alpha on LinkedIn", "10000001")
    text = "We are hiring (Lisbon) #bakers " + "word " * 80
    body = _check(client, linkedin, variant_text=text, variant_link="https://example.com/jobs")
    assert "pv-li" in body and "…see more" in body  # folded after about three lines
    assert "(Lisbon) " in body  # shown as typed: the adapter escapes it for LinkedIn, people never see that
    assert "Repost" in body and "example.com" in body
    assert f"{len(text)}</span> / 3,000" in body
    over = _check(client, linkedin, variant_text="a" * 3001)
    assert "3,001</span> / 3,000" in over and 'class="counter over"' in over
    client.cookies["django_language"] = "ko"
    assert "퍼가기" in _check(client, linkedin, variant_text="안녕하세요")


# -- tracked links -------------------------------------------------------------------------------


def test_the_preview_shows_links_as_published_and_a_variant_can_switch_them_off(world: World) -> None:
    from rupor.links.models import LinkSettings

    LinkSettings.objects.create(workspace=world.ws, utm_enabled=True, campaign_source="title")
    client = world.client(Role.EDITOR)
    body = _check(client, world.vk, text="Sale https://shop.example/s", title="Spring Sale")
    assert "utm_source=vk&amp;utm_medium=social&amp;utm_campaign=spring_sale" in body
    plain = _check(
        client, world.vk, text="Sale https://shop.example/s", title="Spring Sale", variant_tracked_links="0"
    )
    assert "utm_source" not in plain
    # The switch is kept with the variant, and its published content honours it.
    response = client.post(
        reverse("web:post_new"),
        {
            "title": "Spring Sale",
            "text": "Sale https://shop.example/s",
            "channels": [world.vk.pk, world.tg.pk],
            f"variant_tracked_links_{world.tg.pk}": ["0"],
            f"variant_tracked_links_{world.vk.pk}": ["0", "1"],
            "action": "save",
        },
    )
    assert response.status_code == 302, response.content
    post = Post.objects.get(title="Spring Sale")
    by_channel = {v.channel_id: v for v in post.variants.all()}
    assert by_channel[world.tg.pk].options.get("tracked_links") is False
    tg_text = planning.published_content(by_channel[world.tg.pk]).text
    vk_text = planning.published_content(by_channel[world.vk.pk]).text
    assert tg_text == "Sale https://shop.example/s"
    assert f"utm_content={post.pk}" in vk_text and "utm_source=vk" in vk_text
