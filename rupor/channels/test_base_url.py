"""Stored credentials never travel to a new address: changing a channel's API base URL needs
every secret field again, on the API, the web form and the command line alike."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner
from django.test import Client

from rupor.accounts.middleware import SESSION_KEY
from rupor.channels.models import Channel
from rupor.channels.testing import Recorder
from rupor.networks import registry
from rupor.web import forms

NETWORKS = ["vk", "telegram", "ok", "linkedin", "mastodon"]


@pytest.fixture(params=NETWORKS)
def connected(request, make_workspace, make_user, api_for):
    """A channel connected (and verified) on a running emulator, plus a recorder at another address."""
    network = request.param
    testing = importlib.import_module(f"rupor.networks.{network}.testing")
    emulator = testing.start()
    other = Recorder(answer=b'{"ok": true, "response": {}}').start()
    owner = make_user()
    ws = make_workspace("Base URL", owner=owner)
    api = api_for(ws, "admin")
    res = api.post(
        "/channels",
        {
            "network": network,
            "remote_id": str(testing.DEMO_REMOTE_ID),
            "credentials": testing.demo_credentials(),
            "base_url": emulator.url,
        },
    )
    assert res.status_code == 201, res.content
    channel = Channel.objects.get(pk=res.json()["id"])
    secrets = [f.name for f in registry.adapter(network).credential_fields if f.secret]
    stored = [v for k, v in testing.demo_credentials().items() if k in secrets and len(v) >= 6]
    assert stored
    yield {
        "network": network,
        "testing": testing,
        "emulator": emulator,
        "other": other,
        "ws": ws,
        "api": api,
        "channel": channel,
        "secrets": secrets,
        "stored": stored,
        "owner": owner,
    }
    other.stop()
    emulator.stop()


def _untouched(c) -> None:
    channel = Channel.objects.get(pk=c["channel"].pk)
    assert channel.base_url == c["emulator"].url.rstrip("/")
    assert channel.get_credentials() == c["testing"].demo_credentials()
    for secret in c["stored"]:
        assert not c["other"].saw(secret), "a stored secret was sent to the new address"


@pytest.mark.django_db(transaction=True)
def test_api_refuses_a_new_base_url_without_the_secrets(connected):
    c = connected
    for verify in (True, False):
        res = c["api"].patch(f"/channels/{c['channel'].pk}", {"base_url": c["other"].url, "verify": verify})
        assert res.status_code == 400, res.content
        body = res.json()
        assert body["errors"][0]["field"] == f"credentials.{c['secrets'][0]}"
        assert "secrets entered again" in body["detail"]
    # Only some of the secrets is not enough either.
    partial = {c["secrets"][0]: "something-new"} if len(c["secrets"]) > 1 else {}
    if partial:
        res = c["api"].patch(
            f"/channels/{c['channel'].pk}", {"base_url": c["other"].url, "credentials": partial}
        )
        assert res.status_code == 400, res.content
        assert res.json()["errors"][0]["field"] == f"credentials.{c['secrets'][1]}"
    _untouched(c)
    assert c["other"].requests == []


@pytest.mark.django_db(transaction=True)
def test_web_form_refuses_a_new_base_url_without_the_secrets(connected):
    c = connected
    client = Client()
    client.force_login(c["owner"])
    session = client.session
    session[SESSION_KEY] = c["ws"].slug
    session.save()
    res = client.post(
        f"/channels/{c['channel'].pk}/edit/",
        {"name": "Renamed", "base_url": c["other"].url, "status": "active"},
    )
    assert res.status_code == 400
    assert "secrets entered again" in res.content.decode()
    form = res.context["form"]
    assert form.errors.get(forms.CRED_PREFIX + c["secrets"][0])
    _untouched(c)
    assert c["other"].requests == []
    # The same form without a new address still saves.
    res = client.post(
        f"/channels/{c['channel'].pk}/edit/",
        {"name": "Renamed", "base_url": c["emulator"].url, "status": "active"},
    )
    assert res.status_code == 302
    assert Channel.objects.get(pk=c["channel"].pk).name == "Renamed"


@pytest.mark.django_db(transaction=True)
def test_cli_refuses_a_new_base_url_without_the_secrets(connected):
    from rupor.cli.main import cli

    c = connected
    res = CliRunner().invoke(
        cli,
        [
            "channel",
            "update",
            str(c["channel"].pk),
            "--workspace",
            c["ws"].slug,
            "--base-url",
            c["other"].url,
        ],
    )
    assert res.exit_code == 1
    assert f"(credentials.{c['secrets'][0]})" in res.output
    _untouched(c)
    assert c["other"].requests == []


@pytest.mark.django_db(transaction=True)
def test_a_new_base_url_with_all_secrets_reentered_is_verified_there(connected):
    """Moving to another (emulated) endpoint works when the secrets come along; the old
    address is what the stored secrets were entered for, the new one gets only the new ones."""
    c = connected
    second = c["testing"].start()
    try:
        creds = {k: v for k, v in c["testing"].demo_credentials().items() if k in c["secrets"]}
        res = c["api"].patch(f"/channels/{c['channel'].pk}", {"base_url": second.url, "credentials": creds})
        assert res.status_code == 200, res.content
        assert res.json()["base_url"] == second.url.rstrip("/")
        # Unchanged address: no secrets needed to rename.
        res = c["api"].patch(f"/channels/{c['channel'].pk}", {"base_url": second.url, "name": "Moved"})
        assert res.status_code == 200, res.content
    finally:
        second.stop()
