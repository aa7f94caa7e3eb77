"""Two-factor sign-in pages: the second step of signing in, setting it up and turning it off on
the profile, the workspace's "require two-factor sign-in", and the gate that sends members of
such a workspace to set it up first (accounts/twofactor.py does the work; decision 0041).

Half signed in: after a right password, a person with two-factor sign-in is not signed in at all.
The session only remembers who passed the password (their id, their password's session hash and
when, for ten minutes); Django's ``auth.login`` runs after the second step. Until then every page
treats the visitor as signed out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import segno
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from rupor.accounts import service as accounts
from rupor.accounts import throttle, twofactor
from rupor.accounts.middleware import RuporRequest
from rupor.accounts.models import User
from rupor.accounts.roles import Perm
from rupor.core import clock
from rupor.web import forms
from rupor.web.base import SignedInRequest, WorkspaceRequest, _actor, workspace_view

PENDING_KEY = "rupor_two_factor_pending"
#: How long the second step may wait after the password.
PENDING_TTL = dt.timedelta(minutes=10)


# -- the second step of signing in -------------------------------------------------------


def start_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponseBase:
    """After a right password: remember who it was (not signed in) and ask for the code."""
    request.session.cycle_key()  # a new session id for the new state, as auth.login does
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"),
        "hash": user.get_session_auth_hash(),
        "at": clock.now().isoformat(),
        "next": next_url,
    }
    return redirect("web:login_two_factor")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The person half signed in on this session, if the password step was recent and still holds."""
    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    try:
        since = dt.datetime.fromisoformat(str(state["at"]))
        user = User.objects.filter(pk=int(state["user"]), is_active=True).first()
    except (KeyError, TypeError, ValueError):
        return None
    if (
        user is None
        or clock.now() - since > PENDING_TTL
        or not constant_time_compare(str(state.get("hash", "")), user.get_session_auth_hash())
        or not accounts.has_two_factor(user.pk)
    ):
        return None
    return user, state


def _too_many(wait: int) -> str:
    return ngettext(
        "Too many wrong codes for this account or from this address. Wait %(count)d second and try again.",
        "Too many wrong codes for this account or from this address. Wait %(count)d seconds and try again.",
        wait,
    ) % {"count": wait}


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request: HttpRequest) -> HttpResponseBase:
    from rupor.web.accounts_views import _with_language

    if request.user.is_authenticated:
        return redirect("web:dashboard")
    found = _pending(request)
    if found is None:
        if request.session.pop(PENDING_KEY, None) is not None:
            messages.info(request, _("Sign in again: the code was not entered in time."))
        return redirect("web:login")
    user, state = found
    form = forms.TwoFactorCodeForm(request.POST or None)
    status, problem = 200, ""
    if request.method == "POST":
        checks = (
            (throttle.TWO_FACTOR_ACCOUNT, user.email),
            (throttle.TWO_FACTOR_ADDRESS, throttle.client_address(request)),
        )
        wait = throttle.wait_seconds(*checks)
        if wait:
            # Refused before the code is looked at, so a right guess teaches nothing.
            form, problem, status = forms.TwoFactorCodeForm(), _too_many(wait), 429
        elif form.is_valid():
            try:
                verified = twofactor.verify(user, form.cleaned_data["code"])
            except twofactor.TwoFactorLocked as exc:
                form, problem, status = forms.TwoFactorCodeForm(), exc.message, 429
            else:
                if verified is not None:
                    throttle.clear(throttle.TWO_FACTOR_ACCOUNT, user.email)
                    request.session.pop(PENDING_KEY, None)
                    auth.login(request, user, backend=str(state["backend"]))
                    if verified.method == "recovery_code":
                        messages.warning(request, _recovery_warning(verified.recovery_left))
                    target = str(state.get("next") or reverse("web:dashboard"))
                    return _with_language(redirect(target), user.language)
                throttle.record_failure(*checks)
                form.add_error(
                    "code",
                    _(
                        "That code is not right. Type the current code from your app, or an unused recovery code."
                    ),
                )
                status = 400
        else:
            status = 400
    return render(
        request,
        "web/login_two_factor.html",
        {"form": form, "problem": problem, "email": user.email},
        status=status,
    )


def _recovery_warning(left: int) -> str:
    return ngettext(
        "You signed in with a recovery code; it cannot be used again. %(count)d code is left: make new ones on your profile.",
        "You signed in with a recovery code; it cannot be used again. %(count)d codes are left: make new ones on your profile if you are running short.",
        left,
    ) % {"count": left}


# -- setting it up, new recovery codes, turning it off -----------------------------------


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG ``data:`` address (the page's policy allows data: images)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2, dark="#111827"))


def _codes_page(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    response = render(request, "web/two_factor_codes.html", {"codes": codes, "first": first})
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: SignedInRequest) -> HttpResponseBase:
    if accounts.has_two_factor(request.user.pk):
        messages.info(request, _("Two-factor sign-in is already on."))
        return redirect("web:profile")
    form = forms.TwoFactorConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                codes = twofactor.confirm(request.user, form.cleaned_data["code"])
            except accounts.AccountsError as exc:
                form.add_error("code" if exc.field == "code" else None, exc.message)
            else:
                messages.success(
                    request, _("Two-factor sign-in is on. Signing in now asks for a code from your app.")
                )
                return _codes_page(request, codes, first=True)
    setup = twofactor.begin(request.user)
    workspace = cast(RuporRequest, request).workspace
    context = {
        "form": form,
        "secret": setup.grouped,
        "qr": qr_data_uri(setup.uri),
        "required_here": workspace is not None and workspace.require_two_factor,
    }
    response = render(request, "web/two_factor_setup.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _proof_refused(
    request: SignedInRequest, prefix: str, form: forms.TwoFactorProofForm, status: int
) -> HttpResponse:
    from rupor.web.accounts_views import profile_page

    return profile_page(request, status=status, **{f"{prefix}_form": form})


def _with_proof(
    request: SignedInRequest, prefix: str, action: Callable[[User, str], Any]
) -> tuple[Any, HttpResponse | None]:
    """Run ``action`` with the password or code the form carries, throttled like sign-in: wrong
    proofs count against the account, so a borrowed session cannot guess the password here."""
    # A password field: what was typed is never rendered back.
    form = forms.TwoFactorProofForm(request.POST, prefix=prefix)
    valid = form.is_valid()
    checks = ((throttle.TWO_FACTOR_ACCOUNT, request.user.email),)
    wait = throttle.wait_seconds(*checks)
    if wait:
        form.add_error(None, _too_many(wait))
        return None, _proof_refused(request, prefix, form, 429)
    if not valid:
        return None, _proof_refused(request, prefix, form, 400)
    try:
        result = action(request.user, form.cleaned_data["proof"])
    except accounts.AccountsError as exc:
        if exc.field == "proof":
            throttle.record_failure(*checks)
        form.add_error("proof" if exc.field == "proof" else None, exc.message)
        return None, _proof_refused(request, prefix, form, exc.status)
    throttle.clear(throttle.TWO_FACTOR_ACCOUNT, request.user.email)
    return result, None


@sensitive_post_parameters("off-proof")
@login_required
@require_POST
def two_factor_disable(request: SignedInRequest) -> HttpResponseBase:
    _result, refused = _with_proof(request, "off", twofactor.disable)
    if refused is not None:
        return refused
    messages.success(request, _("Two-factor sign-in is off. Signing in asks for your password only."))
    return redirect("web:profile")


@sensitive_post_parameters("codes-proof")
@login_required
@require_POST
def two_factor_recovery_codes(request: SignedInRequest) -> HttpResponseBase:
    codes, refused = _with_proof(request, "codes", twofactor.regenerate_codes)
    if refused is not None:
        return refused
    messages.success(request, _("New recovery codes made; the old ones no longer work."))
    return _codes_page(request, list(codes), first=False)


def profile_context(request: SignedInRequest) -> dict[str, Any]:
    """What the profile page shows of two-factor sign-in."""
    workspace = cast(RuporRequest, request).workspace
    return {
        "two_factor": twofactor.status(request.user),
        "two_factor_required_here": workspace is not None and workspace.require_two_factor,
    }


# -- the workspace's requirement ---------------------------------------------------------


@workspace_view(Perm.WORKSPACE_SECURITY)
@require_POST
def workspace_two_factor(request: WorkspaceRequest) -> HttpResponseBase:
    required = request.POST.get("require_two_factor") == "1"
    try:
        accounts.set_two_factor_required(_actor(request), required)
    except accounts.AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Members now need two-factor sign-in to work in this workspace.")
            if required
            else _("Two-factor sign-in is now each member's choice in this workspace."),
        )
    return redirect(reverse("web:workspace_settings") + "#two-factor")


#: Where a member who must set up two-factor sign-in may still go: the set-up itself, the profile,
#: signing out, and another workspace.
OPEN_WITHOUT_TWO_FACTOR = frozenset(
    {
        "web:two_factor_setup",
        "web:profile",
        "web:logout",
        "web:login",
        "web:login_two_factor",
        "web:workspace_switch",
        "web:workspace_new",
        "set_language",
        # Pages open to anyone (they check a token of their own).
        "web:invitation",
        "web:client_review",
        "web:client_review_bare",
        "web:client_review_media",
        "web:giveaway_verify",
        "web:giveaway_public",
        "web:giveaway_file",
        "web:unsubscribe",
    }
)


class TwoFactorRequiredMiddleware:
    """Sends a signed-in member of a workspace that requires two-factor sign-in, who has not set it
    up, to set it up before anything else in that workspace. The API refuses such a session itself
    (api/auth.py); files answer 404 (planning/media.py); API keys are not people and pass."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        here = cast(RuporRequest, request)
        workspace = getattr(here, "workspace", None)
        if (
            workspace is None
            or not workspace.require_two_factor
            or not request.user.is_authenticated
            or request.path_info.startswith(("/api/", "/static/", "/media/"))
            or accounts.has_two_factor(request.user.pk)
        ):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.view_name in OPEN_WITHOUT_TWO_FACTOR or not match.view_name.startswith("web:"):
            return self.get_response(request)
        # The set-up page says which workspace requires it and why it was opened.
        target = reverse("web:two_factor_setup")
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
