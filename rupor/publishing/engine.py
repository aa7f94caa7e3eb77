"""The publishing engine: claim due targets, publish each exactly once, record everything.

Read ARCHITECTURE.md, "The publishing engine (invariants)", first. In short:

* :func:`claim_due_targets` takes a lease on due targets in one atomic statement
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite a single conditional ``UPDATE ...
  RETURNING`` that re-checks the claim condition), so any number of workers is safe.
* :func:`publish_target` makes one attempt on one claimed target. It reloads the target, re-checks
  the channel and the late window at run time, waits for the shared rate-limit buckets, moves the
  target to ``publishing`` and stores an :class:`Attempt` *before* calling the network, then
  records the outcome by error class (never by message text).
* The worker claims in batches (:func:`claim_batch`: the claim plus one read of the targets, their
  channels, workspaces and text-only contents) and calls :func:`publish_claimed`. The common case
  — scheduled, due, active channel, in its window — is decided from that snapshot and then
  *started* by one conditional write that re-checks state, lease, due time and channel status
  while it moves the target to ``publishing``, records the transition and stores the attempt;
  success is *finished* by one write (attempt closed, target published, transition recorded).
  Every other case, and any snapshot that no longer holds, takes the locked path (:func:`_begin`).
* A target found in ``publishing`` with its lease expired had a call in flight when its worker
  stopped or when the outcome was unknown: it is *reconciled* — re-sent with the same
  idempotency key where the network honours one, else looked up on the network, else marked
  ``unconfirmed`` for a person. It is never re-sent blindly.
* A published target whose content a person changed is ``editing`` (see
  :func:`rupor.publishing.service.request_edits`): :func:`_edit` sends the change with the
  adapter's ``edit`` as a recorded attempt and moves it back to ``published``. An edit sets the
  post's content to what is saved, so repeating one is harmless: edits are retried after an
  unknown outcome too, within their own bound; a refused edit leaves the post as it was on the
  network and says so on the target.
* :func:`sweep` is the safety net: missed targets, held channels, stale waiting ones.
* Every state change, fast or locked, is a :class:`rupor.publishing.transitions.Move` the table
  ``models.TRANSITIONS`` allows. An attempt returns the state it left the target in, or an
  :class:`Outcome`. Only a ``networks.errors`` class is the network's answer; any other exception
  is a bug: its attempt is closed as ``internal_error`` and it propagates (the worker logs it), and
  the target is left under its lease, reconciled when the lease expires (ARCHITECTURE.md, 11).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from rupor.channels import service as channels
from rupor.core import backoff, clock, config
from rupor.core.logging import fields, redact
from rupor.networks import registry
from rupor.networks.base import (
    Adapter,
    Capability,
    ChannelAccess,
    Content,
    Problem,
    Published,
    PublishRequest,
)
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
from rupor.notifications import service as notifications
from rupor.publishing import ratelimit
from rupor.publishing.models import Attempt, PublicationTarget, TargetState
from rupor.publishing.service import HELD_FOR_SETTINGS, RESTORED, content_for_variant, text_only_contents
from rupor.publishing.transitions import Move, transition

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What an attempt reports when there is no state of the target to report."""

    #: The target was deleted meanwhile.
    GONE = "gone"
    #: The lease is no longer this worker's (another took over, or it expired): nothing written.
    LOST = "lost"
    #: A programming error stopped the attempt (the worker logs it; the lease is left to expire).
    ERROR = "error"


#: An attempt's result: the state it left the target in, or an :class:`Outcome`.
Result = TargetState | Outcome


def _state(target: PublicationTarget | None) -> Result:
    return Outcome.GONE if target is None else TargetState(target.state)


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
    #: While another thread of the process waits for the same buckets, put targets back this long.
    rate_defer_s: float = 1.0


POLICY = Policy()


def lease_seconds() -> float:
    return config.lease_s()


# -- claiming -----------------------------------------------------------------------------

#: The four ways a target is due; each is one range of an index, ``(state, next_attempt_at)``
#: or ``(state, lease_expires_at)``, read in order and only as far as the claim needs. (One
#: ``OR`` of the three made both databases read and sort *every* due target on each claim.)
_DUE_BRANCHES = (
    "t.state = 'scheduled' AND t.next_attempt_at <= %(now)s AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %(now)s)",
    "t.state = 'waiting' AND t.next_attempt_at <= %(now)s AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %(now)s)",
    "t.state = 'publishing' AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %(now)s)",
    "t.state = 'editing' AND t.next_attempt_at <= %(now)s AND (t.lease_expires_at IS NULL OR t.lease_expires_at < %(now)s)",
)


def _claim_sql(postgres: bool) -> str:
    branch = (
        "SELECT t.id, t.next_attempt_at FROM publishing_publicationtarget t "
        "JOIN channels_channel c ON c.id = t.channel_id "
        "WHERE c.status = 'active' AND {cond} ORDER BY t.next_attempt_at LIMIT %(limit)s"
    )
    update = (
        "UPDATE publishing_publicationtarget SET lease_owner = %(owner)s, lease_expires_at = %(expires)s "
        "WHERE id IN (SELECT id FROM ({union}) u ORDER BY next_attempt_at, id LIMIT %(limit)s) "
        "AND (lease_expires_at IS NULL OR lease_expires_at < %(now)s) RETURNING id"
    )
    if postgres:
        # Locking clauses are not allowed inside a UNION: lock each branch in its own CTE.
        ctes = ", ".join(
            f"b{i} AS ({branch.format(cond=cond)} FOR UPDATE OF t SKIP LOCKED)"
            for i, cond in enumerate(_DUE_BRANCHES)
        )
        union = " UNION ALL ".join(f"SELECT * FROM b{i}" for i in range(len(_DUE_BRANCHES)))  # noqa: S608 - constants
        return f"WITH {ctes} " + update.format(union=union)
    union = " UNION ALL ".join(f"SELECT * FROM ({branch.format(cond=cond)})" for cond in _DUE_BRANCHES)  # noqa: S608 - the branches are constants of this module; values are bound parameters
    return update.format(union=union)


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
    sql = _claim_sql(connection.features.has_select_for_update_skip_locked)
    params = {
        "owner": worker_id[:80],
        "expires": ops.adapt_datetimefield_value(expires),
        "now": ops.adapt_datetimefield_value(now),
        "limit": limit,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def renew_leases(worker_id: str, target_ids: list[int]) -> None:
    """Extend the leases a live worker still holds (long uploads outlive one lease)."""
    if target_ids:
        PublicationTarget.objects.filter(pk__in=target_ids, lease_owner=worker_id).update(
            lease_expires_at=clock.now() + dt.timedelta(seconds=lease_seconds())
        )


def seconds_until_due(now: dt.datetime | None = None, *, at_most: float) -> float:
    """How long until the next scheduled target falls due (at most ``at_most``): an idle worker
    sleeps that long instead of a whole poll interval, so a post is claimed at its time."""
    now = now or clock.now()
    nxt = (
        PublicationTarget.objects.filter(
            state__in=(TargetState.SCHEDULED, TargetState.WAITING, TargetState.EDITING),
            next_attempt_at__gt=now,
            next_attempt_at__lte=now + dt.timedelta(seconds=at_most),
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return at_most if nxt is None else max(0.005, (nxt - now).total_seconds())


# -- a claimed batch, read in one go ---------------------------------------------------------


@dataclass
class Claim:
    """What the checks before an attempt need, read for a whole claimed batch in one query.

    It is a snapshot: every decision taken from it is either re-checked by the conditional
    write that starts the attempt (state, lease, due time, channel status) or handed to the
    locked path (:func:`_begin`), which re-reads everything.
    """

    id: int
    state: str
    lease_owner: str
    lease_expires_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    due_at: dt.datetime | None
    publish_late: bool
    idempotency_key: str
    variant_id: int
    channel_id: int
    workspace_id: int
    progress: dict[str, Any]
    channel_status: str
    channel_network: str
    channel_remote_id: str
    channel_base_url: str
    channel_settings: dict[str, Any]
    channel_credentials: str  # encrypted, as stored
    late_window_minutes: int
    content: tuple[str, Content] | None = field(default=None, repr=False)
    read_at: float = 0.0  # time.monotonic() when read


#: Content read with a claimed batch is used only this soon after it was read; a target that
#: waited longer in the worker (behind rate limits, say) reads its content again, so an edit
#: made meanwhile is what goes out, as when each attempt read its own.
CONTENT_FRESH_S = 1.0


_CLAIM_FIELDS = {
    "id": "pk",
    "state": "state",
    "lease_owner": "lease_owner",
    "lease_expires_at": "lease_expires_at",
    "next_attempt_at": "next_attempt_at",
    "due_at": "due_at",
    "publish_late": "publish_late",
    "idempotency_key": "idempotency_key",
    "variant_id": "variant_id",
    "channel_id": "channel_id",
    "workspace_id": "workspace_id",
    "progress": "progress",
    "channel_status": "channel__status",
    "channel_network": "channel__network",
    "channel_remote_id": "channel__remote_id",
    "channel_base_url": "channel__base_url",
    "channel_settings": "channel__settings",
    "channel_credentials": "channel__credentials_encrypted",
    "late_window_minutes": "workspace__late_window_minutes",
}


def read_claims(target_ids: list[int]) -> list[Claim]:
    """Snapshots of these targets with their channel and workspace (one query), plus the
    content of text-only variants (two more); in the order given."""
    if not target_ids:
        return []
    rows = PublicationTarget.objects.filter(pk__in=target_ids).values(*_CLAIM_FIELDS.values())
    by_id = {}
    for row in rows:
        claim = Claim(**{name: row[column] for name, column in _CLAIM_FIELDS.items()})
        claim.progress = dict(claim.progress or {})
        claim.channel_settings = dict(claim.channel_settings or {})
        by_id[claim.id] = claim
    claims = [by_id[i] for i in target_ids if i in by_id]
    contents = text_only_contents([c.variant_id for c in claims if c.state == TargetState.SCHEDULED])
    read_at = time.monotonic()
    for claim in claims:
        claim.content = contents.get(claim.variant_id)
        claim.read_at = read_at
    return claims


def claim_batch(worker_id: str, limit: int, now: dt.datetime | None = None) -> list[Claim]:
    """:func:`claim_due_targets`, returning what publishing them needs (:func:`publish_claimed`)."""
    return read_claims(claim_due_targets(worker_id, limit, now))


class _AccessCache:
    """Decrypted channel access, kept per channel while its stored row is unchanged.

    The key is everything :func:`channels.access` reads from the row (network, remote id, base
    URL, settings and the *encrypted* credentials), so a reconnect, a credential refresh or a
    settings change is a different key: nothing to invalidate by hand. Bounded (LRU); the
    plaintext lives in this process's memory only, as it does during any attempt.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], ChannelAccess] = OrderedDict()

    def get(self, claim: Claim) -> ChannelAccess:
        key = (
            claim.channel_id,
            claim.channel_network,
            claim.channel_remote_id,
            claim.channel_base_url,
            json.dumps(claim.channel_settings, sort_keys=True, default=str),
            claim.channel_credentials,
        )
        with self._lock:
            access = self._items.get(key)
            if access is not None:
                self._items.move_to_end(key)
        if access is None:
            access = channels.access_from_stored(
                network=claim.channel_network,
                remote_id=claim.channel_remote_id,
                base_url=claim.channel_base_url,
                settings=claim.channel_settings,
                credentials_encrypted=claim.channel_credentials,
                channel_id=claim.channel_id,
            )
            with self._lock:
                self._items[key] = access
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        # A fresh object each time: an adapter may not share mutable state across threads.
        return ChannelAccess(
            access.network, access.remote_id, dict(access.credentials), access.base_url, dict(access.settings)
        )

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_access_cache = _AccessCache()


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
    #: Built from a :class:`Claim` snapshot (not under the lock): start with :func:`_start_fast`.
    fast: bool = False


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
        target is not None
        and target.lease_owner == worker_id
        and target.lease_expires_at is not None
        and target.lease_expires_at >= now
    )


def _release(target: PublicationTarget) -> None:
    target.lease_owner = ""
    target.lease_expires_at = None


def _backoff(attempt: int, retry_after: float | None = None) -> float:
    return backoff.delay(
        attempt, base=POLICY.backoff_base_s, cap=POLICY.backoff_max_s, retry_after=retry_after
    )


def _notify(target: PublicationTarget, kind: str, message: str) -> None:
    notifications.notify_event(
        target.workspace_id, kind, message, target_id=target.pk, channel_id=target.channel_id
    )


#: The states whose arrival people are told about (each an event of ``notifications.EVENTS``,
#: which names it for people; "edit_failed" is told by :func:`_edit_settled`).
_NOTIFIED = frozenset({TargetState.FAILED, TargetState.UNCONFIRMED, TargetState.MISSED, TargetState.HELD})


def _finish(
    target: PublicationTarget, to_state: str, cause: str, *, kind: str = "", message: str = ""
) -> None:
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
    if to_state in _NOTIFIED:
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
        finished_at=clock.now(),
        outcome=UnknownOutcome.kind,
        message="The worker stopped during this attempt; the outcome is unknown.",
    )


def _adapter(network: str) -> Adapter | None:
    """The network's adapter, or ``None`` when this installation has none that loads (an unknown
    network, or its module or class missing). Any other error is a bug and propagates."""
    if network not in registry.NETWORKS:
        return None
    try:
        return registry.adapter(network)
    except (ImportError, AttributeError):
        return None


def _prepare(target: PublicationTarget) -> tuple[Adapter, ChannelAccess, PublishRequest] | None:
    """What an attempt needs; ``None`` when there is no adapter for the channel's network."""
    network, content = content_for_variant(target.variant_id)
    adapter = _adapter(network)
    if adapter is None:
        return None
    request = PublishRequest(content=content, idempotency_key=target.idempotency_key)
    return adapter, channels.access(target.channel), request


def _begin(target_id: int, worker_id: str) -> _Work | Result:
    """Checks before any call; returns the work to do, or the state the target ended in."""
    now = clock.now()
    with _locked(target_id, related=True) as target:
        if target is None:
            return Outcome.GONE
        if not _ours(target, worker_id, now):
            return _state(target)
        channel = target.channel
        if target.state not in (
            TargetState.SCHEDULED,
            TargetState.PUBLISHING,
            TargetState.WAITING,
            TargetState.EDITING,
        ):
            _release(target)
            target.save(update_fields=["lease_owner", "lease_expires_at"])
            return _state(target)
        if channel.status != channels.Status.ACTIVE:
            if channel.status == channels.Status.RECONNECT and target.state == TargetState.SCHEDULED:
                _finish(
                    target,
                    TargetState.HELD,
                    "channel needs reconnecting",
                    kind=AuthExpired.kind,
                    message=channel.status_message or "The channel needs reconnecting.",
                )
            else:
                _release(target)
                target.save(update_fields=["lease_owner", "lease_expires_at"])
            return _state(target)
        if target.state in (TargetState.SCHEDULED, TargetState.WAITING, TargetState.EDITING) and (
            target.next_attempt_at is None or target.next_attempt_at > now
        ):
            # Rescheduled (or unscheduled) by a person after the claim: not due any more.
            _release(target)
            target.save(update_fields=["lease_owner", "lease_expires_at"])
            return _state(target)
        if target.state == TargetState.SCHEDULED and _late(target, now):
            late_by = int((now - (target.due_at or now)).total_seconds() // 60)
            _finish(
                target,
                TargetState.MISSED,
                f"not published within the late window ({late_by} min late)",
                kind="missed",
                message=f"Rupor could not publish this post within {target.workspace.late_window_minutes} "
                "minutes of its time, so it was not posted late. Use “publish anyway” to post it now.",
            )
            return _state(target)
        try:
            prepared = _prepare(target)
        except channels.ChannelError as exc:
            _settings_broken(target, exc.message)
            return _state(target)
        if prepared is None:
            _no_adapter(target, channel.network)
            return _state(target)
        adapter, access, request = prepared
        if target.state == TargetState.SCHEDULED:
            problems = adapter.validate(request.content, adapter.limits_for(access.settings))
            if problems:
                _finish(
                    target,
                    TargetState.FAILED,
                    "content does not fit the network",
                    kind=Rejected.kind,
                    message=" ".join(p.message for p in problems),
                )
                return _state(target)
        if target.state == TargetState.EDITING:
            problems = (
                adapter.validate(request.content, adapter.limits_for(access.settings))
                if Capability.EDIT in adapter.capabilities
                else [Problem("", f"{adapter.display_name} does not let published posts be edited.")]
            )
            if problems:
                _edit_settled(
                    target,
                    "the edit does not fit the network",
                    kind=Rejected.kind,
                    message=" ".join(p.message for p in problems),
                )
                return _state(target)
        return _Work(
            target.pk,
            target.workspace_id,
            target.channel_id,
            channel.network,
            str(target.state),
            adapter,
            access,
            request,
            dict(target.progress or {}),
        )


def _settings_broken(target: PublicationTarget, message: str) -> None:
    """The channel's stored settings do not fit the schema (an older version or a hand edit
    wrote them): nothing can be sent until a person fixes them. The channel says why (its
    ``last_error``); a scheduled target is held, like one of a channel that needs reconnecting,
    and released when the settings are saved (``channels.channel_settings_fixed``). One that
    may already be on the network (publishing, waiting, editing) is not held, since a release
    would send it again: it keeps its state and is looked at again a lease period later."""
    channels.record_job_error(target.channel_id, "publishing", message)
    if target.state == TargetState.SCHEDULED:
        _finish(
            target, TargetState.HELD, "channel settings need fixing", kind=HELD_FOR_SETTINGS, message=message
        )
        return
    later = clock.now() + dt.timedelta(seconds=lease_seconds())
    target.lease_owner = ""
    if target.state == TargetState.PUBLISHING:
        target.lease_expires_at = later  # a reconciliation is due when its lease expires
    else:
        target.lease_expires_at = None
        target.next_attempt_at = later
    target.save(update_fields=["lease_owner", "lease_expires_at", "next_attempt_at"])


def _no_adapter(target: PublicationTarget, network: str) -> None:
    """This installation cannot talk to the channel's network (any more). Nothing is sent; what
    may already have been sent stays a question for a person, and a published post stays
    published."""
    message = f"Rupor has no working adapter for the network {network!r}."
    if target.state == TargetState.SCHEDULED:
        _finish(
            target,
            TargetState.FAILED,
            "network unavailable",
            kind=NotSupported.kind,
            message=f"Rupor cannot publish to this network: {message}",
        )
    elif target.state == TargetState.EDITING:
        _edit_settled(target, "network unavailable", kind=NotSupported.kind, message=message)
    else:  # publishing or waiting: it may be on the network
        _finish(
            target,
            TargetState.UNCONFIRMED,
            "network unavailable; outcome unknown",
            kind=NotSupported.kind,
            message=f"{message} It cannot check whether the post went out; please look at the channel.",
        )


def _defer(work: _Work, worker_id: str, seconds: float, cause: str) -> Result:
    """Put a claimed target back for later without counting an attempt (rate limit room)."""
    if work.state == TargetState.SCHEDULED:
        # The common case in one conditional write: still scheduled and ours.
        now = clock.now()
        released = PublicationTarget.objects.filter(
            pk=work.target_id,
            state=TargetState.SCHEDULED,
            lease_owner=worker_id,
            lease_expires_at__gte=now,
        ).update(lease_owner="", lease_expires_at=None, next_attempt_at=now + dt.timedelta(seconds=seconds))
        if released:
            return TargetState.SCHEDULED
    with _locked(work.target_id) as target:
        if target is None or not _ours(target, worker_id, clock.now()):
            return _state(target)
        if target.state == TargetState.PUBLISHING:
            # A reconciliation waits under its (expired-at-retry-time) lease.
            target.lease_owner = ""
            target.lease_expires_at = clock.now() + dt.timedelta(seconds=seconds)
        else:
            _release(target)
            target.next_attempt_at = clock.now() + dt.timedelta(seconds=seconds)
        target.save(update_fields=["lease_owner", "lease_expires_at", "next_attempt_at"])
        log.debug(
            "target %s deferred %.2fs: %s",
            target.pk,
            seconds,
            cause,
            extra=fields(
                "publish.defer", target_id=target.pk, channel_id=work.channel_id, worker_id=worker_id
            ),
        )
        return _state(target)


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
        work.attempt_id = Attempt.objects.create(
            target=target, number=target.attempts, worker=worker_id[:80]
        ).pk
        return True


class RateWaits:
    """What rate limits cost each worker of this process, per network: the calls that waited
    inline for room (and how long) and the targets put back for later (and how far). A worker's
    heartbeat stores its own figures (``WorkerHeartbeat.rate_waits``), so those of every process
    reach the database, where the operations page and /metrics read them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_worker: dict[str, dict[str, dict[str, float]]] = {}

    def add(self, worker_id: str, network: str, how: str, seconds: float) -> None:
        with self._lock:
            row = self._by_worker.setdefault(worker_id, {}).setdefault(
                network, {"inline": 0, "inline_s": 0.0, "deferred": 0, "deferred_s": 0.0}
            )
            row[how] += 1
            row[f"{how}_s"] += max(0.0, seconds)

    def of(self, worker_id: str) -> dict[str, dict[str, float]]:
        with self._lock:
            return {net: dict(row) for net, row in self._by_worker.get(worker_id, {}).items()}

    def forget(self, worker_id: str) -> None:
        with self._lock:
            self._by_worker.pop(worker_id, None)


RATE_WAITS = RateWaits()

_waiters_lock = threading.Lock()
_waiters: set[tuple[str, ...]] = set()
_put_back_until: dict[tuple[str, ...], float] = {}  # monotonic time of the last target put back, per buckets


def _rate_wait(work: _Work, worker_id: str) -> float:
    """0 once the shared buckets are charged for this call; else how long to put the target back.

    Only one thread of a process waits inline for a given set of buckets: the others put their
    targets back and serve other channels meanwhile, instead of every thread sleeping behind one
    busy token while other networks' posts queue up. Targets put back for the same buckets are
    spread one bucket interval apart (the first ``rate_defer_s`` away), roughly when their turn
    comes, so a long queue on one token is not claimed and put back again every second.
    """
    limits = list(work.adapter.rate_limits(work.access, work.request.content))
    if not limits:
        return 0.0
    wait = ratelimit.try_acquire(limits)
    if wait <= 0:
        return 0.0
    key = tuple(sorted(lim.key for lim in limits))
    with _waiters_lock:
        busy = key in _waiters
        if not busy:
            _waiters.add(key)
    if busy:
        step = ratelimit.interval(limits)
        with _waiters_lock:
            now = time.monotonic()
            at = max(now + max(wait, POLICY.rate_defer_s), _put_back_until.get(key, 0.0) + step)
            _put_back_until[key] = at
            for stale in [k for k, until in _put_back_until.items() if until < now]:
                del _put_back_until[stale]
        later = at - now + random.uniform(0, step / 2)
        RATE_WAITS.add(worker_id, work.network, "deferred", later)
        return later
    started = time.monotonic()
    try:
        later = ratelimit.acquire(limits, max_wait=POLICY.inline_rate_wait_s)
    finally:
        with _waiters_lock:
            _waiters.discard(key)
    if later > 0:
        RATE_WAITS.add(worker_id, work.network, "deferred", later)
    else:
        RATE_WAITS.add(worker_id, work.network, "inline", time.monotonic() - started)
    return later


def publish_target(target_id: int, worker_id: str) -> Result:
    """Make one attempt on a target this worker has claimed; return the state it is left in.

    Quietly does nothing when the lease is no longer ours or the target needs no work.
    """
    claims = read_claims([target_id])
    if not claims:
        return Outcome.GONE
    return publish_claimed(claims[0], worker_id)


def publish_claimed(claim: Claim, worker_id: str) -> Result:
    """:func:`publish_target` for a target read by :func:`claim_batch`.

    The common case (a scheduled target, due, of an active channel, in its window, whose content
    fits) is decided from the snapshot and started by one conditional write; anything else, or a
    snapshot that no longer holds, goes through :func:`_begin`, which locks and re-reads.
    """
    work = _begin_fast(claim, worker_id)
    if work is None:
        begun = _begin(claim.id, worker_id)
        if isinstance(begun, str):
            return begun
        work = begun
    return publish_claimed_work(work, worker_id)


def _begin_fast(claim: Claim, worker_id: str) -> _Work | None:
    """The checks of :func:`_begin` for the common case, from the snapshot; ``None`` when the
    target needs the locked path (anything but "scheduled, due, active channel, in time, fits")."""
    now = clock.now()
    if (
        claim.state != TargetState.SCHEDULED
        or claim.lease_owner != worker_id
        or claim.lease_expires_at is None
        or claim.lease_expires_at < now
        or claim.channel_status != channels.Status.ACTIVE
        or claim.next_attempt_at is None
        or claim.next_attempt_at > now
    ):
        return None
    if (
        not claim.publish_late
        and claim.due_at is not None
        and now > claim.due_at + dt.timedelta(minutes=claim.late_window_minutes)
    ):
        return None
    if claim.content is not None and time.monotonic() - claim.read_at <= CONTENT_FRESH_S:
        network, content = claim.content
    else:
        try:
            network, content = content_for_variant(claim.variant_id)
        except ObjectDoesNotExist:  # deleted since the claim: the locked path finds it gone
            return None
    adapter = _adapter(network)
    if adapter is None:  # the locked path records it
        return None
    try:
        access = _access_cache.get(claim)
    except channels.ChannelError:  # stored settings that do not fit: the locked path holds it
        return None
    if adapter.validate(content, adapter.limits_for(access.settings)):  # the locked path records the problems
        return None
    request = PublishRequest(content=content, idempotency_key=claim.idempotency_key)
    return _Work(
        claim.id,
        claim.workspace_id,
        claim.channel_id,
        network,
        str(claim.state),
        adapter,
        access,
        request,
        dict(claim.progress),
        fast=True,
    )


# Hot-path statements, written out: the ORM's per-statement cost is most of the engine's CPU.
# The state changes themselves are :class:`Move`\s, as on every other path; an attempt's two
# writes add the attempt's own statements around them. PostgreSQL runs each write as one statement
# (data-modifying CTEs: one round trip, atomic on its own); SQLite runs the same statements one by
# one in a transaction. Either way the target's conditional UPDATE decides whether anything is
# written.
_A = Attempt._meta.db_table

#: scheduled -> publishing, re-checking what the snapshot said: still due, lease ours and live,
#: channel active.
_CHANNEL_ACTIVE = "channel_id IN (SELECT id FROM channels_channel WHERE status = %(active)s)"
_START = Move(
    TargetState.SCHEDULED,
    TargetState.PUBLISHING,
    set="attempts = attempts + 1",
    where="lease_owner = %(owner)s AND lease_expires_at >= %(at)s AND next_attempt_at <= %(at)s AND "
    + _CHANNEL_ACTIVE,
    returning="attempts",
)
_PUBLISHED = Move(
    TargetState.PUBLISHING,
    TargetState.PUBLISHED,
    set="remote_id = %(remote_id)s, remote_url = %(remote_url)s, published_at = %(at)s, "
    "lease_owner = '', lease_expires_at = NULL, next_attempt_at = NULL, error_kind = '', error_message = ''",
)
_ATTEMPT_COLUMNS = (
    f"INSERT INTO {_A} (target_id, number, worker, started_at, finished_at, outcome, message, excerpt)"
)
_CLOSE_ATTEMPT = (
    f"UPDATE {_A} SET finished_at = %(at)s, outcome = %(outcome)s, message = %(message)s, excerpt = %(excerpt)s "  # noqa: S608 - table and column names from the models; values are bound parameters
    "WHERE id = %(attempt)s"
)
_START_ONE = _START.statement(
    then=f"{_ATTEMPT_COLUMNS} SELECT id, attempts, %(worker)s, %(at)s, NULL, '', '', '' FROM t RETURNING id"  # noqa: S608 - table and column names from the models; values are bound parameters
)
_PUBLISHED_ONE = _PUBLISHED.statement(before=[_CLOSE_ATTEMPT])


def _one_statement() -> bool:
    return connection.vendor == "postgresql"


def _start_fast(work: _Work, worker_id: str, note: str) -> bool:
    """Move a scheduled target to ``publishing``, record the transition and store the attempt,
    atomically, *before* the call; the update's condition re-checks what the snapshot said
    (still scheduled and due, lease ours and live, channel active). False: it did not hold,
    nothing was written."""
    params = _START.params(
        work.target_id, clock.now(), note, worker_id, owner=worker_id, active=channels.Status.ACTIVE
    )
    params["worker"] = worker_id[:80]
    if _one_statement():
        with connection.cursor() as cursor:
            cursor.execute(_START_ONE, params)
            row = cursor.fetchone()
        if row is None:
            return False
        work.attempt_id = int(row[0])
        return True
    with transaction.atomic(), connection.cursor() as cursor:
        row = _START.run_each(cursor, params)
        if row is None:
            return False
        params["number"] = int(row[1])
        cursor.execute(
            f"{_ATTEMPT_COLUMNS} VALUES (%(id)s, %(number)s, %(worker)s, %(at)s, NULL, '', '', '')", params
        )
        work.attempt_id = int(cursor.lastrowid)
    return True


def _published_fast(work: _Work, published: Published, cause: str, outcome: str, message: str) -> bool:
    """Close the attempt, mark the target published and record the transition, atomically; the
    target part only when it is still ``publishing`` (else False, and the caller settles it
    under the lock; the attempt is closed either way)."""
    params = _PUBLISHED.params(
        work.target_id,
        clock.now(),
        cause,
        attempt=work.attempt_id,
        outcome=outcome[:32],
        message=message[:500],
        excerpt=redact(published.excerpt)[:2000],
        remote_id=published.remote_id[:200],
        remote_url=(published.url or "")[:500],
    )
    if _one_statement():
        with connection.cursor() as cursor:
            cursor.execute(_PUBLISHED_ONE, params)
            return cursor.fetchone() is not None
    with transaction.atomic(), connection.cursor() as cursor:
        if work.attempt_id is not None:
            cursor.execute(_CLOSE_ATTEMPT, params)
        return _PUBLISHED.run_each(cursor, params) is not None


#: An attempt a programming error stopped (recorded on the attempt; never a network's answer).
INTERNAL_ERROR = "internal_error"


@contextmanager
def _crash_recorded(work: _Work) -> Iterator[None]:
    """Around a network call: an exception that is not a :class:`NetworkError` is a bug (ours
    or an adapter's), not the network's answer. The open attempt is closed as an internal error
    and the exception propagates (the worker logs it with its traceback); the target keeps its
    state and its lease, so when the lease expires it is handled as if the worker had stopped
    mid-call: reconciled, never re-sent blindly, and never recorded as refused by the network."""
    try:
        yield
    except NetworkError:
        raise
    except Exception:
        _close_attempt(
            work.attempt_id,
            INTERNAL_ERROR,
            "Rupor hit an internal error during this attempt; whether it reached the network is checked "
            "before anything is sent again.",
        )
        raise


def _send(work: _Work, worker_id: str, note: str) -> Result:
    wait = _rate_wait(work, worker_id)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room")
    if work.fast and work.state == TargetState.SCHEDULED and _start_fast(work, worker_id, note):
        pass
    else:
        if work.fast:
            # The snapshot no longer holds: re-check everything under the lock (this settles a
            # target that was paused, rescheduled, cancelled or taken over meanwhile).
            begun = _begin(work.target_id, worker_id)
            if isinstance(begun, str):
                return begun
            if begun.state != TargetState.SCHEDULED:
                return publish_claimed_work(begun, worker_id)
            work = begun
        if not _start_attempt(work, worker_id, note):
            return Outcome.LOST
    progress = _DbProgress(work.target_id, worker_id, work.progress)
    try:
        with _crash_recorded(work):
            published = work.adapter.publish(work.access, work.request, progress)
    except NetworkError as exc:
        return _logged(work, worker_id, _record_error(work, worker_id, exc), exc)
    return _logged(work, worker_id, _record_success(work, worker_id, published), None)


def _logged(work: _Work, worker_id: str, result: Result, exc: NetworkError | None) -> Result:
    """One log line per attempt: what the network said and the state the target was left in,
    with the ids for a JSON log (``RUPOR_LOG_FORMAT=json``)."""
    answer = exc.kind if exc is not None else "published"
    log.log(
        logging.INFO if exc is None else logging.WARNING,
        "target %s on %s: %s -> %s%s",
        work.target_id,
        work.network,
        answer,
        result,
        f" ({exc.message})" if exc is not None else "",
        extra=fields(
            "publish.attempt",
            workspace_id=work.workspace_id,
            channel_id=work.channel_id,
            target_id=work.target_id,
            attempt_id=work.attempt_id,
            network=work.network,
            worker_id=worker_id,
            outcome=answer,
            state=str(result),
        ),
    )
    return result


def publish_claimed_work(work: _Work, worker_id: str) -> Result:
    """Continue with work :func:`_begin` returned for a target that is not plainly scheduled."""
    if work.state == TargetState.WAITING:
        return _complete_waiting(work, worker_id)
    if work.state == TargetState.PUBLISHING:
        return _reconcile(work, worker_id)
    if work.state == TargetState.EDITING:
        return _edit(work, worker_id)
    return _send(work, worker_id, "publishing")


def _stored_progress(target_id: int) -> dict[str, Any]:
    value = PublicationTarget.objects.filter(pk=target_id).values_list("progress", flat=True).first()
    return dict(value or {})


def _record_success(work: _Work, worker_id: str, published: Published, cause: str = "published") -> Result:
    outcome = "waiting" if published.waiting_on_platform else "published"
    message = (
        "Published." if not published.waiting_on_platform else "Sent; the network is still processing it."
    )
    if not published.waiting_on_platform:
        if _published_fast(work, published, cause, outcome, message):
            return TargetState.PUBLISHED
    else:
        _close_attempt(work.attempt_id, outcome, message, published.excerpt)
    with _locked(work.target_id) as target:
        if target is None:
            return Outcome.GONE
        if target.state in (TargetState.PUBLISHED, TargetState.CANCELLED):
            return _state(target)
        # A definite answer from the network wins even when our lease ran out meanwhile.
        if published.waiting_on_platform:
            if target.state != TargetState.WAITING:
                transition(target, TargetState.WAITING, "sent; waiting for the network to finish", worker_id)
            target.remote_id = published.remote_id[:200]
            target.next_attempt_at = clock.now() + dt.timedelta(seconds=POLICY.waiting_poll_s)
            _release(target)
            target.save()
            return _state(target)
        _mark_published(target, published, cause)
        return _state(target)


def _retry_or_fail(target: PublicationTarget, exc: NetworkError, worker_id: str) -> None:
    if target.attempts >= POLICY.max_attempts:
        _finish(
            target,
            TargetState.FAILED,
            f"gave up after {target.attempts} attempts",
            kind=exc.kind,
            message=f"Gave up after {target.attempts} attempts. Last error: {exc.message}",
        )
        return
    delay = _backoff(target.attempts, exc.retry_after if isinstance(exc, RateLimited) else None)
    if target.state != TargetState.SCHEDULED:
        transition(target, TargetState.SCHEDULED, f"retry in {delay:.0f}s: {exc.message}", worker_id)
    target.next_attempt_at = clock.now() + dt.timedelta(seconds=delay)
    target.error_kind = exc.kind
    target.error_message = exc.message[:500]
    _release(target)
    target.save()


def _record_error(work: _Work, worker_id: str, exc: NetworkError) -> Result:
    _close_attempt(work.attempt_id, exc.kind, exc.message, exc.excerpt)
    if isinstance(exc, RateLimited):
        ratelimit.penalize(
            list(work.adapter.rate_limits(work.access, work.request.content)), exc.retry_after or 1.0
        )
    with _locked(work.target_id) as target:
        if target is None:
            return Outcome.GONE
        if not _ours(target, worker_id, clock.now()) and target.lease_owner != worker_id:
            return _state(target)  # another worker took over; it decides
        if isinstance(exc, Duplicate):
            if exc.remote_id:
                _mark_published(
                    target, Published(remote_id=exc.remote_id), "the network already has this post"
                )
            else:
                _finish(
                    target,
                    TargetState.UNCONFIRMED,
                    "the network says it already has this post",
                    kind=exc.kind,
                    message=exc.message,
                )
        elif isinstance(exc, UnknownOutcome) or not exc.nothing_happened:
            _unknown(target, exc, worker_id)
        elif isinstance(exc, AuthExpired):
            _finish(target, TargetState.HELD, "credentials expired", kind=exc.kind, message=exc.message)
            channels.needs_reconnect(target.channel_id, exc.message)
        elif isinstance(exc, RateLimited | Transient | MediaProcessing):
            _retry_or_fail(target, exc, worker_id)
        else:  # Rejected, NotSupported and anything else known to have had no effect
            _finish(
                target, TargetState.FAILED, "the network refused the post", kind=exc.kind, message=exc.message
            )
        return _state(target)


def _unknown(target: PublicationTarget, exc: NetworkError, worker_id: str) -> None:
    """The request may have gone out. Keep the target ``publishing`` under a short lease so
    that it is reconciled a little later (by any worker)."""
    if target.attempts >= POLICY.max_attempts:
        _finish(
            target,
            TargetState.UNCONFIRMED,
            "outcome unknown after the last attempt",
            kind=exc.kind,
            message=f"{exc.message} Rupor cannot tell whether the post went out; please check the channel.",
        )
        return
    if target.state != TargetState.PUBLISHING:
        transition(target, TargetState.PUBLISHING, "outcome unknown; will check", worker_id)
    target.error_kind = exc.kind
    target.error_message = exc.message[:500]
    target.lease_owner = ""
    target.lease_expires_at = clock.now() + dt.timedelta(seconds=POLICY.reconcile_delay_s)
    target.updated_at = clock.now()
    target.save()


def _reconcile(work: _Work, worker_id: str) -> Result:
    """A ``publishing`` target under an expired lease: a call was (maybe) in flight."""
    with _locked(work.target_id, related=True) as target:
        if target is None or not _ours(target, worker_id, clock.now()):
            return Outcome.LOST
        _close_dangling_attempts(target)
        attempts = target.attempts
        # Found due or publishing by a restore, and past its late window now: it is looked up,
        # never sent (not even with its key, which would post it late if it never went out).
        restored_late = target.error_kind == RESTORED and _late(target, clock.now())
        if work.adapter.idempotent_publish and not restored_late and _out_of_attempts(target):
            return _state(target)
    if work.adapter.idempotent_publish and not restored_late:
        # The network drops a repeat of the same key: sending again is safe and settles it.
        return _send(work, worker_id, "re-sent with the same idempotency key after an unknown outcome")
    wait = _rate_wait(work, worker_id)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room to reconcile")
    try:
        found = work.adapter.find_published(work.access, work.request)
    except NotSupported:
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.PUBLISHING:
                return _state(target)
            _finish(
                target,
                TargetState.UNCONFIRMED,
                "outcome unknown and the network cannot be searched",
                kind=UnknownOutcome.kind,
                message=(target.error_message + " " if target.error_message else "")
                + "The network does not let Rupor check whether the post went out: please look at the channel "
                "and choose “it is there” or “publish again”.",
            )
            return _state(target)
    except NetworkError as exc:
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.PUBLISHING:
                return _state(target)
            if isinstance(exc, AuthExpired):
                channels.needs_reconnect(target.channel_id, exc.message)
            target.attempts = attempts + 1  # a lookup counts against the bound too
            if target.attempts >= POLICY.max_attempts or isinstance(exc, Rejected):
                _finish(
                    target,
                    TargetState.UNCONFIRMED,
                    "could not check whether the post went out",
                    kind=UnknownOutcome.kind,
                    message=f"Rupor could not check whether the post went out: {exc.message}",
                )
            else:
                target.lease_owner = ""
                target.lease_expires_at = clock.now() + dt.timedelta(
                    seconds=_backoff(target.attempts, exc.retry_after)
                )
                target.save()
            return _state(target)
    if found is not None:
        return _record_success(work, worker_id, found, "found on the network after an unknown outcome")
    if restored_late:
        return _restored_too_late(work)
    if attempts >= POLICY.max_attempts:
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.PUBLISHING:
                return _state(target)
            _out_of_attempts(target)
            return _state(target)
    # The network can be searched and shows no such post: nothing went out, sending is safe.
    return _send(work, worker_id, "not found on the network after an unknown outcome; sending again")


def _restored_too_late(work: _Work) -> Result:
    """Restored from a backup, not on the network, and its late window has passed: not posted
    late (a person may still choose "publish again")."""
    with _locked(work.target_id) as target:
        if target is None or target.state != TargetState.PUBLISHING:
            return _state(target)
        _finish(
            target,
            TargetState.UNCONFIRMED,
            "restored from a backup; not on the network and past the late window",
            kind=UnknownOutcome.kind,
            message="Rupor was restored from a backup and this post is not on the network, but its time "
            "passed the late window, so it was not posted late. Choose “publish again” to post it now.",
        )
        return _state(target)


def _out_of_attempts(target: PublicationTarget) -> bool:
    """A reconciliation sends again only within the bound on attempts. Attempts that end with the
    network's answer are bounded where the answer is recorded; this bounds the ones that did not
    (a worker stopped, or an internal error, mid-call): then a person checks the channel."""
    if target.attempts < POLICY.max_attempts:
        return False
    _finish(
        target,
        TargetState.UNCONFIRMED,
        "outcome unknown after the last attempt",
        kind=UnknownOutcome.kind,
        message="Rupor stopped during its last attempt (see the attempts) and cannot tell whether the "
        "post went out; please check the channel.",
    )
    return True


def _complete_crashed_out(target: PublicationTarget) -> bool:
    """The second step is bounded against bugs too: a ``complete`` that raised something other
    than a network's answer on each of the last ``max_attempts`` attempts is not tried again.
    The first step went out, so the post may yet appear: a person checks the channel (it is
    never marked failed, ARCHITECTURE.md, 11)."""
    recent = list(
        Attempt.objects.filter(target=target)
        .order_by("-number")
        .values_list("outcome", flat=True)[: POLICY.max_attempts]
    )
    if len(recent) < POLICY.max_attempts or any(outcome != INTERNAL_ERROR for outcome in recent):
        return False
    _finish(
        target,
        TargetState.UNCONFIRMED,
        f"finishing gave up after {len(recent)} internal errors",
        kind=INTERNAL_ERROR,
        message=_(
            "Rupor hit an internal error each of the last %(count)s times it tried to finish this "
            "post, so it stopped trying. The network may still publish it: please look at the channel "
            "and choose “it is there” or “publish again”."
        )
        % {"count": len(recent)},
    )
    return True


def _complete_waiting(work: _Work, worker_id: str) -> Result:
    with _locked(work.target_id) as target:
        if target is None:
            return Outcome.GONE
        if not _ours(target, worker_id, clock.now()) or target.state != TargetState.WAITING:
            return Outcome.LOST
        _close_dangling_attempts(target)
        if _complete_crashed_out(target):
            return _state(target)
    wait = _rate_wait(work, worker_id)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room")
    if not _start_attempt(work, worker_id, "finishing two-step publishing"):
        return Outcome.LOST
    progress = _DbProgress(work.target_id, worker_id, _stored_progress(work.target_id))
    try:
        with _crash_recorded(work):
            published = work.adapter.complete(work.access, work.request, progress)
    except NetworkError as exc:
        _close_attempt(work.attempt_id, exc.kind, exc.message, exc.excerpt)
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.WAITING:
                return _state(target)
            still_working = isinstance(exc, MediaProcessing | Transient | RateLimited | UnknownOutcome)
            if still_working and target.attempts < POLICY.max_attempts + POLICY.waiting_max_polls:
                target.next_attempt_at = clock.now() + dt.timedelta(
                    seconds=max(POLICY.waiting_poll_s, exc.retry_after or 0.0)
                )
                target.error_kind, target.error_message = exc.kind, exc.message[:500]
                _release(target)
                target.save()
            elif isinstance(exc, AuthExpired):
                target.next_attempt_at = clock.now() + dt.timedelta(seconds=POLICY.waiting_poll_s)
                _release(target)
                target.save()
                channels.needs_reconnect(target.channel_id, exc.message)
            else:
                _finish(
                    target,
                    TargetState.FAILED,
                    "the network did not finish the post",
                    kind=exc.kind,
                    message=exc.message,
                )
            return _state(target)
    return _record_success(work, worker_id, published, "the network finished the post")


# -- edits of published posts ------------------------------------------------------------------


def _edit_settled(target: PublicationTarget, cause: str, *, kind: str = "", message: str = "") -> None:
    """An edit is over: the target is ``published`` again; a refusal is kept on it for people to
    see (the post on the network is as it was before the edit)."""
    transition(target, TargetState.PUBLISHED, cause)
    _release(target)
    target.next_attempt_at = None
    target.error_kind = kind[:32]
    target.error_message = (
        f"The edit did not go out; the post on the network is unchanged. {message}" if kind else ""
    )[:500]
    target.updated_at = clock.now()
    target.save()
    if kind:
        _notify(target, "edit_failed", target.error_message)


def _edit(work: _Work, worker_id: str) -> Result:
    """One attempt at sending a published target's saved content as an edit."""
    wait = _rate_wait(work, worker_id)
    if wait > 0:
        return _defer(work, worker_id, wait, "waiting for rate-limit room to edit")
    with _locked(work.target_id) as target:
        if target is None or not _ours(target, worker_id, clock.now()) or target.state != TargetState.EDITING:
            return Outcome.LOST
        _close_dangling_attempts(target)
        tries = target.attempts - int((target.progress or {}).get("edit_from", 0))
        if tries >= POLICY.max_attempts:
            # Only attempts stopped by an internal error or a stopped worker end up here: a
            # network's answer settles the edit at its last attempt.
            _edit_settled(
                target,
                f"edit gave up after {tries} attempts",
                kind=INTERNAL_ERROR,
                message="Rupor could not finish sending it; see the attempts.",
            )
            return _state(target)
        target.attempts += 1
        target.updated_at = clock.now()
        target.save()
        remote_id = target.remote_id
        tries += 1
        work.attempt_id = Attempt.objects.create(
            target=target, number=target.attempts, worker=worker_id[:80]
        ).pk
    try:
        with _crash_recorded(work):
            work.adapter.edit(work.access, remote_id, work.request.content)
    except NetworkError as exc:
        error = exc
    else:
        _close_attempt(work.attempt_id, "edited", "Edited on the network.")
        with _locked(work.target_id) as target:
            if target is None or target.state != TargetState.EDITING:
                return _state(target)
            _edit_settled(target, "edited on the network")
            return _state(target)
    _close_attempt(work.attempt_id, error.kind, error.message, error.excerpt)
    if isinstance(error, RateLimited):
        ratelimit.penalize(
            list(work.adapter.rate_limits(work.access, work.request.content)), error.retry_after or 1.0
        )
    with _locked(work.target_id) as target:
        if target is None or target.state != TargetState.EDITING:
            return _state(target)
        # An edit replaces the post's content with the same content each time: repeating it after
        # an unknown outcome is as safe as after a known failure.
        retryable = isinstance(
            error, RateLimited | Transient | MediaProcessing | UnknownOutcome | AuthExpired
        )
        if retryable and tries < POLICY.max_attempts:
            if isinstance(error, AuthExpired):
                channels.needs_reconnect(target.channel_id, error.message)
            delay = _backoff(tries, error.retry_after if isinstance(error, RateLimited) else None)
            target.next_attempt_at = clock.now() + dt.timedelta(seconds=delay)
            target.error_kind = error.kind[:32]
            target.error_message = f"The edit will be tried again: {error.message}"[:500]
            _release(target)
            target.save()
        else:
            cause = f"edit gave up after {tries} attempts" if retryable else "the network refused the edit"
            _edit_settled(target, cause, kind=error.kind, message=error.message)
        return _state(target)


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
    for target_id in PublicationTarget.objects.filter(
        due, channel__status=channels.Status.RECONNECT
    ).values_list("pk", flat=True)[:500]:
        with _locked(target_id, related=True) as target:
            if (
                target is not None
                and target.state == TargetState.SCHEDULED
                and (target.lease_expires_at is None or target.lease_expires_at < now)
            ):
                _finish(
                    target,
                    TargetState.HELD,
                    "channel needs reconnecting",
                    kind=AuthExpired.kind,
                    message=target.channel.status_message or "The channel needs reconnecting.",
                )
                counts["held"] += 1
    for target_id in PublicationTarget.objects.filter(
        due, channel__status=channels.Status.ARCHIVED
    ).values_list("pk", flat=True)[:500]:
        with _locked(target_id) as target:
            if target is not None and target.state == TargetState.SCHEDULED:
                _finish(
                    target,
                    TargetState.CANCELLED,
                    "channel removed",
                    kind="cancelled",
                    message="The channel was removed.",
                )
                counts["cancelled"] += 1
    # Missed: only consider targets whose due time is older than the smallest possible window.
    candidates = (
        PublicationTarget.objects.filter(due, publish_late=False, due_at__lt=now)
        .exclude(channel__status=channels.Status.ACTIVE)
        .select_related("workspace")
        .only("pk", "due_at", "workspace__late_window_minutes")[:500]
    )
    for candidate in candidates:
        if candidate.due_at and now > candidate.due_at + dt.timedelta(
            minutes=candidate.workspace.late_window_minutes
        ):
            with _locked(candidate.pk, related=True) as target:
                if (
                    target is not None
                    and target.state == TargetState.SCHEDULED
                    and _late(target, now)
                    and (target.lease_expires_at is None or target.lease_expires_at < now)
                ):
                    _finish(
                        target,
                        TargetState.MISSED,
                        "not published within the late window",
                        kind="missed",
                        message="The channel was paused or unavailable when this post was due, so it was not posted late.",
                    )
                    counts["missed"] += 1
    return counts
