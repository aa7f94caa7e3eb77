"""The publishing engine: claim due targets, publish each exactly once, record everything.

Read DESIGN.md, "The publishing engine (invariants)", first. In short:

* :func:`claim_due_targets` takes a lease on due targets in one atomic statement
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite a single conditional ``UPDATE ...
  RETURNING`` that re-checks the claim condition), so any number of workers is safe.
* :func:`publish_target` makes one attempt on one claimed target. It reloads the target, re-checks
  the channel and the late window at run time, waits for the shared rate-limit buckets, moves the
  target to ``publishing`` and stores an :class:`Attempt` *before* calling the network, then
  records the outcome by error class (never by message text).
* A target found in ``publishing`` with its lease expired had a call in flight when its worker
  stopped or when the outcome was unknown: it is *reconciled* — re-sent with the same
  idempotency key where the network honours one, else looked up on the network, else marked
  ``unconfirmed`` for a person. It is never re-sent blindly.
* :func:`sweep` is the safety net: missed targets, held channels, stale waiting ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.logging import redact
from rupor.networks import registry
from rupor.networks.base import Adapter, ChannelAccess, Published, PublishRequest
from rupor.networks.errors import (
    AuthExpired,
    Duplicate,
    MediaProcessing,
    NetworkError,
    NotSupported,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from rupor.publishing import ratelimit
from rupor.publishing.models import Attempt, PublicationTarget, TargetState
from rupor.publishing.service import transition

log = logging.getLogger(__name__)


@dataclass
class Policy:
    """Retry and timing rules. Module-level so a worker process (or a test) can tune them."""

    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 900.0
    #: After an unknown outcome, wait this long before looking the post up: a request the
    #: network is still processing must have landed before we conclude it did not.
    reconcile_delay_s: float = 5.0
    waiting_poll_s: float = 10.0
    waiting_max_polls: int = 60
    #: Wait inline for the rate limiter up to this long; longer waits put the target back.
    inline_rate_wait_s: float = 2.0


POLICY = Policy()


def lease_seconds() -> float:
    return float(getattr(settings, "RUPOR_LEASE_S", 120.0))


# -- claiming -----------------------------------------------------------------------------

_CLAIMABLE = """
    c.status = 'active' AND (
        (t.state IN ('scheduled', 'waiting') AND t.next_attempt_at <= %s
         AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %s))
        OR (t.state = 'publishing' AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %s))
    )
"""


def claim_due_targets(worker_id: str, limit: int, now: dt.datetime | None = None) -> list[int]:
    """Lease up to ``limit`` due targets for ``worker_id``; return their ids, most overdue first.

    A target is due when it is scheduled (or waiting on the network) and its next attempt time
    has come, or when it is ``publishing`` under an expired lease (its worker died or the outcome
    was unknown: it needs reconciling). Only targets of active channels are claimed.
    """
    if limit <= 0:
        return []
    now = now or clock.now()
    expires = now + dt.timedelta(seconds=lease_seconds())
    ops = connection.ops
    now_db = ops.adapt_datetimefield_value(now)
    lock = " FOR UPDATE OF t SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = f"""
        UPDATE publishing_publicationtarget SET lease_owner = %s, lease_expires_at = %s
        WHERE id IN (
            SELECT t.id FROM publishing_publicationtarget t
            JOIN channels_channel c ON c.id = t.channel_id
            WHERE {_CLAIMABLE}
            ORDER BY t.next_attempt_at, t.id LIMIT %s{lock}
        )
        AND (lease_expires_at IS NULL OR lease_expires_at < %s)
        RETURNING id
    """  # noqa: S608 - only constant fragments are interpolated
    params = [worker_id[:80], ops.adapt_datetimefield_value(expires), now_db, now_db, now_db, limit, now_db]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def renew_leases(worker_id: str, target_ids: list[int]) -> None:
    """Extend the leases a live worker still holds (long uploads outlive one lease)."""
    if target_ids:
        PublicationTarget.objects.filter(pk__in=target_ids, lease_owner=worker_id).update(
            lease_expires_at=clock.now() + dt.timedelta(seconds=lease_seconds())
        )


# -- one attempt ----------------------------------------------------------------------------


class _DbProgress:
    """:class:`rupor.networks.base.Progress` kept in ``target.progress``; each part is committed
    on its own the moment the adapter saves it, so a retry resumes after it."""

    def __init__(self, target_id: int, worker_id: str, data: dict[str, Any]) -> None:
        self._target_id = target_id
        self._worker_id = worker_id
        self._data = dict(data)

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def save(self, key: str, value: Any) -> None:
        self._data[key] = value
        PublicationTarget.objects.filter(pk=self._target_id, lease_owner=self._worker_id).update(
            progress=self._data, updated_at=clock.now()
        )


@dataclass
class _Work:
    target_id: int
    workspace_id: int
    channel_id: int
    network: str
    state: str  # state when the work began
    adapter: Adapter
    access: ChannelAccess
    request: PublishRequest
    progress: dict[str, Any]
    attempt_id: int | None = None


@contextmanager
def _locked(target_id: int, *, related: bool = False) -> Iterator[PublicationTarget | None]:
    # ``related`` joins the channel and workspace in the same query: only the checks before an
    # attempt (and the sweeper) read them; the hot path of an attempt reads the target alone.
    with transaction.atomic():
        qs = PublicationTarget.objects.filter(pk=target_id)
        if related:
            qs = qs.select_related("channel", "workspace")
        if connection.features.has_select_for_update:
            qs = qs.select_for_update(of=("self",))
        yield qs.first()


def _ours(target: PublicationTarget | None, worker_id: str, now: dt.datetime) -> bool:
    return bool(
        target is not None and target.lease_owner == worker_id
        and target.lease_expires_at is not None and target.lease_expires_at >= now
    )


def _release(target: PublicationTarget) -> None:
    target.lease_owner = ""
    target.lease_expires_at = None


def _backoff(attempt: int, retry_after: float | None = None) -> float:
    if retry_after is not None and retry_after > 0:
        return retry_after + random.uniform(0, min(1.0, retry_after * 0.1))
    base = min(POLICY.backoff_max_s, POLICY.backoff_base_s * 2 ** max(0, attempt - 1))
    return base / 2 + random.uniform(0, base / 2)  # "equal jitter"


def _notify(target: PublicationTarget, kind: str, message: str) -> None:
    from rupor.notifications import service as notifications

    notifications.notify(
        target.workspace_id, kind, _TITLES.get(kind, kind), message, target_id=target.pk,
        channel_id=target.channel_id,
    )


_TITLES: dict[str, str] = {
    TargetState.FAILED: "A post failed to publish",
    TargetState.UNCONFIRMED: "A post needs checking: Rupor cannot tell whether it went out",
    TargetState.MISSED: "A post missed its time",
    TargetState.HELD: "A channel needs reconnecting; its posts are on hold",
}


def _finish(target: PublicationTarget, to_state: str, cause: str, *, kind: str = "", message: str = "") -> None:
    """Move to a state that needs no more work from a worker and save."""
    if target.state != to_state:
        transition(target, to_state, cause)
    _release(target)
    target.next_attempt_at = None
    if to_state == TargetState.PUBLISHED:
        target.error_kind = target.error_message = ""
    else:
        target.error_kind = kind[:32]
        target.error_message = (message or cause)[:500]
    target.updated_at = clock.now()
    target.save()
    if to_state in _TITLES:
        _notify(target, to_state, target.error_message)


def _mark_published(target: PublicationTarget, published: Published, cause: str) -> None:
    target.remote_id = published.remote_id[:200]
    target.remote_url = (published.url or "")[:500]
    target.published_at = clock.now()
    _finish(target, TargetState.PUBLISHED, cause)


def _late(target: PublicationTarget, now: dt.datetime) -> bool:
    if target.publish_late or target.due_at is None:
        return False
    window = dt.timedelta(minutes=target.workspace.late_window_minutes)
    return now > target.due_at + window


def _close_attempt(attempt_id: int | None, outcome: str, message: str, excerpt: str = "") -> None:
    if attempt_id is None:
        return
    Attempt.objects.filter(pk=attempt_id).update(
        finished_at=clock.now(), outcome=outcome[:32], message=message[:500], excerpt=redact(excerpt)[:2000]
    )


def _close_dangling_attempts(target: PublicationTarget) -> None:
    """Attempts left open by a worker that stopped mid-call: their outcome is unknown."""
    Attempt.objects.filter(target=target, finished_at__isnull=True).update(
        finished_at=clock.now(), outcome=UnknownOutcome.kind,
        message="The worker stopped during this attempt; the outcome is unknown.",
    )


def _prepare(target: PublicationTarget) -> tuple[Adapter, ChannelAccess, PublishRequest]:
    from rupor.planning import service as planning

    network, content = planning.content_for_variant(target.variant_id)
    adapter = registry.adapter(network)
    request = PublishRequest(content=content, idempotency_key=target.idempotency_key)
    return adapter, channels.access(target.channel), request


def _begin(target_id: int, worker_id: str) -> _Work | str:
    """Checks before any call; returns the work to do, or the state the target ended in."""
    now = clock.now()
    with _locked(target_id, related=True) as target:
        if target is None:
            return "gone"
        if not _ours(target, worker_id, now):
            return str(target.state)
        channel = target.channel
        if target.state not in (TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.WAITING):
            _release(target)
            target.save(update_fields=["lease_owner", "lease_expires_at"])
            return str(target.state)
        if channel.status != Channel.Status.ACTIVE:
            if channel.status == Channel.Status.RECONNECT and target.state == TargetState.SCHEDULED:
                _finish(target, TargetState.HELD, "channel needs reconnecting", kind=AuthExpired.kind,
                        message=channel.status_message or "The channel needs reconnecting.")
            else:
                _release(target)
                target.save(update_fields=["lease_owner", "lease_expires_at"])
            return str(target.state)
        if target.state in (TargetState.SCHEDULED, TargetState.WAITING) and (
            target.next_attempt_at is None or target.next_attempt_at > now
        ):
            # Rescheduled (or unscheduled) by a person after the claim: not due any more.
            _release(target)
            target.save(update_fields=["lease_owner", "lease_expires_at"])
            return str(target.state)
        if target.state == TargetState.SCHEDULED and _late(target, now):
            late_by = int((now - (target.due_at or now)).total_seconds() // 60)
            _finish(target, TargetState.MISSED, f"not published within the late window ({late_by} min late)",
                    kind="missed", message=f"Rupor could not publish this post within {target.workspace.late_window_minutes} "
                    "minutes of its time, so it was not posted late. Use “publish anyway” to post it now.")
            return str(target.state)
        try:
            adapter, access, request = _prepare(target)
        except (KeyError, ImportError, AttributeError) as exc:
            _finish(target, TargetState.FAILED, "network unavailable", kind=NotSupported.kind,
                    message=f"Rupor cannot publish to this network: {exc}")
            return str(target.state)
        if target.state == TargetState.SCHEDULED:
            problems = adapter.validate(request.content)
            if problems:
                _finish(target, TargetState.FAILED, "content does not fit the network", kind=Rejected.kind,
                        message=" ".join(p.message for p in problems))
                return str(target.state)
        return _Work(target.pk, target.workspace_id, target.channel_id, channel.network, str(target.state),
                     adapter, access, request, dict(target.progress or {}))


def _defer(work: _Work, worker_id: str, seconds: float, cause: str) -> str:
    """Put a claimed target back for later without counting an attempt (rate limit room)."""
    with _locked(work.target_id) as target:
        if target is None or not _ours(target, worker_id, clock.now()):
            return "gone" if target is None else str(target.state)
        if target.state == TargetState.PUBLISHING:
            # A reconciliation waits under its (expired-at-retry-time) lease.
            target.lease_owner = ""
            target.lease_expires_at = clock.now() + dt.timedelta(seconds=seconds)
        else:
            _release(target)
            target.next_attempt_at = clock.now() + dt.timedelta(seconds=seconds)
        target.save(update_fields=["lease_owner", "lease_expires_at", "next_attempt_at"])
        log.debug("target %s deferred %.2fs: %s", target.pk, seconds, cause)
        return str(target.state)


def _start_attempt(work: _Work, worker_id: str, note: str) -> bool:
    """Move to ``publishing`` and store the attempt before the call (one transaction)."""
    with _locked(work.target_id) as target:
        if target is None or not _ours(target, worker_id, clock.now()):
            return False
        if target.state not in (TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.WAITING):
            return False
        if target.state == TargetState.SCHEDULED:
            transition(target, TargetState.PUBLISHING, note, worker_id)
        target.attempts += 1
        target.updated_at = clock.now()
        target.save()
        work.attempt_id = Attempt.objects.create(target=target, number=target.attempts, worker=worker_id[:80]).pk
        return True


def _rate_wait(work: _Work) -> float:
    limits = list(work.adapter.rate_limits(work.access, work.request.content))
    return ratelimit.acquire(limits, max_wait=POLICY.inline_rate_wait_s) if limits else 0.0


def publish_target(target_id: int, worker_id: str) -> str:
    """Make one attempt on a target this worker has claimed; return the state it is left in.

    Quietly does nothing when the lease is no longer ours or the target needs no work.
    """
    begun = _begin(target_id, worker_id)
    if isinstance(begun, str):
        return begun
    work = begun
    if work.state == TargetState.WAITING:
        return _complete_waiting(work, worker_id)
    if work.state == TargetState.PUBLISHING:
        return _reconcile(work, worker_id)
    return _send(work, worker_id, "publishing")


def _send(work: _Work, worker_id: str, note: str) -> str:
    wait = _rate_wait(work)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room")
    if not _start_attempt(work, worker_id, note):
        return "lost"
    progress = _DbProgress(work.target_id, worker_id, work.progress)
    try:
        published = work.adapter.publish(work.access, work.request, progress)
    except NetworkError as exc:
        return _record_error(work, worker_id, exc)
    except Exception as exc:
        # A bug (ours or the adapter's) after the request may have gone out: the outcome is
        # unknown, so treat it like one rather than retrying blindly.
        log.exception("adapter %s crashed publishing target %s", work.network, work.target_id)
        return _record_error(work, worker_id, UnknownOutcome(f"Rupor hit an internal error while publishing: {type(exc).__name__}"))
    return _record_success(work, worker_id, published)


def _stored_progress(target_id: int) -> dict[str, Any]:
    value = PublicationTarget.objects.filter(pk=target_id).values_list("progress", flat=True).first()
    return dict(value or {})


def _record_success(work: _Work, worker_id: str, published: Published, cause: str = "published") -> str:
    _close_attempt(work.attempt_id, "waiting" if published.waiting_on_platform else "published",
                   "Published." if not published.waiting_on_platform else "Sent; the network is still processing it.",
                   published.excerpt)
    with _locked(work.target_id) as target:
        if target is None:
            return "gone"
        if target.state in (TargetState.PUBLISHED, TargetState.CANCELLED):
            return str(target.state)
        # A definite answer from the network wins even when our lease ran out meanwhile.
        if published.waiting_on_platform:
            if target.state != TargetState.WAITING:
                transition(target, TargetState.WAITING, "sent; waiting for the network to finish", worker_id)
            target.remote_id = published.remote_id[:200]
            target.next_attempt_at = clock.now() + dt.timedelta(seconds=POLICY.waiting_poll_s)
            _release(target)
            target.save()
            return str(target.state)
        _mark_published(target, published, cause)
        return str(target.state)


def _retry_or_fail(target: PublicationTarget, exc: NetworkError, worker_id: str) -> None:
    if target.attempts >= POLICY.max_attempts:
        _finish(target, TargetState.FAILED, f"gave up after {target.attempts} attempts", kind=exc.kind,
                message=f"Gave up after {target.attempts} attempts. Last error: {exc.message}")
        return
    delay = _backoff(target.attempts, exc.retry_after if isinstance(exc, RateLimited) else None)
    if target.state != TargetState.SCHEDULED:
        transition(target, TargetState.SCHEDULED, f"retry in {delay:.0f}s: {exc.message}", worker_id)
    target.next_attempt_at = clock.now() + dt.timedelta(seconds=delay)
    target.error_kind = exc.kind
    target.error_message = exc.message[:500]
    _release(target)
    target.save()


def _record_error(work: _Work, worker_id: str, exc: NetworkError) -> str:
    _close_attempt(work.attempt_id, exc.kind, exc.message, exc.excerpt)
    if isinstance(exc, RateLimited):
        ratelimit.penalize(list(work.adapter.rate_limits(work.access, work.request.content)), exc.retry_after or 1.0)
    with _locked(work.target_id) as target:
        if target is None:
            return "gone"
        if not _ours(target, worker_id, clock.now()) and target.lease_owner != worker_id:
            return str(target.state)  # another worker took over; it decides
        if isinstance(exc, Duplicate):
            if exc.remote_id:
                _mark_published(target, Published(remote_id=exc.remote_id), "the network already has this post")
            else:
                _finish(target, TargetState.UNCONFIRMED, "the network says it already has this post",
                        kind=exc.kind, message=exc.message)
        elif isinstance(exc, UnknownOutcome) or not exc.nothing_happened:
            _unknown(target, work, exc, worker_id)
        elif isinstance(exc, AuthExpired):
            _finish(target, TargetState.HELD, "credentials expired", kind=exc.kind, message=exc.message)
            channels.needs_reconnect(target.channel_id, exc.message)
        elif isinstance(exc, RateLimited | Transient | MediaProcessing):
            _retry_or_fail(target, exc, worker_id)
        else:  # Rejected, NotSupported and anything else known to have had no effect
            _finish(target, TargetState.FAILED, "the network refused the post", kind=exc.kind, message=exc.message)
        return str(target.state)


def _unknown(target: PublicationTarget, work: _Work, exc: NetworkError, worker_id: str) -> None:
    """The request may have gone out. Keep the target ``publishing`` under a short lease so
    that it is reconciled a little later (by any worker)."""
    if target.attempts >= POLICY.max_attempts:
        _finish(target, TargetState.UNCONFIRMED, "outcome unknown after the last attempt", kind=exc.kind,
                message=f"{exc.message} Rupor cannot tell whether the post went out; please check the channel.")
        return
    if target.state != TargetState.PUBLISHING:
        transition(target, TargetState.PUBLISHING, "outcome unknown; will check", worker_id)
    target.error_kind = exc.kind
    target.error_message = exc.message[:500]
    target.lease_owner = ""
    target.lease_expires_at = clock.now() + dt.timedelta(seconds=POLICY.reconcile_delay_s)
    target.updated_at = clock.now()
    target.save()


def _reconcile(work: _Work, worker_id: str) -> str:
    """A ``publishing`` target under an expired lease: a call was (maybe) in flight."""
    with _locked(work.target_id) as target:
        if target is None or not _ours(target, worker_id, clock.now()):
            return "lost"
        _close_dangling_attempts(target)
        attempts = target.attempts
    if work.adapter.idempotent_publish:
        # The network drops a repeat of the same key: sending again is safe and settles it.
        return _send(work, worker_id, "re-sent with the same idempotency key after an unknown outcome")
    wait = _rate_wait(work)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room to reconcile")
    try:
        found = work.adapter.find_published(work.access, work.request)
    except NotSupported:
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.PUBLISHING:
                return "gone" if target is None else str(target.state)
            _finish(target, TargetState.UNCONFIRMED, "outcome unknown and the network cannot be searched",
                    kind=UnknownOutcome.kind,
                    message=(target.error_message + " " if target.error_message else "")
                    + "The network does not let Rupor check whether the post went out: please look at the channel "
                    "and choose “it is there” or “publish again”.")
            return str(target.state)
    except NetworkError as exc:
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.PUBLISHING:
                return "gone" if target is None else str(target.state)
            if isinstance(exc, AuthExpired):
                channels.needs_reconnect(target.channel_id, exc.message)
            target.attempts = attempts + 1  # a lookup counts against the bound too
            if target.attempts >= POLICY.max_attempts or isinstance(exc, Rejected):
                _finish(target, TargetState.UNCONFIRMED, "could not check whether the post went out",
                        kind=UnknownOutcome.kind, message=f"Rupor could not check whether the post went out: {exc.message}")
            else:
                target.lease_owner = ""
                target.lease_expires_at = clock.now() + dt.timedelta(seconds=_backoff(target.attempts, exc.retry_after))
                target.save()
            return str(target.state)
    if found is not None:
        return _record_success(work, worker_id, found, "found on the network after an unknown outcome")
    # The network can be searched and shows no such post: nothing went out, sending is safe.
    return _send(work, worker_id, "not found on the network after an unknown outcome; sending again")


def _complete_waiting(work: _Work, worker_id: str) -> str:
    wait = _rate_wait(work)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room")
    if not _start_attempt(work, worker_id, "finishing two-step publishing"):
        return "lost"
    progress = _DbProgress(work.target_id, worker_id, _stored_progress(work.target_id))
    try:
        published = work.adapter.complete(work.access, work.request, progress)
    except NetworkError as exc:
        _close_attempt(work.attempt_id, exc.kind, exc.message, exc.excerpt)
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.WAITING:
                return "gone" if target is None else str(target.state)
            still_working = isinstance(exc, MediaProcessing | Transient | RateLimited | UnknownOutcome)
            if still_working and target.attempts < POLICY.max_attempts + POLICY.waiting_max_polls:
                target.next_attempt_at = clock.now() + dt.timedelta(
                    seconds=max(POLICY.waiting_poll_s, exc.retry_after or 0.0))
                target.error_kind, target.error_message = exc.kind, exc.message[:500]
                _release(target)
                target.save()
            elif isinstance(exc, AuthExpired):
                target.next_attempt_at = clock.now() + dt.timedelta(seconds=POLICY.waiting_poll_s)
                _release(target)
                target.save()
                channels.needs_reconnect(target.channel_id, exc.message)
            else:
                _finish(target, TargetState.FAILED, "the network did not finish the post", kind=exc.kind,
                        message=exc.message)
            return str(target.state)
    return _record_success(work, worker_id, published, "the network finished the post")


# -- the sweeper ------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Safety net run by every worker now and then; cheap when there is nothing to do.

    * scheduled targets of channels that need reconnecting are held;
    * scheduled targets past their late window are marked missed (even when no worker could
      claim them, e.g. on a paused channel);
    * targets whose variant's channel was removed are cancelled.
    """
    now = now or clock.now()
    counts = {"held": 0, "missed": 0, "cancelled": 0}
    due = Q(state=TargetState.SCHEDULED, next_attempt_at__lte=now) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    for target_id in PublicationTarget.objects.filter(due, channel__status=Channel.Status.RECONNECT).values_list("pk", flat=True)[:500]:
        with _locked(target_id, related=True) as target:
            if target is not None and target.state == TargetState.SCHEDULED and (target.lease_expires_at is None or target.lease_expires_at < now):
                _finish(target, TargetState.HELD, "channel needs reconnecting", kind=AuthExpired.kind,
                        message=target.channel.status_message or "The channel needs reconnecting.")
                counts["held"] += 1
    for target_id in PublicationTarget.objects.filter(due, channel__status=Channel.Status.ARCHIVED).values_list("pk", flat=True)[:500]:
        with _locked(target_id) as target:
            if target is not None and target.state == TargetState.SCHEDULED:
                _finish(target, TargetState.CANCELLED, "channel removed", kind="cancelled", message="The channel was removed.")
                counts["cancelled"] += 1
    # Missed: only consider targets whose due time is older than the smallest possible window.
    candidates = PublicationTarget.objects.filter(due, publish_late=False, due_at__lt=now).exclude(
        channel__status=Channel.Status.ACTIVE
    ).select_related("workspace").only("pk", "due_at", "workspace__late_window_minutes")[:500]
    for candidate in candidates:
        if candidate.due_at and now > candidate.due_at + dt.timedelta(minutes=candidate.workspace.late_window_minutes):
            with _locked(candidate.pk, related=True) as target:
                if target is not None and target.state == TargetState.SCHEDULED and _late(target, now) and (
                    target.lease_expires_at is None or target.lease_expires_at < now
                ):
                    _finish(target, TargetState.MISSED, "not published within the late window", kind="missed",
                            message="The channel was paused or unavailable when this post was due, so it was not posted late.")
                    counts["missed"] += 1
    return counts
