"""Per-channel settings are checked against a typed, bounded schema when written (a 400 naming
the field, on the API and the command line), and read back safely for the adapters."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rupor.channels import options
from rupor.channels.models import Channel

BAD = [
    ({"timeout": "abc"}, "settings.timeout"),
    ({"timeout": 10**400}, "settings.timeout"),
    ({"timeout": 1e308}, "settings.timeout"),
    ({"timeout": -1}, "settings.timeout"),
    ({"timeout": True}, "settings.timeout"),
    ({"timeout": [1]}, "settings.timeout"),
    ({"longpoll_wait": 10**9}, "settings.longpoll_wait"),
    ({"longpoll_wait": 2.5}, "settings.longpoll_wait"),
    ({"forward_attempts": 0}, "settings.forward_attempts"),
    ({"forward_wait_s": {"a": 1}}, "settings.forward_wait_s"),
    ({"pace": "no"}, "settings.pace"),
    ({"chat_type": "megagroup"}, "settings.chat_type"),
    ({"callback_confirmation": "x" * 1000}, "settings.callback_confirmation"),
    ({"retries": 3}, "settings.retries"),
    ({"hook_token": "chosen-by-me"}, "settings.hook_token"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("settings", "field"), BAD)
def test_api_refuses_bad_settings_naming_the_field(settings, field, make_workspace, api_for):
    api = api_for(make_workspace(), "admin")
    res = api.post(
        "/channels",
        {
            "network": "telegram",
            "remote_id": "@news",
            "credentials": {"bot_token": "1:x"},
            "settings": settings,
            "verify": False,
        },
    )
    assert res.status_code == 400, res.content
    assert res.json()["errors"][0]["field"] == field
    assert Channel.objects.count() == 0

    ok = api.post(
        "/channels",
        {
            "network": "telegram",
            "remote_id": "@news",
            "credentials": {"bot_token": "1:x"},
            "settings": {"timeout": 5},
            "verify": False,
        },
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["settings"] == {"timeout": 5.0}
    res = api.patch(f"/channels/{ok.json()['id']}", {"settings": settings})
    assert res.status_code == 400, res.content
    assert res.json()["errors"][0]["field"] == field
    assert Channel.objects.get().settings == {"timeout": 5.0}


@pytest.mark.django_db
def test_api_settings_merge_remove_and_keep_the_webhook_secret(make_workspace, api_for):
    api = api_for(make_workspace(), "admin")
    made = api.post(
        "/channels",
        {
            "network": "vk",
            "remote_id": "1",
            "credentials": {"user_token": "u", "group_token": "g"},
            "settings": {"timeout": "7.5", "pace": False},
            "verify": False,
        },
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    Channel.objects.filter(pk=pk).update(
        settings={"timeout": 7.5, "pace": False, "hook_token": "kept-secret"}
    )
    res = api.patch(f"/channels/{pk}", {"settings": {"pace": None, "longpoll_wait": 25}})
    assert res.status_code == 200, res.content
    assert res.json()["settings"] == {"timeout": 7.5, "longpoll_wait": 25}  # the hook secret is never shown
    assert Channel.objects.get(pk=pk).settings["hook_token"] == "kept-secret"


@pytest.mark.django_db(transaction=True)
def test_cli_refuses_bad_settings_naming_the_field(make_workspace):
    from rupor.cli.main import cli

    ws = make_workspace("CLI settings")
    runner = CliRunner()
    base = [
        "channel",
        "connect",
        "--workspace",
        ws.slug,
        "--network",
        "telegram",
        "--remote-id",
        "@news",
        "--credential",
        "bot_token=1:x",
        "--no-verify",
    ]
    res = runner.invoke(cli, [*base, "--setting", "timeout=abc"])
    assert res.exit_code == 1
    assert "(settings.timeout)" in res.output and "0.1" in res.output
    res = runner.invoke(cli, [*base, "--setting", "colour=blue"])
    assert res.exit_code == 1 and "(settings.colour)" in res.output
    assert Channel.objects.count() == 0
    res = runner.invoke(cli, [*base, "--setting", "timeout=12", "--setting", "chat_type=channel"])
    assert res.exit_code == 0, res.output
    channel = Channel.objects.get()
    assert channel.settings == {"timeout": 12.0, "chat_type": "channel"}
    res = runner.invoke(
        cli, ["channel", "update", str(channel.pk), "--workspace", ws.slug, "--setting", "pace=maybe"]
    )
    assert res.exit_code == 1 and "(settings.pace)" in res.output
    res = runner.invoke(
        cli, ["channel", "update", str(channel.pk), "--workspace", ws.slug, "--setting", "pace=no"]
    )
    assert res.exit_code == 0, res.output
    channel.refresh_from_db()
    assert channel.settings == {"timeout": 12.0, "chat_type": "channel", "pace": False}


@pytest.mark.parametrize(
    "stored", [{"timeout": "abc"}, {"longpoll_wait": 10**9}, "garbage", [1, 2], {"pace": "yes"}]
)
def test_stored_settings_that_no_write_could_make_are_refused_when_read(stored):
    with pytest.raises(options.SettingError):
        options.check_stored(stored)


def test_stored_settings_drop_unknown_keys_and_keep_the_webhook_secret():
    assert options.check_stored({"timeout": 3, "hook_token": "t", "old_option": 1}) == {
        "timeout": 3.0,
        "hook_token": "t",
    }
