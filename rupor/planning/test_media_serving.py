"""Uploaded media are served only to members of the workspace that owns them."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.planning import media as media_mod

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buffer, format="PNG")
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
