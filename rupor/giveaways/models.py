"""A giveaway: its rules, the frozen entrant list and the draw, each kept as the exact file
published (``procedure.py`` makes and checks them)."""

from __future__ import annotations

import secrets

from django.db import models

from rupor.core import clock


def _public_id() -> str:
    return secrets.token_urlsafe(12)


class Giveaway(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft"  # rules being written; nothing published
        ANNOUNCED = "announced"  # rules frozen and published; entries open until ends_at
        CLOSED = "closed"  # entrant list collected, frozen and hashed
        DRAWN = "drawn"  # beacon read, winners drawn and re-checked
        CANCELLED = "cancelled"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="giveaways")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="giveaways")
    #: Who anyone may open the public page and files with (no sign-in).
    public_id = models.CharField(max_length=32, unique=True, default=_public_id)
    title = models.CharField(max_length=200)
    prize = models.TextField(default="", blank=True)
    #: The contest post on the network; empty: the rules post once it is published.
    post_remote_id = models.CharField(max_length=100, blank=True, default="")
    require_member = models.BooleanField(default=True)
    require_like = models.BooleanField(default=False)
    require_repost = models.BooleanField(default=False)
    #: A comment under the post containing this word (case-insensitive); empty: no comment needed.
    comment_keyword = models.CharField(max_length=100, blank=True, default="")
    exclude_staff = models.BooleanField(default=True)
    #: More people who may not win (the brand's staff without a role in the community), ids.
    excluded_ids = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    winners = models.PositiveSmallIntegerField(default=1)
    reserve = models.PositiveSmallIntegerField(default=3)
    beacon_url = models.CharField(max_length=300, default="https://api.drand.sh")
    chain_hash = models.CharField(max_length=64, default="")
    beacon_round = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    rules_json = models.TextField(blank=True, default="")
    entrants_json = models.TextField(blank=True, default="")
    draw_json = models.TextField(blank=True, default="")
    rules_post_id = models.IntegerField(null=True, blank=True)
    results_post_id = models.IntegerField(null=True, blank=True)
    created_by_id = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    #: The worker's claim while it closes or draws this giveaway by itself (``service.run_due``);
    #: after a failure, when it tries again.
    auto_until = models.DateTimeField(null=True, blank=True)
    #: Why the worker has not closed or drawn it yet (the beacon round not out, the network
    #: refused), for people; blank once it has.
    auto_note = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="giveaway_ws_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"
