"""Newsletters: subscriber lists per channel, subscriptions with their consent, segments, the
welcome chain, newsletters and one delivery row per (send, recipient).

A delivery row is the unit of work and the idempotency key: its id is the ``random_id`` VK
dedupes on, so a worker killed mid-send and a send tried again never reach a person twice.
"""

from __future__ import annotations

import builtins

from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock


class SubscriberList(models.Model):
    """Who agreed to get a channel's newsletter. One channel may have several (news, offers)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    #: Passed by VK's subscription widget (``message_allow`` key) or a Telegram deep link
    #: (``/start <key>``): opts a person into this list.
    key = models.SlugField(max_length=60)
    #: A message that is exactly this word subscribes its author ("news", "новости").
    keyword = models.CharField(max_length=60, blank=True, default="")
    #: The list a plain ``/start`` or a ``message_allow`` without a key opts into.
    is_default = models.BooleanField(default=False)
    #: No message goes out between these hours of the workspace's day (start > end wraps midnight).
    quiet_start = models.PositiveSmallIntegerField(default=22)
    quiet_end = models.PositiveSmallIntegerField(default=9)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="newsletter_list_key")]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    NETWORK = "network", _("Allowed messages / started the bot")
    KEYWORD = "keyword", _("Subscribe keyword")
    IMPORT = "import", _("Imported with proof of consent")


#: ``Subscription.unsubscribe_reason`` codes and what they mean.
UNSUBSCRIBE_REASONS = {
    "keyword": _("replied a stop word"),
    "link": _("the unsubscribe link"),
    "network": _("denied messages / blocked the bot"),
    "unreachable": _("the network refused the message"),
}


class Subscription(models.Model):
    """One person on one list. ``address`` is their conversation id on the channel's network."""

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    list = models.ForeignKey(SubscriberList, on_delete=models.CASCADE, related_name="subscriptions")
    address = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBSCRIBED)
    source = models.CharField(max_length=16, choices=Source.choices)
    #: When and how they agreed: the network event, the keyword message, or the import's proof.
    consent_at = models.DateTimeField()
    consent_proof = models.CharField(max_length=300)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_reason = models.CharField(max_length=32, blank=True, default="")
    #: ",tag1,tag2," so a segment filters with one LIKE on every database.
    tags = models.CharField(max_length=500, blank=True, default="")
    last_active_at = models.DateTimeField(null=True, blank=True)
    #: The time of the last consent change applied; an older event is ignored (order-proof).
    changed_at = models.DateTimeField()
    #: The secret of the one-click unsubscribe link.
    token = models.CharField(max_length=43, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list", "address"], name="newsletter_subscription_once")
        ]
        indexes = [models.Index(fields=["list", "status"])]

    def __str__(self) -> str:
        return f"{self.address} on {self.list_id}"

    @property
    def reason_label(self) -> str:
        """Why they left, for people (``unsubscribe_reason`` holds the code)."""
        return str(UNSUBSCRIBE_REASONS.get(self.unsubscribe_reason, self.unsubscribe_reason))

    def tag_list(self) -> builtins.list[str]:  # ``list`` here is the field
        return [t for t in self.tags.split(",") if t]


class Segment(models.Model):
    """Part of a list: subscribers with a tag, from a source, active lately (all that are set)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    list = models.ForeignKey(SubscriberList, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=120)
    tag = models.CharField(max_length=60, blank=True, default="")
    source = models.CharField(max_length=16, choices=Source.choices, blank=True, default="")
    active_within_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Purpose(models.TextChoices):
    USEFUL = "useful", _("Useful")
    SELLING = "selling", _("Selling")


class Newsletter(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    list = models.ForeignKey(SubscriberList, on_delete=models.CASCADE, related_name="newsletters")
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    text = models.TextField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.USEFUL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)
    #: The text as it goes out, its links tracked (``links.track_newsletter``): made once when
    #: the newsletter starts, so every person and every retry gets the same links. Blank: ``text``.
    sent_text = models.TextField(blank=True, default="", db_default="")
    #: When the worker last asked the network which of its messages were read (the claim of the
    #: next read check: one worker at a time).
    reads_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self) -> str:
        return self.title


class WelcomeStep(models.Model):
    """One message of a list's welcome chain, sent ``delay_hours`` after a person subscribes."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    list = models.ForeignKey(SubscriberList, on_delete=models.CASCADE, related_name="welcome_steps")
    position = models.PositiveSmallIntegerField()
    delay_hours = models.PositiveIntegerField(default=0)
    text = models.TextField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.USEFUL)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.list_id}#{self.position}"


class Delivery(models.Model):
    """One message to one person: of a newsletter or of a welcome step.

    pending -> sending -> sent | failed | unreachable | unconfirmed, or pending -> skipped
    (they unsubscribed first). Only ``service.claim_due`` and ``service._finish`` change it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Failed")
        UNREACHABLE = "unreachable", _("Cannot be messaged")
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        SKIPPED = "skipped", _("Skipped (unsubscribed)")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    newsletter = models.ForeignKey(
        Newsletter, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    step = models.ForeignKey(
        WelcomeStep, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: Set just before the network call, cleared when its outcome is recorded: a row left
    #: "sending" with this set may have reached the person (a worker died mid-call).
    in_flight = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    #: When Rupor first saw that the person had read it (where the network tells: VK).
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "subscription"], name="newsletter_delivery_once"),
            models.UniqueConstraint(fields=["step", "subscription"], name="welcome_delivery_once"),
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"
