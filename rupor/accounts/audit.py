"""The audit trail as people read it: what each recorded action means, the filters of the audit
page and its API, pages walked by (time, id), and the CSV export.

Entries are written by :func:`rupor.accounts.service.record` (each domain's action that changes
something calls it inside the change). This module only reads them, always for one workspace:
another workspace's entries are never in a result.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.accounts.models import ApiKey, AuditEntry, Membership, User, Workspace
from rupor.core.errors import DomainError
from rupor.core.timezones import zone

#: Every action the code records, as a person reads it. A code missing here is shown as it is
#: (``test_audit.py`` checks that every code the sources record has its sentence).
ACTIONS: dict[str, Promise] = {
    # The workspace, its members and keys.
    "workspace.create": gettext_lazy("Created the workspace"),
    "workspace.update": gettext_lazy("Changed the workspace settings"),
    "workspace.logo": gettext_lazy("Changed the workspace logo"),
    "member.add": gettext_lazy("Added a member"),
    "member.role": gettext_lazy("Changed a member's role"),
    "member.remove": gettext_lazy("Removed a member"),
    "member.reply_approval": gettext_lazy("Changed whether a member's replies need approval"),
    "member.invite": gettext_lazy("Invited someone"),
    "workspace.two_factor": gettext_lazy("Changed whether two-factor sign-in is required"),
    "two_factor.enable": gettext_lazy("Turned on two-factor sign-in"),
    "two_factor.disable": gettext_lazy("Turned off two-factor sign-in"),
    "two_factor.recovery_used": gettext_lazy("Signed in with a recovery code"),
    "two_factor.recovery_regenerate": gettext_lazy("Made new recovery codes"),
    "two_factor.reset": gettext_lazy("The operator turned off two-factor sign-in"),
    "member.uninvite": gettext_lazy("Withdrew an invitation"),
    "member.join": gettext_lazy("Joined by invitation"),
    "apikey.create": gettext_lazy("Created an API key"),
    "apikey.revoke": gettext_lazy("Revoked an API key"),
    "webhook.create": gettext_lazy("Added a webhook endpoint"),
    "webhook.delete": gettext_lazy("Deleted a webhook endpoint"),
    "webhook.test": gettext_lazy("Sent a test event to a webhook endpoint"),
    # Channels.
    "channel.connect": gettext_lazy("Connected a channel"),
    "channel.update": gettext_lazy("Changed a channel"),
    "channel.remove": gettext_lazy("Removed a channel"),
    # Planning.
    "post.create": gettext_lazy("Created a post"),
    "post.update": gettext_lazy("Changed a post"),
    "post.delete": gettext_lazy("Deleted a post"),
    "post.review.submitted": gettext_lazy("Submitted a post for review"),
    "post.review.approved": gettext_lazy("Approved a post"),
    "post.review.changes_requested": gettext_lazy("Asked for changes to a post"),
    "post.review.rejected": gettext_lazy("Rejected a post"),
    "post.review.link": gettext_lazy("Made a client review link"),
    "post.review.link_revoke": gettext_lazy("Revoked a client review link"),
    "rubric.create": gettext_lazy("Created a rubric"),
    "rubric.update": gettext_lazy("Changed a rubric"),
    "rubric.delete": gettext_lazy("Deleted a rubric"),
    "queue.slot.add": gettext_lazy("Added a queue slot"),
    "queue.slot.delete": gettext_lazy("Deleted a queue slot"),
    "media.upload": gettext_lazy("Uploaded a media file"),
    "media.delete": gettext_lazy("Deleted a media file"),
    "media.alt_text": gettext_lazy("Changed a media file's description"),
    "plan.import": gettext_lazy("Imported a plan"),
    "plan.ical.create": gettext_lazy("Made the calendar feed address"),
    "plan.ical.rotate": gettext_lazy("Replaced the calendar feed address"),
    # Publishing: the one-click fixes.
    "publishing.confirm": gettext_lazy("Confirmed a post is on its channel"),
    "publishing.republish": gettext_lazy("Asked to publish a post again"),
    "publishing.anyway": gettext_lazy("Published a missed post anyway"),
    "publishing.retry": gettext_lazy("Retried a failed publication"),
    # Links.
    "links.settings": gettext_lazy("Changed the tracked link settings"),
    "traffic.connect": gettext_lazy("Connected web analytics"),
    "traffic.disconnect": gettext_lazy("Disconnected web analytics"),
    # Inbox.
    "inbox.reply": gettext_lazy("Replied in the inbox"),
    "inbox.reply_submitted": gettext_lazy("Sent a reply for approval"),
    "inbox.reply_approved": gettext_lazy("Approved a reply"),
    "inbox.reply_rejected": gettext_lazy("Sent a reply back"),
    "inbox.hide": gettext_lazy("Hid a comment"),
    "inbox.delete": gettext_lazy("Deleted a comment"),
    "inbox.restore": gettext_lazy("Restored a comment"),
    "inbox.ban": gettext_lazy("Banned an author"),
    "inbox.status": gettext_lazy("Changed an inbox item's status"),
    "inbox.assign": gettext_lazy("Assigned an inbox item"),
    "inbox.bulk": gettext_lazy("Changed inbox items in bulk"),
    "inbox.note": gettext_lazy("Added an internal note"),
    "inbox.saved_reply.create": gettext_lazy("Created a saved reply"),
    "inbox.saved_reply.edit": gettext_lazy("Changed a saved reply"),
    "inbox.saved_reply.delete": gettext_lazy("Deleted a saved reply"),
    "inbox.view_save": gettext_lazy("Saved an inbox view"),
    "inbox.view_rename": gettext_lazy("Renamed an inbox view"),
    "inbox.view_delete": gettext_lazy("Deleted an inbox view"),
    "inbox.monitor.add": gettext_lazy("Started watching a keyword"),
    "inbox.monitor.remove": gettext_lazy("Stopped watching a keyword"),
    "inbox.response_settings": gettext_lazy("Changed business hours and inbox alerts"),
    "inbox.trend_settings": gettext_lazy("Changed keyword trend alerts"),
    # Analytics.
    "abtest.create": gettext_lazy("Created an A/B test"),
    "abtest.update": gettext_lazy("Changed an A/B test"),
    "abtest.delete": gettext_lazy("Deleted an A/B test"),
    "competitor.add": gettext_lazy("Started watching a page"),
    "competitor.remove": gettext_lazy("Stopped watching a page"),
    "report.create": gettext_lazy("Created a report"),
    "report.comment": gettext_lazy("Changed a report's commentary"),
    "report.delete": gettext_lazy("Deleted a report"),
    "report.schedule": gettext_lazy("Scheduled a report by email"),
    "report.unschedule": gettext_lazy("Deleted a report schedule"),
    # Giveaways.
    "giveaway.create": gettext_lazy("Created a giveaway"),
    "giveaway.announce": gettext_lazy("Announced a giveaway"),
    "giveaway.close": gettext_lazy("Closed a giveaway's entries"),
    "giveaway.draw": gettext_lazy("Drew a giveaway's winners"),
    "giveaway.cancel": gettext_lazy("Cancelled a giveaway"),
    # Newsletters.
    "newsletter.list_create": gettext_lazy("Created a subscriber list"),
    "newsletter.import": gettext_lazy("Imported subscribers"),
    "newsletter.tags": gettext_lazy("Changed a subscriber's tags"),
    "newsletter.segment_create": gettext_lazy("Created a segment"),
    "newsletter.welcome_step": gettext_lazy("Added a welcome message"),
    "newsletter.create": gettext_lazy("Wrote a newsletter"),
    "newsletter.schedule": gettext_lazy("Scheduled a newsletter"),
    "newsletter.cancel": gettext_lazy("Cancelled a newsletter"),
}

#: What the entries are about, as a person reads it.
OBJECT_TYPES: dict[str, Promise] = {
    "workspace": gettext_lazy("Workspace"),
    "user": gettext_lazy("Member"),
    "invitation": gettext_lazy("Invitation"),
    "apikey": gettext_lazy("API key"),
    "traffic_source": gettext_lazy("Web analytics source"),
    "webhook": gettext_lazy("Webhook endpoint"),
    "channel": gettext_lazy("Channel"),
    "post": gettext_lazy("Post"),
    "publication": gettext_lazy("Publication"),
    "client_link": gettext_lazy("Client review link"),
    "rubric": gettext_lazy("Rubric"),
    "media": gettext_lazy("Media file"),
    "inbox_item": gettext_lazy("Inbox item"),
    "inbox_view": gettext_lazy("Inbox view"),
    "saved_reply": gettext_lazy("Saved reply"),
    "keyword": gettext_lazy("Keyword"),
    "abtest": gettext_lazy("A/B test"),
    "watched_page": gettext_lazy("Watched page"),
    "report": gettext_lazy("Report"),
    "report_schedule": gettext_lazy("Report schedule"),
    "giveaway": gettext_lazy("Giveaway"),
    "newsletter_list": gettext_lazy("Subscriber list"),
    "subscriber": gettext_lazy("Subscriber"),
    "segment": gettext_lazy("Segment"),
    "welcome_step": gettext_lazy("Welcome message"),
    "newsletter": gettext_lazy("Newsletter"),
}

#: The most entries one page holds; the page and the API default to DEFAULT_PAGE.
MAX_PAGE = 200
DEFAULT_PAGE = 50
#: How many entries the CSV export reads from the database at a time.
EXPORT_BATCH = 1000
#: The longest free-text search.
MAX_QUERY = 200

#: Who-filter values besides "user:<id>" and "key:<id>": what Rupor did by itself.
SYSTEM = "system"

#: What makes a spreadsheet read a cell as a formula (CSV injection): the ASCII signs, their
#: full-width forms, and a leading tab or carriage return. Such a cell gets a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class AuditError(DomainError):
    """A filter the audit trail cannot apply; ``field`` names it."""


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def object_type_label(code: str) -> str:
    label = OBJECT_TYPES.get(code)
    return str(label) if label is not None else code


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


# -- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the audit list is narrowed to. ``who``: "" (anyone), ``user:<id>``, ``key:<id>`` or
    ``system``; ``action``: a code, or a group as ``<prefix>.*`` ("post.*"); ``start``/``end``:
    days in the workspace's zone, both included; ``q``: words found in the summary, the actor's
    name, the action or the object id."""

    who: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    q: str = ""

    def as_query(self) -> dict[str, str]:
        """The filters as the page's and the export's query string carry them."""
        out = {
            "who": self.who,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "q": self.q,
        }
        return {k: v for k, v in out.items() if v}


def _date(raw: str, field: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise AuditError(
            _("%(value)s is not a date; write it as 2026-05-31.") % {"value": repr(raw[:40])}, field
        ) from None
    if not dt.date(1970, 1, 1) <= day <= dt.date(9000, 12, 31):
        raise AuditError(_("Choose dates between 1970 and 9000."), field)
    return day


def _who(raw: str) -> str:
    raw = (raw or "").strip()
    if raw in ("", SYSTEM):
        return raw
    kind, _sep, number = raw.partition(":")
    if kind in ("user", "key") and number.isdigit() and 0 < int(number) < 2**63:
        return f"{kind}:{int(number)}"
    raise AuditError(_("Choose who from the list."), "who")


def _code(raw: str, field: str, *, group: bool = False) -> str:
    raw = (raw or "").strip()
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789._")
    body = raw[:-2] if group and raw.endswith(".*") else raw
    if len(raw) > 64 or not set(body) <= allowed:
        raise AuditError(_("Choose one from the list."), field)
    return raw


def parse_filters(raw: Mapping[str, str]) -> Filters:
    """The filters from a query string (``who``, ``action``, ``object_type``, ``object_id``,
    ``from``, ``to``, ``q``); a value that cannot be a filter is refused with its field."""
    start, end = _date(raw.get("from", ""), "from"), _date(raw.get("to", ""), "to")
    if start and end and end < start:
        raise AuditError(_("The end date is before the start date."), "to")
    q = " ".join((raw.get("q") or "").split())
    if len(q) > MAX_QUERY:
        raise AuditError(_("Search for at most %(n)s characters.") % {"n": MAX_QUERY}, "q")
    object_id = (raw.get("object_id") or "").strip()
    if len(object_id) > 40:
        raise AuditError(_("An object id has at most 40 characters."), "object_id")
    return Filters(
        who=_who(raw.get("who", "")),
        action=_code(raw.get("action", ""), "action", group=True),
        object_type=_code(raw.get("object_type", ""), "object_type"),
        object_id=object_id,
        start=start,
        end=end,
        q=q,
    )


def _bounds(workspace_id: int, f: Filters) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The instants that begin ``start`` and end ``end`` in the workspace's zone."""
    tz = zone(str(Workspace.objects.values_list("timezone", flat=True).get(pk=workspace_id)))

    def start_of(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)

    return (
        start_of(f.start) if f.start else None,
        start_of(f.end + dt.timedelta(days=1)) if f.end else None,
    )


def entries(workspace_id: int, f: Filters) -> QuerySet[AuditEntry]:
    """The workspace's entries that pass the filters (unordered)."""
    qs = AuditEntry.objects.filter(workspace_id=workspace_id)
    if f.who == SYSTEM:
        qs = qs.filter(actor__isnull=True, api_key__isnull=True)
    elif f.who.startswith("user:"):
        qs = qs.filter(actor_id=int(f.who[5:]), api_key__isnull=True)
    elif f.who.startswith("key:"):
        qs = qs.filter(api_key_id=int(f.who[4:]))
    if f.action.endswith(".*"):
        qs = qs.filter(action__startswith=f.action[:-1])
    elif f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.object_id:
        qs = qs.filter(object_id=f.object_id)
    since, until = _bounds(workspace_id, f)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    for word in f.q.split():
        qs = qs.filter(
            Q(summary__icontains=word)
            | Q(actor_label__icontains=word)
            | Q(action__icontains=word)
            | Q(object_id=word)
            | Q(actor__email__icontains=word)
            | Q(actor__name__icontains=word)
            | Q(api_key__name__icontains=word)
        )
    return qs


# -- the entries as people read them -----------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    id: int
    at: dt.datetime
    #: "person", "api_key" or "system" (Rupor itself: the worker, a public page).
    actor_kind: str
    actor_user_id: int | None
    actor_api_key_id: int | None
    #: Who, for people: the person's name and email, the key's name and prefix, or "Rupor".
    actor: str
    action: str
    action_label: str
    object_type: str
    object_type_label: str
    object_id: str
    summary: str


def _actor_text(e: AuditEntry) -> tuple[str, str]:
    if e.api_key_id is not None:
        key = e.api_key
        name = f"{key.name} ({key.prefix}…)" if key is not None else e.actor_label
        return "api_key", _("API key %(name)s") % {"name": name}
    if e.actor_id is not None:
        user = e.actor
        if user is not None:
            return "person", f"{user.name} <{user.email}>" if user.name else user.email
        return "person", e.actor_label
    if e.actor_label:  # a client through a review link, the operator at the command line
        return "person", e.actor_label
    return "system", _("Rupor (automatic)")


def view(e: AuditEntry) -> EntryView:
    kind, who = _actor_text(e)
    return EntryView(
        id=e.pk,
        at=e.at,
        actor_kind=kind,
        actor_user_id=e.actor_id,
        actor_api_key_id=e.api_key_id,
        actor=who,
        action=e.action,
        action_label=action_label(e.action),
        object_type=e.object_type,
        object_type_label=object_type_label(e.object_type) if e.object_type else "",
        object_id=e.object_id,
        summary=e.summary,
    )


# -- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    entries: list[EntryView]
    #: Pass as ``before`` for the next (older) page; blank on the last page.
    older: str
    #: Pass as ``after`` for the previous (newer) page; blank on the first page.
    newer: str


def _encode(e: AuditEntry) -> str:
    raw = f"{e.at.astimezone(dt.UTC).isoformat()}|{e.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, field: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, number = raw.split("|")
        at = dt.datetime.fromisoformat(when)
        if at.tzinfo is None or not number.isdigit():
            raise ValueError(raw)
        return at, int(number)
    except (ValueError, UnicodeDecodeError):
        raise AuditError(_("This page address is damaged; start again from the newest."), field) from None


def page(
    workspace_id: int, f: Filters, *, before: str = "", after: str = "", limit: int = DEFAULT_PAGE
) -> Page:
    """One page of entries, newest first: the first page, or the one older than ``before``, or
    the one newer than ``after`` (cursors from an earlier page). Walking by (time, id), entries
    written meanwhile never shift a page."""
    if not 1 <= limit <= MAX_PAGE:
        raise AuditError(_("A page holds 1 to %(n)s entries.") % {"n": MAX_PAGE}, "limit")
    qs = entries(workspace_id, f).select_related("actor", "api_key")
    if after:
        at, pk = _decode(after, "after")
        rows = list(qs.filter(Q(at__gt=at) | Q(at=at, pk__gt=pk)).order_by("at", "pk")[: limit + 1])
        has_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_older = bool(rows)
    else:
        if before:
            at, pk = _decode(before, "before")
            qs = qs.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
        rows = list(qs.order_by("-at", "-pk")[: limit + 1])
        has_older = len(rows) > limit
        rows = rows[:limit]
        has_newer = bool(before) and bool(rows)
    return Page(
        [view(e) for e in rows],
        older=_encode(rows[-1]) if rows and has_older else "",
        newer=_encode(rows[0]) if rows and has_newer else "",
    )


# -- choices for the filters -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def who_choices(workspace_id: int) -> list[Choice]:
    """The people (members, and former members who appear in the trail), the API keys (revoked
    ones too) and Rupor itself."""
    members = list(
        Membership.objects.filter(workspace_id=workspace_id)
        .select_related("user")
        .order_by("user__email")
        .values_list("user_id", "user__name", "user__email")
    )
    known = {uid for uid, _n, _e in members}
    former_ids = (
        AuditEntry.objects.filter(workspace_id=workspace_id, actor__isnull=False)
        .exclude(actor_id__in=known)
        .values_list("actor_id", flat=True)
        .distinct()
    )
    former = list(
        User.objects.filter(pk__in=list(former_ids)).order_by("email").values_list("pk", "name", "email")
    )
    out = [Choice(f"user:{uid}", f"{name} <{email}>" if name else email) for uid, name, email in members]
    out += [
        Choice(f"user:{uid}", (_("%(who)s (no longer a member)") % {"who": email}))
        for uid, _name, email in former
    ]
    for key in ApiKey.objects.filter(workspace_id=workspace_id).order_by("revoked_at", "name"):
        label = _("API key %(name)s") % {"name": f"{key.name} ({key.prefix}…)"}
        if key.revoked_at is not None:
            label = _("%(key)s, revoked") % {"key": label}
        out.append(Choice(f"key:{key.pk}", label))
    out.append(Choice(SYSTEM, _("Rupor (automatic)")))
    return out


def action_choices() -> list[tuple[str, list[Choice]]]:
    """Every action, grouped by what it is about: ``(group label, [group "<prefix>.*", codes])``."""
    groups: dict[str, list[str]] = {}
    for code in ACTIONS:
        groups.setdefault(code.split(".")[0], []).append(code)
    out = []
    for prefix, codes in groups.items():
        name = object_type_label(_GROUP_TYPES.get(prefix, prefix))
        everything = Choice(f"{prefix}.*", _("All: %(group)s") % {"group": name})
        out.append((name, [everything, *(Choice(c, action_label(c)) for c in codes)]))
    return out


#: The object type whose name names a group of actions ("plan.*" are the plan's).
_GROUP_TYPES = {
    "member": "user",
    "queue": "channel",
    "plan": "post",
    "links": "workspace",
    "inbox": "inbox_item",
    "competitor": "watched_page",
    "publishing": "publication",
    "traffic": "traffic_source",
}


def object_type_choices() -> list[Choice]:
    return [Choice(code, str(label)) for code, label in OBJECT_TYPES.items()]


# -- CSV ---------------------------------------------------------------------------------------


def _csv_line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def csv_lines(workspace_id: int, f: Filters, *, language: str = "") -> Iterator[str]:
    """The filtered entries as CSV lines, newest first, read EXPORT_BATCH at a time (a stream:
    the whole trail is never in memory). Times in the workspace's zone and in UTC; the actions
    in ``language`` with their codes beside them; cells a spreadsheet would run as formulas are
    neutralised."""
    tz = zone(str(Workspace.objects.values_list("timezone", flat=True).get(pk=workspace_id)))
    with translation.override(language or translation.get_language()):
        yield _csv_line(
            [
                _("Time (%(zone)s)") % {"zone": str(tz)},
                _("Time (UTC)"),
                _("Who"),
                _("Kind"),
                _("Action"),
                _("Action code"),
                _("Object"),
                _("Object id"),
                _("Summary"),
            ]
        )
        kinds = {"person": _("Person"), "api_key": _("API key"), "system": _("Rupor")}
    qs = entries(workspace_id, f).select_related("actor", "api_key").order_by("-at", "-pk")
    last: tuple[dt.datetime, int] | None = None
    while True:
        batch = qs if last is None else qs.filter(Q(at__lt=last[0]) | Q(at=last[0], pk__lt=last[1]))
        rows = list(batch[:EXPORT_BATCH])
        if not rows:
            return
        with translation.override(language or translation.get_language()):
            for e in rows:
                v = view(e)
                yield _csv_line(
                    [
                        v.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                        v.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        v.actor,
                        kinds[v.actor_kind],
                        v.action_label,
                        v.action,
                        v.object_type_label,
                        v.object_id,
                        v.summary,
                    ]
                )
        last = (rows[-1].at, rows[-1].pk)
        if len(rows) < EXPORT_BATCH:
            return
