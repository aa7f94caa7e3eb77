"""The giveaways API: create (a condition the network cannot check is a 422 naming it), read,
roles, files only once published, and POST /giveaways/verify on files alone."""

from __future__ import annotations

import pytest

from rupor.channels.models import Channel
from rupor.giveaways import procedure
from rupor.giveaways.testing import example_files

pytestmark = pytest.mark.django_db


def test_create_read_and_refusals(make_workspace, api_for):
    ws = make_workspace("Coffee")
    vk = Channel.objects.create(workspace=ws, network="vk", name="Coffee VK", remote_id="1")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="Coffee TG", remote_id="@coffee")
    manager, editor = api_for(ws, "manager"), api_for(ws, "editor")
    body = {
        "channel_id": vk.pk,
        "title": "Win a mug",
        "starts_at": "2099-01-01T10:00:00Z",
        "ends_at": "2099-01-08T10:00:00Z",
        "require_like": True,
        "comment_keyword": "mug",
    }
    made = manager.post("/giveaways", body)
    assert made.status_code == 201, made.content
    data = made.json()
    assert data["state"] == "draft" and data["public_url"] == "" and data["checks"]["like"] is True
    assert editor.get(f"/giveaways/{data['id']}").json()["title"] == "Win a mug"
    assert editor.post("/giveaways", body).status_code == 403
    refused = manager.post("/giveaways", {**body, "channel_id": tg.pk})
    assert refused.status_code == 422 and "liked the post" in refused.json()["detail"]
    assert manager.get(f"/giveaways/{data['id']}/files/rules.json").status_code == 404
    assert manager.post(f"/giveaways/{data['id']}/cancel", {}).json()["state"] == "cancelled"


def test_verify_files_alone(make_workspace, api_for):
    api = api_for(make_workspace("Anyone"), "client")
    rules, entrants, draw = example_files()
    good = api.post("/giveaways/verify", {"files": [rules, entrants, draw]})
    assert good.status_code == 200 and good.json()["ok"] is True
    assert good.json()["winners"] == draw["winners"]
    entrants["list_sha256"] = "00" * 32
    bad = api.post("/giveaways/verify", {"files": [rules, entrants, draw]}).json()
    assert bad["ok"] is False and next(s["key"] for s in bad["steps"] if not s["ok"]) == "list_hash"
    assert api.post("/giveaways/verify", {"files": [rules]}).status_code == 422
    assert procedure.RULES_FORMAT in str(rules["format"])
