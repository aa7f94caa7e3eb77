"""Adapting, not copying, in the composer: the "one text everywhere" warning (on the page, live,
in the approval panel), each network's conventions beside its variant, the soft advice in the
live check, and alt text written in the media library."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import registry
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import Media, Post

PASSWORD = "a-long-enough-passphrase-42"
pytestmark = pytest.mark.django_db
SAME = "Spring sale: 20% off everything until Sunday. Come and see!"


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _connect(actor: accounts.Actor, network: str, name: str, remote_id: str) -> Channel:
    creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
    return channels.connect(
        actor,
        channels.ChannelInput(network=network, name=name, remote_id=remote_id, credentials=creds),
        verify=False,
    )


class World:
    def __init__(self) -> None:
        self.user: User = accounts.create_user("owner@example.com", PASSWORD, name="Owner")
        self.ws: Workspace = accounts.create_workspace("Alpha", self.user, timezone="Europe/Moscow")
        actor = accounts.actor_for_user(self.user, self.ws)
        assert actor is not None
        self.actor = actor
        self.vk = _connect(actor, "vk", "Shop VK", "1")
        self.tg = _connect(actor, "telegram", "Shop channel", "@shop")
        self.ok = _connect(actor, "ok", "Shop OK", "2")

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        session = client.session
        session[SESSION_KEY] = self.ws.slug
        session.save()
        return client

    def post(self, texts: dict[Channel, str]) -> Post:
        return planning.create_post(
            self.actor,
            planning.PostInput(
                title="Sale",
                text=SAME,
                variants=tuple(planning.VariantInput(channel_id=c.pk, text=t) for c, t in texts.items()),
            ),
        )


@pytest.fixture
def world(db: Any) -> World:
    return World()


def _same_box(page: str) -> str:
    start = page.index('id="same-text"')
    return page[start : page.index("</div>", page.index(">", start) + 1) + 6]


def test_edit_page_warns_of_the_same_text_and_shows_each_networks_conventions(world: World) -> None:
    post = world.post(
        {world.vk: SAME, world.tg: "  spring SALE: 20% off everything until sunday — come and see "}
    )
    page = world.client().get(reverse("web:post_edit", args=[post.pk])).content.decode()
    box = _same_box(page)
    assert "One text everywhere" in box and "Shop VK (VKontakte)" in box and "Shop channel (Telegram)" in box
    assert "Shop OK" not in box  # not chosen for this post
    assert "On VKontakte:" in page and "Short and visual" in page
    assert "On Telegram:" in page and "The author&#x27;s own voice" in page
    assert "On Odnoklassniki:" in page and "Warm and emotional" in page


def test_adapted_variants_show_no_warning(world: World) -> None:
    post = world.post({world.vk: "-20% на всё до воскресенья 🌸", world.tg: "Why we cut prices in spring."})
    page = world.client().get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "One text everywhere" not in page and 'id="same-text"' in page


def test_the_live_check_compares_the_chosen_variants_out_of_band(world: World) -> None:
    client = world.client()
    data: dict[str, Any] = {"channel": world.vk.pk, "text": SAME, "channels": [world.vk.pk, world.tg.pk]}
    body = client.post(reverse("web:post_check"), data).content.decode()
    assert 'id="same-text" hx-swap-oob="innerHTML"' in body and "One text everywhere" in body
    data[f"variant_text_{world.tg.pk}"] = "What this sale taught us about our customers."
    body = client.post(reverse("web:post_check"), data).content.decode()
    assert 'id="same-text" hx-swap-oob="innerHTML"' in body and "One text everywhere" not in body
    alone = client.post(reverse("web:post_check"), {"channel": world.vk.pk, "text": SAME}).content.decode()
    assert "same-text" not in alone  # no form around it: the box is left as it is


def test_the_live_check_gives_the_networks_advice(world: World) -> None:
    client = world.client()
    body = client.post(
        reverse("web:post_check"), {"channel": world.vk.pk, "text": "word " * 300, "channels": [world.vk.pk]}
    ).content.decode()
    assert 'class="advice"' in body and "This is long for VK" in body
    assert "Fits the network" in body  # advice, not a refusal
    body = client.post(
        reverse("web:post_check"), {"channel": world.tg.pk, "text": "word " * 300, "channels": [world.tg.pk]}
    ).content.decode()
    assert 'class="advice"' not in body


def test_the_approval_panel_warns_the_reviewer(world: World) -> None:
    world.ws.approval = Workspace.Approval.INTERNAL
    world.ws.save(update_fields=["approval"])
    post = world.post({world.vk: SAME, world.ok: SAME})
    page = world.client().get(reverse("web:post_edit", args=[post.pk])).content.decode()
    panel = page[page.index('id="review-panel"') :]
    assert "One text everywhere" in panel and "Shop OK (Odnoklassniki)" in panel


def test_alt_text_is_written_in_the_media_library(world: World) -> None:
    data = io.BytesIO()
    Image.new("RGB", (32, 32), (5, 5, 5)).save(data, "PNG")
    media = media_lib.save_media(world.actor, "window.png", data.getvalue())
    client = world.client()
    page = client.get(reverse("web:media")).content.decode()
    assert f'name="alt_for" value="{media.pk}"' in page and "missing" in page
    res = client.post(reverse("web:media"), {"alt_for": media.pk, "alt_text": "A shop window\n with flowers"})
    assert res.status_code == 302
    assert Media.objects.get(pk=media.pk).alt_text == "A shop window with flowers"
    assert planning.media_reference(Media.objects.get(pk=media.pk)).alt == "A shop window with flowers"
    res = client.post(reverse("web:media"), {"alt_for": media.pk, "alt_text": "x" * 1501})
    assert res.status_code == 400 and "1500" in res.content.decode()
