"""Publication targets (one variant on one channel), their transitions and attempts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock


class TargetState(models.TextChoices):
    DRAFT = "draft", _("Not scheduled")
    SCHEDULED = "scheduled", _("Scheduled")
    HELD = "held", _("Held: channel needs reconnecting")
    PUBLISHING = "publishing", _("Publishing")
    WAITING = "waiting", _("Waiting on the network")
    PUBLISHED = "published", _("Published")
    #: Published, with a change a person saved going out to the network as an edit.
    EDITING = "editing", _("Published; sending an edit")
    FAILED = "failed", _("Failed")
    MISSED = "missed", _("Missed")
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATES = (TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.WAITING, TargetState.HELD)
FINAL_STATES = (
    TargetState.PUBLISHED,
    TargetState.FAILED,
    TargetState.MISSED,
    TargetState.UNCONFIRMED,
    TargetState.CANCELLED,
)

_S = TargetState

#: Every state change a target may make: the engine's and people's. A change not listed here is
#: a bug, refused by :func:`rupor.publishing.transitions.check` (on every path, fast or not).
TRANSITIONS: dict[str, frozenset[str]] = {
    _S.DRAFT: frozenset({_S.SCHEDULED, _S.CANCELLED}),
    # scheduled -> scheduled is a reschedule (recorded like any other change).
    _S.SCHEDULED: frozenset(
        {_S.SCHEDULED, _S.DRAFT, _S.PUBLISHING, _S.HELD, _S.MISSED, _S.FAILED, _S.CANCELLED}
    ),
    _S.HELD: frozenset({_S.SCHEDULED, _S.DRAFT, _S.CANCELLED}),
    # -> scheduled: a retry after an error known to have had no effect.
    _S.PUBLISHING: frozenset({_S.PUBLISHED, _S.WAITING, _S.SCHEDULED, _S.FAILED, _S.UNCONFIRMED, _S.HELD}),
    _S.WAITING: frozenset({_S.PUBLISHED, _S.FAILED, _S.UNCONFIRMED}),
    _S.PUBLISHED: frozenset({_S.EDITING}),
    _S.EDITING: frozenset({_S.PUBLISHED}),
    _S.FAILED: frozenset({_S.SCHEDULED, _S.DRAFT, _S.CANCELLED}),
    _S.MISSED: frozenset({_S.SCHEDULED, _S.DRAFT, _S.CANCELLED}),
    _S.UNCONFIRMED: frozenset({_S.PUBLISHED, _S.SCHEDULED}),
    _S.CANCELLED: frozenset({_S.SCHEDULED}),
}
#: A definite answer from the network ("published", or "sent, still processing") is recorded
#: whatever happened to the target meanwhile (a slow call whose lease another worker took over
#: and retried, say): the post is on the network, so saying otherwise would invite a second one.
#: Not over a cancellation, a publication already recorded or an edit in flight.
for _from, _to in list(TRANSITIONS.items()):
    if _from not in (_S.PUBLISHED, _S.CANCELLED, _S.EDITING):
        TRANSITIONS[_from] = _to | {s for s in (_S.PUBLISHED, _S.WAITING) if s != _from}
del _from, _to


class PublicationTarget(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="targets")
    variant = models.OneToOneField("planning.PostVariant", on_delete=models.CASCADE, related_name="target")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="targets")
    state = models.CharField(
        max_length=16, choices=TargetState.choices, default=TargetState.DRAFT, db_index=True
    )
    due_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=80, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    publish_late = models.BooleanField(default=False)
    progress = models.JSONField(default=dict, blank=True)
    remote_id = models.CharField(max_length=200, blank=True, default="")
    remote_url = models.URLField(max_length=500, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    error_kind = models.CharField(max_length=32, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="target_due_idx"),
            models.Index(fields=["state", "lease_expires_at"], name="target_lease_idx"),
            models.Index(fields=["workspace", "state"]),
            # The lateness of what was published lately (health.py, /metrics): a range, not a scan.
            models.Index(fields=["state", "published_at"], name="target_published_idx"),
        ]

    def __str__(self) -> str:
        return f"target {self.pk} (variant {self.variant_id} on channel {self.channel_id}): {self.state}"


class TargetEvent(models.Model):
    """Every state transition, with time and cause. Append-only."""

    target = models.ForeignKey(PublicationTarget, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=clock.now)
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    cause = models.CharField(max_length=300)
    actor = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"target {self.target_id}: {self.from_state} -> {self.to_state} ({self.cause})"


class Attempt(models.Model):
    """One try at publishing a target, with what the network said (secrets redacted)."""

    target = models.ForeignKey(PublicationTarget, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=80)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True, default="")  # published | error kind
    message = models.CharField(max_length=500, blank=True, default="")
    excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["started_at", "id"]
        # The attempts that ended lately, by outcome and network (health.py, /metrics).
        indexes = [models.Index(fields=["finished_at"], name="attempt_finished_idx")]

    def __str__(self) -> str:
        return f"attempt {self.number} of target {self.target_id}: {self.outcome or 'running'}"


class WorkerHeartbeat(models.Model):
    """One row per worker process, refreshed while it runs (the health page reads it)."""

    worker_id = models.CharField(max_length=80, unique=True)
    hostname = models.CharField(max_length=200, blank=True, default="")
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=clock.now)
    seen_at = models.DateTimeField(default=clock.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    in_flight = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    #: Database connections this worker found refused, lost or exhausted since it started, the
    #: last time and message (core/dbwatch.py): written once the database answers again.
    db_errors = models.PositiveIntegerField(default=0, db_default=0)
    db_error_at = models.DateTimeField(null=True, blank=True)
    db_error = models.CharField(max_length=300, blank=True, default="", db_default="")
    #: What rate limits cost this worker since it started, per network (``engine.RateWaits``):
    #: ``{"vk": {"inline": calls, "inline_s": seconds, "deferred": targets, "deferred_s": seconds}}``.
    rate_waits = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname}"


class RateBucket(models.Model):
    """Shared rate-limit state: one row per bucket (GCRA "theoretical arrival time").

    ``key`` is a SHA-256 of the adapter's bucket name, so no token ever lands here; ``tat`` is
    epoch seconds: the earliest instant the next call may be made.
    """

    key = models.CharField(max_length=64, primary_key=True)
    tat = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"rate bucket {self.key}"
