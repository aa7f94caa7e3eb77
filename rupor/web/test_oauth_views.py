"""Connecting X and Mastodon from the web by signing in on the network: start (a POST with CSRF),
the network's consent page (the emulator), the callback with ``code`` and ``state``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from rupor.accounts.middleware import SESSION_KEY as WORKSPACE_KEY
from rupor.accounts.roles import Perm, Role, can
from rupor.channels import oauth
from rupor.channels.models import Channel
from rupor.core import clock, http
from rupor.networks.mastodon import emulator as m_emu
from rupor.networks.mastodon import testing as m_testing
from rupor.networks.x import emulator as x_emu
from rupor.networks.x import testing as x_testing
from rupor.web import test_composer
from rupor.web.test_composer import World

world = test_composer.world
CALLBACK = "/channels/oauth/{}/callback/"


@pytest.fixture
def x_server() -> Any:
    running = x_testing.start()
    http.allow_origin(running.url)
    yield running
    running.stop()


@pytest.fixture
def instance() -> Any:
    running = m_testing.start()
    http.allow_origin(running.url)
    yield running
    running.stop()


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _start_x(client: Client, server: Any, **extra: str) -> str:
    """Press "Connect with X"; the address of X's consent page Rupor sends the person to."""
    answer = client.post(
        "/channels/oauth/x/start/", {"client_id": x_emu.DEMO_CLIENT_ID, "base_url": server.url, **extra}
    )
    assert answer.status_code == 302, answer
    assert answer["Location"].startswith(server.url + "/i/oauth2/authorize?")
    return str(answer["Location"])


def _on_x(address: str, decision: str) -> str:
    """The person on X's consent page: the address X sends them back to."""
    with http.client(timeout=5) as browser:
        page = browser.get(address)
        assert page.status_code == 200 and "Authorize app" in page.text
        query = dict(parse_qsl(urlsplit(address).query))
        back = browser.post(address.split("?")[0], data={**query, "decision": decision})
    assert back.status_code == 302
    return str(back.headers["location"])


def _callback(client: Client, back: str) -> Any:
    parts = urlsplit(back)
    assert parts.path in (CALLBACK.format("x"), CALLBACK.format("mastodon"))
    return client.get(f"{parts.path}?{parts.query}")


def test_x_connects_end_to_end_with_pkce(world: World, x_server: Any) -> None:
    client = world.client(Role.ADMIN)
    address = _start_x(client, x_server)
    query = dict(parse_qsl(urlsplit(address).query))
    assert query["code_challenge_method"] == "S256" and query["redirect_uri"].endswith(CALLBACK.format("x"))
    done = _callback(client, _on_x(address, "allow"))
    assert done.status_code == 302 and done["Location"] == "/channels/"
    channel = Channel.objects.get(workspace=world.ws, network="x")
    assert channel.remote_id == x_emu.DEMO_USER_ID
    assert channel.base_url == x_server.url
    creds = channel.get_credentials()
    assert creds["refresh_token"] and creds["expires_at"] and creds["client_id"] == x_emu.DEMO_CLIENT_ID
    assert "is connected" in " ".join(_messages(done))
    # The same answer again: the state was used once and is gone.
    again = _callback(client, f"{CALLBACK.format('x')}?{urlsplit(done.wsgi_request.get_full_path()).query}")
    assert again["Location"] == "/channels/connect/x/"
    assert "used already" in " ".join(_messages(again))
    assert Channel.objects.filter(network="x").count() == 1


def test_x_refused_by_the_person_saves_nothing(world: World, x_server: Any) -> None:
    client = world.client(Role.ADMIN)
    back = _on_x(_start_x(client, x_server), "deny")
    assert "error=access_denied" in back
    answer = _callback(client, back)
    assert answer["Location"] == "/channels/connect/x/"
    assert "did not allow" in " ".join(_messages(answer))
    assert not Channel.objects.filter(network="x").exists()


def test_x_failed_exchange_saves_nothing(world: World, x_server: Any) -> None:
    client = world.client(Role.ADMIN)
    back = _on_x(_start_x(client, x_server), "allow")
    query = dict(parse_qsl(urlsplit(back).query))
    answer = client.get(CALLBACK.format("x"), {"state": query["state"], "code": "not-the-code"})
    assert answer["Location"] == "/channels/connect/x/"
    assert "did not accept the authorization" in " ".join(_messages(answer))
    assert not Channel.objects.filter(network="x").exists()


def test_bad_missing_and_expired_state_save_nothing(world: World, x_server: Any) -> None:
    client = world.client(Role.ADMIN)
    back = _on_x(_start_x(client, x_server), "allow")
    code = dict(parse_qsl(urlsplit(back).query))["code"]
    for state in ("", "forged"):
        answer = client.get(CALLBACK.format("x"), {"state": state, "code": code})
        assert "does not match a connection started here" in " ".join(_messages(answer))
    clock.advance(dt.timedelta(seconds=oauth.LIFETIME_SECONDS + 1))
    answer = _callback(client, back)
    assert "more than ten minutes" in " ".join(_messages(answer))
    assert not Channel.objects.filter(network="x").exists()


def test_a_state_from_another_workspace_or_person_is_refused(world: World, x_server: Any) -> None:
    client = world.client(Role.ADMIN)
    back = _on_x(_start_x(client, x_server), "allow")
    session = client.session
    pending = session[oauth.SESSION_KEY]
    for flow in pending.values():
        flow["workspace"] += 1000  # as if started in another workspace
    session[oauth.SESSION_KEY] = pending
    session.save()
    answer = _callback(client, back)
    assert "another workspace" in " ".join(_messages(answer))
    # Someone else's browser never holds the state at all.
    stranger = world.client(Role.OWNER)
    assert "does not match" in " ".join(_messages(_callback(stranger, back)))
    assert not Channel.objects.filter(network="x").exists()


@pytest.mark.parametrize("role", [r for r in Role if not can(r, Perm.CHANNELS_MANAGE)])
def test_roles_that_cannot_connect_channels_cannot_start_or_finish(world: World, role: Role) -> None:
    client = world.client(role)
    assert client.post("/channels/oauth/x/start/", {"client_id": "abc"}).status_code == 403
    assert (
        client.post("/channels/oauth/mastodon/start/", {"instance": "https://a.example"}).status_code == 403
    )
    assert client.get(CALLBACK.format("x"), {"state": "s", "code": "c"}).status_code == 403


def test_starting_needs_a_post_with_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.ADMIN])
    session = client.session
    session[WORKSPACE_KEY] = world.ws.slug
    session.save()
    assert client.post("/channels/oauth/x/start/", {"client_id": "abc"}).status_code == 403
    assert world.client(Role.ADMIN).get("/channels/oauth/x/start/").status_code == 405


def test_mastodon_connects_end_to_end(world: World, instance: Any) -> None:
    client = world.client(Role.ADMIN)
    registered = instance.app.state.emulator.apps
    before = len(registered)
    answer = client.post("/channels/oauth/mastodon/start/", {"instance": instance.url + "/"})
    assert answer.status_code == 302 and answer["Location"].startswith(instance.url + "/oauth/authorize?")
    with http.client(timeout=5) as browser:
        back = browser.get(answer["Location"]).headers["location"]
    done = _callback(client, back)
    assert done["Location"] == "/channels/", _messages(done)
    channel = Channel.objects.get(workspace=world.ws, network="mastodon")
    assert channel.base_url == instance.url and channel.remote_id == m_emu.DEMO_ACCOUNT_ID
    assert channel.get_credentials()["access_token"]
    # The app registered on the instance is reused for the next connection.
    assert len(registered) == before + 1
    again = client.post("/channels/oauth/mastodon/start/", {"instance": instance.url})
    assert again.status_code == 302 and len(registered) == before + 1


def test_mastodon_denied_and_private_addresses(world: World, instance: Any) -> None:
    client = world.client(Role.ADMIN)
    answer = client.post("/channels/oauth/mastodon/start/", {"instance": instance.url})
    state = dict(parse_qsl(urlsplit(answer["Location"]).query))["state"]
    denied = client.get(CALLBACK.format("mastodon"), {"state": state, "error": "access_denied"})
    assert "did not allow" in " ".join(_messages(denied))
    private = client.post("/channels/oauth/mastodon/start/", {"instance": "http://10.1.2.3:9"})
    assert private["Location"] == "/channels/connect/mastodon/"
    assert _messages(private)
    assert not Channel.objects.filter(network="mastodon").exists()
