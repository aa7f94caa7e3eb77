"""Public actions of the publishing domain.

Planning calls :func:`sync_targets` whenever a post's schedule or status changes; the API and
UI read target state through :func:`summaries`. The engine itself lives in
:mod:`rupor.publishing.engine`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.core.urls import url_problem
from rupor.networks.base import Content
from rupor.publishing.models import ACTIVE_STATES, PublicationTarget, TargetState, WorkerHeartbeat
from rupor.publishing.transitions import transition


@dataclass(frozen=True)
class TargetSummary:
    id: int
    variant_id: int
    channel_id: int
    state: str
    due_at: dt.datetime | None
    attempts: int
    remote_id: str
    remote_url: str
    published_at: dt.datetime | None
    error_kind: str
    error_message: str


@dataclass(frozen=True)
class VariantPlan:
    variant_id: int
    channel_id: int


class PostPublication(models.TextChoices):
    """What happened to a post on its channels, derived from its targets' states.

    A post whose targets have not started (or that has none) has no publication status: its own
    planning status (draft, scheduled, ...) says where it is. See :func:`derive_status`.
    """

    PUBLISHING = "publishing", gettext_lazy("Publishing")
    PUBLISHED = "published", gettext_lazy("Published")
    PARTIALLY_PUBLISHED = "partially_published", gettext_lazy("Partially published")
    FAILED = "failed", gettext_lazy("Failed")
    NEEDS_ATTENTION = "needs_attention", gettext_lazy("Needs attention")


#: Target states that mean "it is on the network" (an edit in flight changes nothing about that).
_OUT = (TargetState.PUBLISHED, TargetState.EDITING)
#: A person has to decide: the outcome is unknown, or the channel must be reconnected first.
_UNSURE = (TargetState.UNCONFIRMED, TargetState.HELD)
#: Definitely did not go out, and will not without a person.
_NOT_OUT = (TargetState.FAILED, TargetState.MISSED)
_IN_FLIGHT = (TargetState.PUBLISHING, TargetState.WAITING)


def derive_status(states: Iterable[str]) -> str | None:
    """A post's publication status from its targets' states (cancelled targets do not count).

    In order: nothing started → ``None``; every target out → ``published``; any unconfirmed or
    held → ``needs_attention``; any failed or missed → ``partially_published`` when some are out,
    else ``failed``; any in flight, or some out and the rest still scheduled → ``publishing``;
    some out and the rest taken off the schedule (draft) → ``partially_published``.
    """
    counted = [s for s in states if s != TargetState.CANCELLED]
    out = sum(1 for s in counted if s in _OUT)
    if not counted:
        return None
    if out == len(counted):
        return PostPublication.PUBLISHED
    if any(s in _UNSURE for s in counted):
        return PostPublication.NEEDS_ATTENTION
    if any(s in _NOT_OUT for s in counted):
        return PostPublication.PARTIALLY_PUBLISHED if out else PostPublication.FAILED
    if any(s in _IN_FLIGHT for s in counted):
        return PostPublication.PUBLISHING
    if out:
        pending = any(s == TargetState.SCHEDULED for s in counted)
        return PostPublication.PUBLISHING if pending else PostPublication.PARTIALLY_PUBLISHED
    return None


def publication_statuses(groups: Mapping[int, Iterable[int]]) -> dict[int, str | None]:
    """:func:`derive_status` for each group of variant ids (a post's), in one query.

    Derived on read from the targets, so whatever path moved a target (the engine's fast path
    included) the answer follows it without anyone writing a second copy.
    """
    wanted = {key: list(ids) for key, ids in groups.items()}
    states: dict[int, str] = dict(
        PublicationTarget.objects.filter(
            variant_id__in=[v for ids in wanted.values() for v in ids]
        ).values_list("variant_id", "state")
    )
    return {key: derive_status(states[v] for v in ids if v in states) for key, ids in wanted.items()}


def started_variant_ids(workspace_id: int) -> list[int]:
    """Variants of the workspace whose target has left the schedule (in flight, out or failed):
    the only ones whose post can have a publication status."""
    return list(
        PublicationTarget.objects.filter(workspace_id=workspace_id)
        .exclude(state__in=(TargetState.DRAFT, TargetState.SCHEDULED, TargetState.CANCELLED))
        .values_list("variant_id", flat=True)
    )


def published_variants(variant_ids: list[int]) -> dict[int, str]:
    """Variant id → remote id of those of ``variant_ids`` that are on their network."""
    return dict(
        PublicationTarget.objects.filter(variant_id__in=variant_ids, state__in=_OUT).values_list(
            "variant_id", "remote_id"
        )
    )


@transaction.atomic
def request_edits(variant_ids: list[int], *, actor: str = "") -> int:
    """Send the saved content of these published variants to their networks as edits.

    Each published target moves to ``editing`` and is due now; a worker sends the edit as an
    attempt (recorded like any other) and moves it back to ``published``. A target that is
    already editing simply takes the newest content when its attempt starts. Returns how many
    targets were asked to edit.
    """
    count = 0
    now = clock.now()
    for target in PublicationTarget.objects.select_for_update().filter(
        variant_id__in=variant_ids, state__in=_OUT
    ):
        if target.state == TargetState.PUBLISHED:
            transition(target, TargetState.EDITING, "edit requested", actor)
            # Edit attempts are bounded on their own; publishing's count stays as it was.
            target.progress = {**(target.progress or {}), "edit_from": target.attempts}
        target.next_attempt_at = now
        target.error_kind = target.error_message = ""
        target.save()
        count += 1
    return count


def new_idempotency_key() -> str:
    """32 hex digits: the time the target is made (milliseconds, 12 digits) and 80 random bits.

    The time lets a network whose key must be time-ordered derive one from it (Bluesky's record
    key is a TID, decided when the target is made).
    """
    return f"{int(clock.now().timestamp() * 1000):012x}{uuid.uuid4().hex[:20]}"


@transaction.atomic
def sync_targets(
    workspace_id: int,
    variants: list[VariantPlan],
    *,
    scheduled: bool,
    due_at: dt.datetime | None,
    publish_late: bool = False,
    actor: str = "",
) -> None:
    """Make the post's targets match its plan.

    A target is created for each variant (with its idempotency key, stored before any attempt).
    When the post is scheduled, draft/cancelled targets become scheduled at ``due_at``; when it is
    not, targets that have not started yet go back to draft. Targets that are publishing or done
    are never touched here.
    """
    existing = {
        t.variant_id: t
        for t in PublicationTarget.objects.select_for_update().filter(
            variant_id__in=[v.variant_id for v in variants]
        )
    }
    for plan in variants:
        target = existing.get(plan.variant_id)
        if target is None:
            target = PublicationTarget(
                workspace_id=workspace_id,
                variant_id=plan.variant_id,
                channel_id=plan.channel_id,
                state=TargetState.DRAFT,
                idempotency_key=new_idempotency_key(),
            )
            target.save()
        if target.state in (
            TargetState.PUBLISHING,
            TargetState.WAITING,
            TargetState.PUBLISHED,
            TargetState.EDITING,
            TargetState.UNCONFIRMED,
        ):
            continue
        if scheduled and due_at is not None:
            if target.state != TargetState.SCHEDULED or target.due_at != due_at:
                cause = "scheduled" if target.state != TargetState.SCHEDULED else "rescheduled"
                if target.state != TargetState.HELD:
                    transition(target, TargetState.SCHEDULED, f"{cause} for {due_at.isoformat()}", actor)
                target.due_at = due_at
                target.next_attempt_at = due_at
                target.publish_late = publish_late
                target.error_kind = target.error_message = ""
                target.save()
        elif target.state in ACTIVE_STATES or target.state in (TargetState.FAILED, TargetState.MISSED):
            transition(target, TargetState.DRAFT, "unscheduled", actor)
            target.next_attempt_at = None
            target.save()


@transaction.atomic
def cancel_targets(variant_ids: list[int], *, actor: str = "") -> None:
    for target in PublicationTarget.objects.select_for_update().filter(variant_id__in=variant_ids):
        if target.state in (
            TargetState.DRAFT,
            TargetState.SCHEDULED,
            TargetState.HELD,
            TargetState.FAILED,
            TargetState.MISSED,
        ):
            transition(target, TargetState.CANCELLED, "cancelled", actor)
            target.next_attempt_at = None
            target.save()


def has_started(variant_ids: list[int]) -> bool:
    """True when any of these variants is being or has been published (then it cannot be deleted silently)."""
    return PublicationTarget.objects.filter(
        variant_id__in=variant_ids,
        state__in=[
            TargetState.PUBLISHING,
            TargetState.WAITING,
            TargetState.PUBLISHED,
            TargetState.EDITING,
            TargetState.UNCONFIRMED,
        ],
    ).exists()


def _summary(t: PublicationTarget) -> TargetSummary:
    return TargetSummary(
        t.pk,
        t.variant_id,
        t.channel_id,
        t.state,
        t.due_at,
        t.attempts,
        t.remote_id,
        t.remote_url,
        t.published_at,
        t.error_kind,
        t.error_message,
    )


def summaries(variant_ids: list[int]) -> dict[int, TargetSummary]:
    """Target state per variant id."""
    out: dict[int, TargetSummary] = {}
    for t in PublicationTarget.objects.filter(variant_id__in=variant_ids):
        out[t.variant_id] = _summary(t)
    return out


def counts_by_state(workspace_id: int) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for state in PublicationTarget.objects.filter(workspace_id=workspace_id).values_list("state", flat=True):
        out[state] += 1
    return dict(out)


#: ``error_kind`` of a target held because its channel's stored settings do not fit the schema.
HELD_FOR_SETTINGS = "settings"


@transaction.atomic
def release_held(
    channel_id: int, *, actor: str = "", only_kind: str = "", cause: str = "channel reconnected"
) -> int:
    """After a channel is reconnected, its held targets go out (now, or at their time);
    ``only_kind``: only those held for that ``error_kind`` (settings that did not fit, say).

    Reconnecting is a person's explicit act on the held posts they were shown, so held targets
    whose time has passed go out now rather than being marked missed.
    """
    released = 0
    now = clock.now()
    held = PublicationTarget.objects.select_for_update().filter(channel_id=channel_id, state=TargetState.HELD)
    if only_kind:
        held = held.filter(error_kind=only_kind)
    for target in held:
        transition(target, TargetState.SCHEDULED, cause, actor)
        target.next_attempt_at = max(target.due_at or now, now)
        if target.due_at is not None and target.due_at < now:
            target.publish_late = True
        target.lease_owner = ""
        target.lease_expires_at = None
        target.error_kind = target.error_message = ""
        target.save()
        released += 1
    return released


class ActionError(Exception):
    """A person's action on a target that its state does not allow."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _reschedule_now(target: PublicationTarget, cause: str, actor: str, *, late: bool) -> None:
    now = clock.now()
    transition(target, TargetState.SCHEDULED, cause, actor)
    target.next_attempt_at = now
    target.publish_late = target.publish_late or late
    target.attempts = 0
    target.lease_owner = ""
    target.lease_expires_at = None
    target.error_kind = target.error_message = ""
    target.save()


def _audit(by: accounts.Actor | None, target: PublicationTarget, action: str, summary: str) -> None:
    """The audit entry of a person's one-click fix (``by``: who pressed it)."""
    if by is not None:
        accounts.record(
            target.workspace_id,
            by,
            action,
            "publication",
            target.pk,
            f"post {target.variant.post_id} on channel {target.channel_id}: {summary}",
        )


@transaction.atomic
def retry_failed(
    workspace_id: int,
    target_ids: list[int] | None = None,
    *,
    actor: str = "",
    by: accounts.Actor | None = None,
) -> int:
    """Bulk "retry failed" after a fix: failed targets go out again now (with the same
    idempotency key). Returns how many were rescheduled; ``by`` (the person) is audited."""
    qs = PublicationTarget.objects.select_for_update().filter(
        workspace_id=workspace_id, state=TargetState.FAILED
    )
    if target_ids is not None:
        qs = qs.filter(pk__in=target_ids)
    count = 0
    for target in qs.select_related("variant"):
        _reschedule_now(target, "retry requested", actor, late=True)
        _audit(by, target, "publishing.retry", "retry requested")
        count += 1
    return count


@transaction.atomic
def resolve_unconfirmed(
    target_id: int,
    resolution: str,
    *,
    actor: str = "",
    remote_url: str = "",
    by: accounts.Actor | None = None,
) -> str:
    """A person looked at the channel: ``"published"`` (it is there) or ``"republish"`` (it is not;
    send it again — with a fresh idempotency key, since the old one may be spent). ``by``: the
    person, for the audit trail."""
    target = (
        PublicationTarget.objects.select_for_update().filter(pk=target_id).select_related("variant").first()
    )
    if target is None:
        raise ActionError("No such publication.", 404)
    if target.state != TargetState.UNCONFIRMED:
        raise ActionError("Only an unconfirmed publication can be resolved this way.")
    if resolution == "published":
        problem = url_problem(remote_url.strip(), max_length=500) if remote_url.strip() else None
        if problem:
            raise ActionError(problem, 400)
        transition(target, TargetState.PUBLISHED, "a person confirmed it is on the channel", actor)
        target.published_at = target.published_at or clock.now()
        if remote_url:
            target.remote_url = remote_url.strip()
        target.error_kind = target.error_message = ""
        target.save()
        _audit(by, target, "publishing.confirm", target.remote_url or "it is on the channel")
    elif resolution == "republish":
        target.idempotency_key = new_idempotency_key()
        target.progress = {}
        _reschedule_now(target, "a person asked to publish it again", actor, late=True)
        _audit(by, target, "publishing.republish", "sent again as a new post")
    else:
        raise ActionError("Choose “published” or “republish”.", 400)
    return str(target.state)


@transaction.atomic
def publish_anyway(target_id: int, *, actor: str = "", by: accounts.Actor | None = None) -> str:
    """A missed target goes out now, late, because a person (``by``, audited) asked."""
    target = (
        PublicationTarget.objects.select_for_update().filter(pk=target_id).select_related("variant").first()
    )
    if target is None:
        raise ActionError("No such publication.", 404)
    if target.state != TargetState.MISSED:
        raise ActionError("Only a missed publication can be published anyway.")
    _reschedule_now(target, "publish anyway", actor, late=True)
    _audit(by, target, "publishing.anyway", "published late")
    return str(target.state)


@dataclass(frozen=True)
class AttemptView:
    number: int
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    message: str
    excerpt: str


@dataclass(frozen=True)
class EventView:
    at: dt.datetime
    from_state: str
    to_state: str
    cause: str
    actor: str


@dataclass(frozen=True)
class TargetHistory:
    summary: TargetSummary
    attempts: tuple[AttemptView, ...]
    events: tuple[EventView, ...]


def history(target_id: int) -> TargetHistory | None:
    """A target's state, every attempt and every transition (what the post page shows)."""
    t = PublicationTarget.objects.filter(pk=target_id).first()
    if t is None:
        return None
    summary = _summary(t)
    attempts = tuple(
        AttemptView(a.number, a.worker, a.started_at, a.finished_at, a.outcome, a.message, a.excerpt)
        for a in t.attempt_log.all()
    )
    events = tuple(EventView(e.at, e.from_state, e.to_state, e.cause, e.actor) for e in t.events.all())
    return TargetHistory(summary, attempts, events)


#: States a person has to look at: what failed, what could not be confirmed, what was missed and
#: what waits for a reconnection.
ATTENTION_STATES = (TargetState.FAILED, TargetState.UNCONFIRMED, TargetState.MISSED, TargetState.HELD)


def needing_attention(workspace_id: int) -> QuerySet[PublicationTarget]:
    """The workspace's targets a person has to act on, most recently due first."""
    return (
        PublicationTarget.objects.filter(workspace_id=workspace_id, state__in=ATTENTION_STATES)
        .select_related("channel", "variant__post")
        .order_by("-due_at", "-id")
    )


def in_workspace(workspace_id: int, target_id: int) -> bool:
    return PublicationTarget.objects.filter(pk=target_id, workspace_id=workspace_id).exists()


# -- posts Rupor published (what the inbox and analytics read) -----------------------------


@dataclass(frozen=True)
class PublishedPost:
    target_id: int
    post_id: int
    variant_id: int
    channel_id: int
    remote_id: str
    published_at: dt.datetime | None
    remote_url: str = ""


def _published(qs: QuerySet[PublicationTarget]) -> list[PublishedPost]:
    return [
        PublishedPost(
            target_id=t.pk,
            post_id=t.variant.post_id,
            variant_id=t.variant_id,
            channel_id=t.channel_id,
            remote_id=t.remote_id,
            published_at=t.published_at,
            remote_url=t.remote_url,
        )
        for t in qs.select_related("variant")
    ]


def published_posts(
    channel_id: int, *, since: dt.datetime | None = None, limit: int | None = None
) -> list[PublishedPost]:
    """Posts Rupor published on a channel (newest first), optionally only those since ``since``
    and only the newest ``limit``."""
    qs = PublicationTarget.objects.filter(channel_id=channel_id, state=TargetState.PUBLISHED).exclude(
        remote_id=""
    )
    if since is not None:
        qs = qs.filter(published_at__gte=since)
    qs = qs.order_by("-published_at", "-id")
    return _published(qs[:limit] if limit is not None else qs)


def recently_published(since: dt.datetime, *, limit: int = 5000) -> list[PublishedPost]:
    """Posts Rupor published on any channel since ``since`` (newest first, at most ``limit``):
    what statistics collection starts tracking."""
    qs = PublicationTarget.objects.filter(state=TargetState.PUBLISHED, published_at__gte=since).exclude(
        remote_id=""
    )
    return _published(qs.order_by("-published_at", "-id")[:limit])


def find_published(channel_id: int, remote_post_id: str) -> PublishedPost | None:
    """The Rupor post behind a network's post id (albums count by any of their message ids)."""
    if not remote_post_id:
        return None
    qs = PublicationTarget.objects.filter(channel_id=channel_id).exclude(remote_id="")
    exact = _published(qs.filter(remote_id=remote_post_id)[:1])
    if exact:
        return exact[0]
    for post in _published(
        qs.filter(remote_id__contains=",").filter(remote_id__contains=remote_post_id)[:20]
    ):
        if remote_post_id in post.remote_id.split(","):
            return post
    return None


@dataclass(frozen=True)
class PostTarget:
    """One variant of a post on one channel, as analytics reads it."""

    target_id: int
    variant_id: int
    channel_id: int
    network: str
    remote_id: str
    published: bool


def post_targets(workspace_id: int, post_id: int) -> list[PostTarget]:
    """The targets of a post in a workspace, oldest first."""
    targets = (
        PublicationTarget.objects.filter(workspace_id=workspace_id, variant__post_id=post_id)
        .select_related("channel")
        .order_by("id")
    )
    return [
        PostTarget(
            target_id=t.pk,
            variant_id=t.variant_id,
            channel_id=t.channel_id,
            network=t.channel.network,
            remote_id=t.remote_id,
            published=t.state == TargetState.PUBLISHED,
        )
        for t in targets
    ]


# -- what the engine publishes ---------------------------------------------------------------


@dataclass(frozen=True)
class ContentSource:
    """How the engine reads a variant's (network, content): ``one`` reads one variant with its
    media, ``text_only`` reads many variants without media together (variants with media are
    left out). Planning provides it at start-up, so publishing never imports planning."""

    one: Callable[[int], tuple[str, Content]]
    text_only: Callable[[list[int]], dict[int, tuple[str, Content]]]


_content_source: ContentSource | None = None


def provide_contents(source: ContentSource) -> None:
    """Set where the engine reads what to publish (planning's AppConfig.ready calls this)."""
    global _content_source
    _content_source = source


def _source() -> ContentSource:
    if _content_source is None:
        raise RuntimeError("No content source: rupor.planning must be in INSTALLED_APPS.")
    return _content_source


def content_for_variant(variant_id: int) -> tuple[str, Content]:
    """(network, content) of a variant, read when its attempt starts."""
    return _source().one(variant_id)


def text_only_contents(variant_ids: list[int]) -> dict[int, tuple[str, Content]]:
    """(network, content) of each variant without media, read together for a claimed batch."""
    if not variant_ids:
        return {}
    return _source().text_only(variant_ids)


# -- room for collection (analytics asks before it reads statistics) -------------------------

#: Collection keeps away from a channel that has a post due to publish within this time.
PUBLISH_GUARD = dt.timedelta(minutes=15)
#: Collection uses a rate bucket only after publishing has left it alone for as long as this
#: many publishes take at the paced rate (and at least ``RESERVE_MIN_S`` seconds).
RESERVE_PUBLISHES = 5
RESERVE_MIN_S = 10.0


@dataclass(frozen=True)
class CollectionRoom:
    """The answer to "may collection call this channel's network now?" (``reason`` when not)."""

    ok: bool
    reason: str = ""


def collection_room(channel_id: int, *, now: dt.datetime | None = None) -> CollectionRoom:
    """Whether statistics collection may read a channel's figures now.

    The rule (docs/analytics.md, "Quota"): collection never takes rate limit publishing needs.
    It stays away while a post on the channel is publishing (or sending an edit), or is due to
    publish within :data:`PUBLISH_GUARD`; and it starts only when the channel's publishing rate
    buckets (shared by every worker: Redis or the database) have been idle for at least
    :data:`RESERVE_PUBLISHES` publishes' worth of time (and :data:`RESERVE_MIN_S`) — publishing
    has had its turn and has nothing paced. Collection's own calls then pass the same shared
    call window as every network call, so the network's limit holds for both together, and a
    publish that comes meanwhile waits at most for one batch of reads. Otherwise the answer is
    ``ok=False`` with the reason, and collection tries again at its next run.
    """
    from django.db.models import Q

    from rupor.channels import service as channels
    from rupor.networks import registry
    from rupor.publishing import ratelimit

    now = now or clock.now()
    horizon = now + PUBLISH_GUARD
    busy = (
        PublicationTarget.objects.filter(channel_id=channel_id)
        .filter(
            Q(state__in=(TargetState.PUBLISHING, TargetState.WAITING, TargetState.EDITING))
            | Q(state=TargetState.SCHEDULED, next_attempt_at__lte=horizon)
            | Q(state=TargetState.SCHEDULED, next_attempt_at__isnull=True, due_at__lte=horizon)
        )
        .exists()
    )
    if busy:
        return CollectionRoom(False, "a post is publishing or due to publish on this channel soon")
    access = channels.access_for(channel_id)
    limits = list(registry.adapter(access.network).rate_limits(access, None))
    if not limits:
        return CollectionRoom(True)
    reserve = max(RESERVE_MIN_S, RESERVE_PUBLISHES * ratelimit.interval(limits))
    if ratelimit.idle_for(limits) < reserve:
        return CollectionRoom(False, "publishing used this channel's rate limit moments ago")
    return CollectionRoom(True)


# -- after a restore from a backup (docs/decisions/0035) ----------------------------------------

#: ``error_kind`` of a target that a restore found due or publishing: the engine reconciles it
#: like an unknown outcome, and never sends one past its late window (``engine._reconcile``).
RESTORED = "restored"


@dataclass(frozen=True)
class RestoreReconciliation:
    checking: int  # due or publishing at the backup: checked with the network before any send
    released: int  # waiting or editing under a lease of a worker that is gone
    scheduled_later: int = 0  # still ahead: sent at their time unless published by hand since


def live_workers(within: dt.timedelta = dt.timedelta(seconds=60)) -> list[str]:
    """``host:pid`` of each worker that checked in within ``within`` and has not stopped."""
    since = clock.now() - within
    return [
        f"{host}:{pid}"
        for host, pid in WorkerHeartbeat.objects.filter(seen_at__gte=since, stopped_at__isnull=True)
        .order_by("hostname", "pid")
        .values_list("hostname", "pid")
    ]


def reconcile_after_restore(
    backup_at: dt.datetime, *, now: dt.datetime | None = None
) -> RestoreReconciliation:
    """Make a database restored from a backup safe to publish from.

    The backup is a moment in the past; the instance it came from kept publishing after it. So
    every target that was publishing then, and every scheduled one that fell due since (its
    attempt may have happened after the backup), may already be on the network. Each becomes
    ``publishing`` with no lease and ``error_kind`` :data:`RESTORED`: the next worker reconciles
    it exactly as after a worker died mid-call (the same idempotency key where the network
    honours one, else a lookup, else unconfirmed for a person), and one past its late window is
    only looked up, never sent late. Leases of waiting and editing targets are dropped (their
    workers are gone), and so are the heartbeats of those workers.
    """
    now = now or clock.now()
    when = backup_at.strftime("%Y-%m-%d %H:%M")
    cause = f"restored from the backup of {when} UTC: may have gone out since; checking"
    message = (
        f"Rupor was restored from a backup of {when} UTC, when this post was due or being published. "
        "It may have gone out after the backup, so Rupor checks with the network before sending it."
    )
    due = models.Q(state=TargetState.SCHEDULED) & (
        models.Q(next_attempt_at__lte=now) | models.Q(next_attempt_at__isnull=True, due_at__lte=now)
    )
    candidates = PublicationTarget.objects.filter(due | models.Q(state=TargetState.PUBLISHING))
    checking = 0
    for target_id in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            target = PublicationTarget.objects.select_for_update().filter(pk=target_id).first()
            if target is None or target.state not in (TargetState.SCHEDULED, TargetState.PUBLISHING):
                continue
            if target.state == TargetState.SCHEDULED:
                transition(target, TargetState.PUBLISHING, cause, "restore")
            target.lease_owner = ""
            target.lease_expires_at = None
            target.error_kind = RESTORED
            target.error_message = message[:500]
            target.updated_at = now
            target.save(
                update_fields=["lease_owner", "lease_expires_at", "error_kind", "error_message", "updated_at"]
            )
            checking += 1
    released = (
        PublicationTarget.objects.filter(state__in=(TargetState.WAITING, TargetState.EDITING))
        .exclude(lease_owner="")
        .update(lease_owner="", lease_expires_at=None)
    )
    WorkerHeartbeat.objects.filter(stopped_at__isnull=True).update(stopped_at=models.F("seen_at"))
    later = PublicationTarget.objects.filter(state=TargetState.SCHEDULED).count()
    return RestoreReconciliation(checking=checking, released=released, scheduled_later=later)
