"""Leaving a workspace revokes access, and the client role sees nothing internal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import ApiKey, User, Workspace
from rupor.channels import service as channels
from rupor.planning import approvals, ical
from rupor.planning import service as planning
from rupor.publishing.models import PublicationTarget, TargetState

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _actor(user: User, ws: Workspace) -> accounts.Actor:
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    return actor


def _browser(user: User, ws: Workspace) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["rupor_workspace"] = ws.slug
    session.save()
    return client


def test_removing_a_member_revokes_their_keys_and_replaces_the_calendar_address(
    make_user: Any, make_workspace: Any
) -> None:
    owner = make_user("owner@example.com")
    ws = make_workspace(owner=owner)
    owner_actor = _actor(owner, ws)
    leaver = make_user("leaver@example.com")
    membership = accounts.add_member(owner_actor, leaver.email, "admin")
    leaver_key = accounts.create_api_key(_actor(leaver, ws), ws, "editor", name="leaver's script")
    owner_key = accounts.create_api_key(owner_actor, ws, "editor", name="owner's script")
    old_feed = ical.feed_url(_actor(leaver, ws))
    old_path = old_feed.split("://", 1)[1].split("/", 1)[1]
    assert Client().get(f"/{old_path}").status_code == 200

    page = _browser(owner, ws).get(reverse("web:members")).content.decode()
    assert "The API keys they created here will be revoked" in page
    response = _browser(owner, ws).post(reverse("web:member_remove", args=[membership.pk]), follow=True)
    assert "1 API key they created was revoked" in response.content.decode()

    assert accounts.authenticate_api_key(leaver_key.key) is None
    assert ApiKey.objects.get(pk=leaver_key.id).revoked_at is not None
    assert accounts.authenticate_api_key(owner_key.key) is not None
    bearer = {"Authorization": f"Bearer {leaver_key.key}"}
    assert Client().get("/api/v1/channels", headers=bearer).status_code == 401
    assert Client().get(f"/{old_path}").status_code == 404
    assert ical.feed_url(owner_actor) != old_feed


@pytest.fixture
def plan(make_user: Any, make_workspace: Any) -> dict[str, Any]:
    owner = make_user("owner@example.com")
    ws = make_workspace(owner=owner)
    Workspace.objects.filter(pk=ws.pk).update(approval=Workspace.Approval.CLIENT)
    ws.refresh_from_db()
    owner_actor = _actor(owner, ws)
    client_user = make_user("client@example.com")
    accounts.add_member(owner_actor, client_user.email, "client")
    editor = make_user("writer@example.com")
    accounts.add_member(owner_actor, editor.email, "editor")
    channel = channels.connect(
        owner_actor,
        channels.ChannelInput(
            network="telegram", name="News", remote_id="@news", credentials={"bot_token": "123:abc"}
        ),
        verify=False,
    )
    post = planning.create_post(
        _actor(editor, ws),
        planning.PostInput(
            text="Spring menu",
            notes="INTERNAL: client hates green",
            variants=(planning.VariantInput(channel.pk),),
        ),
    )
    approvals.submit(_actor(editor, ws), post.pk, "please look")
    target = PublicationTarget.objects.get(variant__post=post)
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.FAILED, error_message="token 8f3a rejected by api.example"
    )
    return {
        "ws": ws,
        "owner": owner,
        "client": client_user,
        "editor": editor,
        "post": post,
        "target": target.pk,
    }


def _api(ws: Workspace, role: str) -> Client:
    key = accounts.create_api_key(None, ws, role).key
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_the_api_shows_the_client_no_notes_authors_or_attempt_logs(plan: dict[str, Any]) -> None:
    ws, post, target = plan["ws"], plan["post"], plan["target"]
    client_api, editor_api = _api(ws, "client"), _api(ws, "editor")

    mine = editor_api.get(f"/api/v1/posts/{post.pk}").json()
    assert mine["notes"] == "INTERNAL: client hates green" and mine["author"] == "writer@example.com"
    seen = client_api.get(f"/api/v1/posts/{post.pk}").json()
    assert seen["notes"] == "" and seen["author"] is None
    assert seen["variants"][0]["target"]["error_message"] == ""
    listed = client_api.get("/api/v1/posts").json()
    assert "client hates green" not in json.dumps(listed) and "writer@example.com" not in json.dumps(listed)

    assert editor_api.get(f"/api/v1/targets/{target}").status_code == 200
    assert client_api.get(f"/api/v1/targets/{target}").status_code == 403
    reviews = client_api.get(f"/api/v1/posts/{post.pk}/reviews").json()
    assert reviews and all(r["actor"] == "" for r in reviews)


def test_the_web_shows_the_client_no_attempt_logs_or_team_emails(plan: dict[str, Any]) -> None:
    ws, post, target = plan["ws"], plan["post"], plan["target"]
    team = _browser(plan["owner"], ws)
    client = _browser(plan["client"], ws)

    assert team.get(reverse("web:publishing_target", args=[target])).status_code == 200
    assert client.get(reverse("web:publishing_target", args=[target])).status_code == 403
    for name in ("web:posts", "web:dashboard", "web:publishing", "web:calendar"):
        team_page = team.get(reverse(name)).content.decode()
        page = client.get(reverse(name)).content.decode()
        assert "token 8f3a" not in page, name
        assert reverse("web:publishing_target", args=[target]) not in page, name
        assert "writer@example.com" not in page, name
        if name == "web:posts":
            assert "token 8f3a" in team_page
    post_page = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "writer@example.com" not in post_page and "client hates green" not in post_page
    assert "writer@example.com" in team.get(reverse("web:post_edit", args=[post.pk])).content.decode()
