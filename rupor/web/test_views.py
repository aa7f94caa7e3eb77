"""The web UI through Django's test client: roles enforced on the server, other workspaces'
objects answer 404, CSRF required, bad input answered next to the field with nothing created."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import ApiKey, Invitation, Membership, User, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import service as planning
from rupor.planning.models import Post

PASSWORD = "a-long-enough-passphrase-42"


@dataclass
class World:
    ws: Workspace
    other: Workspace
    users: dict[Role, User]
    channel: Channel
    post: Post
    other_channel: Channel
    other_post: Post
    other_key: ApiKey
    other_membership: Membership


def _channel(actor: accounts.Actor, name: str, remote_id: str) -> Channel:
    network = "telegram"
    creds: dict[str, str] = {"bot_token": "123:abc"}
    if network in registry.available():
        creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required} or creds
    return channels.connect(
        actor,
        channels.ChannelInput(network=network, name=name, remote_id=remote_id, credentials=creds),
        verify=False,
    )


@pytest.fixture
def world(db: Any) -> World:
    users = {
        role: accounts.create_user(f"{role.value}@example.com", PASSWORD, name=role.value.title())
        for role in Role
    }
    owner = users[Role.OWNER]
    ws = accounts.create_workspace("Alpha", owner, timezone="Europe/Moscow")
    owner_actor = accounts.actor_for_user(owner, ws)
    assert owner_actor is not None
    for role, user in users.items():
        if role is not Role.OWNER:
            accounts.add_member(owner_actor, user.email, role.value)
    channel = _channel(owner_actor, "Alpha news", "@alpha")
    post = planning.create_post(
        owner_actor, planning.PostInput(text="Hello", variants=(planning.VariantInput(channel.pk),))
    )

    stranger = accounts.create_user("stranger@example.com", PASSWORD)
    other = accounts.create_workspace("Beta", stranger)
    other_actor = accounts.actor_for_user(stranger, other)
    assert other_actor is not None
    other_channel = _channel(other_actor, "Beta news", "@beta")
    other_post = planning.create_post(
        other_actor, planning.PostInput(text="Secret", variants=(planning.VariantInput(other_channel.pk),))
    )
    other_key = ApiKey.objects.get(pk=accounts.create_api_key(other_actor, other, "editor").id)
    accounts.create_user("beta-editor@example.com", PASSWORD)
    other_membership = accounts.add_member(other_actor, "beta-editor@example.com", "editor")
    return World(ws, other, users, channel, post, other_channel, other_post, other_key, other_membership)


def _client(user: User, workspace: Workspace | None = None, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.slug
        session.save()
    return client


# -- pages and who may see them --------------------------------------------------------------

GET_PAGES: list[tuple[str, Perm]] = [
    ("web:dashboard", Perm.WORKSPACE_VIEW),
    ("web:posts", Perm.POSTS_VIEW),
    ("web:post_new", Perm.POSTS_EDIT),
    ("web:channels", Perm.CHANNELS_VIEW),
    ("web:members", Perm.MEMBERS_VIEW),
    ("web:api_keys", Perm.APIKEYS_MANAGE),
    ("web:workspace_settings", Perm.WORKSPACE_MANAGE),
]


@pytest.mark.parametrize("role", list(Role))
def test_every_page_checks_the_role_on_the_server(world: World, role: Role) -> None:
    client = _client(world.users[role], world.ws)
    for name, perm in GET_PAGES:
        response = client.get(reverse(name))
        expected = 200 if can(role, perm) else 403
        assert response.status_code == expected, (name, role, response.status_code)
    object_pages = [
        (reverse("web:post_edit", args=[world.post.pk]), Perm.POSTS_EDIT),
        (reverse("web:post_delete", args=[world.post.pk]), Perm.POSTS_EDIT),
        (reverse("web:channel_edit", args=[world.channel.pk]), Perm.CHANNELS_MANAGE),
        (reverse("web:channel_remove", args=[world.channel.pk]), Perm.CHANNELS_MANAGE),
        (reverse("web:channel_connect", args=["telegram"]), Perm.CHANNELS_MANAGE),
    ]
    for url, perm in object_pages:
        response = client.get(url)
        if can(role, perm):
            assert response.status_code in (200, 302), (url, role)
        else:
            assert response.status_code == 403, (url, role)


def test_pages_need_a_signed_in_user(db: Any) -> None:
    client = Client()
    for name, _perm in GET_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))
    assert client.get(reverse("web:profile")).status_code == 302


@pytest.mark.parametrize("role", list(Role))
def test_writes_are_refused_for_roles_without_the_permission(world: World, role: Role) -> None:
    client = _client(world.users[role], world.ws)
    before = (
        Post.objects.count(),
        Channel.objects.count(),
        Invitation.objects.count(),
        ApiKey.objects.count(),
    )
    writes = [
        (reverse("web:post_new"), {"text": "x", "status": "draft"}, Perm.POSTS_EDIT),
        (
            reverse("web:channel_connect", args=["telegram"]),
            {"remote_id": "@new", "cred_bot_token": "1:a"},
            Perm.CHANNELS_MANAGE,
        ),
        (reverse("web:member_invite"), {"email": "new@example.com", "role": "editor"}, Perm.MEMBERS_MANAGE),
        (reverse("web:api_keys"), {"role": "analyst"}, Perm.APIKEYS_MANAGE),
        (
            reverse("web:workspace_settings"),
            {"name": "Hacked", "timezone": "UTC", "late_window_minutes": 5, "approval": "none"},
            Perm.WORKSPACE_MANAGE,
        ),
        (reverse("web:post_delete", args=[world.post.pk]), {}, Perm.POSTS_EDIT),
        (reverse("web:channel_remove", args=[world.channel.pk]), {}, Perm.CHANNELS_MANAGE),
    ]
    for url, data, perm in writes:
        response = client.post(url, data)
        if not can(role, perm):
            assert response.status_code == 403, (url, role)
    if not any(can(role, perm) for _u, _d, perm in writes):
        assert (
            Post.objects.count(),
            Channel.objects.count(),
            Invitation.objects.count(),
            ApiKey.objects.count(),
        ) == before
        assert Workspace.objects.get(pk=world.ws.pk).name == "Alpha"


def test_editor_cannot_schedule_and_sees_why(world: World) -> None:
    client = _client(world.users[Role.EDITOR], world.ws)
    page = client.get(reverse("web:post_new")).content.decode()
    assert 'value="scheduled"' not in page
    tomorrow = (clock.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("web:post_new"),
        {"text": "Launch", "channels": [world.channel.pk], "status": "scheduled", "scheduled_at": tomorrow},
    )
    assert response.status_code == 400
    assert "scheduled" in response.context["form"].errors["status"][0]
    assert not Post.objects.filter(text="Launch").exists()


# -- other workspaces -------------------------------------------------------------------------


def test_objects_of_another_workspace_answer_404(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws)
    gets = [
        reverse("web:post_edit", args=[world.other_post.pk]),
        reverse("web:post_delete", args=[world.other_post.pk]),
        reverse("web:channel_edit", args=[world.other_channel.pk]),
        reverse("web:channel_remove", args=[world.other_channel.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "x", "text": "x", "status": "draft"}).status_code == 404, url
    posts = [
        reverse("web:member_role", args=[world.other_membership.pk]),
        reverse("web:member_remove", args=[world.other_membership.pk]),
        reverse("web:api_key_revoke", args=[world.other_key.pk]),
    ]
    for url in posts:
        assert client.post(url, {f"m{world.other_membership.pk}-role": "admin"}).status_code == 404, url
    assert (
        client.post(reverse("web:post_check"), {"channel": world.other_channel.pk, "text": "x"}).status_code
        == 404
    )
    assert client.post(reverse("web:workspace_switch"), {"workspace": world.other.slug}).status_code == 404
    # Nothing of the other workspace changed.
    assert Post.objects.filter(pk=world.other_post.pk).exists()
    assert Channel.live.filter(pk=world.other_channel.pk).exists()
    assert Membership.objects.get(pk=world.other_membership.pk).role == "editor"
    assert ApiKey.objects.get(pk=world.other_key.pk).revoked_at is None
    # ... and its content never shows in lists.
    assert "Secret" not in client.get(reverse("web:posts")).content.decode()
    assert "Beta news" not in client.get(reverse("web:channels")).content.decode()


def test_switching_workspace(world: World) -> None:
    owner = world.users[Role.OWNER]
    second = accounts.create_workspace("Gamma", owner, timezone="Asia/Seoul")
    client = _client(owner, world.ws)
    response = client.post(reverse("web:workspace_switch"), {"workspace": second.slug})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == second.slug
    page = client.get(reverse("web:dashboard")).content.decode()
    assert "Gamma" in page and "Asia/Seoul" in page
    assert client.get(reverse("web:workspace_switch")).status_code == 405


# -- CSRF ------------------------------------------------------------------------------------


def test_forms_need_the_csrf_token(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws, enforce_csrf_checks=True)
    response = client.post(reverse("web:post_new"), {"text": "no token", "status": "draft"})
    assert response.status_code == 403
    assert not Post.objects.filter(text="no token").exists()
    page = client.get(reverse("web:post_new"))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("web:post_new"), {"text": "with token", "status": "draft", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Post.objects.filter(text="with token").exists()
    for name in ("web:logout", "web:workspace_switch", "web:member_invite"):
        assert client.post(reverse(name), {}).status_code == 403, name


# -- bad input -------------------------------------------------------------------------------


def test_scheduling_without_a_time_shows_a_field_error_and_creates_nothing(world: World) -> None:
    client = _client(world.users[Role.MANAGER], world.ws)
    response = client.post(
        reverse("web:post_new"), {"text": "No time", "channels": [world.channel.pk], "status": "scheduled"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["scheduled_at"]
    assert not Post.objects.filter(text="No time").exists()


def test_a_time_in_the_past_is_refused(world: World) -> None:
    client = _client(world.users[Role.MANAGER], world.ws)
    response = client.post(
        reverse("web:post_new"),
        {
            "text": "Too late",
            "channels": [world.channel.pk],
            "status": "scheduled",
            "scheduled_at": "2020-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert "past" in response.context["form"].errors["scheduled_at"][0]
    assert not Post.objects.filter(text="Too late").exists()


def test_a_garbled_time_is_a_field_error(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws)
    response = client.post(
        reverse("web:post_new"), {"text": "x1", "status": "draft", "scheduled_at": "tomorrow-ish"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["scheduled_at"]
    assert not Post.objects.filter(text="x1").exists()


def test_draft_with_per_channel_variant_text(world: World) -> None:
    client = _client(world.users[Role.EDITOR], world.ws)
    response = client.post(
        reverse("web:post_new"),
        {
            "text": "Shared words",
            "channels": [world.channel.pk],
            "status": "draft",
            f"variant_text_{world.channel.pk}": "Telegram words",
            "scheduled_at": "2030-06-01T09:30",
        },
    )
    assert response.status_code == 302
    post = Post.objects.get(text="Shared words")
    assert post.status == "draft"
    assert [v.text for v in post.variants.all()] == ["Telegram words"]
    # 09:30 in Moscow is 06:30 UTC.
    assert post.scheduled_at == dt.datetime(2030, 6, 1, 6, 30, tzinfo=dt.UTC)
    listing = client.get(reverse("web:posts")).content.decode()
    assert "Shared words" in listing and "Not scheduled" in listing
    # Editing keeps the local time as typed.
    edit = client.get(reverse("web:post_edit", args=[post.pk])).content.decode()
    assert "2030-06-01T09:30" in edit


def test_post_list_filters(world: World) -> None:
    client = _client(world.users[Role.ANALYST], world.ws)
    assert "Hello" in client.get(reverse("web:posts"), {"status": "draft"}).content.decode()
    assert "Hello" not in client.get(reverse("web:posts"), {"status": "scheduled"}).content.decode()
    assert "Hello" in client.get(reverse("web:posts"), {"channel": world.channel.pk}).content.decode()
    assert client.get(reverse("web:posts"), {"channel": "nonsense", "status": "nonsense"}).status_code == 200


def test_bad_workspace_input(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws)
    count = Workspace.objects.count()
    response = client.post(reverse("web:workspace_new"), {"name": "Delta", "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["form"].errors["timezone"]
    response = client.post(reverse("web:workspace_new"), {"name": "", "timezone": "UTC"})
    assert response.context["form"].errors["name"]
    assert Workspace.objects.count() == count
    response = client.post(
        reverse("web:workspace_settings"),
        {"name": "Alpha 2", "timezone": "Europe/Nowhere", "late_window_minutes": 30, "approval": "none"},
    )
    assert response.context["form"].errors["timezone"]
    response = client.post(
        reverse("web:workspace_settings"),
        {"name": "Alpha 2", "timezone": "Asia/Seoul", "late_window_minutes": 45, "approval": "internal"},
    )
    assert response.status_code == 302
    ws = Workspace.objects.get(pk=world.ws.pk)
    assert (ws.name, ws.timezone, ws.late_window_minutes, ws.approval) == (
        "Alpha 2",
        "Asia/Seoul",
        45,
        "internal",
    )


def test_creating_a_workspace_switches_to_it(world: World) -> None:
    client = _client(world.users[Role.CLIENT], world.ws)
    response = client.post(reverse("web:workspace_new"), {"name": "Client's own", "timezone": "Asia/Seoul"})
    assert response.status_code == 302
    ws = Workspace.objects.get(name="Client's own")
    assert client.session[SESSION_KEY] == ws.slug
    assert accounts.role_of(world.users[Role.CLIENT], ws) == Role.OWNER


def test_channel_connect_missing_credentials_is_a_field_error(world: World) -> None:
    network = "telegram"
    if network not in registry.available():
        pytest.skip("the Telegram adapter is not available")
    client = _client(world.users[Role.ADMIN], world.ws)
    count = Channel.objects.count()
    response = client.post(
        reverse("web:channel_connect", args=[network]), {"remote_id": "@x", "base_url": "not a url"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["cred_bot_token"] and form.errors["base_url"]
    assert Channel.objects.count() == count


def test_connecting_against_the_emulator_verifies_and_explains_failures(world: World) -> None:
    if "telegram" not in registry.available():
        pytest.skip("the Telegram adapter is not available")
    from rupor.networks.telegram import testing as tg

    emulator = tg.start()
    try:
        client = _client(world.users[Role.ADMIN], world.ws)
        url = reverse("web:channel_connect", args=["telegram"])
        bad = client.post(
            url,
            {
                "remote_id": tg.DEMO_REMOTE_ID,
                "base_url": emulator.url,
                "cred_bot_token": "7000000001:AAE-revoked-000000000000000000000",
            },
        )
        assert bad.status_code == 400
        assert bad.context["form"].errors  # a plain sentence from the network's error taxonomy
        assert not Channel.objects.filter(remote_id=tg.DEMO_REMOTE_ID).exists()
        creds = {f"cred_{k}": v for k, v in tg.demo_credentials().items()}
        good = client.post(url, {"remote_id": tg.DEMO_REMOTE_ID, "base_url": emulator.url, **creds})
        assert good.status_code == 302, good.context["form"].errors if good.context else good
        channel = Channel.objects.get(remote_id=tg.DEMO_REMOTE_ID)
        assert channel.verified_at is not None
        page = client.get(reverse("web:channels")).content.decode()
        assert channel.name in page
        assert tg.demo_credentials()["bot_token"] not in page
        edit = client.get(reverse("web:channel_edit", args=[channel.pk])).content.decode()
        assert tg.demo_credentials()["bot_token"] not in edit
    finally:
        emulator.stop()


def test_channel_edit_and_remove(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws)
    response = client.post(
        reverse("web:channel_edit", args=[world.channel.pk]), {"name": "Renamed", "status": "paused"}
    )
    assert response.status_code == 302
    channel = Channel.objects.get(pk=world.channel.pk)
    assert (channel.name, channel.status) == ("Renamed", "paused")
    assert channel.get_credentials()  # blank secret fields keep the stored credentials
    response = client.post(reverse("web:channel_remove", args=[world.channel.pk]))
    assert response.status_code == 302
    assert not Channel.live.filter(pk=world.channel.pk).exists()


def test_live_counter_counts_in_the_network_unit(world: World) -> None:
    client = _client(world.users[Role.EDITOR], world.ws)
    url = reverse("web:post_check")
    response = client.post(url, {"channel": world.channel.pk, f"variant_text_{world.channel.pk}": "😀" * 3})
    assert response.status_code == 200
    body = response.content.decode()
    if "telegram" in registry.available():
        limit = registry.adapter("telegram").limits.text_max
        assert ">6</span>" in body  # three emoji are six UTF-16 units on Telegram
        too_long = client.post(
            url, {"channel": world.channel.pk, f"variant_text_{world.channel.pk}": "a" * ((limit or 0) + 1)}
        )
        assert 'class="counter over"' in too_long.content.decode()
    assert client.post(url, {"channel": "x"}).status_code == 404
    assert (
        _client(world.users[Role.ANALYST], world.ws).post(url, {"channel": world.channel.pk}).status_code
        == 403
    )


# -- members, invitations, keys -----------------------------------------------------------------


def test_invite_shows_the_link_once_sends_mail_and_the_invitee_joins(world: World) -> None:
    client = _client(world.users[Role.ADMIN], world.ws)
    response = client.post(reverse("web:member_invite"), {"email": "newbie@example.com", "role": "editor"})
    assert response.status_code == 200
    link = response.context["new_invitation"]["link"]
    assert link in response.content.decode()
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    assert link not in client.get(reverse("web:members")).content.decode()  # shown once

    path = link.split("testserver", 1)[1]
    guest = Client()
    assert guest.get(path).status_code == 200
    weak = guest.post(path, {"password1": "123", "password2": "123"})
    assert weak.context["form"].errors
    assert not User.objects.filter(email="newbie@example.com").exists()
    joined = guest.post(path, {"name": "New", "password1": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302
    user = User.objects.get(email="newbie@example.com")
    assert accounts.role_of(user, world.ws) == Role.EDITOR
    assert guest.get(path).status_code == 404  # used up


def test_invite_bad_input_and_rights(world: World) -> None:
    client = _client(world.users[Role.ADMIN], world.ws)
    response = client.post(reverse("web:member_invite"), {"email": "not-an-email", "role": "editor"})
    assert response.status_code == 400 and response.context["invite_form"].errors["email"]
    response = client.post(reverse("web:member_invite"), {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 400 and response.context["invite_form"].errors["role"]
    response = client.post(reverse("web:member_invite"), {"email": "editor@example.com", "role": "editor"})
    assert response.status_code == 400 and response.context["invite_form"].errors["email"]
    assert Invitation.objects.count() == 0


def test_change_role_and_remove_member(world: World) -> None:
    client = _client(world.users[Role.ADMIN], world.ws)
    membership = Membership.objects.get(workspace=world.ws, user=world.users[Role.EDITOR])
    owner_membership = Membership.objects.get(workspace=world.ws, user=world.users[Role.OWNER])
    assert (
        client.post(
            reverse("web:member_role", args=[membership.pk]), {f"m{membership.pk}-role": "manager"}
        ).status_code
        == 302
    )
    assert Membership.objects.get(pk=membership.pk).role == "manager"
    # An admin cannot touch an owner.
    client.post(
        reverse("web:member_role", args=[owner_membership.pk]), {f"m{owner_membership.pk}-role": "client"}
    )
    assert Membership.objects.get(pk=owner_membership.pk).role == "owner"
    client.post(reverse("web:member_remove", args=[owner_membership.pk]))
    assert Membership.objects.filter(pk=owner_membership.pk).exists()
    assert client.post(reverse("web:member_remove", args=[membership.pk])).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_api_key_shown_once_then_revoked(world: World) -> None:
    client = _client(world.users[Role.OWNER], world.ws)
    response = client.post(reverse("web:api_keys"), {"name": "CRM", "role": "analyst"})
    key = response.context["new_key"].key
    assert key in response.content.decode()
    assert accounts.authenticate_api_key(key) is not None
    listing = client.get(reverse("web:api_keys")).content.decode()
    assert key not in listing and key[:12] in listing
    row = ApiKey.objects.get(name="CRM")
    assert client.post(reverse("web:api_key_revoke", args=[row.pk])).status_code == 302
    assert accounts.authenticate_api_key(key) is None
    bad = client.post(reverse("web:api_keys"), {"role": "emperor"})
    assert bad.status_code == 400 and bad.context["form"].errors["role"]


# -- sign in, profile, language ------------------------------------------------------------------


def test_login_logout(world: World) -> None:
    client = Client()
    wrong = client.post(reverse("web:login"), {"username": "owner@example.com", "password": "nope"})
    assert wrong.status_code == 200 and wrong.context["form"].non_field_errors()
    ok = client.post(
        reverse("web:login"),
        {"username": "owner@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert ok.status_code == 302 and ok["Location"] == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200
    assert client.get(reverse("web:logout")).status_code == 405
    assert client.post(reverse("web:logout")).status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_user_without_workspace_gets_a_welcome(db: Any) -> None:
    user = accounts.create_user("lonely@example.com", PASSWORD)
    client = _client(user)
    page = client.get(reverse("web:dashboard"))
    assert page.status_code == 200 and "workspace" in page.content.decode().lower()
    assert client.get(reverse("web:posts")).status_code == 302


def test_profile_and_language(world: World) -> None:
    owner = world.users[Role.OWNER]
    client = _client(owner, world.ws)
    response = client.post(reverse("web:profile"), {"form": "profile", "name": "Анна", "language": "ru"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.name, owner.language) == ("Анна", "ru")
    assert response.cookies["django_language"].value == "ru"
    page = client.get(reverse("web:dashboard")).content.decode()
    assert 'lang="ru"' in page and "Панель" in page
    client.post(reverse("set_language"), {"language": "ko", "next": "/"})
    assert "대시보드" in client.get(reverse("web:dashboard")).content.decode()
    bad = client.post(
        reverse("web:profile"),
        {"form": "password", "old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    assert bad.status_code == 400 and bad.context["password_form"].errors
    good = client.post(
        reverse("web:profile"),
        {
            "form": "password",
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-7",
            "new_password2": "another-long-passphrase-7",
        },
    )
    assert good.status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 200  # still signed in


def test_dashboard_shows_the_week_in_the_workspace_zone(world: World) -> None:
    manager = world.users[Role.MANAGER]
    actor = accounts.actor_for_user(manager, world.ws)
    assert actor is not None
    soon = (clock.now() + dt.timedelta(days=2)).astimezone(dt.UTC).replace(tzinfo=None)
    planning.create_post(
        actor,
        planning.PostInput(
            text="Upcoming launch", scheduled_at=soon, variants=(planning.VariantInput(world.channel.pk),)
        ),
    )
    page = _client(manager, world.ws).get(reverse("web:dashboard")).content.decode()
    assert "Upcoming launch" in page
    assert "Europe/Moscow" in page
    moderator_page = (
        _client(world.users[Role.MODERATOR], world.ws).get(reverse("web:dashboard")).content.decode()
    )
    assert "Upcoming launch" not in moderator_page
