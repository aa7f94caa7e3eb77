"""The workspace's link conventions, its short links and their clicks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock


class LinkSettings(models.Model):
    """How a workspace tags and shortens the links of what it publishes (one row a workspace)."""

    class Medium(models.TextChoices):
        SOCIAL = "social", _("social (organic posts)")
        PAID_SOCIAL = "paid_social", _("paid_social (promoted posts)")

    class CampaignSource(models.TextChoices):
        RUBRIC = "rubric", _("the post's rubric")
        TITLE = "title", _("the post's internal title")
        FIXED = "fixed", _("a fixed campaign name")

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="link_settings"
    )
    utm_enabled = models.BooleanField(_("add UTM tags to links"), default=False)
    medium = models.CharField(_("utm_medium"), max_length=20, choices=Medium.choices, default=Medium.SOCIAL)
    campaign_source = models.CharField(
        _("utm_campaign from"), max_length=10, choices=CampaignSource.choices, default=CampaignSource.RUBRIC
    )
    #: The campaign when the source is "fixed", and the fallback when a post has no rubric or title.
    campaign = models.CharField(_("campaign name"), max_length=100, blank=True, default="")
    short_links = models.BooleanField(_("shorten links through Rupor"), default=False)
    #: Where short links point (``https://go.example.com``); empty: Rupor's own base URL.
    short_domain = models.CharField(_("short link domain"), max_length=200, blank=True, default="")

    class NewsletterMedium(models.TextChoices):
        EMAIL = "email", _("email (analytics count it as the Email channel)")
        NEWSLETTER = "newsletter", _("newsletter")

    #: The links of newsletters: tagged and shortened whatever the posts' switches say (a
    #: newsletter's clicks are its figures), unless turned off here.
    newsletter_links = models.BooleanField(_("track links in newsletters"), default=True, db_default=True)
    newsletter_medium = models.CharField(
        _("utm_medium of newsletters"),
        max_length=20,
        choices=NewsletterMedium.choices,
        default=NewsletterMedium.EMAIL,
        db_default=NewsletterMedium.EMAIL.value,
    )

    def __str__(self) -> str:
        return f"link settings of workspace {self.workspace_id}"


class ShortLink(models.Model):
    """One tagged address of one variant, behind a short code. Posts and variants are named by id
    (the content plan sits above this app and may delete a draft; its links stay countable)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="short_links")
    code = models.CharField(max_length=16, unique=True)
    url = models.URLField(max_length=2000)
    post_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    variant_id = models.PositiveIntegerField(null=True, blank=True)
    #: A newsletter's link (then no post or variant): one per newsletter and address.
    newsletter_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    channel_id = models.PositiveIntegerField(null=True, blank=True)
    network = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["variant_id", "url"], name="one_short_link_per_variant_url"),
            models.UniqueConstraint(
                fields=["newsletter_id", "url"], name="one_short_link_per_newsletter_url"
            ),
        ]

    def __str__(self) -> str:
        return f"/l/{self.code} -> {self.url}"


class LinkClick(models.Model):
    """One request of a short link. ``visitor`` and ``address`` are keyed hashes that change every
    UTC day (docs/decisions/0029-tracked-links.md); no address or user agent is kept."""

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField(default=clock.now)
    day = models.DateField()
    visitor = models.CharField(max_length=32)
    address = models.CharField(max_length=32)
    bot = models.BooleanField(default=False)
    #: Why it is a bot: "preview", "crawler", "empty", "head", "burst"; empty for a person.
    reason = models.CharField(max_length=16, blank=True, default="")
    #: The first human click of this visitor on this link this day.
    unique = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["link", "day", "visitor"]),
            models.Index(fields=["address", "at"]),
        ]

    def __str__(self) -> str:
        return f"click on {self.link_id} at {self.at:%Y-%m-%d %H:%M}"
