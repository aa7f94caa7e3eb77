"""Behaviour of the REST API: shapes, validation, and what each role may do."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rupor.accounts.roles import Role
from rupor.channels.models import Channel

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-token-value-never-shown-0123456789"


def _channel(api, **extra):
    body = {
        "network": "examplenet",
        "name": "Our Mastodon",
        "remote_id": "acct-1",
        "credentials": {"token": SECRET},
        "verify": False,
    }
    body.update(extra)
    return api.post("/channels", body)


def test_me_names_the_workspace_and_role(make_workspace, api_for):
    ws = make_workspace("Acme")
    api = api_for(ws, "editor")
    res = api.get("/me")
    assert res.status_code == 200
    assert res.json()["workspace"]["slug"] == ws.slug
    assert res.json()["role"] == "editor"
    assert "posts.publish" not in res.json()["permissions"]


def test_requests_without_a_key_are_refused_with_401(client, db):
    res = client.get("/api/v1/channels")
    assert res.status_code == 401
    assert "Authorization" in res.json()["detail"]
    assert client.get("/api/v1/channels", HTTP_AUTHORIZATION="Bearer rpr_not-a-real-key").status_code == 401


def test_channel_lifecycle_and_credentials_never_returned(make_workspace, api_for, caplog):
    api = api_for(make_workspace(), "admin")
    caplog.set_level(logging.DEBUG)
    res = _channel(api)
    assert res.status_code == 201, res.content
    channel_id = res.json()["id"]
    assert res.json()["has_credentials"] is True
    listing = api.get("/channels")
    one = api.get(f"/channels/{channel_id}")
    patched = api.patch(
        f"/channels/{channel_id}",
        {"name": "Renamed", "credentials": {"token": SECRET + "x"}, "verify": False},
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed"
    for response in (res, listing, one, patched):
        assert SECRET not in response.content.decode()
    stored = Channel.objects.get(pk=channel_id)
    assert SECRET not in stored.credentials_encrypted  # encrypted at rest
    assert stored.get_credentials()["token"] == SECRET + "x"
    assert SECRET not in caplog.text
    assert api.delete(f"/channels/{channel_id}").status_code == 204
    assert api.get(f"/channels/{channel_id}").status_code == 404


def test_bad_channel_input_gets_field_messages(make_workspace, api_for):
    api = api_for(make_workspace(), "owner")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"network": "myspace", "remote_id": "x"}, "network"),
        ({"network": "examplenet", "remote_id": "x", "base_url": "ftp://nope"}, "base_url"),
        ({"network": "examplenet", "remote_id": "x", "color": "red"}, "color"),
        ({"network": "examplenet", "remote_id": ""}, "remote_id"),
        ({"network": "examplenet", "remote_id": "x", "cadence_hours": 0}, "cadence_hours"),
    ]
    for body, field in cases:
        body.setdefault("verify", False)
        res = api.post("/channels", body)
        assert 400 <= res.status_code < 500, (body, res.content)
        fields = [e["field"] for e in res.json()["errors"]]
        assert any(f and f.startswith(field) for f in fields), (body, res.json())
    assert Channel.objects.count() == 0
    assert _channel(api).status_code == 201
    duplicate = _channel(api)
    assert duplicate.status_code == 409


def test_posts_with_variants_and_targets(make_workspace, api_for):
    ws = make_workspace(timezone="Europe/Berlin")
    api = api_for(ws, "manager")
    admin = api_for(ws, "admin")
    a = _channel(admin, remote_id="a").json()["id"]
    b = _channel(admin, remote_id="b").json()["id"]
    res = api.post(
        "/posts", {"text": "Hello", "variants": [{"channel_id": a}, {"channel_id": b, "text": "Hi B"}]}
    )
    assert res.status_code == 201, res.content
    post = res.json()
    assert post["status"] == "draft"
    assert [v["text"] for v in post["variants"]] == ["Hello", "Hi B"]
    assert all(v["target"]["state"] == "draft" for v in post["variants"])
    # Local time without an offset is read in the workspace's zone (Berlin, UTC+1 in January).
    res = api.patch(f"/posts/{post['id']}", {"title": "New year", "scheduled_at": "2099-01-15T10:30:00"})
    assert res.status_code == 200, res.content
    assert res.json()["scheduled_at"].startswith("2099-01-15T09:30:00")
    assert res.json()["scheduled_at_local"].startswith("2099-01-15T10:30:00+01:00")
    assert res.json()["title"] == "New year"
    assert res.json()["text"] == "Hello"  # untouched fields stay
    assert api.get(f"/posts/{post['id']}").status_code == 200
    assert len(api.get("/posts").json()) == 1
    assert api.delete(f"/posts/{post['id']}").status_code == 204
    assert api.get(f"/posts/{post['id']}").status_code == 404


def test_post_validation_messages(make_workspace, api_for):
    ws = make_workspace(timezone="Europe/Berlin")
    api = api_for(ws, "owner")
    ch = _channel(api).json()["id"]
    cases = [
        (
            {
                "text": "x",
                "status": "scheduled",
                "scheduled_at": "2001-01-01T00:00:00Z",
                "variants": [{"channel_id": ch}],
            },
            "scheduled_at",
        ),
        ({"text": "x", "status": "scheduled", "variants": [{"channel_id": ch}]}, "scheduled_at"),
        ({"text": "x", "variants": [{"channel_id": 999999}]}, "variants[0].channel_id"),
        ({"text": "x", "variants": [{"channel_id": ch}, {"channel_id": ch}]}, "variants[1].channel_id"),
        ({"text": "x", "rubric_id": 999999}, "rubric_id"),
        ({"text": "x", "status": "published"}, "status"),
        ({"text": "x", "variants": [{"channel_id": ch, "link": "javascript:alert(1)"}]}, "variants[0].link"),
        # 02:30 on the last Sunday of March does not exist in Berlin.
        (
            {
                "text": "x",
                "status": "scheduled",
                "scheduled_at": "2099-03-29T02:30:00",
                "variants": [{"channel_id": ch}],
            },
            "scheduled_at",
        ),
        (
            {"text": "x", "status": "scheduled", "scheduled_at": "2099-01-01T10:00:00Z", "variants": []},
            "variants",
        ),
    ]
    for body, field in cases:
        res = api.post("/posts", body)
        assert 400 <= res.status_code < 500, (body, res.content)
        data = res.json()
        assert data["detail"]
        assert any((e["field"] or "").startswith(field) for e in data["errors"]), (body, data)
    assert api.get("/posts").json() == []


def test_editor_writes_drafts_but_cannot_schedule(make_workspace, api_for):
    ws = make_workspace()
    owner = api_for(ws, "owner")
    editor = api_for(ws, "editor")
    ch = _channel(owner).json()["id"]
    draft = editor.post("/posts", {"text": "draft", "variants": [{"channel_id": ch}]})
    assert draft.status_code == 201
    scheduled = editor.post(
        "/posts",
        {
            "text": "x",
            "status": "scheduled",
            "scheduled_at": "2099-01-01T10:00:00Z",
            "variants": [{"channel_id": ch}],
        },
    )
    assert scheduled.status_code == 403
    assert (
        editor.patch(
            f"/posts/{draft.json()['id']}", {"status": "scheduled", "scheduled_at": "2099-01-01T10:00:00Z"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix(role, make_workspace, api_for):
    """Every endpoint answers each role exactly as the permission table says."""
    ws = make_workspace()
    owner = api_for(ws, "owner")
    ch = _channel(owner, remote_id="matrix").json()["id"]
    post = owner.post("/posts", {"text": "p", "variants": [{"channel_id": ch}]}).json()["id"]
    api = api_for(ws, role)
    view_channels = role in {"owner", "admin", "manager", "editor", "moderator", "analyst"}
    manage_channels = role in {"owner", "admin"}
    view_posts = role in {"owner", "admin", "manager", "editor", "analyst", "client"}
    edit_posts = role in {"owner", "admin", "manager", "editor"}
    checks = [
        (api.get("/me"), True),
        (api.get("/channels"), view_channels),
        (api.get(f"/channels/{ch}"), view_channels),
        (api.get("/networks"), view_channels),
        (api.patch(f"/channels/{ch}", {"name": "n", "verify": False}), manage_channels),
        (api.get("/posts"), view_posts),
        (api.get(f"/posts/{post}"), view_posts),
        (api.get("/rubrics"), view_posts),
        (api.post("/posts", {"text": "new", "variants": [{"channel_id": ch}]}), edit_posts),
        (api.patch(f"/posts/{post}", {"text": "edited"}), edit_posts),
        (api.get("/members"), role in {"owner", "admin", "manager"}),
        (_channel(api, remote_id=f"new-{role}"), manage_channels),
    ]
    for response, allowed in checks:
        if allowed:
            assert response.status_code < 300, (role, response.request["PATH_INFO"], response.content)
        else:
            assert response.status_code == 403, (role, response.request["PATH_INFO"], response.content)
            assert response.json()["detail"]
    delete_post = api.delete(f"/posts/{post}")
    assert delete_post.status_code == (204 if edit_posts else 403)
    delete_channel = api.delete(f"/channels/{ch}")
    assert delete_channel.status_code == (204 if manage_channels else 403)


def test_tenancy_isolation_every_verb(make_workspace, api_for):
    """A key of workspace A gets 404 for every object of workspace B, for every verb."""
    a = api_for(make_workspace("A"), "owner")
    b = api_for(make_workspace("B"), "owner")
    b_channel = _channel(b).json()["id"]
    b_post = b.post("/posts", {"text": "secret plan", "variants": [{"channel_id": b_channel}]}).json()["id"]
    a_channel = _channel(a).json()["id"]
    responses = [
        a.get(f"/channels/{b_channel}"),
        a.patch(f"/channels/{b_channel}", {"name": "pwned", "verify": False}),
        a.delete(f"/channels/{b_channel}"),
        a.get(f"/posts/{b_post}"),
        a.patch(f"/posts/{b_post}", {"text": "pwned"}),
        a.delete(f"/posts/{b_post}"),
    ]
    for response in responses:
        assert response.status_code == 404, response.content
    # Referencing B's channel from A's post is "does not exist", not a leak.
    res = a.post("/posts", {"text": "x", "variants": [{"channel_id": b_channel}]})
    assert res.status_code == 400
    assert "does not exist" in res.json()["detail"]
    assert [c["id"] for c in a.get("/channels").json()] == [a_channel]
    assert a.get("/posts").json() == []
    assert b.get(f"/posts/{b_post}").json()["text"] == "secret plan"
    assert b.get(f"/channels/{b_channel}").json()["name"] == "Our Mastodon"


def test_revoked_key_is_refused(make_workspace, api_for):
    from rupor.accounts import service
    from rupor.accounts.models import ApiKey

    api = api_for(make_workspace(), "owner")
    assert api.get("/me").status_code == 200
    row = ApiKey.objects.get()
    assert row.key_hash != api.key
    assert api.key not in row.key_hash
    actor = service.authenticate_api_key(api.key)
    assert actor is not None
    service.revoke_api_key(actor, row.pk)
    assert api.get("/me").status_code == 401


def test_session_auth_needs_csrf_for_writes(make_workspace, make_user):
    from django.test import Client

    user = make_user("csrf@example.com")
    make_workspace(owner=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200
    res = client.post("/api/v1/posts", "{}", content_type="application/json")
    assert res.status_code in (401, 403)


def test_nul_characters_are_refused_with_a_clear_400(make_workspace, api_for) -> None:
    """No database keeps U+0000 (PostgreSQL refuses it with an error): the API says so first."""
    api = api_for(make_workspace())
    for response in (
        api.post("/plan/rubrics", {"name": "News\x00", "target_share": 5}),
        api.post("/posts", {"text": "hello\x00"}),
        api.get("/posts", status="draft\x00"),
    ):
        assert response.status_code == 400, response.content
        assert "NUL" in response.json()["detail"]
    assert api.get("/plan/rubrics").status_code == 200


def test_time_filters_take_any_offset_and_the_workspace_zone(make_workspace, api_for):
    """An offset no real zone has (-18:20; PostgreSQL stores at most ±15:59) is still a time:
    it is converted before any query. A time without one is read in the workspace's zone."""
    ws = make_workspace(timezone="Europe/Berlin")
    api = api_for(ws, "manager")
    admin = api_for(ws, "admin")
    channel = _channel(admin, remote_id="a").json()["id"]
    post = api.post(
        "/posts",
        {"text": "Hello", "scheduled_at": "2099-01-15T10:30:00", "variants": [{"channel_id": channel}]},
    )
    assert post.status_code == 201, post.content
    odd = api.get("/posts", start="1998-11-08T05:22:03-18:20")
    assert odd.status_code == 200, odd.content
    assert [p["id"] for p in odd.json()] == [post.json()["id"]]
    # 10:30 in Berlin is 09:30 UTC: a naive 10:00 (Berlin) starts before it, 10:31 after it.
    assert len(api.get("/posts", start="2099-01-15T10:00:00").json()) == 1
    assert api.get("/posts", start="2099-01-15T10:31:00").json() == []
    growth = api.get(
        f"/channels/{channel}/metrics", start="1998-11-08T05:22:03-18:20", end="1998-11-10T05:22:03+15:59"
    )
    assert growth.status_code == 200, growth.content
