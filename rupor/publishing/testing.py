"""Helpers for tests and benchmarks: workspaces, channels and targets in a few lines, plus a
scripted in-memory network for state-machine tests.

The scripted network keeps its own ledger of posts, so "published exactly once" is checked
against what the "network" recorded, exactly as with the HTTP emulators.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from django.db import transaction

from rupor.accounts.models import Workspace
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import errors, registry
from rupor.networks.base import (
    Adapter,
    Capability,
    ChannelAccess,
    Content,
    Progress,
    Published,
    PublishRequest,
    RateLimit,
)
from rupor.planning.models import Post, PostVariant
from rupor.publishing import service
from rupor.publishing.models import PublicationTarget, TargetState


def workspace(name: str = "Test", *, tz: str = "UTC", late_window_minutes: int = 30) -> Workspace:
    slug = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    return Workspace.objects.create(
        name=name, slug=slug, timezone=tz, late_window_minutes=late_window_minutes
    )


def channel(
    ws: Workspace, access: ChannelAccess, *, name: str = "", status: str = Channel.Status.ACTIVE
) -> Channel:
    """A connected channel for ``access`` (one per workspace and remote account)."""
    ch = Channel(
        workspace=ws,
        network=access.network,
        name=name or f"{access.network} {access.remote_id}",
        remote_id=access.remote_id,
        base_url=access.base_url or "",
        settings=dict(access.settings),
        status=status,
    )
    ch.set_credentials(dict(access.credentials))
    ch.save()
    return ch


def schedule(
    ch: Channel, text: str, due_at: dt.datetime | None = None, *, publish_late: bool = False, **variant: Any
) -> PublicationTarget:
    """One post with one variant on ``ch``, scheduled at ``due_at`` (default: now)."""
    due_at = due_at or clock.now()
    with transaction.atomic():
        post = Post.objects.create(
            workspace_id=ch.workspace_id,
            text=text,
            status=Post.Status.SCHEDULED,
            scheduled_at=due_at,
            publish_late=publish_late,
        )
        v = PostVariant.objects.create(post=post, channel=ch, text=text, **variant)
        service.sync_targets(
            ch.workspace_id,
            [service.VariantPlan(v.pk, ch.pk)],
            scheduled=True,
            due_at=due_at,
            publish_late=publish_late,
        )
    return PublicationTarget.objects.get(variant=v)


def bulk_schedule(
    channels: list[Channel], count: int, due_at: dt.datetime, marker: str, *, batch: int = 2000
) -> list[int]:
    """``count`` targets spread round-robin over ``channels``, text ``"<marker> #<i>"`` (fast path
    for chaos tests and benchmarks; the same rows :func:`schedule` makes)."""
    ids: list[int] = []
    for start in range(0, count, batch):
        n = min(batch, count - start)
        with transaction.atomic():
            posts = Post.objects.bulk_create(
                [
                    Post(
                        workspace_id=channels[(start + i) % len(channels)].workspace_id,
                        text=f"{marker} #{start + i}",
                        status=Post.Status.SCHEDULED,
                        scheduled_at=due_at,
                    )
                    for i in range(n)
                ]
            )
            variants = PostVariant.objects.bulk_create(
                [
                    PostVariant(post=p, channel=channels[(start + i) % len(channels)], text=p.text)
                    for i, p in enumerate(posts)
                ]
            )
            targets = PublicationTarget.objects.bulk_create(
                [
                    PublicationTarget(
                        workspace_id=v.channel.workspace_id,
                        variant=v,
                        channel=v.channel,
                        state=TargetState.SCHEDULED,
                        due_at=due_at,
                        next_attempt_at=due_at,
                        idempotency_key=service.new_idempotency_key(),
                    )
                    for v in variants
                ]
            )
            ids += [t.pk for t in targets]
    return ids


def states(ids: Iterable[int] | None = None) -> dict[str, int]:
    qs = (
        PublicationTarget.objects.all() if ids is None else PublicationTarget.objects.filter(pk__in=list(ids))
    )
    out: dict[str, int] = {}
    for s in qs.values_list("state", flat=True):
        out[s] = out.get(s, 0) + 1
    return out


# -- a scripted network -------------------------------------------------------------------------


class ScriptedAdapter(Adapter):
    """An in-memory network whose next answers a test scripts.

    ``script`` holds outcomes consumed one per publish call: ``"ok"``, ``"timeout_after"`` (the
    post is created, then the answer is lost), ``"reset_after"`` (same), or an exception instance
    raised before any effect. The ledger records every post created. Not idempotent and not
    searchable: the hard case for "never post twice".
    """

    network = "scripted"
    display_name = "Scripted"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUBLISH_TEXT})
    default_base_url = "http://scripted.invalid"
    limits_per_s: ClassVar[float | None] = None

    lock: ClassVar[threading.Lock] = threading.Lock()
    script: ClassVar[deque[Any]] = deque()
    ledger: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[str]] = []
    lookups: ClassVar[int] = 0

    @classmethod
    def reset(cls, *outcomes: Any) -> None:
        with cls.lock:
            cls.script = deque(outcomes)
            cls.ledger = []
            cls.calls = []
            cls.lookups = 0

    def _next(self) -> Any:
        with self.lock:
            return self.script.popleft() if self.script else "ok"

    def _existing(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.ledger if p["key"] == key), None)

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> list[RateLimit]:
        if self.limits_per_s is None:
            return []
        return [RateLimit(f"scripted:{channel.credentials.get('token', '')}", int(self.limits_per_s), 1.0)]

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        outcome = self._next()
        with self.lock:
            self.calls.append(request.idempotency_key)
        if isinstance(outcome, BaseException):
            raise outcome
        if self.idempotent_publish:
            existing = self._existing(request.idempotency_key)
            if existing is not None:
                return Published(remote_id=existing["id"])
        if not progress.get("upload"):
            progress.save("upload", f"u-{len(self.ledger)}")
        with self.lock:
            post = {
                "id": f"p{len(self.ledger) + 1}",
                "key": request.idempotency_key,
                "text": request.content.text,
                "upload": progress.get("upload"),
            }
            self.ledger.append(post)
        if outcome in ("timeout_after", "reset_after"):
            raise errors.UnknownOutcome("The network did not answer after the post was sent.")
        return Published(remote_id=post["id"], url=f"https://scripted.invalid/{post['id']}")

    def posts_with(self, key: str) -> int:
        return sum(1 for p in self.ledger if p["key"] == key)


class ScriptedIdempotent(ScriptedAdapter):
    """Like VK with ``guid``: a repeat with the same key returns the first post."""

    network = "scripted_idem"
    idempotent_publish = True


class ScriptedSearchable(ScriptedAdapter):
    """Not idempotent, but a post can be looked up (like OK's reconcile)."""

    network = "scripted_search"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUBLISH_TEXT, Capability.RECONCILE})

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        with self.lock:
            type(self).lookups += 1
        found = self._existing(request.idempotency_key)
        return Published(remote_id=found["id"]) if found else None


class ScriptedTwoStep(ScriptedIdempotent):
    """Two-step publishing: ``publish`` sends the post and the network is still processing it
    (``waiting_on_platform``); ``complete`` consumes ``finish_script`` (``"ok"`` or an exception
    instance to raise), one outcome per call, and answers "published" when it runs out."""

    network = "scripted_two_step"
    finish_script: ClassVar[deque[Any]] = deque()
    finishes: ClassVar[int] = 0

    @classmethod
    def reset(cls, *outcomes: Any, finish: Iterable[Any] = ()) -> None:
        super().reset(*outcomes)
        with cls.lock:
            cls.finish_script = deque(finish)
            cls.finishes = 0

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        published = super().publish(channel, request, progress)
        return Published(remote_id=published.remote_id, waiting_on_platform=True)

    def complete(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        with self.lock:
            type(self).finishes += 1
            outcome = self.finish_script.popleft() if self.finish_script else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        post = self._existing(request.idempotency_key)
        if post is None:
            raise errors.Rejected("The network has no such post to finish.")
        return Published(remote_id=post["id"], url=f"https://scripted.invalid/{post['id']}")


SCRIPTED = {
    cls.network: cls for cls in (ScriptedAdapter, ScriptedIdempotent, ScriptedSearchable, ScriptedTwoStep)
}


@contextlib.contextmanager
def scripted_engine(at: dt.datetime) -> Iterator[None]:
    """The world of an engine test: scripted networks with fresh scripts, the clock frozen at
    ``at``, in-memory rate limits and no cached channel access; all put back afterwards."""
    from rupor.publishing import engine, ratelimit

    for cls in SCRIPTED.values():
        cls.reset()
    clock.freeze(at)
    previous = ratelimit.use("memory")
    engine._access_cache.clear()
    try:
        with scripted_networks():
            yield
    finally:
        clock.reset()
        ratelimit.use(previous)


@contextlib.contextmanager
def scripted_networks() -> Iterator[None]:
    """Make the scripted networks known to the registry while the block runs (tests only); they
    are gone again afterwards, so no later test (the demo's, say) meets a network without an
    emulator."""
    for name, cls in SCRIPTED.items():
        registry.NETWORKS[name] = (f"{cls.__module__}:{cls.__name__}", "")
    registry.adapter.cache_clear()
    try:
        yield
    finally:
        for name in SCRIPTED:
            registry.NETWORKS.pop(name, None)
        registry.adapter.cache_clear()


def scripted_access(network: str = "scripted", token: str = "t") -> ChannelAccess:  # noqa: S107 - a fake network's token
    return ChannelAccess(network=network, remote_id="1", credentials={"token": token})
