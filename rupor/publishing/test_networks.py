"""The engine against the HTTP emulators of VK, Telegram and OK: every failure class, exactly once.

"Exactly once" is read from each emulator's own records (``posts_with``). VK honours an
idempotency key (``guid``); OK can be searched after an unknown outcome; Telegram can do
neither, so an unknown outcome there must end ``unconfirmed`` and never be re-sent.
"""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

import pytest

from rupor.channels.models import Channel
from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.publishing import engine, ratelimit, service
from rupor.publishing import testing as pt
from rupor.publishing.models import FINAL_STATES, PublicationTarget, TargetState
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

NETWORKS = ["vk", "telegram", "ok", "linkedin", "mastodon"]
POST_METHOD = {
    "vk": "wall.post",
    "telegram": "sendMessage",
    "ok": "mediatopic.post",
    "linkedin": "posts.create",
    "mastodon": "statuses.create",
}


def _testing(network: str) -> Any:
    try:
        return importlib.import_module(f"rupor.networks.{network}.testing")
    except ImportError:
        pytest.skip(f"the {network} emulator is not available")


@pytest.fixture(scope="module")
def emulators():
    running: dict[str, RunningEmulator] = {}
    for name in NETWORKS:
        try:
            running[name] = importlib.import_module(f"rupor.networks.{name}.testing").start(rate_limits=False)
        except ImportError:
            continue
    yield running
    for emulator in running.values():
        emulator.stop()


@pytest.fixture(autouse=True)
def _fast_policy():
    saved = (engine.POLICY.backoff_base_s, engine.POLICY.reconcile_delay_s)
    engine.POLICY.backoff_base_s = 0.2
    engine.POLICY.reconcile_delay_s = 0.3
    previous = ratelimit.use("memory")
    yield
    engine.POLICY.backoff_base_s, engine.POLICY.reconcile_delay_s = saved
    ratelimit.use(previous)


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    with http.client(base_url=emulator.url, timeout=5) as client:
        client.delete("/_emulator/faults").raise_for_status()
        if spec:
            client.post("/_emulator/faults", json=spec).raise_for_status()


def settle(ids: list[int], timeout: float = 30.0) -> dict[str, int]:
    """Run the worker until every target is final (or held), like a person waiting a bit."""
    deadline = time.monotonic() + timeout
    while True:
        run_worker(once=True, concurrency=4, worker_id="w-net")
        states = pt.states(ids)
        if all(s in FINAL_STATES or s == TargetState.HELD for s in states) or time.monotonic() > deadline:
            return states
        time.sleep(0.1)


def setup_target(
    emulators, network: str, access=None, text: str | None = None
) -> tuple[PublicationTarget, str]:
    mod = _testing(network)
    if network not in emulators:
        pytest.skip(f"the {network} emulator is not available")
    emulator = emulators[network]
    access = access or mod.channel_for(emulator)
    access = type(access)(
        access.network,
        access.remote_id,
        access.credentials,
        access.base_url,
        {**access.settings, "timeout": 0.5},
    )
    ws = pt.workspace()
    ch = pt.channel(ws, access)
    marker = f"m{uuid.uuid4().hex[:10]}"
    return pt.schedule(ch, text or f"Engine test {marker}"), marker


@pytest.mark.parametrize("network", NETWORKS)
def test_publishes_exactly_once(emulators, network):
    t, marker = setup_target(emulators, network)
    faults(emulators[network], {})
    assert settle([t.pk]) == {TargetState.PUBLISHED: 1}
    t.refresh_from_db()
    assert t.remote_id
    assert _testing(network).posts_with(emulators[network], marker) == 1


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("kind", ["429", "5xx", "reset"])
def test_nothing_happened_errors_are_retried(emulators, network, kind):
    t, marker = setup_target(emulators, network)
    faults(emulators[network], {"queue": [{"kind": kind, "method": POST_METHOD[network], "count": 1}]})
    states = settle([t.pk])
    faults(emulators[network], {})
    posts = _testing(network).posts_with(emulators[network], marker)
    if states == {TargetState.UNCONFIRMED: 1}:
        # A 5xx on a create call guarantees nothing on this network: the adapter reports an
        # unknown outcome, and the engine must not re-send it on its own.
        assert kind in ("5xx", "reset")  # a dropped connection looks the same as one after the effect
        assert posts == 0
        return
    assert states == {TargetState.PUBLISHED: 1}
    t.refresh_from_db()
    assert t.attempts >= 2
    assert posts == 1


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("vk", TargetState.PUBLISHED),  # guid: re-sent with the same key, VK keeps one post
        ("mastodon", TargetState.PUBLISHED),  # Idempotency-Key: the instance returns the first status
        ("ok", TargetState.PUBLISHED),  # looked up on the group's feed and found
        ("telegram", TargetState.UNCONFIRMED),  # cannot know: a person decides
    ],
)
@pytest.mark.parametrize("kind", ["timeout_after", "reset_after"])
def test_unknown_outcome_never_posts_twice(emulators, network, expected, kind):
    t, marker = setup_target(emulators, network)
    faults(
        emulators[network],
        {"hang_s": 2, "queue": [{"kind": kind, "method": POST_METHOD[network], "count": 1}]},
    )
    states = settle([t.pk])
    faults(emulators[network], {})
    assert states == {expected: 1}
    assert _testing(network).posts_with(emulators[network], marker) == 1
    if expected == TargetState.UNCONFIRMED:
        t.refresh_from_db()
        assert t.error_message
        service.resolve_unconfirmed(t.pk, "published")
        assert PublicationTarget.objects.get(pk=t.pk).state == TargetState.PUBLISHED


@pytest.mark.parametrize("network", NETWORKS)
def test_bad_token_holds_and_asks_to_reconnect(emulators, network):
    mod = _testing(network)
    if network not in emulators:
        pytest.skip("no emulator")
    t, marker = setup_target(emulators, network, mod.broken_channel(emulators[network], "bad_token"))
    faults(emulators[network], {})
    assert settle([t.pk]) == {TargetState.HELD: 1}
    ch = Channel.objects.get(pk=t.channel_id)
    assert ch.status == Channel.Status.RECONNECT
    # The person reconnects with good credentials: the held post goes out.
    good = mod.channel_for(emulators[network])
    ch.set_credentials(dict(good.credentials))
    ch.status = Channel.Status.ACTIVE
    ch.save()
    service.release_held(ch.pk)
    assert settle([t.pk]) == {TargetState.PUBLISHED: 1}
    assert mod.posts_with(emulators[network], marker) == 1


@pytest.mark.parametrize("network", NETWORKS)
def test_no_rights_fails_with_a_plain_message(emulators, network):
    mod = _testing(network)
    if network not in emulators:
        pytest.skip("no emulator")
    t, marker = setup_target(emulators, network, mod.broken_channel(emulators[network], "no_rights"))
    faults(emulators[network], {})
    states = settle([t.pk])
    t.refresh_from_db()
    assert states in ({TargetState.FAILED: 1}, {TargetState.HELD: 1}), t.error_message
    assert t.error_message and "{" not in t.error_message
    assert mod.posts_with(emulators[network], marker) == 0
