"""What the audience said (comments, direct messages, mentions) and what we answered.

An item is stored once per (channel, kind, remote id): webhooks and polling may both deliver
the same comment, and either may deliver it many times.
"""

from __future__ import annotations

import datetime as dt

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
    #: The author's profile as the network gave it when polling looked them up (networks with
    #: Capability.LOOKUP_PEOPLE): a small picture, and their followers (reach) where it says.
    author_avatar_url = models.CharField(max_length=500, blank=True, default="")
    author_followers = models.PositiveIntegerField(null=True, blank=True)
    #: When the author's profile was last looked up (null: not yet; polling fills it in batches).
    author_looked_up_at = models.DateTimeField(null=True, blank=True)
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
    # Response times (inbox/response.py): when the team first answered what the audience wrote
    # (a reply sent from Rupor, or one the intake saw our own account make on the network, which
    # leaves the responder blank), and when a person marked it done (cleared when reopened).
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: When the "waiting too long" alert went out for this item (it goes out once).
    wait_alerted_at = models.DateTimeField(null=True, blank=True)

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
        indexes = [
            models.Index(fields=["workspace", "status", "occurred_at"], name="inbox_ws_status_idx"),
            # Polling updates every item of a person it looked up (service._look_up_authors).
            models.Index(fields=["channel", "author_remote_id"], name="inbox_channel_author_idx"),
        ]

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


class HookDelivery(models.Model):
    """A webhook delivery taken in but not yet stored as inbox items (``inbox/staging.py``).

    The webhook answers the network once this row is committed, so nothing is lost when the
    process dies before the drainer has read it; the drainer turns staged deliveries into items
    through the same batch path as polling and deletes the rows in that transaction. ``body``
    and ``headers`` are what the network sent (the adapter reads them again when draining).
    """

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    network = models.CharField(max_length=20)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    #: Drains that failed on this row; after ``staging.MAX_ATTEMPTS`` it is left for people to see.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return f"webhook delivery {self.pk} for channel {self.channel_id}"


class SavedView(models.Model):
    """A named set of inbox filters: one person's own, or shared with the whole workspace.

    ``filters`` holds the list's query as the address gives it (channel, network, status, label,
    assignee, mine, unanswered, sort, from, to); whoever opens the view reads it afresh, so a
    filter the page no longer knows is ignored rather than breaking the view.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="inbox_views")
    #: Who saved it; null for a shared view saved with an API key (no person behind it).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=80)
    shared = models.BooleanField(default=False)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "owner"], name="inbox_view_ws_owner_idx")]

    def __str__(self) -> str:
        return f"inbox view {self.name!r} of workspace {self.workspace_id}"


def _default_days() -> list[int]:
    return [0, 1, 2, 3, 4]


def _default_alert_roles() -> list[str]:
    return ["owner", "admin", "manager"]


class ResponseSettings(models.Model):
    """A workspace's business hours and the inbox's alerts (one row; absent = the defaults)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="inbox_response_settings"
    )
    #: Off: response times are counted in wall-clock time.
    business_hours = models.BooleanField(default=False)
    #: Working days, Monday = 0 … Sunday = 6.
    days = models.JSONField(default=_default_days)
    day_start = models.TimeField(default=dt.time(9, 0))
    #: Earlier than ``day_start``: the working day runs overnight, into the next morning.
    day_end = models.TimeField(default=dt.time(18, 0))
    #: Blank: the workspace's own time zone.
    timezone = models.CharField(max_length=64, blank=True, default="")
    #: ISO dates (YYYY-MM-DD) that are not working days.
    holidays = models.JSONField(default=list)
    #: A negative or complaint item without an answer for this long raises an alert; 0 = never.
    alert_after_minutes = models.PositiveIntegerField(default=60)
    spike_alerts = models.BooleanField(default=True)
    #: Keyword trend alerts (inbox/trends.py): in the app, and also by email when ``trend_email``.
    trend_alerts = models.BooleanField(default=True)
    trend_email = models.BooleanField(default=True)
    #: Who gets the alerts: members with these roles, and these people.
    alert_roles = models.JSONField(default=_default_alert_roles)
    alert_user_ids = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"inbox response settings of workspace {self.workspace_id}"


class NegativitySpike(models.Model):
    """An hour of a channel whose negative and complaint items stood out from its usual level for
    that hour of day (inbox/alerts.py). One row per (channel, hour); the alert goes out for the
    first hour of a run of such hours."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    hour_start = models.DateTimeField()
    count = models.PositiveIntegerField()
    baseline = models.FloatField()
    score = models.FloatField()
    notified = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-hour_start"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "hour_start"], name="inbox_spike_once_per_hour")
        ]

    def __str__(self) -> str:
        return f"negativity spike on channel {self.channel_id} at {self.hour_start:%Y-%m-%d %H:00}"


class MonitoredKeyword(models.Model):
    """A word or phrase the workspace watches for: found by searching the network's public posts
    (where the network allows it) and in group chats the channels are in (``inbox/monitoring.py``)."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="monitored_keywords"
    )
    phrase = models.CharField(max_length=100)
    #: The phrase folded for comparison (one phrase once per workspace, whatever its case).
    key = models.CharField(max_length=100)
    #: Posts containing any of these words are left out (space- or comma-separated, without "-").
    minus_words = models.CharField(max_length=300, blank=True, default="")
    #: Only posts in this language (ISO 639-1), blank for any.
    language = models.CharField(max_length=8, blank=True, default="")
    #: The channel whose account searches (blank: the workspace's first channel that can).
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    #: The newest publication time searched up to (Unix seconds); the next search starts there.
    cursor = models.BigIntegerField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    found = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="monitored_keyword_once"),
        ]

    def __str__(self) -> str:
        return f"keyword {self.phrase!r} of workspace {self.workspace_id}"


class MentionSource(models.TextChoices):
    MENTION = "mention", _("Addressed to the channel")
    KEYWORD = "keyword", _("Names a keyword in a group chat")
    SEARCH = "search", _("Found by keyword search")


class MentionInfo(models.Model):
    """Where a mention came from: the network's own mention, a keyword in a group chat, or a
    search; with the matched keyword and the address of the post or message."""

    item = models.OneToOneField(InboxItem, on_delete=models.CASCADE, related_name="mention")
    source = models.CharField(max_length=16, choices=MentionSource.choices)
    keyword = models.ForeignKey(
        MonitoredKeyword, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches"
    )
    #: The keyword as it was when it matched (kept when the keyword is removed).
    phrase = models.CharField(max_length=100, blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.source} mention of item {self.item_id}"


class SavedReply(models.Model):
    """A reply the team keeps to send again, with variables filled per item (``inbox/answering.py``)."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="saved_replies"
    )
    title = models.CharField(max_length=100)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "title"], name="inbox_saved_reply_title_once")
        ]

    def __str__(self) -> str:
        return f"saved reply {self.title!r} of workspace {self.workspace_id}"


class InternalNote(models.Model):
    """What the team says to itself about an item; never sent to a network."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True, default="")
    text = models.TextField()
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on inbox item {self.item_id} by {self.author_label}"


class DraftState(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVING = "approving", _("Being sent")
    SENT = "sent", _("Approved and sent")
    REJECTED = "rejected", _("Sent back")


class ReplyDraft(models.Model):
    """A reply by a member whose replies need approval: nothing goes to the network until an
    approver approves it (decision 0012). At most one open draft per author and item."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True, default="")
    text = models.TextField()
    state = models.CharField(max_length=16, choices=DraftState.choices, default=DraftState.PENDING)
    #: Why an approver sent it back (shown to the author).
    reason = models.CharField(max_length=500, blank=True, default="")
    decided_by = models.CharField(max_length=200, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    #: The key the approved reply is sent with: approving twice sends it once.
    idempotency_key = models.CharField(max_length=64, unique=True)
    #: The outgoing item once sent.
    reply_item_id = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workspace", "state"], name="inbox_draft_ws_state_idx")]

    def __str__(self) -> str:
        return f"reply draft {self.pk} ({self.state}) on inbox item {self.item_id}"


class TrendSpike(models.Model):
    """An hour in which a watched keyword was named far more often than at that hour on the
    previous days (inbox/trends.py): in the inbox and in watched pages' posts. One row per
    (keyword, hour); the alert goes out for the first hour of a run of such hours."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    keyword = models.ForeignKey(MonitoredKeyword, on_delete=models.CASCADE, related_name="spikes")
    hour_start = models.DateTimeField()
    count = models.PositiveIntegerField()
    baseline = models.FloatField()
    score = models.FloatField()
    notified = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-hour_start"]
        constraints = [
            models.UniqueConstraint(fields=["keyword", "hour_start"], name="trend_spike_once_per_hour")
        ]

    def __str__(self) -> str:
        return f"trend spike of keyword {self.keyword_id} at {self.hour_start:%Y-%m-%d %H:00}"
