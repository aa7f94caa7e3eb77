"""The publishing page: health, the targets that need a person and the one-click actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.core import clock
from rupor.networks.telegram import testing as telegram_testing
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState

PASSWORD = "a-long-enough-passphrase-42"


def _client(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.create_user("viewer@example.com", PASSWORD)
    accounts.add_member(actor, "viewer@example.com", "editor")
    access = telegram_testing.channel_for(type("E", (), {"url": "http://127.0.0.1:9"})())  # never called here
    channel = pt.channel(ws, access, name="Coffee TG")
    when = clock.now() - dt.timedelta(hours=2)
    targets = {}
    for state in (TargetState.UNCONFIRMED, TargetState.MISSED, TargetState.FAILED, TargetState.PUBLISHED):
        target = pt.schedule(channel, f"post {state}", when)
        PublicationTarget.objects.filter(pk=target.pk).update(state=state, error_message=f"why {state}")
        targets[state] = target.pk
    other_owner = accounts.create_user("other@example.com", PASSWORD)
    other = accounts.create_workspace("Other", other_owner)
    other_channel = pt.channel(Workspace.objects.get(pk=other.pk), access, name="Other TG")
    foreign = pt.schedule(other_channel, "theirs", when)
    PublicationTarget.objects.filter(pk=foreign.pk).update(state=TargetState.FAILED)
    return {"ws": ws, "targets": targets, "foreign": foreign.pk}


def _state(target_id: int) -> str:
    return PublicationTarget.objects.get(pk=target_id).state


def test_the_page_lists_what_needs_a_person_with_its_actions(world: dict[str, Any]) -> None:
    html = _client("owner@example.com").get(reverse("web:publishing")).content.decode()
    for state in (TargetState.UNCONFIRMED, TargetState.MISSED, TargetState.FAILED):
        assert f"why {state}" in html
    assert "why published" not in html  # published targets need nobody
    assert "theirs" not in html  # another workspace's never shows
    assert "It is there" in html and "Publish again" in html and "Publish anyway" in html
    assert "Retry 1 failed publication" in html
    assert "Workers alive" in html


def test_it_is_there_and_publish_again_resolve_an_unconfirmed_post(world: dict[str, Any]) -> None:
    client = _client("owner@example.com")
    target = world["targets"][TargetState.UNCONFIRMED]
    response = client.post(reverse("web:publishing_act", args=[target]), {"action": "published"}, follow=True)
    assert "Marked as published" in response.content.decode()
    assert _state(target) == TargetState.PUBLISHED
    # Once resolved, the same click is refused with a reason, and nothing changes.
    response = client.post(reverse("web:publishing_act", args=[target]), {"action": "republish"}, follow=True)
    assert response.status_code == 200 and _state(target) == TargetState.PUBLISHED
    assert "message error" in response.content.decode()


def test_publish_anyway_and_retry_reschedule_now(world: dict[str, Any]) -> None:
    client = _client("owner@example.com")
    missed, failed = world["targets"][TargetState.MISSED], world["targets"][TargetState.FAILED]
    client.post(reverse("web:publishing_act", args=[missed]), {"action": "anyway"})
    client.post(reverse("web:publishing_act", args=[failed]), {"action": "retry"})
    assert _state(missed) == TargetState.SCHEDULED and _state(failed) == TargetState.SCHEDULED
    assert PublicationTarget.objects.get(pk=missed).publish_late


def test_retry_all_failed_touches_only_this_workspace(world: dict[str, Any]) -> None:
    response = _client("owner@example.com").post(reverse("web:publishing_retry_all"), follow=True)
    assert "1 failed publication goes out again now." in response.content.decode()
    assert _state(world["targets"][TargetState.FAILED]) == TargetState.SCHEDULED
    assert _state(world["foreign"]) == TargetState.FAILED


def test_viewers_see_but_cannot_act_and_other_workspaces_are_404(world: dict[str, Any]) -> None:
    viewer = _client("viewer@example.com")
    html = viewer.get(reverse("web:publishing")).content.decode()
    assert "why failed" in html and "Publish anyway" not in html
    target = world["targets"][TargetState.MISSED]
    assert viewer.post(reverse("web:publishing_act", args=[target]), {"action": "anyway"}).status_code == 403
    assert _state(target) == TargetState.MISSED
    owner = _client("owner@example.com")
    assert owner.get(reverse("web:publishing_target", args=[world["foreign"]])).status_code == 404
    assert (
        owner.post(reverse("web:publishing_act", args=[world["foreign"]]), {"action": "retry"}).status_code
        == 404
    )
    assert _state(world["foreign"]) == TargetState.FAILED
    assert owner.post(reverse("web:publishing_act", args=[target]), {"action": "explode"}).status_code == 302
    assert _state(target) == TargetState.MISSED


def test_a_targets_history_shows_its_transitions(world: dict[str, Any]) -> None:
    client = _client("owner@example.com")
    target = world["targets"][TargetState.MISSED]
    client.post(reverse("web:publishing_act", args=[target]), {"action": "anyway", "next": "target"})
    html = client.get(reverse("web:publishing_target", args=[target])).content.decode()
    assert "Publication history" in html and "owner@example.com" in html and "scheduled" in html


def test_the_page_warns_when_meta_cannot_fetch_media_from_a_private_base_url(
    world: dict[str, Any], settings: Any
) -> None:
    from rupor.channels.models import Channel

    settings.RUPOR_BASE_URL = "http://127.0.0.1:8000"
    owner = _client("owner@example.com")

    def warned() -> bool:
        return 'id="media-unreachable"' in owner.get(reverse("web:publishing")).content.decode()

    assert not warned()  # no Facebook or Instagram channel yet
    # A channel talking to a stand-in on this machine (the demo's emulator) reaches Rupor.
    Channel.objects.create(
        workspace=world["ws"],
        network="instagram",
        name="Emulated IG",
        remote_id="17841400000000002",
        base_url="http://127.0.0.1:8908",
    )
    assert not warned()
    Channel.objects.create(
        workspace=world["ws"], network="instagram", name="Coffee IG", remote_id="17841400000000001"
    )
    html = owner.get(reverse("web:publishing")).content.decode()
    assert 'id="media-unreachable"' in html
    assert "Instagram" in html and "http://127.0.0.1:8000" in html
    settings.RUPOR_BASE_URL = "https://rupor.example.com"
    assert not warned()


def test_every_one_click_fix_is_in_the_audit_trail_with_who_pressed_it(world: dict[str, Any]) -> None:
    from rupor.accounts.models import AuditEntry

    client = _client("owner@example.com")
    targets = world["targets"]
    for state, action in (
        (TargetState.UNCONFIRMED, "published"),
        (TargetState.MISSED, "anyway"),
        (TargetState.FAILED, "retry"),
    ):
        client.post(reverse("web:publishing_act", args=[targets[state]]), {"action": action})
    entries = list(
        AuditEntry.objects.filter(workspace=world["ws"], action__startswith="publishing.")
        .order_by("pk")
        .values_list("action", "object_type", "object_id", "actor__email")
    )
    assert entries == [
        ("publishing.confirm", "publication", str(targets[TargetState.UNCONFIRMED]), "owner@example.com"),
        ("publishing.anyway", "publication", str(targets[TargetState.MISSED]), "owner@example.com"),
        ("publishing.retry", "publication", str(targets[TargetState.FAILED]), "owner@example.com"),
    ]
    # A refused click (already resolved) records nothing.
    client.post(
        reverse("web:publishing_act", args=[targets[TargetState.UNCONFIRMED]]), {"action": "republish"}
    )
    assert AuditEntry.objects.filter(action="publishing.republish").count() == 0
    # "Retry all" records each publication it sends again.
    PublicationTarget.objects.filter(pk=targets[TargetState.FAILED]).update(state=TargetState.FAILED)
    client.post(reverse("web:publishing_retry_all"))
    assert AuditEntry.objects.filter(action="publishing.retry").count() == 2
    assert not AuditEntry.objects.filter(
        object_id=str(world["foreign"]), action__startswith="publishing."
    ).exists()


@pytest.fixture
def journal(settings, tmp_path):
    from rupor.core import dbwatch

    settings.RUPOR_HOME = str(tmp_path)
    settings.RUPOR_REDIS_URL = None
    dbwatch.forget()
    yield dbwatch
    dbwatch.forget()


def test_the_health_card_says_what_the_database_did_in_each_language(
    world: dict[str, Any], journal: Any
) -> None:
    for _ in range(3):
        journal.note(journal.REFUSED, 'connection failed: FATAL: too many connections for role "rupor"')
    journal.note(journal.LOST, "terminating connection due to administrator command")
    client = _client("owner@example.com")
    html = client.get(reverse("web:publishing")).content.decode()
    assert 'id="database-refused"' in html and 'id="database-lost"' in html
    assert "The database refused connections: 3 in the last minute, 3 in the last 15 minutes" in html
    assert "too many connections for role" in html  # the server's own words, to look up
    assert "RUPOR_DB_POOL_MAX" in html
    for language, words in (
        ("ru", "База данных отказывала в подключении"),
        ("ko", "데이터베이스가 연결을 거부했습니다"),
    ):
        client.cookies["django_language"] = language
        html = client.get(reverse("web:publishing"), headers={"accept-language": language}).content.decode()
        assert words in html, language


def test_no_database_trouble_no_callout(world: dict[str, Any], journal: Any) -> None:
    html = _client("owner@example.com").get(reverse("web:publishing")).content.decode()
    assert 'id="database-' not in html
