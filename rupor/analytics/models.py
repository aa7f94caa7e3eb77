"""Metric readings: append-only time series per post and per channel.

A figure a network cannot read (Telegram view counts, say) is stored as ``NULL``, never as 0.
"""

from __future__ import annotations

from django.db import models

from rupor.core import clock


class PostMetricReading(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="post_readings"
    )
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="post_readings")
    #: The publication target (one variant on one channel) whose post was read.
    target_id = models.IntegerField(null=True, blank=True, db_index=True)
    remote_post_id = models.CharField(max_length=200)
    read_at = models.DateTimeField(default=clock.now)
    likes = models.IntegerField(null=True, blank=True)
    reposts = models.IntegerField(null=True, blank=True)
    comments = models.IntegerField(null=True, blank=True)
    views = models.IntegerField(null=True, blank=True)
    reach = models.IntegerField(null=True, blank=True)
    reactions = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    #: Where the reading came from: "poll" (asked the network) or "event" (pushed counts).
    source = models.CharField(max_length=16, default="poll")

    class Meta:
        ordering = ["read_at", "id"]
        indexes = [
            models.Index(fields=["channel", "remote_post_id", "read_at"], name="post_reading_series_idx")
        ]

    def __str__(self) -> str:
        return f"{self.remote_post_id} at {self.read_at:%Y-%m-%d %H:%M}"


class ChannelMetricReading(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="channel_readings"
    )
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="channel_readings")
    read_at = models.DateTimeField(default=clock.now)
    members = models.IntegerField(null=True, blank=True)
    joins = models.IntegerField(null=True, blank=True)
    leaves = models.IntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    #: "poll" (the network's own figures) or "event" (counted from join/leave events).
    source = models.CharField(max_length=16, default="poll")

    class Meta:
        ordering = ["read_at", "id"]
        indexes = [models.Index(fields=["channel", "read_at"], name="channel_reading_series_idx")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} at {self.read_at:%Y-%m-%d %H:%M}"


class MemberEvent(models.Model):
    """One join or leave the network reported (webhook or polling), stored once per remote id.

    Joins and leaves over a period are counted from these rows, so a delivery that arrives by
    webhook and again by polling is counted once.
    """

    class Kind(models.TextChoices):
        JOIN = "join"
        LEAVE = "leave"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="member_events"
    )
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="member_events")
    remote_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    person_remote_id = models.CharField(max_length=200, blank=True, default="")
    occurred_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "kind", "remote_id"], name="member_event_once")
        ]
        indexes = [models.Index(fields=["channel", "occurred_at"], name="member_event_series_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.person_remote_id} on channel {self.channel_id}"
