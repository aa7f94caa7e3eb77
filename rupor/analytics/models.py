"""Metric readings: append-only time series per post and per channel.

A figure a network cannot read (Telegram view counts, say) is stored as ``NULL``, never as 0.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

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


#: A post's engagements as the dashboards rank posts: likes + reposts + comments, unknown as 0.
POST_ENGAGEMENTS = (
    Coalesce(models.F("likes"), models.Value(0))
    + Coalesce(models.F("reposts"), models.Value(0))
    + Coalesce(models.F("comments"), models.Value(0))
)


class PostStat(models.Model):
    """One row per post on a channel: the figures the dashboards read, kept in step by collection.

    The counters are those of **one** reading (the newest that has them), never a mix of
    readings, so a rate's numerator and denominator always come from the same moment: ``read_at``
    says which. The raw series stays in :class:`PostMetricReading`; this row is its summary plus
    the slices people compare by (rubric, format, text length, publishing time), so a dashboard
    over a million posts reads one indexed table instead of twenty million readings.
    """

    class Format(models.TextChoices):
        TEXT = "text"
        PHOTO = "photo"
        VIDEO = "video"
        POLL = "poll"
        LINK = "link"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="post_stats")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="post_stats")
    remote_post_id = models.CharField(max_length=200)
    #: The publication target, the planned post and its rubric, where Rupor published it.
    target_id = models.IntegerField(null=True, blank=True)
    post_id = models.IntegerField(null=True, blank=True)
    rubric_id = models.IntegerField(null=True, blank=True)
    content_format = models.CharField(max_length=8, choices=Format.choices, default=Format.TEXT)
    text_length = models.PositiveIntegerField(default=0)
    text_excerpt = models.CharField(max_length=280, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    published_at = models.DateTimeField()
    #: The reading the figures below come from (``None`` until the post is first read).
    read_at = models.DateTimeField(null=True, blank=True)
    likes = models.IntegerField(null=True, blank=True)
    reposts = models.IntegerField(null=True, blank=True)
    comments = models.IntegerField(null=True, blank=True)
    views = models.IntegerField(null=True, blank=True)
    reach = models.IntegerField(null=True, blank=True)
    #: Complaints ("report") where the network counts them (VK post reach statistics).
    complaints = models.IntegerField(null=True, blank=True)
    #: True where the network gives emoji reactions only (Telegram): ``likes`` is their sum and
    #: reposts/comments are unknown, so rates built on it are reaction rates, named as such.
    reactions_only = models.BooleanField(default=False)
    #: The channel's member count at (or nearest before) publishing: the ERpost denominator.
    followers = models.IntegerField(null=True, blank=True)
    #: Engagements (likes + reposts + comments) read nearest to 24 hours after publishing, and
    #: the age in hours of that reading: the fixed-age figure "best time to post" compares.
    engagements_24h = models.IntegerField(null=True, blank=True)
    age_24h_hours = models.FloatField(null=True, blank=True)
    readings = models.PositiveIntegerField(default=0)
    #: The decaying schedule: when this post is read next (``None`` once it is done).
    next_read_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "remote_post_id"], name="post_stat_once")]
        indexes = [
            models.Index(fields=["workspace", "published_at"], name="post_stat_ws_time_idx"),
            models.Index(fields=["channel", "published_at"], name="post_stat_channel_time_idx"),
            models.Index(fields=["next_read_at"], name="post_stat_due_idx"),
            # The top posts of a period (``dashboard._top_posts``): walked from the most engaged
            # down, the first ten of the period come after a few dozen entries, where sorting
            # the period's posts took a scan of all of them.
            models.Index(
                models.F("workspace"),
                POST_ENGAGEMENTS.desc(),
                models.F("published_at").desc(),
                name="post_stat_ws_top_idx",
                condition=models.Q(deleted_at__isnull=True)
                & (
                    models.Q(likes__isnull=False)
                    | models.Q(reposts__isnull=False)
                    | models.Q(comments__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remote_post_id} on channel {self.channel_id}"


class ChannelDay(models.Model):
    """One row per channel and calendar day (UTC): the daily channel figures.

    ``joins``/``leaves`` are ``None`` where nothing tells them (the network neither reports them
    nor sends events), never 0. ``source`` names where joins/leaves came from: "stats" (the
    network's own daily statistics, VK ``stats.get``), "events" (counted from delivered
    join/leave events) or "" (unknown).
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="channel_days")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="channel_days")
    day = models.DateField()
    members = models.IntegerField(null=True, blank=True)
    joins = models.IntegerField(null=True, blank=True)
    leaves = models.IntegerField(null=True, blank=True)
    reach = models.IntegerField(null=True, blank=True)
    views = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=8, blank=True, default="")
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="channel_day_once")]
        indexes = [models.Index(fields=["workspace", "day"], name="channel_day_ws_idx")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


class AudienceSnapshot(models.Model):
    """Who the channel's audience is, one bar per row, per channel and day, where the network
    tells (VK community statistics ``stats.get``: sex, age, sex and age, cities, countries, and
    devices of the reach). Kept per day, so the audience's change over time can be shown.

    ``basis`` names who was counted: "visitors" (people who opened the community that day) or
    "reach" (people who saw its posts that day). ``key`` is the network's value ("f", "18-21",
    "f;18-21", a city or country id/code, "mobile"/"other"); ``label`` a name where the key is
    an id.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="audience_snapshots"
    )
    channel = models.ForeignKey(
        "channels.Channel", on_delete=models.CASCADE, related_name="audience_snapshots"
    )
    day = models.DateField()
    basis = models.CharField(max_length=16)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True, default="")
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "basis", "dimension", "key"], name="audience_snapshot_once"
            )
        ]
        indexes = [models.Index(fields=["channel", "day"], name="audience_channel_day_idx")]

    def __str__(self) -> str:
        return (
            f"{self.basis} {self.dimension}={self.key}: {self.count} on channel {self.channel_id}, {self.day}"
        )


# -- competitors ---------------------------------------------------------------------------


class WatchedPage(models.Model):
    """A public page of another brand the workspace watches (a VK community, an OK group).

    Read through one of the workspace's channels on the same network (``channel``; another one
    of that network when it is gone). A failing read keeps what was collected and records why
    (``last_error``) until the next success clears it.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="watched_pages"
    )
    network = models.CharField(max_length=32)
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: What the person typed (an address or a short name); ``remote_id`` is what the network said.
    handle = models.CharField(max_length=200)
    remote_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=clock.now)
    #: The latest member count and when the page was last read (members daily, posts as due).
    members = models.IntegerField(null=True, blank=True)
    members_read_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    next_read_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "network", "remote_id"], name="watched_page_once")
        ]

    def __str__(self) -> str:
        return f"{self.network} page {self.name or self.remote_id} watched by workspace {self.workspace_id}"


class WatchedPageReading(models.Model):
    """A watched page's member count at one moment (append-only, one a day)."""

    page = models.ForeignKey(WatchedPage, on_delete=models.CASCADE, related_name="readings")
    read_at = models.DateTimeField(default=clock.now)
    members = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["read_at", "id"]
        indexes = [models.Index(fields=["page", "read_at"], name="watched_page_reading_idx")]

    def __str__(self) -> str:
        return f"page {self.page_id} at {self.read_at:%Y-%m-%d %H:%M}: {self.members}"


class WatchedPost(models.Model):
    """One post of a watched page: its latest figures, all from ONE reading (``read_at``)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(WatchedPage, on_delete=models.CASCADE, related_name="posts")
    remote_id = models.CharField(max_length=200)
    #: The text, cut at 2,000 characters (enough for keyword trends and an excerpt).
    text = models.TextField(blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    published_at = models.DateTimeField()
    content_format = models.CharField(max_length=8, default="text")
    likes = models.IntegerField(null=True, blank=True)
    reposts = models.IntegerField(null=True, blank=True)
    comments = models.IntegerField(null=True, blank=True)
    views = models.IntegerField(null=True, blank=True)
    read_at = models.DateTimeField()
    readings = models.PositiveIntegerField(default=1)
    #: When the post's next reading is due (None: old enough to be left as it is).
    next_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "id"]
        constraints = [models.UniqueConstraint(fields=["page", "remote_id"], name="watched_post_once")]
        indexes = [
            models.Index(fields=["page", "published_at"], name="watched_post_page_idx"),
            models.Index(fields=["workspace", "published_at"], name="watched_post_ws_idx"),
        ]

    def __str__(self) -> str:
        return f"post {self.remote_id} of page {self.page_id}"


class WatchedPostReading(models.Model):
    """A watched post's counters at one moment (append-only, on the decaying schedule)."""

    post = models.ForeignKey(WatchedPost, on_delete=models.CASCADE, related_name="history")
    read_at = models.DateTimeField(default=clock.now)
    likes = models.IntegerField(null=True, blank=True)
    reposts = models.IntegerField(null=True, blank=True)
    comments = models.IntegerField(null=True, blank=True)
    views = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["read_at", "id"]
        indexes = [models.Index(fields=["post", "read_at"], name="watched_post_reading_idx")]

    def __str__(self) -> str:
        return f"post {self.post_id} at {self.read_at:%Y-%m-%d %H:%M}"


class ABTest(models.Model):
    """An A/B test of two texts or creatives: each variant's successes out of trials.

    A variant's figures come either from a post Rupor published (``*_post``: its latest
    :class:`PostStat`, engagements out of reach or views, so they grow while the post is read) or
    from figures a person entered or imported (``*_successes`` / ``*_trials``), e.g. link clicks
    from an ad cabinet. The statistics are in ``abstats.py``; the rules in ``abtest.py``.
    """

    class Metric(models.TextChoices):
        ER_REACH = "er_reach"  # engagements per reach
        ER_VIEWS = "er_views"  # engagements per view
        CLICKS_VIEWS = "clicks_views"  # link clicks per view (entered figures only)

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="ab_tests")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True, default="")
    metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.ER_REACH)
    #: The smallest relative change worth detecting (0.2 = +20%): it sets the planned sample.
    mde = models.FloatField(default=0.2)
    #: A's rate the planned sample is computed from (0 < rate < 1): the one given when the test was
    #: set up, or else A's first rate, kept from then on so the plan does not move as A's rate does.
    baseline = models.FloatField(null=True, blank=True)
    baseline_given = models.BooleanField(default=False)
    a_label = models.CharField(max_length=100, default="A")
    a_post = models.ForeignKey(PostStat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    a_successes = models.PositiveIntegerField(null=True, blank=True)
    a_trials = models.PositiveIntegerField(null=True, blank=True)
    b_label = models.CharField(max_length=100, default="B")
    b_post = models.ForeignKey(PostStat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    b_successes = models.PositiveIntegerField(null=True, blank=True)
    b_trials = models.PositiveIntegerField(null=True, blank=True)
    created_by_id = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="ab_test_ws_idx")]

    def __str__(self) -> str:
        return self.name


# -- client reports ------------------------------------------------------------------------


class Report(models.Model):
    """A client report: a workspace's figures over a period (local days ``start``..``end``) and
    the manager's commentary. The figures are computed each time it is rendered (PDF, XLSX,
    the page), from the tables collection keeps, so a report opened later shows the newest
    readings of the same posts; what the report *is* (period, commentary) is stored here."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="reports")
    start = models.DateField()
    end = models.DateField()
    commentary = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: The schedule that made it, when a schedule did.
    schedule = models.ForeignKey(
        "analytics.ReportSchedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-end", "-start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "start", "end"], name="report_once_per_period")
        ]

    def __str__(self) -> str:
        return f"report {self.start}..{self.end} of workspace {self.workspace_id}"


class ReportSchedule(models.Model):
    """Send the previous week's or month's report by email to these addresses."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    class Format(models.TextChoices):
        PDF = "pdf"
        XLSX = "xlsx"
        BOTH = "both"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="report_schedules"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    recipients = models.JSONField(default=list)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.PDF)
    #: The language the report and its email are written in (en, ru, ko).
    language = models.CharField(max_length=8, default="en")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.frequency} report of workspace {self.workspace_id}"


class ReportDelivery(models.Model):
    """One period's email of one schedule: created once (the unique constraint is the claim, so
    several workers never send the same period twice), then sent, or failed and retried."""

    class State(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="deliveries")
    start = models.DateField()
    end = models.DateField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.SENDING)
    attempts = models.PositiveIntegerField(default=1)
    #: When a worker took it (a "sending" delivery older than the lease is taken again).
    claimed_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "start"], name="report_delivery_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.start}..{self.end} {self.state}"


def _count() -> models.IntegerField[int, int]:
    return models.IntegerField(default=0)


def _sum() -> models.IntegerField[int | None, int | None]:
    # 32-bit, as PostStat's counters: PostgreSQL sums these with a 64-bit accumulator, where
    # 64-bit columns would be summed as numeric (several times slower over a period's rows)
    return models.IntegerField(null=True, blank=True)


def _fsum() -> models.FloatField[float | None, float | None]:
    return models.FloatField(null=True, blank=True)


class PostDay(models.Model):
    """The daily rollup of :class:`PostStat`: one row per channel and local day (in the
    workspace's time zone, :class:`PostDayZone`) with the sums and counts the period figures
    add up (``rupor.analytics.dashboard``'s post aggregates, column for column).

    Every column is additive, so a period's figures are the sums of its days' rows: a 90-day
    overview over 500 channels reads 45,000 of these rows instead of every post. Collection
    refreshes the days of the posts it writes (:mod:`rupor.analytics.rollup`); ``rupor metrics
    backfill`` rebuilds them (decision 0024).
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="post_days")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="post_days")
    day = models.DateField()
    posts = _count()
    posts_full = _count()
    posts_reac = _count()
    deleted = _count()
    likes = _sum()
    n_likes = _count()
    reactions = _sum()
    n_reactions = _count()
    reposts = _sum()
    n_reposts = _count()
    comments = _sum()
    n_comments = _count()
    views = _sum()
    n_views = _count()
    reach = _sum()
    n_reach = _count()
    complaints = _sum()
    n_complaints = _count()
    e = _sum()
    n_e = _count()
    erpost_sum = _fsum()
    erpost_n = _count()
    love_sum = _fsum()
    love_n = _count()
    talk_sum = _fsum()
    talk_n = _count()
    amp_sum = _fsum()
    amp_n = _count()
    err_e = _sum()
    err_r = _sum()
    erv_e = _sum()
    erv_v = _sum()
    rr_sum = _fsum()
    rr_n = _count()
    rrv_e = _sum()
    rrv_v = _sum()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="post_day_once")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


class PostHour(models.Model):
    """The heatmap's rollup: one row per workspace, local day and local hour with how many
    measured posts were published then and their engagements (reactions on reactions-only
    networks), over every channel the workspace's posts are on (:attr:`PostDayZone.hour_channels`).

    Posts are sparse per channel (a few a day), so a row per channel would be a row per post;
    a row per workspace is 24 a day: a 90-day heatmap adds up 2,160 rows, and one over some of
    the channels subtracts the posts of the others when they are fewer (decision 0026).
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="post_hours")
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    measured = _count()
    engagements = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "hour"], name="post_hour_once"),
        ]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} on {self.day} {self.hour}:00"


class PostDayZone(models.Model):
    """The time zone a workspace's :class:`PostDay` and :class:`PostHour` rows are local to. The
    dashboards rebuild the rollups when the workspace's zone is no longer this one (or they were
    never built), and the hourly one when a channel whose posts it holds no longer exists."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="post_day_zone"
    )
    zone = models.CharField(max_length=64)
    #: The channels whose posts :class:`PostHour` holds (``None``: not built yet).
    hour_channels = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.zone}"


class PollResult(models.Model):
    """The votes of one post's poll (docs/decisions/0034-polls-and-quizzes.md): read from the
    network for a native poll or quiz, counted from the post's comments for a keyword poll;
    replaced at each reading, final once ``closed``."""

    class Kind(models.TextChoices):
        NATIVE = "native", _("Native poll")
        QUIZ = "quiz", _("Quiz")
        KEYWORD = "keyword", _("Poll answered in comments")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="poll_results")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="poll_results")
    remote_post_id = models.CharField(max_length=200)
    target_id = models.IntegerField(null=True, blank=True)
    post_id = models.IntegerField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    question = models.CharField(max_length=300, blank=True, default="")
    options = models.JSONField(default=list)  # the option texts, in order
    votes = models.JSONField(default=list)  # votes per option, in the same order
    #: People who voted (fewer than the votes' sum where several answers are allowed).
    voters = models.IntegerField(null=True, blank=True)
    #: A quiz's right option (0-based).
    correct_option = models.IntegerField(null=True, blank=True)
    closed = models.BooleanField(default=False)
    closes_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "remote_post_id"], name="poll_result_once_per_post")
        ]

    def __str__(self) -> str:
        return f"{self.kind} poll {self.remote_post_id}"

    @property
    def correct_share(self) -> float | None:
        """The share of voters who chose a quiz's right answer (``None`` when no quiz or no votes)."""
        if self.correct_option is None or not self.voters or self.correct_option >= len(self.votes):
            return None
        return int(self.votes[self.correct_option]) / self.voters
