"""Connecting a channel verifies its credentials against the (emulated) network, in every entry point."""

from __future__ import annotations

import importlib
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from rupor.channels.models import Channel
from rupor.networks import registry

NETWORKS = [
    n for n in registry.NETWORKS if importlib.util.find_spec(f"rupor.networks.{n}.testing") is not None
]


@pytest.fixture(params=NETWORKS)
def emulated(request):
    testing = importlib.import_module(f"rupor.networks.{request.param}.testing")
    emulator = testing.start()
    yield request.param, testing, emulator
    emulator.stop()


@pytest.mark.django_db
def test_api_connects_a_verified_channel_and_explains_failures(emulated, make_workspace, api_for):
    network, testing, emulator = emulated
    api = api_for(make_workspace(), "admin")
    good = api.post(
        "/channels",
        {
            "network": network,
            "remote_id": str(testing.DEMO_REMOTE_ID),
            "credentials": testing.demo_credentials(),
            "base_url": emulator.url,
        },
    )
    assert good.status_code == 201, good.content
    assert good.json()["verified_at"] is not None
    assert good.json()["name"]  # learned from the network when not given
    bad = testing.broken_channel(emulator, "bad_token")
    res = api.post(
        "/channels",
        {
            "network": network,
            "remote_id": bad.remote_id,
            "credentials": dict(bad.credentials),
            "base_url": emulator.url,
        },
    )
    assert res.status_code == 422
    assert res.json()["errors"][0]["field"] == "credentials"
    assert len(res.json()["detail"]) > 20  # a sentence, not a code
    for secret in bad.credentials.values():
        if len(secret) >= 8:
            assert secret not in res.content.decode()
    assert Channel.objects.count() == 1


@pytest.mark.django_db
def test_missing_credential_fields_are_named(make_workspace, api_for):
    api = api_for(make_workspace(), "admin")
    network = NETWORKS[0]
    res = api.post("/channels", {"network": network, "remote_id": "1", "credentials": {}})
    assert res.status_code == 400
    assert res.json()["errors"][0]["field"].startswith("credentials.")


@pytest.mark.django_db(transaction=True)
def test_cli_and_api_key_commands(tmp_path, monkeypatch):
    from rupor.cli.main import cli

    runner = CliRunner()
    res = runner.invoke(cli, ["createuser", "cli@example.com", "--password", "a long password 1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli, ["workspace", "create", "CLI Brand", "--owner", "cli@example.com", "--timezone", "Asia/Seoul"]
    )
    assert res.exit_code == 0, res.output
    slug = res.output.strip().splitlines()[-1]
    assert slug == "cli-brand"
    res = runner.invoke(cli, ["apikey", "create", "--workspace", slug, "--role", "analyst"])
    assert res.exit_code == 0, res.output
    key = res.output.strip().splitlines()[-1]
    assert key.startswith("rpr_")
    bad = runner.invoke(
        cli, ["workspace", "create", "X", "--owner", "cli@example.com", "--timezone", "Mars/Olympus"]
    )
    assert bad.exit_code != 0
    assert "time zone" in bad.output
    bad = runner.invoke(cli, ["apikey", "create", "--workspace", slug, "--role", "boss"])
    assert bad.exit_code != 0
    assert "not a role" in bad.output
    bad = runner.invoke(cli, ["createuser", "not-an-email", "--password", "a long password 1"])
    assert bad.exit_code != 0
    assert "email" in bad.output
    # Running it again changes nothing (the emulated history is tested in cli/test_demo_history.py).
    first = runner.invoke(cli, ["demo", "--no-history"])
    second = runner.invoke(cli, ["demo", "--no-history"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert first.output == second.output


@pytest.mark.django_db(transaction=True)
def test_cli_connect_verifies_and_explains(emulated, make_workspace):
    from rupor.cli.main import cli

    network, testing, emulator = emulated
    ws = make_workspace("CLI connect")
    runner = CliRunner()
    creds = [f"--credential={k}={v}" for k, v in testing.demo_credentials().items()]
    ok = runner.invoke(
        cli,
        [
            "channel",
            "connect",
            "--workspace",
            ws.slug,
            "--network",
            network,
            "--remote-id",
            str(testing.DEMO_REMOTE_ID),
            "--base-url",
            emulator.url,
            *creds,
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.output
    bad = testing.broken_channel(emulator, "bad_token")
    bad_creds = [f"--credential={k}={v}" for k, v in bad.credentials.items()]
    res = runner.invoke(
        cli,
        [
            "channel",
            "connect",
            "--workspace",
            ws.slug,
            "--network",
            network,
            "--remote-id",
            bad.remote_id,
            "--base-url",
            emulator.url,
            *bad_creds,
        ],
    )
    assert res.exit_code == 1
    assert "Error (credentials):" in res.output
    listing = runner.invoke(cli, ["channel", "list", "--workspace", ws.slug])
    assert listing.exit_code == 0 and network in listing.output
    for secret in testing.demo_credentials().values():
        if len(secret) >= 8:
            assert secret not in listing.output


@pytest.mark.django_db
def test_cli_connects_x_with_oauth_and_pkce(make_workspace, monkeypatch):
    """``rupor channel connect-x``: the person opens the printed address, allows the app and pastes
    the address X sent them back to; the code and its verifier become stored, renewable tokens."""
    from rupor.cli.main import cli
    from rupor.core import http
    from rupor.networks.x import emulator as x_emu
    from rupor.networks.x import testing as x_testing
    from rupor.networks.x import wire as x_wire

    emulator = x_testing.start()
    shown: list[str] = []
    real = x_wire.authorize_url

    def remember(*args, **kwargs):
        shown.append(real(*args, **kwargs))
        return shown[-1]

    def person_allows(*_args, **_kwargs):  # the browser: X redirects back with the code
        with http.client(timeout=5) as client:
            page = client.get(shown[-1])  # X's consent page; the person presses "Authorize app"
            assert "Authorize app" in page.text
            query = dict(parse_qsl(urlsplit(shown[-1]).query))
            return client.post(shown[-1].split("?")[0], data={**query, "decision": "allow"}).headers[
                "location"
            ]

    monkeypatch.setattr(x_wire, "authorize_url", remember)
    monkeypatch.setattr("click.prompt", person_allows)
    try:
        ws = make_workspace("X connect")
        res = CliRunner().invoke(
            cli,
            [
                "channel",
                "connect-x",
                "--workspace",
                ws.slug,
                "--client-id",
                x_emu.DEMO_CLIENT_ID,
                "--redirect-uri",
                "http://127.0.0.1/callback",
                "--authorize-url",
                emulator.url + "/i/oauth2/authorize",
                "--base-url",
                emulator.url,
            ],
        )
        assert res.exit_code == 0, res.output
        assert "code_challenge_method=S256" in shown[-1]
        channel = Channel.objects.get(workspace=ws, network="x")
        assert channel.remote_id == x_emu.DEMO_USER_ID
        creds = channel.get_credentials()
        assert creds["refresh_token"] and creds["expires_at"]
        assert creds["access_token"] not in res.output
    finally:
        emulator.stop()
