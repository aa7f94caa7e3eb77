"""The newsletter pages, the one-click unsubscribe link, the API and the CLI: each parses, calls
the service and renders, with the roles' limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Role
from rupor.cli.main import cli
from rupor.core import clock
from rupor.inbox.service import Signal
from rupor.inbox.testing import connect
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.newsletters import service
from rupor.newsletters.models import Subscription

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _world(make_workspace, make_user, vk_emu) -> tuple[Workspace, User, int, int]:
    clock.freeze(NOON)
    owner = make_user()
    ws = make_workspace(owner=owner)
    channel = connect(ws, vk_testing.channel_for(vk_emu))
    actor = accounts.Actor(ws.pk, Role.OWNER, label="owner")
    list_id = service.create_list(actor, service.ListInput(channel.pk, "Coffee news", "news", keyword="news"))
    service.on_signals([Signal(channel.pk, ws.pk, "vk", "allow", "10011", "Anna", "", "", NOON)])
    return ws, owner, channel.pk, list_id


def _member(ws: Workspace, make_user, role: str) -> User:
    user: User = make_user()
    accounts.add_member(accounts.Actor(ws.pk, Role.OWNER, label="owner"), user.email, role)
    return user


def test_pages_show_lists_and_let_editors_draft_but_not_send(make_workspace, make_user, vk_emu):
    ws, _owner, _channel_id, list_id = _world(make_workspace, make_user, vk_emu)
    editor = _client(_member(ws, make_user, "editor"))
    page = editor.get("/newsletters/")
    assert page.status_code == 200 and "Coffee news" in page.content.decode()
    created = editor.post(
        "/newsletters/", {"action": "newsletter", "list_id": list_id, "title": "June", "text": "Hi"}
    )
    assert created.status_code == 302
    nid = int(created["Location"].rstrip("/").split("/")[-1])
    assert editor.post(f"/newsletters/{nid}/action/", {"action": "now"}).status_code == 403
    refused = editor.post(
        "/newsletters/", {"action": "list", "channel_id": _channel_id, "name": "X", "key": "x"}
    )
    assert refused.status_code == 400 and "role" in refused.content.decode()

    analyst = _client(_member(ws, make_user, "analyst"))
    detail = analyst.get(f"/newsletters/{nid}/").content.decode()
    assert "June" in detail and "Schedule" not in detail
    assert "Anna" in analyst.get(f"/newsletters/lists/{list_id}/").content.decode()
    assert _client(_member(ws, make_user, "moderator")).get("/newsletters/").status_code == 403


def test_unsubscribe_link_changes_nothing_on_get_and_unsubscribes_on_the_button(
    make_workspace, make_user, vk_emu
):
    _world(make_workspace, make_user, vk_emu)
    sub = Subscription.objects.get()
    url = service.unsubscribe_url(sub)
    path = url[url.index("/u/") :]
    anonymous = Client()
    assert "Unsubscribe" in anonymous.get(path).content.decode()
    assert Subscription.objects.get().status == "subscribed"
    done = anonymous.post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert Subscription.objects.get().unsubscribe_reason == "link"
    assert anonymous.get("/u/not-a-token/").status_code == 404


def test_api_reads_for_analysts_sends_for_managers(make_workspace, make_user, vk_emu, api_for):
    ws, _owner, channel_id, list_id = _world(make_workspace, make_user, vk_emu)
    manager, analyst = api_for(ws, "manager"), api_for(ws, "analyst")
    lists = analyst.get("/newsletters/lists").json()
    assert [(row["name"], row["subscribed"]) for row in lists] == [("Coffee news", 1)]
    assert analyst.post("/newsletters", {"list_id": list_id, "title": "No", "text": "No"}).status_code == 403
    made = manager.post(
        "/newsletters", {"list_id": list_id, "title": "June", "text": "June news", "purpose": "selling"}
    )
    assert made.status_code == 201, made.json()
    nid = made.json()["id"]
    scheduled = manager.post(f"/newsletters/{nid}/schedule", {})
    assert scheduled.json()["status"] == "scheduled"
    imported = manager.post(
        f"/newsletters/lists/{list_id}/import",
        {"csv": "20001,2026-05-01T10:00:00Z,paper form at the counter\n20002,,"},
    )
    assert imported.json()["added"] == 1 and imported.json()["refused"][0]["line"] == 2
    stats = analyst.get(f"/newsletters/{nid}/stats").json()
    assert stats["clicks"] is None and stats["recipients"] == 0
    assert (
        manager.post(
            "/newsletters/lists", {"channel_id": channel_id, "name": "Dup", "key": "news"}
        ).status_code
        == 409
    )


def test_cli_lists_imports_creates_sends_and_reports(make_workspace, make_user, vk_emu, tmp_path: Path):
    ws, _owner, _channel_id, list_id = _world(make_workspace, make_user, vk_emu)
    runner = CliRunner()
    listed = runner.invoke(cli, ["newsletter", "lists", "--workspace", ws.slug])
    assert listed.exit_code == 0 and "Coffee news" in listed.output and "1 subscribed" in listed.output
    rows = tmp_path / "rows.csv"
    rows.write_text("address,consented_at,proof\n20001,2026-05-01T10:00:00Z,paper form at the counter\n")
    imported = runner.invoke(
        cli, ["newsletter", "import", "--workspace", ws.slug, "--list", str(list_id), str(rows)]
    )
    assert imported.exit_code == 0 and "added 1" in imported.output
    made = runner.invoke(
        cli,
        [
            "newsletter",
            "create",
            "--workspace",
            ws.slug,
            "--list",
            str(list_id),
            "--title",
            "T",
            "--text",
            "Hi",
        ],
    )
    nid = made.output.strip()
    assert runner.invoke(cli, ["newsletter", "send", "--workspace", ws.slug, nid]).exit_code == 0
    stats = runner.invoke(cli, ["newsletter", "stats", "--workspace", ws.slug, nid])
    assert "scheduled" in stats.output and "recipients\t0" in stats.output
