"""What the audience said (comments, direct messages, mentions) and what we answered.

An item is stored once per (channel, kind, remote id): webhooks and polling may both deliver
the same comment, and either may deliver it many times.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock


class Label(models.TextChoices):
    """What an item is, as triage (``inbox/triage.py``) reads it; blank until it has run."""

    COMPLAINT = "complaint", _("Complaint")
    NEGATIVE = "negative", _("Negative")
    QUESTION = "question", _("Question")
    PRAISE = "praise", _("Praise")
    SPAM = "spam", _("Spam")
    NEUTRAL = "neutral", _("Neutral")


class ItemKind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    MESSAGE = "message", _("Direct message")
    MENTION = "mention", _("Mention")


class ItemStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    ANSWERED = "answered", _("Answered")
    HIDDEN = "hidden", _("Hidden")
    DELETED = "deleted", _("Deleted")


class SendState(models.TextChoices):
    """Only for our own replies (``outgoing``): where the network call stands."""

    NONE = "", _("Received")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    UNKNOWN = "unknown", _("Unconfirmed: the network did not answer")


class InboxItem(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="inbox_items")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="inbox_items")
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    remote_id = models.CharField(max_length=200)
    #: The post a comment belongs to, or the conversation (peer) of a direct message.
    conversation_remote_id = models.CharField(max_length=200, blank=True, default="")
    #: The Rupor post (planning) when the commented post was published by Rupor.
    post_id = models.IntegerField(null=True, blank=True, db_index=True)
    target_id = models.IntegerField(null=True, blank=True)
    parent_remote_id = models.CharField(max_length=200, blank=True, default="")
    author_remote_id = models.CharField(max_length=200, blank=True, default="")
    author_name = models.CharField(max_length=200, blank=True, default="")
    author_url = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField(default=clock.now)
    received_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    status = models.CharField(
        max_length=16, choices=ItemStatus.choices, default=ItemStatus.NEW, db_index=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outgoing = models.BooleanField(default=False)
    # Triage of what the audience wrote (blank / null until the worker's triage job has read it;
    # an edit on the network clears them so the new text is read again).
    label = models.CharField(max_length=16, choices=Label.choices, blank=True, default="")
    negativity = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, default="")
    #: Our replies only: created before the network call, sent as guid/random_id where honoured.
    idempotency_key = models.CharField(max_length=64, blank=True, default="")
    send_state = models.CharField(
        max_length=16, choices=SendState.choices, blank=True, default=SendState.NONE
    )
    replied_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "remote_id"], name="inbox_item_once_per_remote_id"
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="inbox_reply_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status", "occurred_at"], name="inbox_ws_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.remote_id} on channel {self.channel_id}"


class IntakeCursor(models.Model):
    """Where polling a channel stands: the adapter's opaque cursor and when it last ran."""

    channel = models.OneToOneField("channels.Channel", on_delete=models.CASCADE, related_name="intake_cursor")
    cursor = models.TextField(blank=True, default="")
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    #: Polls that failed in a row, and when the worker tries again (``core/backoff.py``); a
    #: success clears both.
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"intake cursor of channel {self.channel_id}"
