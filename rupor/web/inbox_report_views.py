"""How fast the team answers the audience: the response-time report (table, chart, CSV) and the
workspace's business hours and inbox alerts (inbox/response.py, inbox/alerts.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from rupor.accounts import service as accounts
from rupor.accounts.roles import ROLE_LABELS, Perm, Role, can
from rupor.core import clock, timezones
from rupor.core.errors import DomainError
from rupor.inbox import response
from rupor.web import forms
from rupor.web.base import _actor, workspace_request, workspace_view

#: The period a report shows when none is chosen, in days (today included).
DEFAULT_DAYS = 30
PRESETS = (7, 30, 90)
WEEKDAYS = (
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
)

#: The same names as they read inside a sentence (lower case in Russian).
IN_A_SENTENCE = (
    pgettext_lazy("weekday in a sentence", "Monday"),
    pgettext_lazy("weekday in a sentence", "Tuesday"),
    pgettext_lazy("weekday in a sentence", "Wednesday"),
    pgettext_lazy("weekday in a sentence", "Thursday"),
    pgettext_lazy("weekday in a sentence", "Friday"),
    pgettext_lazy("weekday in a sentence", "Saturday"),
    pgettext_lazy("weekday in a sentence", "Sunday"),
)


def duration(seconds: float | None) -> str:
    """A duration for people: "45 min", "3 h 5 min", "2 d 4 h"; "—" when there is none."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(m)s min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h") % {"d": days, "h": hours}


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date
    problem: str = ""


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _period(params: QueryDict, zone: str) -> Period:
    """The chosen period: ?since=&until= (dates), or ?days=N, else the last DEFAULT_DAYS days."""
    today = timezones.to_local(clock.now(), zone).date()
    days = forms.parse_id(params.get("days"))
    if days is not None and 1 <= days <= response.MAX_DAYS:
        return Period(today - dt.timedelta(days=days - 1), today)
    default = Period(today - dt.timedelta(days=DEFAULT_DAYS - 1), today)
    raw_since, raw_until = params.get("since", ""), params.get("until", "")
    if not raw_since and not raw_until:
        return default
    since, until = _date(raw_since), _date(raw_until)
    if since is None or until is None:
        return Period(default.since, default.until, _("Dates are written as YYYY-MM-DD."))
    return Period(since, until)


def _chart(report: response.Report) -> list[dict[str, Any]]:
    """One bar per day: its height is the day's median first response against the longest."""
    longest = max((d.median_first_response or 0.0 for d in report.days), default=0.0)
    bars = []
    for d in report.days:
        value = d.median_first_response
        height = 0.0 if not value or not longest else max(2.0, 100.0 * value / longest)
        bars.append(
            {
                "date": d.date,
                "needing": d.needing,
                "answered": d.answered,
                "median": duration(value),
                "has_value": value is not None,
                "height": f"{height:.1f}%",
            }
        )
    return bars


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)} %"


def _display(row: response.Row) -> dict[str, Any]:
    """A row of the report with its durations written for people."""
    f, r = row.first_response, row.resolution
    return {
        "name": row.name,
        "needing": row.needing,
        "answered": row.answered,
        "rate": _percent(row.rate),
        "fr_mean": duration(f.mean),
        "fr_median": duration(f.median),
        "fr_p90": duration(f.p90),
        "resolved": r.count,
        "res_mean": duration(r.mean),
        "res_median": duration(r.median),
        "res_p90": duration(r.p90),
    }


def _schedule_text(chosen: response.Settings) -> str:
    if chosen.schedule is None:
        return _("Times are wall-clock time: business hours are not set.")
    days = ", ".join(str(IN_A_SENTENCE[d]) for d in chosen.days)
    return _("Times count business hours only: %(days)s, %(start)s to %(end)s (%(zone)s).") % {
        "days": days,
        "start": f"{chosen.day_start:%H:%M}",
        "end": f"{chosen.day_end:%H:%M}",
        "zone": chosen.zone,
    }


@workspace_view(Perm.INBOX_REPORT)
@require_GET
def report_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    chosen = response.settings_for(here.workspace.pk)
    period = _period(request.GET, chosen.zone)
    problem = period.problem
    try:
        report = response.report(_actor(request), period.since, period.until)
    except response.ResponseError as exc:
        problem = str(exc)
        period = _period(QueryDict(), chosen.zone)
        report = response.report(_actor(request), period.since, period.until)
    spikes = response.recent_spikes(here.workspace.pk)
    query = f"since={report.since.isoformat()}&until={report.until.isoformat()}"
    return render(
        request,
        "web/inbox_report.html",
        {
            "report": report,
            "total": _display(report.total),
            "rows": [
                ("teammates", _("By teammate"), [_display(r) for r in report.by_teammate]),
                ("channels", _("By channel"), [_display(r) for r in report.by_channel]),
            ],
            "chart": _chart(report),
            "problem": problem,
            "presets": PRESETS,
            "query": query,
            "schedule_text": _schedule_text(chosen),
            "alert_minutes": chosen.alert_after_minutes,
            "spikes": spikes,
            "can_configure": can(here.role, Perm.INBOX_SETTINGS),
            "raw_since": request.GET.get("since", report.since.isoformat()),
            "raw_until": request.GET.get("until", report.until.isoformat()),
        },
        status=422 if problem else 200,
    )


@workspace_view(Perm.INBOX_REPORT)
@require_GET
def report_csv(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    period = _period(request.GET, response.settings_for(here.workspace.pk).zone)
    if period.problem:
        return HttpResponse(period.problem, status=422, content_type="text/plain; charset=utf-8")
    try:
        report = response.report(_actor(request), period.since, period.until)
    except response.ResponseError as exc:
        return HttpResponse(str(exc), status=exc.status, content_type="text/plain; charset=utf-8")
    out = HttpResponse(response.report_csv(report), content_type="text/csv; charset=utf-8")
    name = f"response-times-{report.since.isoformat()}-{report.until.isoformat()}.csv"
    out["Content-Disposition"] = f'attachment; filename="{name}"'
    return out


# -- settings ------------------------------------------------------------------------------


class ResponseSettingsForm(django_forms.Form):
    business_hours = django_forms.BooleanField(
        label=gettext_lazy("Count response times in business hours"),
        required=False,
        help_text=gettext_lazy("Off: times are counted on the wall clock, nights and weekends included."),
    )
    days = django_forms.TypedMultipleChoiceField(
        label=gettext_lazy("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=django_forms.CheckboxSelectMultiple,
    )
    day_start = django_forms.TimeField(
        label=gettext_lazy("Working day starts"),
        widget=django_forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    day_end = django_forms.TimeField(
        label=gettext_lazy("Working day ends"),
        widget=django_forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("Earlier than the start: the shift runs overnight into the next morning."),
    )
    timezone = django_forms.CharField(
        label=gettext_lazy("Time zone of the business hours"),
        required=False,
        max_length=64,
        widget=django_forms.TextInput(attrs={"list": "tz-names", "autocomplete": "off"}),
        help_text=gettext_lazy("Empty: the workspace's time zone."),
    )
    holidays = django_forms.CharField(
        label=gettext_lazy("Holidays"),
        required=False,
        widget=django_forms.Textarea(attrs={"rows": 4, "placeholder": "2027-01-01"}),
        help_text=gettext_lazy("One date a line, as YYYY-MM-DD: no business hours on these days."),
    )
    alert_after_minutes = django_forms.IntegerField(
        label=gettext_lazy("Alert when a negative item or complaint waits longer than (minutes)"),
        min_value=0,
        max_value=response.MAX_ALERT_MINUTES,
        help_text=gettext_lazy("0: no such alerts. Counted in business hours when they are on."),
    )
    spike_alerts = django_forms.BooleanField(
        label=gettext_lazy("Alert when negative comments and messages spike on a channel"),
        required=False,
        help_text=gettext_lazy(
            "Each hour is compared with the same hour of the previous two weeks, so the usual evening peak raises no alert."
        ),
    )
    alert_roles = django_forms.MultipleChoiceField(
        label=gettext_lazy("Alert members with these roles"),
        choices=[(r.value, ROLE_LABELS[r]) for r in Role],
        required=False,
        widget=django_forms.CheckboxSelectMultiple,
    )
    alert_user_ids = django_forms.TypedMultipleChoiceField(
        label=gettext_lazy("And these people"),
        coerce=int,
        required=False,
        widget=django_forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people: Any = self.fields["alert_user_ids"]
        people.choices = members

    def clean_holidays(self) -> list[dt.date]:
        found, bad = [], []
        for line in str(self.cleaned_data.get("holidays") or "").replace(",", "\n").splitlines():
            text = line.strip()
            if not text:
                continue
            day = _date(text)
            if day is None:
                bad.append(text)
            else:
                found.append(day)
        if bad:
            raise django_forms.ValidationError(
                _("Not a date: %(value)s (write YYYY-MM-DD).") % {"value": bad[0][:40]}
            )
        return found


def _initial(chosen: response.Settings) -> dict[str, Any]:
    return {
        "business_hours": chosen.business_hours,
        "days": list(chosen.days),
        "day_start": chosen.day_start,
        "day_end": chosen.day_end,
        "timezone": chosen.timezone,
        "holidays": "\n".join(d.isoformat() for d in chosen.holidays),
        "alert_after_minutes": chosen.alert_after_minutes,
        "spike_alerts": chosen.spike_alerts,
        "alert_roles": list(chosen.alert_roles),
        "alert_user_ids": list(chosen.alert_user_ids),
    }


@workspace_view(Perm.INBOX_SETTINGS)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    ws = here.workspace.pk
    chosen = response.settings_for(ws)
    members = [(m.user_id, f"{m.user.display_name} · {m.user.email}") for m in accounts.members(ws)]
    status = 200
    if request.method == "POST":
        form = ResponseSettingsForm(request.POST, members=members)
        if form.is_valid():
            data = form.cleaned_data
            new = response.Settings(
                business_hours=bool(data["business_hours"]),
                days=tuple(sorted(data["days"])),
                day_start=data["day_start"],
                day_end=data["day_end"],
                timezone=str(data["timezone"]).strip(),
                holidays=tuple(data["holidays"]),
                alert_after_minutes=int(data["alert_after_minutes"]),
                spike_alerts=bool(data["spike_alerts"]),
                alert_roles=tuple(data["alert_roles"]),
                alert_user_ids=tuple(data["alert_user_ids"]),
                workspace_timezone=chosen.workspace_timezone,
            )
            try:
                response.save_settings(_actor(request), new)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Inbox settings saved."))
                return redirect("web:inbox_response_settings")
        status = 422
    else:
        form = ResponseSettingsForm(initial=_initial(chosen), members=members)
    return render(
        request,
        "web/inbox_response_settings.html",
        {"form": form, "tz_names": forms.timezone_names(), "workspace_zone": chosen.workspace_timezone},
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("inbox/report/", report_page, name="inbox_report"),
    path("inbox/report.csv", report_csv, name="inbox_report_csv"),
    path("inbox/settings/", settings_page, name="inbox_response_settings"),
]
