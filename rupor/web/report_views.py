"""Client reports (/reports/): the list, a new report for a period, its page (the same report as
the PDF, in HTML), the manager's commentary, PDF and XLSX downloads, and the email schedules.

Everyone with ``reports.view`` (analysts and clients too) reads and downloads; ``reports.manage``
(managers and up) creates, comments, deletes and schedules. The page, the PDF and the XLSX are
laid out from one :class:`~rupor.analytics.report_document.ReportDocument`, so they agree.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.analytics import report_charts, report_document, reports
from rupor.core import clock, timezones
from rupor.core.errors import DomainError
from rupor.web import accounts_views
from rupor.web.base import _actor, workspace_request, workspace_view

FREQUENCIES = (("weekly", gettext_lazy("Weekly")), ("monthly", gettext_lazy("Monthly")))
FORMATS = (("pdf", "PDF"), ("xlsx", "XLSX"), ("both", "PDF + XLSX"))
LANGUAGES = (("en", "English"), ("ru", "Русский"), ("ko", "한국어"))


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _default_period(zone: str) -> tuple[dt.date, dt.date]:
    """The last complete calendar month in the workspace's zone."""
    today = timezones.to_local(clock.now(), zone).date()
    return reports.previous_period("monthly", today)


def _can_manage(request: HttpRequest) -> bool:
    return can(workspace_request(request).role, Perm.REPORTS_MANAGE)


def _list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    here = workspace_request(request)
    actor = _actor(request)
    start, end = _default_period(here.workspace.timezone)
    manage = can(here.role, Perm.REPORTS_MANAGE)
    editing, edit_form = extra.pop("editing_schedule", None), extra.pop("edit_form", None)
    rows = [
        {
            "s": s,
            "open": s.id == editing,
            "form": edit_form
            if s.id == editing and edit_form is not None
            else {
                "frequency": s.frequency,
                "recipients": ", ".join(s.recipients),
                "format": s.format,
                "language": s.language,
            },
        }
        for s in (reports.list_schedules(actor) if manage else [])
    ]
    return {
        "reports": reports.list_reports(actor),
        "schedules": rows,
        "can_manage": manage,
        "form": {"start": start.isoformat(), "end": end.isoformat(), "commentary": ""},
        "schedule_form": {"frequency": "monthly", "recipients": "", "format": "pdf", "language": "en"},
        "report_frequencies": FREQUENCIES,
        "report_formats": FORMATS,
        "report_languages": LANGUAGES,
        "problem": "",
        "problem_field": "",
        "schedule_problem": "",
        "schedule_field": "",
        **extra,
    }


@workspace_view(Perm.REPORTS_VIEW)
@require_GET
def report_list(request: HttpRequest) -> HttpResponseBase:
    return render(request, "web/reports.html", _list_context(request))


@workspace_view(Perm.REPORTS_MANAGE)
@require_POST
def report_create(request: HttpRequest) -> HttpResponseBase:
    typed = {
        "start": request.POST.get("start", "")[:20],
        "end": request.POST.get("end", "")[:20],
        "commentary": request.POST.get("commentary", "")[: reports.MAX_COMMENTARY + 1],
    }
    try:
        start, end = _date(typed["start"]), _date(typed["end"])
        if start is None or end is None:
            raise reports.ReportError(
                _("Dates are written as YYYY-MM-DD."), "start" if start is None else "end", 422
            )
        report, created = reports.create_report(_actor(request), start, end, typed["commentary"])
    except DomainError as exc:
        context = _list_context(request, form=typed, problem=str(exc), problem_field=exc.field or "")
        return render(request, "web/reports.html", context, status=exc.status)
    if created:
        messages.success(request, _("Report created."))
    else:
        messages.info(request, _("A report for this period already exists: here it is."))
    return redirect("web:report", report_id=report.id)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_rows(doc: report_document.ReportDocument) -> list[dict[str, Any]]:
    return [
        {
            "figure": f,
            "value": report_document.number(f.value, f.unit),
            "previous": report_document.number(f.previous, f.unit),
            "change": report_document.change(f),
            "trend": report_document.trend(f),
        }
        for f in doc.overview.figures
    ]


def _get_report(request: HttpRequest, report_id: int) -> reports.ReportInfo:
    try:
        return reports.get_report(_actor(request), report_id)
    except reports.ReportError as exc:
        raise Http404 from exc


@workspace_view(Perm.REPORTS_VIEW)
@require_GET
def report_page(request: HttpRequest, report_id: int) -> HttpResponseBase:
    return _report_page(request, report_id)


def _report_page(request: HttpRequest, report_id: int, status: int = 200, **extra: Any) -> HttpResponseBase:
    info = _get_report(request, report_id)
    doc = reports.document(_actor(request), report_id)
    zone = doc.overview.timezone
    return render(
        request,
        "web/report.html",
        {
            "report": info,
            "doc": doc,
            "logo": _data_uri(doc.logo_png) if doc.logo_png else "",
            "cards": [r for r in _figure_rows(doc) if r["figure"] in doc.headline],
            "rows": _figure_rows(doc),
            "charts": [{"chart": c, "src": _data_uri(c.png)} for c in report_charts.charts(doc)],
            "top_posts": [
                {
                    "post": p,
                    "published": timezones.to_local(p.published_at, zone),
                    "engagements": report_document.number(p.engagements),
                    "views": report_document.number(p.views),
                    "reach": report_document.number(p.reach),
                    "er": report_document.number(p.er_post, "%"),
                }
                for p in doc.overview.top_posts
            ],
            "can_manage": _can_manage(request),
            "commentary": extra.pop("commentary", info.commentary),
            "problem": "",
            **extra,
        },
        status=status,
    )


@workspace_view(Perm.REPORTS_MANAGE)
@require_POST
def report_commentary(request: HttpRequest, report_id: int) -> HttpResponseBase:
    _get_report(request, report_id)
    text = request.POST.get("commentary", "")[: reports.MAX_COMMENTARY + 1]
    try:
        reports.set_commentary(_actor(request), report_id, text)
    except DomainError as exc:
        return _report_page(request, report_id, status=exc.status, problem=str(exc), commentary=text)
    messages.success(request, _("Commentary saved."))
    return redirect("web:report", report_id=report_id)


@workspace_view(Perm.REPORTS_MANAGE)
@require_POST
def report_delete(request: HttpRequest, report_id: int) -> HttpResponseBase:
    _get_report(request, report_id)
    reports.delete_report(_actor(request), report_id)
    messages.success(request, _("Report deleted."))
    return redirect("web:reports")


@workspace_view(Perm.REPORTS_VIEW)
@require_GET
def report_download(request: HttpRequest, report_id: int, kind: str) -> HttpResponseBase:
    if kind not in reports.FORMATS:
        raise Http404
    _get_report(request, report_id)
    rendered = reports.download(_actor(request), report_id, kind)
    response = HttpResponse(rendered.content, content_type=rendered.content_type)
    response["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response


def _save_schedule(request: HttpRequest, schedule_id: int | None) -> HttpResponseBase:
    """The new-schedule form and each schedule's edit form post here; a problem re-shows the page
    with what was typed, in the form it was typed in."""
    typed = {
        "frequency": request.POST.get("frequency", "")[:10],
        "recipients": request.POST.get("recipients", "")[:3000],
        "format": request.POST.get("format", "")[:10],
        "language": request.POST.get("language", "")[:10],
    }
    # The new-schedule form has no pause box: a new schedule is active.
    active = schedule_id is None or request.POST.get("active") in ("1", "on")
    try:
        reports.save_schedule(
            _actor(request),
            frequency=typed["frequency"],
            recipients=typed["recipients"],
            format=typed["format"],
            language=typed["language"],
            active=active,
            schedule_id=schedule_id,
        )
    except reports.ReportError as exc:
        if exc.status == 404:
            raise Http404 from exc
        return _schedule_problem(request, schedule_id, typed, exc)
    except DomainError as exc:
        return _schedule_problem(request, schedule_id, typed, exc)
    if not active:
        messages.success(request, _("Schedule paused: nothing goes out until it is resumed."))
    else:
        messages.success(request, _("Schedule saved: the report goes out after each period ends."))
    return redirect("web:reports")


def _schedule_problem(
    request: HttpRequest, schedule_id: int | None, typed: dict[str, str], exc: DomainError
) -> HttpResponseBase:
    if schedule_id is None:
        extra: dict[str, Any] = {
            "schedule_form": typed,
            "schedule_problem": str(exc),
            "schedule_field": exc.field or "",
        }
    else:
        extra = {
            "editing_schedule": schedule_id,
            "edit_form": typed,
            "edit_problem": str(exc),
            "edit_field": exc.field or "",
        }
    return render(request, "web/reports.html", _list_context(request, **extra), status=exc.status)


@workspace_view(Perm.REPORTS_MANAGE)
@require_POST
def schedule_create(request: HttpRequest) -> HttpResponseBase:
    return _save_schedule(request, None)


@workspace_view(Perm.REPORTS_MANAGE)
@require_POST
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponseBase:
    """Change a schedule's frequency, recipients, format or language, or pause/resume it."""
    return _save_schedule(request, schedule_id)


@workspace_view(Perm.REPORTS_MANAGE)
@require_http_methods(["POST"])
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponseBase:
    try:
        reports.delete_schedule(_actor(request), schedule_id)
    except reports.ReportError as exc:
        raise Http404 from exc
    messages.success(request, _("Schedule deleted: no more emails from it."))
    return redirect("web:reports")


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_POST
def workspace_logo(request: HttpRequest) -> HttpResponseBase:
    """Upload the workspace's logo (the settings page's form)."""
    upload = request.FILES.get("logo")
    try:
        if upload is None:
            raise accounts.AccountsError(_("Choose an image file for the logo."), "logo")
        accounts.set_logo(_actor(request), upload)
    except DomainError as exc:
        return accounts_views.settings_page(
            workspace_request(request), status=exc.status if exc.status != 400 else 422, logo_problem=str(exc)
        )
    messages.success(request, _("Logo saved: reports carry it from now on."))
    return redirect("web:workspace_settings")


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_POST
def workspace_logo_remove(request: HttpRequest) -> HttpResponseBase:
    accounts.remove_logo(_actor(request))
    messages.success(request, _("Logo removed."))
    return redirect("web:workspace_settings")


urlpatterns: list[URLPattern] = [
    path("settings/logo/", workspace_logo, name="workspace_logo"),
    path("settings/logo/remove/", workspace_logo_remove, name="workspace_logo_remove"),
    path("reports/", report_list, name="reports"),
    path("reports/new/", report_create, name="report_create"),
    path("reports/<int:report_id>/", report_page, name="report"),
    path("reports/<int:report_id>/commentary/", report_commentary, name="report_commentary"),
    path("reports/<int:report_id>/delete/", report_delete, name="report_delete"),
    path("reports/<int:report_id>/download/<str:kind>/", report_download, name="report_download"),
    path("reports/schedules/", schedule_create, name="report_schedule_create"),
    path("reports/schedules/<int:schedule_id>/", schedule_edit, name="report_schedule_edit"),
    path("reports/schedules/<int:schedule_id>/delete/", schedule_delete, name="report_schedule_delete"),
]
