"""What tracked links brought to the site: sessions, users and conversions from the workspace's
web analytics (Yandex Metrica, Google Analytics 4), by post, network, campaign and day.

Rupor tags every link it publishes (``utm_source`` the network, ``utm_medium`` social or
paid_social, ``utm_campaign`` the rubric or campaign, ``utm_content`` the post's number; decision
0029), so the site's own analytics can tell which post brought a visit. This module connects a
workspace to one counter or property of each kind (credentials encrypted at rest, under a key
of their own; never logged, never returned), tests the connection, and collects (the worker's
:func:`run_due`, every :data:`COLLECT_EVERY`) the visits whose medium is one of Rupor's, day by
day, into :class:`~rupor.links.models.TrafficDay` rows. The last :data:`REREAD_DAYS` days are
read again each time (the services settle them), and the days read are replaced whole, in one
transaction, only after every page came: a failed read leaves yesterday's figures standing.
docs/decisions/0044-web-analytics-sources.md says why it works so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record, workspace_info
from rupor.core import backoff, clock
from rupor.core.crypto import DecryptionError
from rupor.core.urls import url_problem
from rupor.links.models import TAG_LENGTH, LinkSettings, TrafficDay, TrafficSource
from rupor.links.service import LinksError
from rupor.networks import errors as net_errors
from rupor.networks import webanalytics

log = logging.getLogger(__name__)

KINDS = tuple(webanalytics.SOURCES)
DISPLAY_NAMES = webanalytics.DISPLAY_NAMES
#: How often each source is read.
COLLECT_EVERY = dt.timedelta(hours=6)
#: How long a claimed source is the claimer's (a worker that died mid-read gives it up then).
LEASE = dt.timedelta(minutes=20)
#: The first collection reads this many days back.
BACKFILL_DAYS = 90
#: The days before the last collected one read again each time: the services settle them
#: (GA4 within 24-48 hours; Metrica's goals and offline conversions later than the visit).
REREAD_DAYS = 3
#: Backoff after a failure (seconds): from five minutes up to six hours.
RETRY_BASE_S = 300.0
RETRY_CAP_S = 6 * 3600.0
#: Sources read per pass of the job (the others wait for the next pass, a minute later).
PER_PASS = 20
#: The mediums of Rupor's tags.
MEDIUMS = tuple(LinkSettings.Medium.values)
#: What a table can be grouped by.
GROUPINGS = ("post", "campaign", "network", "day")
MAX_SECRET = webanalytics.MAX_SECRET


class TrafficError(LinksError):
    """A refusal about web analytics sources or their traffic."""


# -- the connection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInput:
    """A connection as a person enters it. ``secret`` is the Metrica token or the GA4 key file's
    text; left empty when changing a connection, the stored one is kept."""

    kind: str
    account_id: str
    secret: str = ""
    goal: str = ""
    base_url: str = ""


@dataclass(frozen=True)
class SourceRow:
    """A connected source as the entry points show it (never its credentials)."""

    kind: str
    display_name: str
    account_id: str
    goal: str
    goal_name: str
    base_url: str
    status: str
    name: str
    timezone: str
    goals: tuple[tuple[str, str], ...]
    #: GA4: the service account's e-mail (to grant it access in GA4); not a secret.
    client_email: str
    verified_at: dt.datetime | None
    collected_at: dt.datetime | None
    collected_through: dt.date | None
    next_run_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise TrafficError(_("Your role does not allow this."), status=403)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise TrafficError(_("Choose Yandex Metrica or Google Analytics 4."), "kind", 404)
    return kind


def _row(source: TrafficSource) -> SourceRow:
    info = source.info or {}
    goals = tuple(
        (str(g[0]), str(g[1])) for g in info.get("goals", []) if isinstance(g, list) and len(g) == 2
    )
    names = dict(goals)
    return SourceRow(
        kind=source.kind,
        display_name=DISPLAY_NAMES[source.kind],
        account_id=source.account_id,
        goal=source.goal,
        goal_name=names.get(source.goal, source.goal),
        base_url=source.base_url,
        status=source.status,
        name=str(info.get("name", "")),
        timezone=str(info.get("timezone", "")),
        goals=goals,
        client_email=str(info.get("client_email", "")),
        verified_at=source.verified_at,
        collected_at=source.collected_at,
        collected_through=source.collected_through,
        next_run_at=source.next_run_at,
        last_error=source.last_error,
        last_error_at=source.last_error_at,
    )


def sources(actor: Actor) -> list[SourceRow]:
    """The workspace's connected sources (Metrica first)."""
    _require(actor, Perm.ANALYTICS_VIEW)
    found = TrafficSource.objects.filter(workspace_id=actor.workspace_id)
    return [_row(s) for s in sorted(found, key=lambda s: KINDS.index(s.kind))]


def _get(actor: Actor, kind: str) -> TrafficSource:
    found = TrafficSource.objects.filter(workspace_id=actor.workspace_id, kind=_kind(kind)).first()
    if found is None:
        raise TrafficError(
            _("%(name)s is not connected to this workspace.") % {"name": DISPLAY_NAMES[kind]}, "kind", 404
        )
    return found


def source(actor: Actor, kind: str) -> SourceRow:
    _require(actor, Perm.ANALYTICS_VIEW)
    return _row(_get(actor, kind))


def _clean_account(kind: str, account_id: str) -> str:
    value = account_id.strip()
    if not webanalytics.account_ok(kind, value):
        message = (
            _("A Metrica counter number is digits only (Metrica → Settings → counter number).")
            if kind == "metrica"
            else _("A GA4 property id is digits only (GA4 → Admin → Property details).")
        )
        raise TrafficError(message, "account_id")
    return value


def _clean_secret(kind: str, secret: str) -> dict[str, str]:
    try:
        return webanalytics.credentials_from(kind, secret)
    except ValueError as exc:
        raise TrafficError(str(exc), "secret") from exc


def _clean_goal(kind: str, goal: str) -> str:
    goal = goal.strip()
    if goal and not webanalytics.goal_ok(kind, goal):
        message = (
            _("A Metrica goal is its number (Metrica → Goals).")
            if kind == "metrica"
            else _("A GA4 key event is its event name, such as purchase.")
        )
        raise TrafficError(message, "goal")
    return goal


def _clean_base_url(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    problem = url_problem(url, max_length=300)
    if problem:
        raise TrafficError(problem, "base_url")
    return url.rstrip("/")


def _access(source: TrafficSource) -> webanalytics.SourceAccess:
    try:
        credentials = source.get_credentials()
    except DecryptionError:
        credentials = {}
    return webanalytics.SourceAccess(source.kind, source.account_id, credentials, source.base_url or None)


def _verify(access: webanalytics.SourceAccess) -> webanalytics.SourceInfo:
    """The service's answer to a connection test, or a refusal a person reads (422, or 429)."""
    try:
        return webanalytics.client_for(access).verify()
    except net_errors.NetworkError as exc:
        # As a channel's check: the service's answer is the person's to read (429: wait first).
        status = 429 if isinstance(exc, net_errors.RateLimited) else 422
        raise TrafficError(exc.message, "secret", status) from exc
    except net_errors.SHAPE_ERRORS as exc:
        failure = net_errors.as_network_error(exc, DISPLAY_NAMES[access.kind])
        raise TrafficError(failure.message, "base_url", 422) from exc


def _info(found: webanalytics.SourceInfo, credentials: dict[str, str]) -> dict[str, Any]:
    return {
        "name": found.name,
        "timezone": found.timezone,
        "goals": [[g.id, g.name] for g in found.goals],
        "client_email": webanalytics.client_email(credentials),
    }


def connect(actor: Actor, data: SourceInput, *, verify: bool = True) -> SourceRow:
    """Connect (or change) the workspace's source of ``data.kind`` (owners and admins). With
    ``verify`` the service is asked first, and nothing is saved when it refuses; a goal it does
    not list is refused too."""
    _require(actor, Perm.WORKSPACE_MANAGE)
    kind = _kind(data.kind)
    account = _clean_account(kind, data.account_id)
    goal = _clean_goal(kind, data.goal)
    base_url = _clean_base_url(data.base_url)
    existing = TrafficSource.objects.filter(workspace_id=actor.workspace_id, kind=kind).first()
    if data.secret.strip():
        credentials = _clean_secret(kind, data.secret)
    elif existing is not None and existing.credentials_encrypted:
        credentials = dict(_access(existing).credentials)
    else:
        field_name = _("the OAuth token") if kind == "metrica" else _("the service account key")
        raise TrafficError(_("Paste %(what)s.") % {"what": field_name}, "secret")
    info: dict[str, Any] = dict(existing.info) if existing is not None else {}
    verified_at = existing.verified_at if existing is not None else None
    if verify:
        found = _verify(webanalytics.SourceAccess(kind, account, credentials, base_url or None))
        if goal and goal not in {g.id for g in found.goals}:
            raise TrafficError(
                _("%(name)s does not count %(goal)s: choose one of its goals.")
                % {"name": found.name, "goal": goal},
                "goal",
                422,
            )
        info, verified_at = _info(found, credentials), clock.now()
    else:
        info["client_email"] = webanalytics.client_email(credentials)
    now = clock.now()
    with transaction.atomic():
        row = existing or TrafficSource(workspace_id=actor.workspace_id, kind=kind, created_at=now)
        moved = existing is not None and (existing.account_id != account or existing.goal != goal)
        row.account_id, row.goal, row.base_url = account, goal, base_url
        row.set_credentials(credentials)
        row.info, row.verified_at, row.updated_at = info, verified_at, now
        row.status = TrafficSource.Status.ACTIVE
        row.failures, row.last_error, row.last_error_at = 0, "", None
        row.next_run_at = now  # read at the worker's next pass
        if moved:
            # Another counter or goal: the figures of the old one are not this one's.
            TrafficDay.objects.filter(source=row).delete()
            row.collected_at = row.collected_through = None
        row.save()
    record(actor.workspace_id, actor, "traffic.connect", "traffic_source", row.pk, f"{kind} {account}")
    return _row(row)


def disconnect(actor: Actor, kind: str) -> None:
    """Forget the source, its credentials and the traffic read from it (owners and admins)."""
    _require(actor, Perm.WORKSPACE_MANAGE)
    found = _get(actor, kind)
    record(actor.workspace_id, actor, "traffic.disconnect", "traffic_source", found.pk, kind)
    found.delete()


def check_connection(actor: Actor, kind: str) -> SourceRow:
    """Ask the service now with the stored credentials; the answer is kept (name, goals) and a
    refusal is raised for the person who asked (and noted on the source)."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    found = _get(actor, kind)
    access = _access(found)
    try:
        info = _verify(access)
    except TrafficError as exc:
        TrafficSource.objects.filter(pk=found.pk).update(
            last_error=exc.message[:500], last_error_at=clock.now()
        )
        raise
    TrafficSource.objects.filter(pk=found.pk).update(
        info=_info(info, dict(access.credentials)),
        verified_at=clock.now(),
        status=TrafficSource.Status.ACTIVE,
        last_error="",
        last_error_at=None,
    )
    return _row(TrafficSource.objects.get(pk=found.pk))


# -- collection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    source_id: int
    first: dt.date | None = None
    last: dt.date | None = None
    rows: int = 0
    error: str = ""
    #: The HTTP status a person's request gets for the error.
    status: int = 200


def _today(source: TrafficSource, now: dt.datetime) -> dt.date:
    """Today in the source's own zone (its reports' days), else the workspace's."""
    zone_name = str((source.info or {}).get("timezone") or "") or workspace_info(source.workspace_id).timezone
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return now.astimezone(zone).date()


def _window(source: TrafficSource, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = _today(source, now)
    if source.collected_through is None:
        return today - dt.timedelta(days=BACKFILL_DAYS - 1), today
    first = min(source.collected_through, today) - dt.timedelta(days=REREAD_DAYS)
    return max(first, today - dt.timedelta(days=BACKFILL_DAYS - 1)), today


def _post_id(medium: str, content: str) -> int | None:
    """The post of a row: ``utm_content`` is a post's number in Rupor's mediums."""
    if medium not in MEDIUMS or not content.isascii() or not content.isdigit() or len(content) > 9:
        return None
    return int(content) or None


def _rows_for(source: TrafficSource, found: Iterable[webanalytics.TrafficRow]) -> list[TrafficDay]:
    merged: dict[tuple[dt.date, str, str, str, str], list[int]] = {}
    for r in found:
        key = (
            r.day,
            r.source[:TAG_LENGTH],
            r.medium[:TAG_LENGTH],
            r.campaign[:TAG_LENGTH],
            r.content[:TAG_LENGTH],
        )
        sums = merged.setdefault(key, [0, 0, 0])
        sums[0] += max(0, r.sessions)
        sums[1] += max(0, r.users)
        sums[2] += max(0, r.conversions)
    return [
        TrafficDay(
            source_id=source.pk,
            workspace_id=source.workspace_id,
            day=day,
            utm_source=src,
            utm_medium=medium,
            utm_campaign=campaign,
            utm_content=content,
            post_id=_post_id(medium, content),
            sessions=s,
            users=u,
            conversions=c,
        )
        for (day, src, medium, campaign, content), (s, u, c) in merged.items()
    ]


def _claim(source_id: int, now: dt.datetime, *, force: bool) -> TrafficSource | None:
    """The source, now leased to this caller (a conditional update: one claimer at a time);
    ``force``: whether due or not, unless another caller holds it."""
    free = Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    due = Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    rows = TrafficSource.objects.filter(free, pk=source_id)
    if not force:
        rows = rows.filter(due, status=TrafficSource.Status.ACTIVE)
    if not rows.update(leased_until=now + LEASE):
        return None
    return TrafficSource.objects.get(pk=source_id)


def _failed(source: TrafficSource, exc: net_errors.NetworkError, now: dt.datetime) -> Collected:
    failures = source.failures + 1
    wait = backoff.delay(failures, base=RETRY_BASE_S, cap=RETRY_CAP_S, retry_after=exc.retry_after)
    changes: dict[str, Any] = {
        "failures": failures,
        "last_error": exc.message[:500],
        "last_error_at": now,
        "next_run_at": now + dt.timedelta(seconds=wait),
        "leased_until": None,
    }
    if isinstance(exc, net_errors.AuthExpired):
        # Nothing to retry until someone gives new credentials (connect resets it).
        changes["status"] = TrafficSource.Status.RECONNECT
    TrafficSource.objects.filter(pk=source.pk).update(**changes)
    log.info("web analytics source %s (%s) not read: %s", source.pk, source.kind, exc.kind)
    return Collected(source.pk, error=exc.message, status=net_errors.http_status(exc))


def collect(source_id: int, now: dt.datetime | None = None, *, force: bool = False) -> Collected | None:
    """Read one source's traffic for its window and replace those days; ``None`` when another
    worker holds it or it is not due (``force``: due now, unless another worker holds it)."""
    now = now or clock.now()
    source = _claim(source_id, now, force=force)
    if source is None:
        return None
    first, last = _window(source, now)
    client = webanalytics.client_for(_access(source))
    query = webanalytics.TrafficQuery(first, last, MEDIUMS, source.goal)
    try:
        found = list(client.traffic(query))
    except net_errors.NetworkError as exc:
        return _failed(source, exc, now)
    except net_errors.SHAPE_ERRORS as exc:
        return _failed(source, net_errors.as_network_error(exc, DISPLAY_NAMES[source.kind]), now)
    rows = _rows_for(source, found)
    wait = COLLECT_EVERY.total_seconds()
    quota_wait = getattr(client, "quota_wait", None)
    if isinstance(quota_wait, float) and quota_wait > wait:
        wait = quota_wait  # the property's quota is nearly spent: come back when it is renewed
    with transaction.atomic():
        # Only if nobody changed the connection meanwhile (another counter's rows must not land here).
        unchanged = TrafficSource.objects.filter(pk=source.pk, updated_at=source.updated_at).update(
            collected_at=now,
            collected_through=last,
            next_run_at=now + dt.timedelta(seconds=wait),
            leased_until=None,
            failures=0,
            last_error="",
            last_error_at=None,
            status=TrafficSource.Status.ACTIVE,
        )
        if not unchanged:
            TrafficSource.objects.filter(pk=source.pk).update(leased_until=None)
            return Collected(source.pk)
        TrafficDay.objects.filter(source_id=source.pk, day__gte=first, day__lte=last).delete()
        TrafficDay.objects.bulk_create(rows, batch_size=500)
    return Collected(source.pk, first, last, len(rows))


def run_due(now: dt.datetime) -> int:
    """The worker's job: read every active source that is due; how many were read."""
    due = TrafficSource.objects.filter(status=TrafficSource.Status.ACTIVE).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now),
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
    )
    done = 0
    for source_id in list(
        due.order_by(F("next_run_at").asc(nulls_first=True)).values_list("pk", flat=True)[:PER_PASS]
    ):
        outcome = collect(source_id, now)
        done += 1 if outcome is not None and not outcome.error else 0
    return done


def collect_now(actor: Actor, kind: str) -> Collected:
    """Read the source now, for a person who asked (managers and up); its refusal is raised."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    found = _get(actor, kind)
    outcome = collect(found.pk, force=True)
    if outcome is None:
        raise TrafficError(_("Rupor is reading this source right now; look again in a minute."), "kind", 409)
    if outcome.error:
        raise TrafficError(outcome.error, "kind", outcome.status)
    return outcome


# -- the figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    """Sessions, users and conversions. Users are added up day by day: a person who came on two
    days counts twice (the sources count people per day and per report, not across reports)."""

    sessions: int = 0
    users: int = 0
    conversions: int = 0

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.sessions + other.sessions, self.users + other.users, self.conversions + other.conversions
        )

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.sessions if self.sessions else None


@dataclass(frozen=True)
class TrafficLine:
    """One line of a traffic table: the group's keys (those of the grouping) and its figures."""

    post_id: int | None = None
    network: str = ""
    campaign: str = ""
    day: dt.date | None = None
    traffic: Traffic = field(default_factory=Traffic)


_SUMS = {"s": Sum("sessions"), "u": Sum("users"), "c": Sum("conversions")}
_KEYS = {
    "post": ("post_id", "utm_source"),
    "campaign": ("utm_campaign",),
    "network": ("utm_source",),
    "day": ("day",),
}


def default_kind(workspace_id: int) -> str:
    """The source the workspace's pages show first: Metrica when connected, else GA4, else ""."""
    kinds = set(TrafficSource.objects.filter(workspace_id=workspace_id).values_list("kind", flat=True))
    return next((k for k in KINDS if k in kinds), "")


def _days(workspace_id: int, kind: str, first: dt.date | None, last: dt.date | None) -> QuerySet[TrafficDay]:
    rows = TrafficDay.objects.filter(workspace_id=workspace_id, source__kind=kind)
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    return rows


def _traffic(row: dict[str, Any]) -> Traffic:
    return Traffic(int(row["s"] or 0), int(row["u"] or 0), int(row["c"] or 0))


def period(workspace_id: int, days: int, today: dt.date | None = None) -> tuple[dt.date | None, dt.date]:
    """The first and last day of "the last ``days`` days" in the workspace's zone (0: all time)."""
    if today is None:
        zone = zoneinfo.ZoneInfo(workspace_info(workspace_id).timezone)
        today = clock.now().astimezone(zone).date()
    return (today - dt.timedelta(days=days - 1) if days else None), today


def table(
    actor: Actor,
    *,
    kind: str,
    by: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
    post_id: int | None = None,
    network: str = "",
    campaign: str = "",
    limit: int = 500,
) -> list[TrafficLine]:
    """The source's traffic grouped ``by`` post (and network), campaign, network or day, the
    largest first (days in order); filtered by a post, a network or a campaign."""
    _require(actor, Perm.ANALYTICS_VIEW)
    _kind(kind)
    if by not in _KEYS:
        raise TrafficError(_("Group by post, campaign, network or day."), "by")
    rows = _days(actor.workspace_id, kind, first, last)
    if post_id is not None:
        rows = rows.filter(post_id=post_id)
    if network:
        rows = rows.filter(utm_source=network)
    if campaign:
        rows = rows.filter(utm_campaign=campaign)
    if by == "post":
        rows = rows.exclude(post_id=None)
    keys = _KEYS[by]
    grouped = rows.values(*keys).annotate(**_SUMS)
    ordered = grouped.order_by("day") if by == "day" else grouped.order_by("-s", *keys)
    return [
        TrafficLine(
            post_id=r.get("post_id"),
            network=str(r.get("utm_source", "")),
            campaign=str(r.get("utm_campaign", "")),
            day=r.get("day"),
            traffic=_traffic(r),
        )
        for r in ordered[:limit]
    ]


def total(actor: Actor, *, kind: str, first: dt.date | None = None, last: dt.date | None = None) -> Traffic:
    _require(actor, Perm.ANALYTICS_VIEW)
    return _traffic(_days(actor.workspace_id, _kind(kind), first, last).aggregate(**_SUMS))


def post_traffic(
    workspace_id: int,
    post_ids: Sequence[int],
    kind: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> dict[tuple[int, str], Traffic]:
    """Each post's traffic per network (``utm_source``) from ``kind`` (posts without visits left out)."""
    if not kind or not post_ids:
        return {}
    rows = _days(workspace_id, kind, first, last).filter(post_id__in=list(post_ids))
    return {
        (int(r["post_id"]), str(r["utm_source"])): _traffic(r)
        for r in rows.values("post_id", "utm_source").annotate(**_SUMS)
    }


CSV_HEADER = ("post_id", "network", "campaign", "day", "sessions", "users", "conversions")


def traffic_csv(lines: Sequence[TrafficLine]) -> str:
    """A traffic table as CSV (cells a spreadsheet would run as a formula are neutralised)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for line in lines:
        cells: list[object] = [
            line.post_id or "",
            line.network,
            line.campaign,
            line.day.isoformat() if line.day else "",
            line.traffic.sessions,
            line.traffic.users,
            line.traffic.conversions,
        ]
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] and c[0] in "=+-@" else c for c in cells])
    return out.getvalue()
