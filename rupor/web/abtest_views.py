"""A/B tests: the list, the create/edit form, one test's result (intervals drawn as bars) and
the CSV import of figures. Views parse, call analytics/abtest.py and render."""

from __future__ import annotations

import math
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts.roles import Perm, can
from rupor.analytics import abtest
from rupor.analytics.abtest import ABTestError, ABTestInput, ArmInput
from rupor.analytics.models import ABTest
from rupor.web.base import _actor, _bind_error, workspace_request, workspace_view
from rupor.web.templatetags.analytics_ui import percent

#: Width of the bar chart's plotting area (SVG user units) and the left label column.
CHART_W = 640
LABEL_W = 120


class ABTestForm(djforms.Form):
    name = djforms.CharField(label=gettext_lazy("Name"), max_length=200)
    hypothesis = djforms.CharField(
        label=gettext_lazy("Hypothesis"),
        required=False,
        max_length=2000,
        widget=djforms.Textarea(attrs={"rows": 2}),
    )
    metric = djforms.ChoiceField(label=gettext_lazy("Metric"), choices=[])
    mde = djforms.FloatField(
        label=gettext_lazy("Smallest change worth detecting, %"),
        min_value=1,
        max_value=1000,
        initial=20,
        help_text=gettext_lazy(
            "Relative to A: 20 means B's rate 20% higher (or lower) than A's. It sets the planned sample."
        ),
    )
    baseline = djforms.FloatField(
        label=gettext_lazy("A's expected rate, % (optional)"),
        required=False,
        min_value=0.001,
        max_value=99.999,
        help_text=gettext_lazy(
            "The rate the planned sample is computed from. Empty: A's first rate, kept from then on."
        ),
    )
    a_label = djforms.CharField(label=gettext_lazy("Label"), max_length=100, initial="A")
    a_post = djforms.TypedChoiceField(
        label=gettext_lazy("Published post"), required=False, coerce=int, empty_value=None
    )
    a_successes = djforms.IntegerField(label=gettext_lazy("Successes"), required=False, min_value=0)
    a_trials = djforms.IntegerField(label=gettext_lazy("Trials"), required=False, min_value=0)
    b_label = djforms.CharField(label=gettext_lazy("Label"), max_length=100, initial="B")
    b_post = djforms.TypedChoiceField(
        label=gettext_lazy("Published post"), required=False, coerce=int, empty_value=None
    )
    b_successes = djforms.IntegerField(label=gettext_lazy("Successes"), required=False, min_value=0)
    b_trials = djforms.IntegerField(label=gettext_lazy("Trials"), required=False, min_value=0)

    def __init__(self, *args: Any, posts: list[abtest.PostChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(k.value, v) for k, v in abtest.METRIC_LABELS.items()]  # type: ignore[attr-defined]  # a ChoiceField
        choices: list[tuple[Any, str]] = [("", _("— enter figures instead —"))]
        for p in posts:
            figures = _("reach %(r)s, views %(v)s") % {
                "r": p.reach if p.reach is not None else "—",
                "v": p.views if p.views is not None else "—",
            }
            choices.append((p.id, f"{p.published_at:%Y-%m-%d %H:%M} · {p.excerpt[:60] or '…'} ({figures})"))
        for key in ("a_post", "b_post"):
            self.fields[key].choices = choices  # type: ignore[attr-defined]  # a ChoiceField

    def to_input(self) -> ABTestInput:
        d = self.cleaned_data
        return ABTestInput(
            name=d["name"],
            metric=d["metric"],
            hypothesis=d.get("hypothesis") or "",
            mde=d["mde"] / 100,
            a=ArmInput(d.get("a_label") or "A", d.get("a_post"), d.get("a_successes"), d.get("a_trials")),
            b=ArmInput(d.get("b_label") or "B", d.get("b_post"), d.get("b_successes"), d.get("b_trials")),
            baseline=None if d.get("baseline") is None else d["baseline"] / 100,
        )


def _initial(data: ABTestInput) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": data.name,
        "hypothesis": data.hypothesis,
        "metric": data.metric,
        "mde": round(data.mde * 100, 2),
        "baseline": None if data.baseline is None else round(data.baseline * 100, 3),
    }
    for key, arm in (("a", data.a), ("b", data.b)):
        out.update(
            {
                f"{key}_label": arm.label,
                f"{key}_post": arm.post_stat_id,
                f"{key}_successes": arm.successes,
                f"{key}_trials": arm.trials,
            }
        )
    return out


def _bind(form: ABTestForm, exc: ABTestError) -> None:
    field = (exc.field or "").replace(".", "_").replace("post_stat_id", "post")
    _bind_error(form, field or None, exc.message)


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``raw`` (axis ticks)."""
    if raw <= 0:
        return 0.25
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def bars(result: abtest.Result) -> dict[str, Any] | None:
    """The two rates with their 95% intervals on one scale, as SVG coordinates."""
    arms = [a for a in (result.a, result.b) if a.rate is not None]
    if not arms:
        return None
    highest = max(a.high or 0.0 for a in arms)
    step = nice_step(highest / 4)
    top = step * max(1, math.ceil(highest / step - 1e-9))  # up to four steps, the highest end inside

    def x(value: float) -> float:
        return LABEL_W + value / top * CHART_W

    rows = []
    for i, arm in enumerate((result.a, result.b)):
        if arm.rate is None:
            continue
        y = 16 + i * 44
        rows.append(
            {
                "arm": arm,
                "y": y,
                "mid": y + 12,
                "x0": x(arm.low or 0.0),
                "width": max(1.0, x(arm.high or 0.0) - x(arm.low or 0.0)),
                "cx": x(arm.rate),
                "fill": "#2563eb" if arm.key == "a" else "#16a34a",
                "label": _("%(label)s: %(rate).2f%%, 95%% interval %(low).2f%% to %(high).2f%%")
                % {
                    "label": arm.label,
                    "rate": arm.rate * 100,
                    "low": (arm.low or 0) * 100,
                    "high": (arm.high or 0) * 100,
                },
            }
        )
    count = round(top / step)
    ticks = [
        {"x": x(step * i), "label": percent(step * i, 2 if step < 0.01 else 1 if step < 0.1 else 0)}
        for i in range(count + 1)
    ]
    return {"rows": rows, "ticks": ticks, "width": LABEL_W + CHART_W + 20, "height": 16 + 44 * 2 + 14}


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def ab_list(request: HttpRequest) -> HttpResponseBase:
    return render(
        request,
        "web/analytics_ab_tests.html",
        {
            "tab": "ab_tests",
            "tests": abtest.list_tests(_actor(request)),
            "may_manage": can(workspace_request(request).role, Perm.ANALYTICS_MANAGE),
        },
    )


def _form_page(
    request: HttpRequest, form: ABTestForm, test_id: int | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/analytics_ab_form.html",
        {"tab": "ab_tests", "form": form, "test_id": test_id},
        status=status,
    )


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_http_methods(["GET", "POST"])
def ab_new(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    posts = abtest.post_choices(actor)
    if request.method == "POST":
        form = ABTestForm(request.POST, posts=posts)
        if form.is_valid():
            try:
                made = abtest.create_test(actor, form.to_input())
            except ABTestError as exc:
                _bind(form, exc)
            else:
                messages.success(request, _("The A/B test was created."))
                return redirect("web:analytics_ab_test", test_id=made.id)
        return _form_page(request, form, None, 400)
    return _form_page(request, ABTestForm(posts=posts, initial={"metric": ABTest.Metric.ER_REACH}), None)


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_http_methods(["GET", "POST"])
def ab_edit(request: HttpRequest, test_id: int) -> HttpResponseBase:
    actor = _actor(request)
    try:
        current = abtest.input_of(actor, test_id)
    except ABTestError as exc:
        raise Http404 from exc
    posts = abtest.post_choices(actor)
    if request.method == "POST":
        form = ABTestForm(request.POST, posts=posts)
        if form.is_valid():
            try:
                abtest.update_test(actor, test_id, form.to_input())
            except ABTestError as exc:
                _bind(form, exc)
            else:
                messages.success(request, _("The A/B test was saved."))
                return redirect("web:analytics_ab_test", test_id=test_id)
        return _form_page(request, form, test_id, 400)
    return _form_page(request, ABTestForm(posts=posts, initial=_initial(current)), test_id)


def _detail_page(
    request: HttpRequest, test_id: int, status: int = 200, import_error: str = ""
) -> HttpResponse:
    try:
        res = abtest.get_test(_actor(request), test_id)
    except ABTestError as exc:
        raise Http404 from exc
    progress = None
    if res.planned:
        done = min(res.a.trials or 0, res.b.trials or 0)
        progress = min(100, round(done / res.planned * 100))
    return render(
        request,
        "web/analytics_ab_test.html",
        {
            "tab": "ab_tests",
            "t": res,
            "chart": bars(res),
            "progress": progress,
            "alpha": 5,
            "power": 80,
            "may_manage": can(workspace_request(request).role, Perm.ANALYTICS_MANAGE),
            "import_error": import_error,
        },
        status=status,
    )


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def ab_detail(request: HttpRequest, test_id: int) -> HttpResponseBase:
    return _detail_page(request, test_id)


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_POST
def ab_import(request: HttpRequest, test_id: int) -> HttpResponseBase:
    upload = request.FILES.get("file")
    text = request.POST.get("text", "")
    try:
        if upload is not None:
            if upload.size is not None and upload.size > abtest.MAX_CSV_BYTES:
                raise ABTestError(_("The file is too large for two rows of figures."), "file", 413)
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise ABTestError(_("The file is not UTF-8 text (save it as CSV UTF-8)."), "file") from None
        abtest.import_figures(_actor(request), test_id, text)
    except ABTestError as exc:
        if exc.status == 404:
            raise Http404 from exc
        return _detail_page(request, test_id, status=400, import_error=exc.message)
    messages.success(request, _("The figures were imported."))
    return redirect(reverse("web:analytics_ab_test", args=[test_id]))


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_POST
def ab_delete(request: HttpRequest, test_id: int) -> HttpResponseBase:
    try:
        abtest.delete_test(_actor(request), test_id)
    except ABTestError as exc:
        raise Http404 from exc
    messages.success(request, _("The A/B test was deleted."))
    return redirect("web:analytics_ab_tests")


urlpatterns: list[URLPattern] = [
    path("analytics/ab-tests/", ab_list, name="analytics_ab_tests"),
    path("analytics/ab-tests/new/", ab_new, name="analytics_ab_new"),
    path("analytics/ab-tests/<int:test_id>/", ab_detail, name="analytics_ab_test"),
    path("analytics/ab-tests/<int:test_id>/edit/", ab_edit, name="analytics_ab_edit"),
    path("analytics/ab-tests/<int:test_id>/import/", ab_import, name="analytics_ab_import"),
    path("analytics/ab-tests/<int:test_id>/delete/", ab_delete, name="analytics_ab_delete"),
]
