"""Public actions of the publishing domain.

Planning calls :func:`sync_targets` whenever a post's schedule or status changes; the API and
UI read target state through :func:`summaries`. The engine itself lives in
:mod:`rupor.publishing.engine`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from rupor.core import clock
from rupor.publishing.models import ACTIVE_STATES, PublicationTarget, TargetEvent, TargetState


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


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def transition(target: PublicationTarget, to_state: str, cause: str, actor: str = "") -> None:
    """Record a state change (the caller saves the target in the same transaction)."""
    TargetEvent.objects.create(target=target, from_state=target.state, to_state=to_state, cause=cause[:300], actor=actor[:200])
    target.state = to_state
    target.updated_at = clock.now()


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
    existing = {t.variant_id: t for t in PublicationTarget.objects.select_for_update().filter(variant_id__in=[v.variant_id for v in variants])}
    for plan in variants:
        target = existing.get(plan.variant_id)
        if target is None:
            target = PublicationTarget(
                workspace_id=workspace_id, variant_id=plan.variant_id, channel_id=plan.channel_id,
                state=TargetState.DRAFT, idempotency_key=new_idempotency_key(),
            )
            target.save()
        if target.state in (TargetState.PUBLISHING, TargetState.WAITING, TargetState.PUBLISHED, TargetState.UNCONFIRMED):
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
        if target.state in (TargetState.DRAFT, TargetState.SCHEDULED, TargetState.HELD, TargetState.FAILED, TargetState.MISSED):
            transition(target, TargetState.CANCELLED, "cancelled", actor)
            target.next_attempt_at = None
            target.save()


def has_started(variant_ids: list[int]) -> bool:
    """True when any of these variants is being or has been published (then it cannot be deleted silently)."""
    return PublicationTarget.objects.filter(
        variant_id__in=variant_ids,
        state__in=[TargetState.PUBLISHING, TargetState.WAITING, TargetState.PUBLISHED, TargetState.UNCONFIRMED],
    ).exists()


def summaries(variant_ids: list[int]) -> dict[int, TargetSummary]:
    """Target state per variant id."""
    out: dict[int, TargetSummary] = {}
    for t in PublicationTarget.objects.filter(variant_id__in=variant_ids):
        out[t.variant_id] = TargetSummary(
            t.pk, t.variant_id, t.channel_id, t.state, t.due_at, t.attempts, t.remote_id, t.remote_url,
            t.published_at, t.error_kind, t.error_message,
        )
    return out


def counts_by_state(workspace_id: int) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for state in PublicationTarget.objects.filter(workspace_id=workspace_id).values_list("state", flat=True):
        out[state] += 1
    return dict(out)


@transaction.atomic
def release_held(channel_id: int, *, actor: str = "") -> int:
    """After a channel is reconnected, its held targets go out (now, or at their time)."""
    released = 0
    for target in PublicationTarget.objects.select_for_update().filter(channel_id=channel_id, state=TargetState.HELD):
        transition(target, TargetState.SCHEDULED, "channel reconnected", actor)
        target.next_attempt_at = max(target.due_at or clock.now(), clock.now())
        target.save()
        released += 1
    return released
