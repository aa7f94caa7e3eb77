"""Uploaded media are served only to members of the workspace that owns them."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.planning import media as media_mod

pytestmark = pytest.mark.django_db


def _png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_media_are_private_to_their_workspace(make_user, make_workspace):
    owner = make_user("owner@example.com")
    ws = make_workspace("Owner brand", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    item = media_mod.save_media(actor, "photo.png", _png())
    url = f"/media/{item.file.name}"

    member = Client()
    member.force_login(owner)
    response = member.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.getvalue().startswith(b"\x89PNG")

    stranger = make_user("stranger@example.com")
    make_workspace("Other brand", owner=stranger)
    other = Client()
    other.force_login(stranger)
    assert other.get(url).status_code == 404
    assert Client().get(url).status_code == 404
    assert member.get("/media/media/2020/01/nope.png").status_code == 404


def test_a_period_review_link_serves_only_media_of_posts_sent_to_the_client(make_user, make_workspace):
    """A draft planned in the link's period is not shown to the client, and neither are its files."""
    import datetime as dt

    from django.urls import reverse

    from rupor.accounts.models import Workspace
    from rupor.channels.models import Channel
    from rupor.planning import approvals
    from rupor.planning import service as planning
    from rupor.planning.models import Post

    owner = make_user("owner@example.com")
    ws = make_workspace("Client brand", owner=owner)
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    when = dt.datetime(2099, 3, 5, 7, tzinfo=dt.UTC)
    sent_picture = media_mod.save_media(actor, "sent.png", _png())
    draft_picture = media_mod.save_media(actor, "draft.png", _png(colour=(1, 2, 3)))
    sent = planning.create_post(
        actor,
        planning.PostInput(
            text="For the client",
            status="scheduled",
            scheduled_at=when,
            variants=(planning.VariantInput(channel.pk, media_ids=(sent_picture.pk,)),),
        ),
    )
    draft = planning.create_post(
        actor,
        planning.PostInput(
            text="Not ready",
            status="draft",
            scheduled_at=when + dt.timedelta(hours=1),
            variants=(planning.VariantInput(channel.pk, media_ids=(draft_picture.pk,)),),
        ),
    )
    assert sent.status == Post.Status.CLIENT_REVIEW and draft.status == Post.Status.DRAFT
    link = approvals.client_link_for(
        actor, start=when - dt.timedelta(days=1), end=when + dt.timedelta(days=1)
    )
    token = link.url.rsplit("/", 1)[1]
    assert {p.pk for p in approvals.link_posts(token)} == {sent.pk, draft.pk}  # the period covers both

    guest = Client()
    page = guest.get(f"/review/{token}/").content.decode()
    assert "For the client" in page and "Not ready" not in page
    shown = reverse("web:client_review_media", args=[token, sent_picture.pk])
    hidden = reverse("web:client_review_media", args=[token, draft_picture.pk])
    assert shown in page and hidden not in page
    assert guest.get(shown).status_code == 200
    assert guest.get(hidden).status_code == 404
    assert guest.get(hidden, {"thumbnail": "1"}).status_code == 404
