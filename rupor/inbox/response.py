"""How fast the team answers: the moments recorded on items, the workspace's business hours and
alert settings, and the report (docs/inbox-response.md).

- **First response**: from the moment the person wrote (``occurred_at``) to the team's first reply
  to it: a reply sent from Rupor (its sender is the responder), or a reply our own account made on
  the network that the intake saw (no responder: "on the network"). A reply to a direct message
  answers every earlier unanswered message of that conversation.
- **Resolution**: from the moment the person wrote to the moment a teammate marked it done
  (reopening clears it; the last "done" counts).
- **Response rate**: of the items that need an answer (what the audience wrote, less spam, hidden
  and deleted items), the share that got one.

Times are counted in the workspace's business hours when it sets them, else in wall-clock time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, Role
from rupor.channels import service as channels
from rupor.core import clock, timezones
from rupor.core.errors import DomainError
from rupor.inbox.business_time import Schedule, elapsed_seconds
from rupor.inbox.models import InboxItem, ItemKind, ItemStatus, Label, NegativitySpike, ResponseSettings


class ResponseError(DomainError):
    """A refused settings change or report request."""


#: Statuses of what no longer needs an answer from the team (moderated away).
NOT_NEEDING = (ItemStatus.HIDDEN, ItemStatus.DELETED)
#: The labels whose long wait raises an alert.
ALERT_LABELS = (Label.NEGATIVE, Label.COMPLAINT)
#: The longest period a report covers, and the dates it may cover.
MAX_DAYS = 366
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(9000, 12, 31)

# -- recording -----------------------------------------------------------------------------


def record_rupor_reply(item: InboxItem, at: dt.datetime, user_id: int | None, started: dt.datetime) -> None:
    """A reply sent from Rupor to ``item`` reached the network at ``at``, by ``user_id``.

    When the network's own event beat the API's answer (the intake recorded the reply at the
    network's time, without a responder, after ``started``), the sender is filled in."""
    answered = _answered_by(item, at)
    answered.filter(first_response_at__isnull=True).update(first_response_at=at, first_responder_id=user_id)
    if user_id is not None:
        answered.filter(first_responder__isnull=True, first_response_at__gte=started).update(
            first_responder_id=user_id
        )


def record_network_reply(
    channel_id: int, kind: str, parent_remote_id: str, conversation: str, at: dt.datetime
) -> None:
    """The intake saw our own account answer on the network (in Rupor or outside it)."""
    if kind == ItemKind.MESSAGE:
        targets = InboxItem.objects.filter(
            channel_id=channel_id, kind=kind, conversation_remote_id=conversation, occurred_at__lte=at
        )
    elif parent_remote_id:
        targets = InboxItem.objects.filter(channel_id=channel_id, kind=kind, remote_id=parent_remote_id)
    else:
        return
    targets.filter(outgoing=False, first_response_at__isnull=True).update(first_response_at=at)


def _answered_by(item: InboxItem, at: dt.datetime) -> QuerySet[InboxItem]:
    """The incoming items a reply to ``item`` answers: the item, and for a direct message every
    earlier message of the conversation."""
    if item.kind == ItemKind.MESSAGE and item.conversation_remote_id:
        return InboxItem.objects.filter(
            channel_id=item.channel_id,
            kind=item.kind,
            conversation_remote_id=item.conversation_remote_id,
            outgoing=False,
        ).filter(Q(pk=item.pk) | Q(occurred_at__lte=at))
    return InboxItem.objects.filter(pk=item.pk, outgoing=False)


def status_fields(item: InboxItem, status: str, user_id: int | None) -> list[str]:
    """Set the resolution moment on ``item`` for its new ``status``; the fields changed."""
    if status == ItemStatus.DONE and item.resolved_at is None:
        item.resolved_at, item.resolved_by_id = clock.now(), user_id
        return ["resolved_at", "resolved_by"]
    if status != ItemStatus.DONE and item.resolved_at is not None:
        item.resolved_at, item.resolved_by_id = None, None
        return ["resolved_at", "resolved_by"]
    return []


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    business_hours: bool
    days: tuple[int, ...]
    day_start: dt.time
    day_end: dt.time
    timezone: str  # blank: the workspace's zone
    holidays: tuple[dt.date, ...]
    alert_after_minutes: int
    spike_alerts: bool
    alert_roles: tuple[str, ...]
    alert_user_ids: tuple[int, ...]
    workspace_timezone: str

    @property
    def zone(self) -> str:
        return self.timezone or self.workspace_timezone

    @property
    def schedule(self) -> Schedule | None:
        """The business hours, or None when times are counted on the wall clock."""
        if not self.business_hours or not self.days:
            return None
        return Schedule(
            frozenset(self.days), self.day_start, self.day_end, self.zone, frozenset(self.holidays)
        )


def _row(workspace_id: int) -> ResponseSettings:
    return ResponseSettings.objects.filter(workspace_id=workspace_id).first() or ResponseSettings(
        workspace_id=workspace_id
    )


def settings_for(workspace_id: int) -> Settings:
    row = _row(workspace_id)
    workspace = accounts.workspace_info(workspace_id)
    return Settings(
        business_hours=row.business_hours,
        days=tuple(sorted(int(d) for d in row.days)),
        day_start=row.day_start,
        day_end=row.day_end,
        timezone=row.timezone,
        holidays=tuple(sorted(dt.date.fromisoformat(d) for d in row.holidays)),
        alert_after_minutes=row.alert_after_minutes,
        spike_alerts=row.spike_alerts,
        alert_roles=tuple(row.alert_roles),
        alert_user_ids=tuple(int(u) for u in row.alert_user_ids),
        workspace_timezone=workspace.timezone,
    )


#: The longest wait before an alert that can be set: a week.
MAX_ALERT_MINUTES = 7 * 24 * 60
MAX_HOLIDAYS = 400


def _check(new: Settings, members: set[int]) -> None:
    if any(d not in range(7) for d in new.days) or len(set(new.days)) != len(new.days):
        raise ResponseError(_("Choose working days from Monday to Sunday."), "days", 422)
    if new.business_hours and not new.days:
        raise ResponseError(_("Choose at least one working day, or turn business hours off."), "days", 422)
    for name, value in (("day_start", new.day_start), ("day_end", new.day_end)):
        if value.tzinfo is not None:
            raise ResponseError(
                _("Write the time without a time zone, as HH:MM; the zone is a setting of its own."),
                name,
                422,
            )
    if new.business_hours and new.day_start == new.day_end:
        raise ResponseError(_("The working day must start and end at different times."), "day_end", 422)
    if new.timezone:
        try:
            timezones.zone(new.timezone)
        except (ValueError, KeyError) as exc:
            raise ResponseError(
                _("%(zone)s is not a time zone Rupor knows (for example Europe/Moscow).")
                % {"zone": repr(new.timezone)},
                "timezone",
                422,
            ) from exc
    if len(new.holidays) > MAX_HOLIDAYS:
        raise ResponseError(_("At most %(n)s holidays.") % {"n": MAX_HOLIDAYS}, "holidays", 422)
    if not 0 <= new.alert_after_minutes <= MAX_ALERT_MINUTES:
        raise ResponseError(
            _("The wait before an alert is 0 (no alerts) to %(max)s minutes.") % {"max": MAX_ALERT_MINUTES},
            "alert_after_minutes",
            422,
        )
    unknown_roles = [r for r in new.alert_roles if r not in Role.__members__.values()]
    if unknown_roles:
        raise ResponseError(
            _("%(value)s is not a role.") % {"value": repr(unknown_roles[0])}, "alert_roles", 422
        )
    strangers = [u for u in new.alert_user_ids if u not in members]
    if strangers:
        raise ResponseError(_("Only members of this workspace can receive alerts."), "alert_user_ids", 422)


def save_settings(actor: accounts.Actor, new: Settings) -> Settings:
    """Store the workspace's business hours and alert settings (checked, audited)."""
    if not actor.can(Perm.INBOX_SETTINGS):
        raise ResponseError(_("Your role does not allow this."), status=403)
    members = set(accounts.members(actor.workspace_id).values_list("user_id", flat=True))
    _check(new, members)
    with transaction.atomic():
        row = _row(actor.workspace_id)
        row.business_hours = new.business_hours
        row.days = sorted(new.days)
        row.day_start, row.day_end = new.day_start, new.day_end
        row.timezone = new.timezone
        row.holidays = [d.isoformat() for d in sorted(set(new.holidays))]
        row.alert_after_minutes = new.alert_after_minutes
        row.spike_alerts = new.spike_alerts
        row.alert_roles = sorted(set(new.alert_roles))
        row.alert_user_ids = sorted(set(new.alert_user_ids))
        row.updated_at = clock.now()
        row.save()
        accounts.record(
            actor.workspace_id, actor, "inbox.response_settings", "workspace", actor.workspace_id, ""
        )
    return settings_for(actor.workspace_id)


def alert_recipients(workspace_id: int) -> list[int]:
    """The people who get the inbox's alerts: members with the chosen roles, and those chosen."""
    chosen = settings_for(workspace_id)
    rows = accounts.members(workspace_id).values_list("user_id", "role")
    return sorted({u for u, role in rows if role in chosen.alert_roles or u in chosen.alert_user_ids})


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Durations in seconds: how many, mean, median and 90th percentile (None when none)."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between the closest ranks (the
    method spreadsheets' PERCENTILE.INC and numpy's default use)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(values: Sequence[float]) -> Stats:
    if not values:
        return Stats(0, None, None, None)
    return Stats(len(values), sum(values) / len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class Row:
    key: str  # "user:<id>", "network" (answered on the network), "nobody", "channel:<id>", "total"
    name: str
    needing: int
    answered: int
    first_response: Stats
    resolution: Stats

    @property
    def rate(self) -> float | None:
        """The share of the items needing an answer that got one (0..1), None without any."""
        return self.answered / self.needing if self.needing else None


@dataclass(frozen=True)
class Day:
    date: dt.date
    needing: int
    answered: int
    median_first_response: float | None


@dataclass(frozen=True)
class Report:
    since: dt.date
    until: dt.date  # inclusive
    zone: str
    business_hours: bool
    total: Row
    by_teammate: tuple[Row, ...]
    by_channel: tuple[Row, ...]
    days: tuple[Day, ...]


@dataclass(frozen=True)
class _Timed:
    owner: str
    channel_id: int
    day: dt.date
    answered: bool
    first_response: float | None
    resolution: float | None


def _measure(items: Iterable[InboxItem], schedule: Schedule | None, zone: str) -> list[_Timed]:
    tz = timezones.zone(zone)
    out = []
    for i in items:
        if i.first_responder_id is not None:
            owner = f"user:{i.first_responder_id}"
        elif i.first_response_at is not None:
            owner = "network"
        elif i.assigned_to_id is not None:
            owner = f"user:{i.assigned_to_id}"
        else:
            owner = "nobody"
        first = elapsed_seconds(schedule, i.occurred_at, i.first_response_at) if i.first_response_at else None
        resolved = elapsed_seconds(schedule, i.occurred_at, i.resolved_at) if i.resolved_at else None
        out.append(
            _Timed(
                owner=owner,
                channel_id=i.channel_id,
                day=i.occurred_at.astimezone(tz).date(),
                answered=i.first_response_at is not None,
                first_response=first,
                resolution=resolved,
            )
        )
    return out


def _summarise(key: str, name: str, timed: Sequence[_Timed]) -> Row:
    return Row(
        key=key,
        name=name,
        needing=len(timed),
        answered=sum(t.answered for t in timed),
        first_response=stats([t.first_response for t in timed if t.first_response is not None]),
        resolution=stats([t.resolution for t in timed if t.resolution is not None]),
    )


def needing_answer_all() -> QuerySet[InboxItem]:
    """What the audience wrote that needs an answer from the team (spam and moderated items not),
    in every workspace (for the worker's alerts)."""
    return InboxItem.objects.filter(outgoing=False).exclude(label=Label.SPAM).exclude(status__in=NOT_NEEDING)


def needing_answer(workspace_id: int) -> QuerySet[InboxItem]:
    return needing_answer_all().filter(workspace_id=workspace_id)


def negative_all() -> QuerySet[InboxItem]:
    """What the audience wrote that triage read as negative or a complaint, everywhere."""
    return InboxItem.objects.filter(outgoing=False, label__in=ALERT_LABELS)


def negative_items(channel_id: int) -> QuerySet[InboxItem]:
    return negative_all().filter(channel_id=channel_id)


def report(actor: accounts.Actor, since: dt.date, until: dt.date) -> Report:
    """Response times and rates of the items that arrived from ``since`` to ``until`` (local
    dates of the business-hours zone, both included): overall, per teammate, per channel, per day."""
    if not actor.can(Perm.INBOX_REPORT):
        raise ResponseError(_("Your role does not allow this."), status=403)
    for name, day in (("since", since), ("until", until)):
        if not EARLIEST <= day <= LATEST:
            raise ResponseError(_("Choose dates from 1970 to 9000."), name, 422)
    if until < since:
        raise ResponseError(_("The period ends before it starts."), "until", 422)
    if (until - since).days >= MAX_DAYS:
        raise ResponseError(_("A report covers at most %(n)s days.") % {"n": MAX_DAYS}, "since", 422)
    chosen = settings_for(actor.workspace_id)
    schedule, zone = chosen.schedule, chosen.zone
    start = timezones.to_utc(dt.datetime.combine(since, dt.time()), zone)
    end = timezones.to_utc(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()), zone)
    items = (
        needing_answer(actor.workspace_id)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .only(
            "id",
            "channel_id",
            "occurred_at",
            "first_response_at",
            "first_responder_id",
            "resolved_at",
            "assigned_to_id",
        )
        .order_by()
    )
    timed = _measure(items.iterator(), schedule, zone)
    names = {f"user:{m.user_id}": m.user.display_name for m in accounts.members(actor.workspace_id)}
    names["network"] = _("On the network (outside Rupor)")
    names["nobody"] = _("Nobody yet")
    owners: dict[str, list[_Timed]] = {}
    by_channel: dict[int, list[_Timed]] = {}
    by_day: dict[dt.date, list[_Timed]] = {}
    for t in timed:
        owners.setdefault(t.owner, []).append(t)
        by_channel.setdefault(t.channel_id, []).append(t)
        by_day.setdefault(t.day, []).append(t)
    channel_names = {c.id: c.name for c in channels.list_channels(actor.workspace_id)}
    days = []
    day = since
    while day <= until:
        rows = by_day.get(day, [])
        firsts = [t.first_response for t in rows if t.first_response is not None]
        days.append(Day(day, len(rows), sum(t.answered for t in rows), percentile(firsts, 50)))
        day += dt.timedelta(days=1)
    return Report(
        since=since,
        until=until,
        zone=zone,
        business_hours=schedule is not None,
        total=_summarise("total", _("Everyone"), timed),
        by_teammate=tuple(
            sorted(
                (_summarise(k, names.get(k, _("A former member")), v) for k, v in owners.items()),
                key=lambda r: (r.key in ("network", "nobody"), r.name.lower()),
            )
        ),
        by_channel=tuple(
            sorted(
                (_summarise(f"channel:{k}", channel_names.get(k, f"#{k}"), v) for k, v in by_channel.items()),
                key=lambda r: r.name.lower(),
            )
        ),
        days=tuple(days),
    )


def recent_spikes(workspace_id: int, limit: int = 10) -> list[NegativitySpike]:
    """The spikes that raised an alert, newest first (the report page lists them)."""
    return list(
        NegativitySpike.objects.filter(workspace_id=workspace_id, notified=True)
        .select_related("channel")
        .order_by("-hour_start")[:limit]
    )


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def report_csv(result: Report) -> str:
    """The report as CSV: one line per teammate and per channel, and the total; times in minutes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "group",
            "name",
            "needing_answer",
            "answered",
            "response_rate",
            "first_response_mean_min",
            "first_response_median_min",
            "first_response_p90_min",
            "resolved",
            "resolution_mean_min",
            "resolution_median_min",
            "resolution_p90_min",
        ]
    )
    groups = [("total", result.total)] + [("teammate", r) for r in result.by_teammate]
    groups += [("channel", r) for r in result.by_channel]
    for group, row in groups:
        f, r = row.first_response, row.resolution
        writer.writerow(
            [
                group,
                _safe_cell(row.name),
                row.needing,
                row.answered,
                "" if row.rate is None else f"{row.rate:.3f}",
                _minutes(f.mean),
                _minutes(f.median),
                _minutes(f.p90),
                r.count,
                _minutes(r.mean),
                _minutes(r.median),
                _minutes(r.p90),
            ]
        )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """A name a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
