"""POST /plan/check (variants checked as the composer does: limits, conventions, one text
everywhere) and PATCH /media/{id} (alt text)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from rupor.networks import registry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _channel(api: Any, network: str, remote_id: str) -> int:
    creds = {"token": "t"}
    if network in registry.available():
        creds = {f.name: "1:x" for f in registry.adapter(network).credential_fields if f.required}
    res = api.post(
        "/channels",
        {
            "network": network,
            "name": f"Our {network}",
            "remote_id": remote_id,
            "credentials": creds,
            "verify": False,
        },
    )
    assert res.status_code == 201, res.content
    return int(res.json()["id"])


def _picture(api: Any) -> int:
    data = io.BytesIO()
    Image.new("RGB", (1080, 1080), (9, 9, 9)).save(data, "JPEG")  # as Instagram takes it: no advice on it
    data.seek(0)
    data.name = "shop.jpg"
    res = api.client.post("/api/v1/media", {"file": data}, headers=api._headers())
    assert res.status_code == 201, res.content
    return int(res.json()["id"])


def test_check_warns_of_one_text_everywhere_and_gives_each_networks_advice(make_workspace, api_for):
    ws = make_workspace()
    api = api_for(ws, "editor")
    admin = api_for(ws, "admin")
    vk, tg, insta = (
        _channel(admin, "vk", "1"),
        _channel(admin, "telegram", "@shop"),
        _channel(admin, "instagram", "shop"),
    )
    text = "Spring sale: 20% off everything until Sunday! https://shop.example/sale"
    res = api.post(
        "/plan/check",
        {  # the body of POST /posts is accepted as it is (status and time are not checked here)
            "text": text,
            "status": "scheduled",
            "scheduled_at": "2099-01-01T10:00:00Z",
            "variants": [{"channel_id": vk}, {"channel_id": tg}, {"channel_id": insta}],
        },
    )
    assert res.status_code == 200, res.content
    body = res.json()
    assert [g["channel_ids"] for g in body["same_text"]] == [[vk, tg, insta]]
    assert body["same_text"][0]["identical"] and "Our vk (VKontakte)" in body["same_text"][0]["message"]
    by_channel = {v["channel_id"]: v for v in body["variants"]}
    assert by_channel[vk]["problems"] == [] and by_channel[vk]["advice"] == []
    assert by_channel[vk]["convention"]["summary"].startswith("Short and visual")
    assert {a["code"] for a in by_channel[insta]["advice"]} == {"needs_media", "link_not_clickable"}
    assert by_channel[insta]["problems"]  # Instagram has no text-only posts

    # Adapted: no warning. A picture without alt text on Instagram is advised on; with it, not.
    picture = _picture(api)
    variants = [
        {"channel_id": vk, "text": "Весенняя распродажа: -20% на всё до воскресенья 🌸"},
        {"channel_id": tg, "text": "Why we cut prices in spring, and what it taught us about our customers."},
        {"channel_id": insta, "text": "Spring colours, spring prices. Link in bio.", "media_ids": [picture]},
    ]
    body = api.post("/plan/check", {"text": text, "variants": variants}).json()
    assert body["same_text"] == []
    insta_advice = {v["channel_id"]: v for v in body["variants"]}[insta]["advice"]
    assert [a["code"] for a in insta_advice] == ["alt_missing"]
    res = api.patch(f"/media/{picture}", {"alt_text": "  A shop window   with spring flowers "})
    assert res.status_code == 200 and res.json()["alt_text"] == "A shop window with spring flowers"
    body = api.post("/plan/check", {"text": text, "variants": variants}).json()
    assert {v["channel_id"]: v for v in body["variants"]}[insta]["advice"] == []


def test_check_refuses_what_is_not_in_the_workspace(make_workspace, api_for):
    ws, other = make_workspace(), make_workspace("Other")
    api = api_for(ws, "editor")
    foreign = _channel(api_for(other, "admin"), "vk", "9")
    res = api.post("/plan/check", {"text": "x", "variants": [{"channel_id": foreign}]})
    assert res.status_code == 404 and res.json()["errors"][0]["field"] == "variants[0].channel_id"
    mine = _channel(api_for(ws, "admin"), "vk", "1")
    foreign_media = _picture(api_for(other, "editor"))
    res = api.post(
        "/plan/check", {"text": "x", "variants": [{"channel_id": mine, "media_ids": [foreign_media]}]}
    )
    assert res.status_code == 404
    assert api.patch(f"/media/{foreign_media}", {"alt_text": "mine now"}).status_code == 404


def test_alt_text_needs_the_edit_permission_and_a_bounded_length(make_workspace, api_for):
    ws = make_workspace()
    picture = _picture(api_for(ws, "editor"))
    assert api_for(ws, "analyst").patch(f"/media/{picture}", {"alt_text": "x"}).status_code == 403
    assert api_for(ws, "editor").patch(f"/media/{picture}", {"alt_text": "x" * 1501}).status_code == 422
