"""The content plan: rubrics, posts, one variant per channel, and the media library."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock


class Rubric(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="rubrics")
    name = models.CharField(_("name"), max_length=80)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")
    target_share = models.PositiveSmallIntegerField(
        _("target share, %"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    is_selling = models.BooleanField(_("selling content"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="unique_rubric_name")]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """One piece of content, planned once, published as one variant per channel."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        CLIENT_REVIEW = "client_review", _("Waiting for the client")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved, not scheduled")
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(_("internal title"), max_length=200, blank=True, default="")
    text = models.TextField(_("shared text"), blank=True, default="")
    rubric = models.ForeignKey(Rubric, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    scheduled_at = models.DateTimeField(_("publish at"), null=True, blank=True, db_index=True)
    publish_late = models.BooleanField(default=False)
    author = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    notes = models.TextField(blank=True, default="")
    #: When the post passed every approval step the workspace requires (None: not approved).
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    #: What happened to it on its channels (published, failed, ...), derived from its publication
    #: targets by :func:`rupor.planning.service.with_publication`; ``None``: nothing has started.
    publication: str | None = None
    publication_label: str = ""

    class Meta:
        ordering = ["scheduled_at", "id"]
        indexes = [models.Index(fields=["workspace", "scheduled_at"])]

    def __str__(self) -> str:
        return self.title or self.text[:60] or f"Post {self.pk}"

    @property
    def shown_status(self) -> str:
        """The status people see: what happened on the channels once publishing started, else
        where the post is in the plan."""
        return self.publication or self.status

    @property
    def shown_status_label(self) -> str:
        return self.publication_label or str(self.get_status_display())

    @property
    def shown_badge(self) -> str:
        """CSS classes of the status badge (the stylesheet knows the plan and target states)."""
        extra = {"partially_published": "warn", "needs_attention": "warn"}.get(self.shown_status, "")
        return f"{self.shown_status} {extra}".strip()


class Media(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="media")
    file = models.FileField(upload_to="media/%Y/%m/")
    kind = models.CharField(max_length=16)  # photo | video | document
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    #: The file's first bytes (networks.base.HEAD_BYTES), stored at upload so that checking a
    #: post (is this video really one?) never opens the file.
    head = models.BinaryField(max_length=256, default=b"", blank=True, editable=False)
    original_name = models.CharField(max_length=255)
    #: What the picture shows, for people who cannot see it (networks that take alt text send it).
    alt_text = models.CharField(max_length=1500, blank=True, default="")
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/", blank=True, default="")
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name} ({self.size} bytes)"


class PostVariant(models.Model):
    """The post as it will appear on one channel."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="variants")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="variants")
    text = models.TextField(blank=True, default="")
    link = models.URLField(max_length=2000, blank=True, default="")
    poll = models.JSONField(null=True, blank=True)  # {"question", "options", "multiple", "anonymous"}
    first_comment = models.TextField(blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    media: models.ManyToManyField[Media, VariantMedia] = models.ManyToManyField(
        Media, through="VariantMedia", blank=True
    )

    class Meta:
        ordering = ["channel__network", "channel__name"]
        constraints = [models.UniqueConstraint(fields=["post", "channel"], name="one_variant_per_channel")]

    def __str__(self) -> str:
        return f"variant of post {self.post_id} for channel {self.channel_id}"


class VariantMedia(models.Model):
    variant = models.ForeignKey(PostVariant, on_delete=models.CASCADE)
    media = models.ForeignKey(Media, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    # -- queue slots, approvals, client links, the iCal feed ----------------------------------

    def __str__(self) -> str:
        return f"media {self.media_id} at {self.position} in variant {self.variant_id}"


class QueueSlot(models.Model):
    """A recurring weekly posting time of a channel, as wall-clock time in the workspace zone.

    Stored as (weekday, local time) rather than a UTC instant so that 10:00 stays 10:00 local
    across daylight-saving changes.
    """

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="queue_slots")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])  # Monday = 0
    time = models.TimeField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["channel_id", "weekday", "time"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "weekday", "time"], name="one_slot_per_channel_time")
        ]

    def __str__(self) -> str:
        return f"slot of channel {self.channel_id}: weekday {self.weekday} at {self.time:%H:%M}"


class Review(models.Model):
    """One decision in a post's approval history (also mirrored in the audit trail)."""

    class Stage(models.TextChoices):
        INTERNAL = "internal", _("Internal review")
        CLIENT = "client", _("Client review")

    class Decision(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted for review")
        APPROVED = "approved", _("Approved")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        REJECTED = "rejected", _("Rejected")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reviews")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(blank=True, default="")
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.stage} review of post {self.post_id}: {self.decision}"


class ClientLink(models.Model):
    """An expiring magic link through which a client without an account reviews one post or a
    period of the plan. Only a SHA-256 of the token is stored."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="client_links")
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="client_links"
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"client link {self.pk} of workspace {self.workspace_id}"


class PlanFeed(models.Model):
    """The workspace's secret iCal address. The token is stored hashed (for lookup) and
    encrypted (so that people who may see the plan can copy the address again)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="plan_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    token_encrypted = models.TextField()
    rotated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"iCal feed of workspace {self.workspace_id}"
