"""Tracked links over the API: conventions (managers set them, others read), the links with
their clicks, by network, and the CSV export; another workspace's links are never listed."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from rupor.links import service as links

pytestmark = pytest.mark.django_db

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def _link(ws: Any, post_id: int = 7) -> str:
    ref = links.VariantRef(ws.pk, post_id, post_id * 10, 1, "telegram", rubric="News")
    tracked = links.track(ref, text="Read https://blog.example/a", link=None, first_comment=None)
    return tracked.text.rsplit("/l/", 1)[1]


def test_settings_links_networks_and_csv(make_workspace: Any, api_for: Any) -> None:
    ws = make_workspace()
    manager, analyst = api_for(ws, "manager"), api_for(ws, "analyst")
    assert analyst.get("/links/settings").json()["utm_enabled"] is False
    body = {"utm_enabled": True, "short_links": True, "medium": "paid_social", "campaign_source": "rubric"}
    assert (
        analyst.client.put(
            "/api/v1/links/settings", body, content_type="application/json", headers=analyst._headers()
        ).status_code
        == 403
    )
    bad = manager.client.put(
        "/api/v1/links/settings",
        {**body, "medium": "tv"},
        content_type="application/json",
        headers=manager._headers(),
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "medium"
    saved = manager.client.put(
        "/api/v1/links/settings", body, content_type="application/json", headers=manager._headers()
    )
    assert saved.status_code == 200 and saved.json()["medium"] == "paid_social"

    code = _link(ws)
    Client().get(f"/l/{code}", HTTP_USER_AGENT=CHROME, REMOTE_ADDR="203.0.113.1")
    Client().get(f"/l/{code}", HTTP_USER_AGENT="TelegramBot (like TwitterBot)", REMOTE_ADDR="149.154.161.2")

    rows = analyst.get("/links").json()
    assert [r["code"] for r in rows] == [code]
    assert rows[0]["stats"] == {"clicks": 2, "human": 1, "bot": 1, "unique": 1}
    assert "utm_medium=paid_social" in rows[0]["url"]
    assert analyst.get("/links", post_id=8).json() == []
    assert analyst.get("/links/networks").json() == [
        {"network": "telegram", "stats": {"clicks": 2, "human": 1, "bot": 1, "unique": 1}}
    ]
    exported = analyst.get("/links/export.csv")
    table = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert exported["Content-Type"].startswith("text/csv")
    assert table[0]["code"] == code and table[0]["bot"] == "1"

    other = make_workspace("Other")
    assert api_for(other, "owner").get("/links").json() == []


def test_a_variant_switches_tracked_links_off_through_the_api(make_workspace: Any, api_for: Any) -> None:
    from rupor.accounts import service as accounts
    from rupor.accounts.roles import Role
    from rupor.channels import service as channels
    from rupor.networks import registry
    from rupor.planning import service as planning
    from rupor.planning.models import PostVariant

    ws = make_workspace()
    owner = api_for(ws, "owner")
    actor = accounts.Actor(ws.pk, Role.OWNER)
    creds = {f.name: "x" for f in registry.adapter("vk").credential_fields if f.required}
    vk = channels.connect(
        actor, channels.ChannelInput(network="vk", name="VK", remote_id="1", credentials=creds), verify=False
    )
    links.save_conventions(actor, links.Conventions(utm_enabled=True))
    body = {
        "text": "See https://a.example/x",
        "variants": [{"channel_id": vk.pk, "options": {"tracked_links": False}}],
    }
    created = owner.post("/posts", body)
    assert created.status_code in (200, 201), created.content
    variant = PostVariant.objects.select_related("channel", "post__rubric").get(post_id=created.json()["id"])
    assert variant.options["tracked_links"] is False
    assert planning.published_content(variant).text == "See https://a.example/x"
    variant.options = {}
    variant.save()
    assert "utm_source=vk" in planning.published_content(variant).text
