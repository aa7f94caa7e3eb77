"""In-app notifications, outgoing webhook endpoints, and the outbox of deliveries."""

from __future__ import annotations

from django.db import models

from rupor.core import clock, crypto

SECRET_PURPOSE = "webhook-signing"


class Notification(models.Model):
    """Something a person should see in the app (one row per recipient; ``user`` empty = the
    workspace as a whole, e.g. when it has no members yet)."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="notifications"
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    link = models.CharField(max_length=500, blank=True, default="")
    target_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}: {self.title}"


class WebhookEndpoint(models.Model):
    """Where a workspace wants events POSTed, signed with HMAC-SHA256 of the body."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True, default="")
    events = models.JSONField(default=list, blank=True)  # empty = every event
    secret_encrypted = models.TextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.url} of workspace {self.workspace_id}"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret, SECRET_PURPOSE)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted, SECRET_PURPOSE)

    def wants(self, kind: str) -> bool:
        return not self.events or kind in self.events


class Delivery(models.Model):
    """One email or webhook call to make (an outbox: written with the event, sent after)."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class State(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        #: An email kept for its person's daily digest (the worker never sends it alone).
        DIGEST = "digest"
        #: An email that went out inside a digest (the digest is a delivery of its own).
        BUNDLED = "bundled"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    to_email = models.EmailField(blank=True, default="")
    #: The person an email is for (their digest gathers their emails by it); empty for webhooks.
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["user", "state"], name="delivery_user_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery {self.pk}: {self.state}"


class EmailPreference(models.Model):
    """Which events a person wants by email, in every workspace they belong to, and whether as
    they happen or gathered into one email a day. No row: the defaults (``service.EMAIL_DEFAULTS``)."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="email_preference")
    #: The person's explicit choices: event kind -> emailed or not (a kind not named: its default).
    choices = models.JSONField(default=dict, blank=True)
    #: One email a day at ``digest_hour`` (in ``timezone``) instead of one email per event.
    digest = models.BooleanField(default=False)
    digest_hour = models.PositiveSmallIntegerField(default=8)
    timezone = models.CharField(max_length=64, default="UTC")
    #: The digest moment last sent (or skipped for want of news); the claim of the next one.
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"email preferences of user {self.user_id}"
