"""Editing a published post: the change goes out through the adapter as an edit, made by the
worker as a recorded attempt, never as a second post; a network that cannot edit refuses it."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

import pytest

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels import service as channels
from rupor.core import http
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator
from rupor.notifications.models import Notification
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing import engine, ratelimit
from rupor.publishing import testing as pt
from rupor.publishing.models import Attempt, PublicationTarget, TargetEvent, TargetState
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

EDIT_KIND = {"vk": "post_edited", "telegram": "message_edited"}
POST_KIND = {"vk": ("post_created", "post_published"), "telegram": ("message_sent",)}


@pytest.fixture(scope="module")
def emulators():
    running = {
        name: importlib.import_module(f"rupor.networks.{name}.testing").start(rate_limits=False)
        for name in ("vk", "telegram", "ok")
    }
    yield running
    for emulator in running.values():
        emulator.stop()


@pytest.fixture(autouse=True)
def _fast_policy():
    saved = engine.POLICY.backoff_base_s
    engine.POLICY.backoff_base_s = 0.2
    previous = ratelimit.use("memory")
    yield
    engine.POLICY.backoff_base_s = saved
    ratelimit.use(previous)


def _ledger(emulator: RunningEmulator) -> list[dict[str, Any]]:
    with http.client(base_url=emulator.url, timeout=5) as client:
        return list(client.get("/_emulator/ledger").json())


def _settle(target_id: int, want: str, timeout: float = 20.0) -> PublicationTarget:
    deadline = time.monotonic() + timeout
    while True:
        run_worker(once=True, concurrency=2, worker_id="w-edit")
        target = PublicationTarget.objects.get(pk=target_id)
        if target.state == want or time.monotonic() > deadline:
            return target
        time.sleep(0.1)


def _published(emulators, network: str) -> tuple[PublicationTarget, Actor]:
    mod = importlib.import_module(f"rupor.networks.{network}.testing")
    ws = pt.workspace()
    ch = pt.channel(ws, mod.channel_for(emulators[network]))
    target = pt.schedule(ch, f"First words {uuid.uuid4().hex[:8]}")
    target = _settle(target.pk, TargetState.PUBLISHED)
    assert target.state == TargetState.PUBLISHED
    return target, Actor(ws.pk, Role.OWNER, label="owner@example.com")


@pytest.mark.parametrize("network", ["vk", "telegram"])
def test_saving_a_published_post_sends_an_edit_not_a_second_post(emulators, network):
    target, actor = _published(emulators, network)
    post_id = target.variant.post_id
    before = _ledger(emulators[network])
    follow = (planning.VariantInput(channel_id=target.channel_id),)  # the variant follows the shared text
    planning.update_post(
        actor, post_id, planning.PostInput(text="Better words", variants=follow), {"text", "variants"}
    )
    target.refresh_from_db()
    assert target.state == TargetState.EDITING
    target = _settle(target.pk, TargetState.PUBLISHED)
    assert (target.state, target.error_message) == (TargetState.PUBLISHED, "")
    new = _ledger(emulators[network])[len(before) :]
    kinds = [e["kind"] for e in new]
    assert EDIT_KIND[network] in kinds
    assert not any(k in POST_KIND[network] for k in kinds)
    path = [(e.from_state, e.to_state) for e in TargetEvent.objects.filter(target=target)][-2:]
    assert path == [("published", "editing"), ("editing", "published")]
    last = Attempt.objects.filter(target=target).last()
    assert last is not None and last.outcome == "edited" and last.number == 2
    post = planning.with_publication([planning.get_post(actor.workspace_id, post_id)])[0]
    assert post.shown_status == "published"


def test_ok_cannot_edit_a_published_post_and_nothing_is_saved(emulators):
    target, actor = _published(emulators, "ok")
    post_id = target.variant.post_id
    with pytest.raises(planning.PlanningError) as refused:
        planning.update_post(
            actor,
            post_id,
            planning.PostInput(
                text="Other words", variants=(planning.VariantInput(channel_id=target.channel_id),)
            ),
            {"text", "variants"},
        )
    assert refused.value.status == 409
    assert "cannot change" in refused.value.message
    target.refresh_from_db()
    assert target.state == TargetState.PUBLISHED
    assert Post.objects.get(pk=post_id).text.startswith("First words")


def test_a_published_post_keeps_its_time(emulators):
    target, actor = _published(emulators, "vk")
    post = Post.objects.get(pk=target.variant.post_id)
    assert post.scheduled_at is not None
    with pytest.raises(planning.PlanningError) as refused:
        planning.reschedule_post(actor, post.pk, post.scheduled_at.replace(year=post.scheduled_at.year + 1))
    assert refused.value.status == 409
    with pytest.raises(planning.PlanningError):
        planning.update_post(actor, post.pk, planning.PostInput(publish_now=True), set())
    # The same time sent back with a change of text (as the composer does) is no change of time.
    planning.update_post(
        actor,
        post.pk,
        planning.PostInput(text="Kept time", scheduled_at=post.scheduled_at),
        {"text", "scheduled_at"},
    )
    assert Post.objects.get(pk=post.pk).scheduled_at == post.scheduled_at


def _faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    with http.client(base_url=emulator.url, timeout=5) as client:
        client.delete("/_emulator/faults").raise_for_status()
        if spec:
            client.post("/_emulator/faults", json=spec).raise_for_status()


def _edit(target: PublicationTarget, actor: Actor, text: str) -> None:
    follow = (planning.VariantInput(channel_id=target.channel_id),)
    planning.update_post(
        actor, target.variant.post_id, planning.PostInput(text=text, variants=follow), {"text", "variants"}
    )


@pytest.mark.parametrize("kind", ["429", "5xx", "timeout_after"])
def test_an_edit_is_retried_after_an_error_and_lands_once(emulators, kind):
    target, actor = _published(emulators, "vk")
    _faults(emulators["vk"], {"queue": [{"kind": kind, "method": "wall.edit", "count": 1}]})
    before = _ledger(emulators["vk"])
    _edit(target, actor, "Second try words")
    target = _settle(target.pk, TargetState.PUBLISHED)
    _faults(emulators["vk"], {})
    assert (target.state, target.error_message) == (TargetState.PUBLISHED, "")
    outcomes = [a.outcome for a in Attempt.objects.filter(target=target)]
    assert outcomes[0] == "published" and outcomes[-1] == "edited" and len(outcomes) >= 3
    kinds = [e["kind"] for e in _ledger(emulators["vk"])[len(before) :]]
    assert "post_created" not in kinds and "post_edited" in kinds


def test_a_refused_edit_leaves_the_post_published_and_says_why(emulators):
    target, actor = _published(emulators, "vk")
    registry.adapter("vk").delete(
        channels.access(target.channel), target.remote_id
    )  # gone from the wall meanwhile
    _edit(target, actor, "Too late words")
    target = _settle(target.pk, TargetState.PUBLISHED)
    assert target.state == TargetState.PUBLISHED
    assert target.error_kind == "rejected"
    assert "The edit did not go out; the post on the network is unchanged." in target.error_message
    assert Attempt.objects.filter(target=target).last().outcome == "rejected"  # type: ignore[union-attr]  # the attempt exists: the publish above made it
    assert Notification.objects.filter(kind="edit_failed", target_id=target.pk).exists()


@pytest.mark.parametrize(("mode", "goes_out"), [("internal", True), ("client", False)])
def test_approval_modes_and_the_edit_of_a_published_post(emulators, mode, goes_out):
    target, owner = _published(emulators, "vk")
    Workspace.objects.filter(pk=owner.workspace_id).update(approval=mode)
    manager = Actor(owner.workspace_id, Role.MANAGER, label="manager@example.com")
    if goes_out:
        _edit(target, manager, "Approved by the one who changed it")
        target.refresh_from_db()
        assert target.state == TargetState.EDITING
        assert Post.objects.get(pk=target.variant.post_id).status == Post.Status.SCHEDULED
    else:
        with pytest.raises(planning.PlanningError) as refused:
            _edit(target, manager, "Would need the client")
        assert refused.value.status == 403
        target.refresh_from_db()
        assert target.state == TargetState.PUBLISHED
        assert Post.objects.get(pk=target.variant.post_id).text.startswith("First words")
