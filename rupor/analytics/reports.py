"""Client reports: the saved reports of a workspace (period + the manager's commentary), their
renditions (PDF, XLSX), and schedules that email the previous week's or month's report.

Every action takes an :class:`~rupor.accounts.service.Actor` and checks its role: reading needs
``reports.view`` (analysts and clients too), creating, commenting and scheduling need
``reports.manage`` (managers and up). Another workspace's report or schedule is "not found".

The worker's job :func:`run_schedules` sends each schedule's period **once**: the
``ReportDelivery`` row (unique per schedule and period) is the claim, written before anything is
sent, so two workers, or one restarted, never send a period twice. A worker that dies between
claiming and sending leaves a "sending" row that another takes over after :data:`LEASE`; a
failed send (the mail server refused) is tried again, at most :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.analytics import dashboard, report_document, report_pdf, report_xlsx
from rupor.analytics.models import Report, ReportDelivery, ReportSchedule
from rupor.core import clock, timezones
from rupor.core.errors import DomainError

log = logging.getLogger(__name__)

MAX_COMMENTARY = 5000
MAX_RECIPIENTS = 20
LANGUAGES = ("en", "ru", "ko")
FORMATS = ("pdf", "xlsx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: A delivery claimed this long ago and still "sending" was left by a worker that died.
LEASE = dt.timedelta(minutes=30)
#: A failed delivery is tried again after this long, at most MAX_ATTEMPTS times in all.
RETRY_AFTER = dt.timedelta(hours=1)
MAX_ATTEMPTS = 5
#: The earliest day a report covers (nothing was posted before; far dates would overflow).
EARLIEST = dt.date(2000, 1, 1)
#: Scheduled reports go out after this local hour, so the last day's figures are collected.
SEND_AFTER_HOUR = 6


class ReportError(DomainError):
    """A report request refused: bad period or input (422), not allowed (403), not found (404)."""


@dataclass(frozen=True)
class ReportInfo:
    id: int
    start: dt.date
    end: dt.date
    commentary: str
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: str
    scheduled: bool


@dataclass(frozen=True)
class Rendered:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ScheduleInfo:
    id: int
    frequency: str
    recipients: tuple[str, ...]
    format: str
    language: str
    active: bool
    created_at: dt.datetime
    last_sent: dt.date | None
    last_state: str
    last_error: str


def _require(actor: accounts.Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise ReportError(_("Your role does not allow this."), status=403)


def _info(report: Report) -> ReportInfo:
    return ReportInfo(
        id=report.pk,
        start=report.start,
        end=report.end,
        commentary=report.commentary,
        created_at=report.created_at,
        updated_at=report.updated_at,
        created_by=report.created_by.email if report.created_by else "",
        scheduled=report.schedule_id is not None,
    )


def check_period(workspace_id: int, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """A report's period: both days given, in order, at most a year, not starting in the future
    (in the workspace's time zone)."""
    if start is None or end is None:
        raise ReportError(_("Give the first and the last day of the period (YYYY-MM-DD)."), "start", 422)
    if min(start, end) < EARLIEST:
        raise ReportError(_("A report covers days from 2000 on."), "start", 422)
    try:
        dashboard.check_period(start, end)
    except dashboard.DashboardError as exc:
        raise ReportError(exc.message, "end" if exc.field == "to" else "start", 422) from exc
    today = timezones.to_local(clock.now(), accounts.workspace_info(workspace_id).timezone).date()
    if start > today:
        raise ReportError(_("The period starts in the future."), "start", 422)
    return start, end


def _commentary(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_COMMENTARY:
        raise ReportError(
            _("The commentary is at most %(n)s characters.") % {"n": MAX_COMMENTARY}, "commentary", 422
        )
    return text


# -- reports -------------------------------------------------------------------------------


def create_report(
    actor: accounts.Actor, start: dt.date | None, end: dt.date | None, commentary: str = ""
) -> tuple[ReportInfo, bool]:
    """The workspace's report for the period, made now or, when one exists, that one (its
    commentary replaced only when a new one is given). Returns it and whether it is new."""
    _require(actor, Perm.REPORTS_MANAGE)
    start, end = check_period(actor.workspace_id, start, end)
    text = _commentary(commentary)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                workspace_id=actor.workspace_id,
                start=start,
                end=end,
                commentary=text,
                created_by_id=actor.user_id,
            )
        created = True
    except IntegrityError:
        report = Report.objects.get(workspace_id=actor.workspace_id, start=start, end=end)
        created = False
        if text:
            report.commentary, report.updated_at = text, clock.now()
            report.save(update_fields=["commentary", "updated_at"])
    accounts.record(actor.workspace_id, actor, "report.create", "report", report.pk, f"{start}..{end}")
    return _info(report), created


def list_reports(actor: accounts.Actor) -> list[ReportInfo]:
    """The workspace's reports, the latest period first."""
    _require(actor, Perm.REPORTS_VIEW)
    return [
        _info(r) for r in Report.objects.filter(workspace_id=actor.workspace_id).select_related("created_by")
    ]


def _get(actor: accounts.Actor, report_id: int) -> Report:
    try:
        return Report.objects.select_related("created_by").get(pk=report_id, workspace_id=actor.workspace_id)
    except Report.DoesNotExist as exc:
        raise ReportError(_("No such report."), "report", 404) from exc


def get_report(actor: accounts.Actor, report_id: int) -> ReportInfo:
    _require(actor, Perm.REPORTS_VIEW)
    return _info(_get(actor, report_id))


def set_commentary(actor: accounts.Actor, report_id: int, commentary: str) -> ReportInfo:
    """Replace the manager's commentary of a report."""
    _require(actor, Perm.REPORTS_MANAGE)
    report = _get(actor, report_id)
    report.commentary, report.updated_at = _commentary(commentary), clock.now()
    report.save(update_fields=["commentary", "updated_at"])
    accounts.record(
        actor.workspace_id, actor, "report.comment", "report", report.pk, f"{len(report.commentary)}"
    )
    return _info(report)


def delete_report(actor: accounts.Actor, report_id: int) -> None:
    _require(actor, Perm.REPORTS_MANAGE)
    report = _get(actor, report_id)
    accounts.record(
        actor.workspace_id, actor, "report.delete", "report", report.pk, f"{report.start}..{report.end}"
    )
    report.delete()


def document(actor: accounts.Actor, report_id: int) -> report_document.ReportDocument:
    """The report ready to lay out (the web page renders it as HTML), in the active language."""
    _require(actor, Perm.REPORTS_VIEW)
    report = _get(actor, report_id)
    return report_document.build(
        actor.workspace_id,
        report.start,
        report.end,
        commentary=report.commentary,
        language=translation.get_language() or "en",
    )


def render(doc: report_document.ReportDocument, fmt: str) -> Rendered:
    """A document as a file: "pdf" or "xlsx"."""
    if fmt not in FORMATS:
        raise ReportError(_("A report is rendered as pdf or xlsx."), "format", 422)
    content = report_pdf.render_pdf(doc) if fmt == "pdf" else report_xlsx.render_xlsx(doc)
    return Rendered(doc.filename(fmt), CONTENT_TYPES[fmt], content)


def download(actor: accounts.Actor, report_id: int, fmt: str) -> Rendered:
    """A saved report as PDF or XLSX, in the active language."""
    if fmt not in FORMATS:
        raise ReportError(_("A report is rendered as pdf or xlsx."), "format", 422)
    return render(document(actor, report_id), fmt)


def render_period(
    actor: accounts.Actor, start: dt.date | None, end: dt.date | None, fmt: str, *, commentary: str = ""
) -> Rendered:
    """The report of any period as a file, without saving it (the CLI, the API's one-off
    download). A saved report of exactly that period lends its commentary when none is given."""
    _require(actor, Perm.REPORTS_VIEW)
    if fmt not in FORMATS:
        raise ReportError(_("A report is rendered as pdf or xlsx."), "format", 422)
    start, end = check_period(actor.workspace_id, start, end)
    text = _commentary(commentary)
    if not text:
        saved = Report.objects.filter(workspace_id=actor.workspace_id, start=start, end=end).first()
        text = saved.commentary if saved else ""
    doc = report_document.build(
        actor.workspace_id, start, end, commentary=text, language=translation.get_language() or "en"
    )
    return render(doc, fmt)


# -- schedules -----------------------------------------------------------------------------


def _schedule_info(s: ReportSchedule) -> ScheduleInfo:
    last = s.deliveries.order_by("-start").first()
    return ScheduleInfo(
        id=s.pk,
        frequency=s.frequency,
        recipients=tuple(s.recipients),
        format=s.format,
        language=s.language,
        active=s.active,
        created_at=s.created_at,
        last_sent=last.end if last and last.state == ReportDelivery.State.SENT else None,
        last_state=last.state if last else "",
        last_error=last.error if last else "",
    )


def _recipients(raw: list[str] | str) -> list[str]:
    items = raw.replace(";", ",").replace("\n", ",").split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        email = str(item).strip()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ReportError(
                _("%(value)s is not an email address.") % {"value": repr(email[:80])}, "recipients", 422
            ) from exc
        if email.lower() not in (o.lower() for o in out):
            out.append(email)
    if not out:
        raise ReportError(_("Give at least one email address to send the report to."), "recipients", 422)
    if len(out) > MAX_RECIPIENTS:
        raise ReportError(
            _("A schedule sends to at most %(n)s addresses.") % {"n": MAX_RECIPIENTS}, "recipients", 422
        )
    return out


def _check_schedule(frequency: str, fmt: str, language: str) -> None:
    if frequency not in ReportSchedule.Frequency.values:
        raise ReportError(_("A schedule is weekly or monthly."), "frequency", 422)
    if fmt not in ReportSchedule.Format.values:
        raise ReportError(_("The format is pdf, xlsx or both."), "format", 422)
    if language not in LANGUAGES:
        raise ReportError(_("The language is en, ru or ko."), "language", 422)


def save_schedule(
    actor: accounts.Actor,
    *,
    frequency: str,
    recipients: list[str] | str,
    format: str = "pdf",
    language: str = "en",
    active: bool = True,
    schedule_id: int | None = None,
) -> ScheduleInfo:
    """Create a schedule, or change one of the workspace's (``schedule_id``)."""
    _require(actor, Perm.REPORTS_MANAGE)
    existing = None if schedule_id is None else _get_schedule(actor, schedule_id)
    _check_schedule(frequency, format, language)
    emails = _recipients(recipients)
    if existing is None:
        schedule = ReportSchedule.objects.create(
            workspace_id=actor.workspace_id,
            frequency=frequency,
            recipients=emails,
            format=format,
            language=language,
            active=active,
            created_by_id=actor.user_id,
        )
    else:
        schedule = existing
        schedule.frequency, schedule.recipients, schedule.format = frequency, emails, format
        schedule.language, schedule.active = language, active
        schedule.save(update_fields=["frequency", "recipients", "format", "language", "active"])
    accounts.record(
        actor.workspace_id,
        actor,
        "report.schedule",
        "report_schedule",
        schedule.pk,
        f"{frequency} {len(emails)}",
    )
    return _schedule_info(schedule)


def _get_schedule(actor: accounts.Actor, schedule_id: int) -> ReportSchedule:
    try:
        return ReportSchedule.objects.get(pk=schedule_id, workspace_id=actor.workspace_id)
    except ReportSchedule.DoesNotExist as exc:
        raise ReportError(_("No such schedule."), "schedule", 404) from exc


def list_schedules(actor: accounts.Actor) -> list[ScheduleInfo]:
    _require(actor, Perm.REPORTS_VIEW)
    return [_schedule_info(s) for s in ReportSchedule.objects.filter(workspace_id=actor.workspace_id)]


def get_schedule(actor: accounts.Actor, schedule_id: int) -> ScheduleInfo:
    _require(actor, Perm.REPORTS_VIEW)
    return _schedule_info(_get_schedule(actor, schedule_id))


def delete_schedule(actor: accounts.Actor, schedule_id: int) -> None:
    _require(actor, Perm.REPORTS_MANAGE)
    schedule = _get_schedule(actor, schedule_id)
    accounts.record(
        actor.workspace_id, actor, "report.unschedule", "report_schedule", schedule.pk, schedule.frequency
    )
    schedule.delete()


def previous_period(frequency: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete week (Monday..Sunday) or calendar month before ``today``."""
    if frequency == ReportSchedule.Frequency.WEEKLY:
        end = today - dt.timedelta(days=today.weekday() + 1)
        return end - dt.timedelta(days=6), end
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _due(schedule: ReportSchedule, now: dt.datetime, zone: str) -> tuple[dt.date, dt.date] | None:
    """The period this schedule should have sent by ``now``, if it is complete: it ended after the
    schedule was made (no reports of the time before it) and it is past SEND_AFTER_HOUR."""
    local = timezones.to_local(now, zone)
    if local.hour < SEND_AFTER_HOUR:
        local -= dt.timedelta(days=1)  # today's send time not reached: the period before still counts
    start, end = previous_period(schedule.frequency, local.date())
    made = timezones.to_local(schedule.created_at, zone).date()
    if end < made:
        return None
    return start, end


def _claim(schedule: ReportSchedule, start: dt.date, end: dt.date, now: dt.datetime) -> ReportDelivery | None:
    """Take this period's delivery for this worker, or ``None`` when another has it or it is done."""
    try:
        with transaction.atomic():
            return ReportDelivery.objects.create(schedule=schedule, start=start, end=end, claimed_at=now)
    except IntegrityError:
        pass
    taken = ReportDelivery.objects.filter(schedule=schedule, start=start, attempts__lt=MAX_ATTEMPTS).filter(
        state=ReportDelivery.State.SENDING, claimed_at__lt=now - LEASE
    ) | ReportDelivery.objects.filter(
        schedule=schedule,
        start=start,
        attempts__lt=MAX_ATTEMPTS,
        state=ReportDelivery.State.FAILED,
        claimed_at__lt=now - RETRY_AFTER,
    )
    ids = list(taken.values_list("pk", flat=True))
    if not ids:
        return None
    # One conditional update: of two workers that both saw it free, only one changes the row.
    won = ReportDelivery.objects.filter(
        pk=ids[0], claimed_at__lt=now - min(LEASE, RETRY_AFTER), state__in=["sending", "failed"]
    ).update(state=ReportDelivery.State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    return ReportDelivery.objects.get(pk=ids[0]) if won else None


def _email(schedule: ReportSchedule, report: Report) -> EmailMessage:
    with translation.override(schedule.language):
        doc = report_document.build(
            schedule.workspace_id,
            report.start,
            report.end,
            commentary=report.commentary,
            language=schedule.language,
        )
        kinds = ["pdf", "xlsx"] if schedule.format == ReportSchedule.Format.BOTH else [schedule.format]
        subject = _("[Rupor] %(title)s, %(start)s \u2013 %(end)s") % {
            "title": doc.title,
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
        }
        body = _(
            "The report of %(workspace)s for %(start)s \u2013 %(end)s is attached.\n\n"
            "This email is sent %(frequency)s because a manager of the workspace scheduled it in Rupor."
        ) % {
            "workspace": doc.workspace_name,
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "frequency": _("every week") if schedule.frequency == "weekly" else _("every month"),
        }
        if report.commentary:
            body += "\n\n" + _("Manager's commentary") + ":\n" + report.commentary
        message = EmailMessage(subject, body, None, list(schedule.recipients))
        for kind in kinds:
            file = render(doc, kind)
            message.attach(file.filename, file.content, file.content_type)
    return message


def _deliver(delivery: ReportDelivery) -> bool:
    schedule = delivery.schedule
    report, _new = Report.objects.get_or_create(
        workspace_id=schedule.workspace_id,
        start=delivery.start,
        end=delivery.end,
        defaults={"schedule": schedule},
    )
    message = _email(schedule, report)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("sending report %s of schedule %s failed: %s", report.pk, schedule.pk, exc)
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            state=ReportDelivery.State.FAILED, error=str(exc)[:500] or exc.__class__.__name__
        )
        return False
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        state=ReportDelivery.State.SENT, sent_at=clock.now(), error=""
    )
    return True


def run_schedules(now: dt.datetime) -> int:
    """The worker's job: email each active schedule's last complete period once; how many went."""
    sent = 0
    zones: dict[int, str] = {}
    for schedule in ReportSchedule.objects.filter(active=True).order_by("pk"):
        zone = zones.setdefault(
            schedule.workspace_id, accounts.workspace_info(schedule.workspace_id).timezone
        )
        period = _due(schedule, now, zone)
        if period is None:
            continue
        if ReportDelivery.objects.filter(
            schedule=schedule, start=period[0], state=ReportDelivery.State.SENT
        ).exists():
            continue
        delivery = _claim(schedule, period[0], period[1], now)
        if delivery is not None and _deliver(delivery):
            sent += 1
    return sent
