"""The workspace's link conventions, its short links and their clicks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock, crypto


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


class TrafficSource(models.Model):
    """A site's web analytics, connected once per workspace (one of each kind): Yandex Metrica (a
    counter and an OAuth token) or Google Analytics 4 (a property and a service account key).
    Rupor reads from it the visits its tagged links brought (docs/decisions/0044)."""

    class Kind(models.TextChoices):
        METRICA = "metrica", "Yandex Metrica"
        GA4 = "ga4", "Google Analytics 4"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        RECONNECT = "reconnect", _("Needs new credentials")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="traffic_sources"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    #: The Metrica counter number or the GA4 property id (digits).
    account_id = models.CharField(max_length=20)
    credentials_encrypted = models.TextField(blank=True, default="")
    #: The service's address, when not its own (a proxy, an emulator).
    base_url = models.URLField(max_length=300, blank=True, default="")
    #: The conversion counted: a Metrica goal id or a GA4 key event; empty: every goal.
    goal = models.CharField(max_length=60, blank=True, default="")
    #: What the last connection test learned: name, time zone, goals ([id, name] pairs).
    info = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    verified_at = models.DateTimeField(null=True, blank=True)
    #: The last collection that read every page, and the last day it covered (the source's day).
    collected_at = models.DateTimeField(null=True, blank=True)
    collected_through = models.DateField(null=True, blank=True)
    #: When the collection job reads it next (None: as soon as it runs).
    next_run_at = models.DateTimeField(null=True, blank=True)
    #: Held by a reader until then (a worker that died mid-read gives it up at that moment).
    leased_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind"], name="one_traffic_source_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.account_id} of workspace {self.workspace_id}"

    # Credentials never leave this model in plain text except through these two methods.
    def set_credentials(self, values: dict[str, str]) -> None:
        self.credentials_encrypted = crypto.encrypt_json(
            {k: str(v) for k, v in values.items()}, purpose=CREDENTIALS_PURPOSE
        )

    def get_credentials(self) -> dict[str, str]:
        return {
            k: str(v)
            for k, v in crypto.decrypt_json(self.credentials_encrypted, purpose=CREDENTIALS_PURPOSE).items()
        }


#: The key derived for web analytics credentials (apart from the channels').
CREDENTIALS_PURPOSE = "web-analytics-credentials"


#: A tag is kept to this many characters (Rupor's own are slugs of at most 100).
TAG_LENGTH = 100


class TrafficDay(models.Model):
    """The visits of one day (the source's own local day) with one combination of UTM tags, as
    the source reported them at the last collection (a day is replaced whole when read again)."""

    source = models.ForeignKey(TrafficSource, on_delete=models.CASCADE, related_name="days")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    utm_source = models.CharField(max_length=TAG_LENGTH, blank=True, default="")
    utm_medium = models.CharField(max_length=TAG_LENGTH, blank=True, default="")
    utm_campaign = models.CharField(max_length=TAG_LENGTH, blank=True, default="")
    utm_content = models.CharField(max_length=TAG_LENGTH, blank=True, default="")
    #: The post, when utm_content is a post's number (Rupor's convention); named by id.
    post_id = models.PositiveIntegerField(null=True, blank=True)
    sessions = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "day", "utm_source", "utm_medium", "utm_campaign", "utm_content"],
                name="one_traffic_row_per_source_day_tags",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "day"]),
            models.Index(fields=["workspace", "post_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.utm_source}/{self.utm_campaign}/{self.utm_content}: {self.sessions}"
