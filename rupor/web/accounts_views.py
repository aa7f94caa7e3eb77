"""Accounts pages: signing in and out, invitations, workspaces (new, switch, settings), members,
API keys and the profile."""

from __future__ import annotations

import base64
import logging
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts import service as accounts
from rupor.accounts import throttle
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import Invitation, User, Workspace
from rupor.accounts.roles import GRANTABLE, ROLE_HELP, ROLE_LABELS, Perm, Role, can
from rupor.notifications import service as notifications
from rupor.planning import ical
from rupor.web import forms, twofactor_views
from rupor.web.base import (
    SignedInRequest,
    WorkspaceRequest,
    _actor,
    _bind_error,
    _safe_next,
    workspace_view,
)

log = logging.getLogger(__name__)


def _grantable(role: Role | str | None) -> list[Role]:
    if role is None:
        return []
    allowed = GRANTABLE.get(Role(role), frozenset())
    return [r for r in Role if r in allowed]


# -- sign in -----------------------------------------------------------------------------


def _with_language(response: HttpResponseBase, language: str) -> HttpResponseBase:
    if language and language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        return redirect("web:dashboard")
    form = forms.LoginForm(request, data=request.POST or None)
    status, throttled = 200, ""
    if request.method == "POST":
        checks = (
            (throttle.SIGN_IN_ACCOUNT, request.POST.get("username", "")),
            (throttle.SIGN_IN_ADDRESS, throttle.client_address(request)),
        )
        wait = throttle.wait_seconds(*checks)
        if wait:
            # Refused before the password is looked at, so a right guess teaches nothing.
            form = forms.LoginForm(request, data=None, initial={"username": request.POST.get("username", "")})
            throttled = ngettext(
                "Too many failed sign-ins for this account or from this address. Wait %(count)d second and try again.",
                "Too many failed sign-ins for this account or from this address. Wait %(count)d seconds and try again.",
                wait,
            ) % {"count": wait}
            status = 429
        elif form.is_valid():
            user = form.get_user()
            throttle.clear(throttle.SIGN_IN_ACCOUNT, user.email)
            if accounts.has_two_factor(user.pk):
                # Not signed in yet: the second step signs in (twofactor_views).
                return twofactor_views.start_second_step(request, user, _safe_next(request, "web:dashboard"))
            auth.login(request, user)
            return _with_language(redirect(_safe_next(request, "web:dashboard")), user.language)
        elif form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            throttle.record_failure(*checks)
    context = {"form": form, "next": request.GET.get("next", ""), "throttled": throttled}
    return render(request, "web/login.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    auth.logout(request)
    messages.success(request, _("You are signed out."))
    return redirect(_safe_next(request, "web:login"))


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponseBase:
    invitation = accounts.find_invitation(token)
    if invitation is None:
        return render(request, "web/invitation.html", {"invalid": True}, status=404)
    existing = User.objects.filter(email=invitation.email).first()
    form = forms.AcceptInvitationForm(request.POST or None)
    context: dict[str, Any] = {
        "invitation": invitation,
        "role_label": ROLE_LABELS[Role(invitation.role)],
        "existing": existing,
        "form": form,
    }
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            # The invitation belongs to its address: another account cannot take it.
            return render(request, "web/invitation.html", {**context, "wrong_account": True}, status=403)
        if request.method == "POST":
            return _join(request, token, request.user)
        return render(request, "web/invitation.html", context)
    if existing is not None:
        # Someone with an account signs in first and comes back here to accept.
        return render(request, "web/invitation.html", context)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.create_user(
                invitation.email, form.cleaned_data["password1"], name=form.cleaned_data["name"]
            )
        except accounts.AccountsError as exc:
            _bind_error(form, "password1" if exc.field == "password" else exc.field, exc.message)
        else:
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return _join(request, token, user)
    return render(request, "web/invitation.html", context)


def _join(request: HttpRequest, token: str, user: User) -> HttpResponseBase:
    try:
        membership = accounts.accept_invitation(token, user)
    except accounts.AccountsError as exc:
        messages.error(request, exc.message)
        return redirect("web:dashboard")
    request.session[SESSION_KEY] = membership.workspace.slug
    messages.success(request, _("Welcome to %(workspace)s.") % {"workspace": membership.workspace.name})
    return redirect("web:dashboard")


# -- workspaces --------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def workspace_new(request: SignedInRequest) -> HttpResponseBase:
    current = request.workspace
    form = forms.WorkspaceForm(
        request.POST or None, initial={"timezone": current.timezone if current else "UTC"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            workspace = accounts.create_workspace(
                form.cleaned_data["name"],
                request.user,
                timezone=form.cleaned_data["timezone"],
            )
        except accounts.AccountsError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            request.session[SESSION_KEY] = workspace.slug
            messages.success(
                request, _("Workspace “%(name)s” created. Connect a channel next.") % {"name": workspace.name}
            )
            return redirect("web:dashboard")
    return render(request, "web/workspace_new.html", {"form": form, "tz_names": forms.timezone_names()})


@login_required
@require_POST
def workspace_switch(request: SignedInRequest) -> HttpResponseBase:
    slug = request.POST.get("workspace", "")
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None or accounts.role_of(request.user, workspace) is None:
        raise Http404
    request.session[SESSION_KEY] = workspace.slug
    messages.info(request, _("You are now working in %(name)s.") % {"name": workspace.name})
    nxt = _safe_next(request, "web:dashboard")
    return redirect(nxt)


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: WorkspaceRequest) -> HttpResponseBase:
    form = forms.WorkspaceSettingsForm(request.POST or None, initial=_settings_initial(request.workspace))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.update_workspace(
                _actor(request),
                name=data["name"],
                timezone=data["timezone"],
                late_window_minutes=data["late_window_minutes"],
                approval=data["approval"],
            )
        except accounts.AccountsError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("web:workspace_settings")
    return settings_page(request, form)


def _settings_initial(ws: Workspace) -> dict[str, Any]:
    return {
        "name": ws.name,
        "timezone": ws.timezone,
        "late_window_minutes": ws.late_window_minutes,
        "approval": ws.approval,
    }


def settings_page(
    request: WorkspaceRequest,
    form: forms.WorkspaceSettingsForm | None = None,
    webhook_form: forms.WebhookForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The settings page: the workspace's own settings and, for those allowed, its webhooks."""
    ws = request.workspace
    if form is None:
        form = forms.WorkspaceSettingsForm(initial=_settings_initial(ws))
    context: dict[str, Any] = {"form": form, "tz_names": forms.timezone_names(), **extra}
    logo = accounts.logo_png(ws.pk)
    context["logo"] = "data:image/png;base64," + base64.b64encode(logo).decode("ascii") if logo else ""
    if can(request.role, Perm.WEBHOOKS_MANAGE):
        context["webhooks"] = notifications.endpoints(ws.pk)
        context["webhook_form"] = webhook_form or forms.WebhookForm(events=notifications.EVENTS)
        context["event_labels"] = notifications.EVENTS
        context["signature_header"] = notifications.SIGNATURE_HEADER
    return render(request, "web/workspace_settings.html", context, status=status)


# -- members -----------------------------------------------------------------------------


def _members_page(request: WorkspaceRequest, invite_form: forms.InviteForm, **extra: Any) -> HttpResponse:
    ws = request.workspace
    role = request.role
    grantable = _grantable(role)
    rows = []
    memberships = list(accounts.members(ws.pk))
    with_two_factor = accounts.two_factor_users([m.user_id for m in memberships])
    for m in memberships:
        rows.append(
            {
                "membership": m,
                "two_factor": m.user_id in with_two_factor,
                "role_label": ROLE_LABELS[Role(m.role)],
                "manageable": can(role, Perm.MEMBERS_MANAGE)
                and Role(m.role) in grantable
                and m.user_id != request.user.pk,
                "form": forms.RoleForm(initial={"role": m.role}, roles=grantable, prefix=f"m{m.pk}"),
                # Approvers' own replies go out; the others' may be set to wait (decision 0012).
                "may_need_approval": can(m.role, Perm.INBOX_REPLY) and not can(m.role, Perm.INBOX_APPROVE),
            }
        )
    return render(
        request,
        "web/members.html",
        {
            "rows": rows,
            "invite_form": invite_form,
            "role_help": [(ROLE_LABELS[r], ROLE_HELP[r]) for r in Role],
            "role_help_map": {r.value: ROLE_HELP[r] for r in Role},
            "invitations": accounts.pending_invitations(ws.pk) if can(role, Perm.MEMBERS_MANAGE) else [],
            "two_factor_required": ws.require_two_factor,
            **extra,
        },
        status=extra.pop("status", 200),
    )


@workspace_view(Perm.MEMBERS_VIEW)
@require_GET
def members(request: WorkspaceRequest) -> HttpResponseBase:
    return _members_page(request, forms.InviteForm(roles=_grantable(request.role)))


@workspace_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_invite(request: WorkspaceRequest) -> HttpResponseBase:
    form = forms.InviteForm(request.POST, roles=_grantable(request.role))
    if form.is_valid():
        try:
            invitation, token = accounts.invite(
                _actor(request), form.cleaned_data["email"], form.cleaned_data["role"]
            )
        except accounts.AccountsError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            link = request.build_absolute_uri(reverse("web:invitation", args=[token]))
            sent = _send_invitation(request, invitation, link)
            # The link is shown once, in this response only; it is never stored in clear.
            return _members_page(
                request,
                forms.InviteForm(roles=_grantable(request.role)),
                new_invitation={"email": invitation.email, "link": link, "sent": sent},
            )
    return _members_page(request, form, status=400)


def _send_invitation(request: WorkspaceRequest, invitation: Invitation, link: str) -> bool:
    ws = request.workspace
    inviter = request.user.display_name
    subject = _("%(inviter)s invites you to %(workspace)s on Rupor") % {
        "inviter": inviter,
        "workspace": ws.name,
    }
    body = _(
        "Hello,\n\n%(inviter)s invites you to the workspace “%(workspace)s” on Rupor as %(role)s.\n\n"
        "Accept the invitation here (the link works for 7 days):\n%(link)s\n"
    ) % {"inviter": inviter, "workspace": ws.name, "role": ROLE_LABELS[Role(invitation.role)], "link": link}
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:  # mail is a courtesy; the link on screen is the fallback
        log.warning("could not send the invitation email for workspace %s", ws.pk, exc_info=True)
        return False
    return True


@workspace_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_role(request: WorkspaceRequest, membership_id: int) -> HttpResponseBase:
    form = forms.RoleForm(request.POST, roles=list(Role), prefix=f"m{membership_id}")
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("web:members")
    try:
        membership = accounts.change_role(_actor(request), membership_id, form.cleaned_data["role"])
    except accounts.AccountsError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": ROLE_LABELS[Role(membership.role)]},
        )
    return redirect("web:members")


@workspace_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_reply_approval(request: WorkspaceRequest, membership_id: int) -> HttpResponseBase:
    required = request.POST.get("required") == "1"
    try:
        membership = accounts.set_reply_approval(_actor(request), membership_id, required)
    except accounts.AccountsError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        done = (
            _("%(email)s's inbox replies now wait for approval.")
            if required
            else _("%(email)s's inbox replies now go out directly.")
        )
        messages.success(request, done % {"email": membership.user.email})
    return redirect("web:members")


@workspace_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_remove(request: WorkspaceRequest, membership_id: int) -> HttpResponseBase:
    try:
        with transaction.atomic():
            revoked = accounts.remove_member(_actor(request), membership_id)
            # The calendar address may have been copied by the person leaving: replace it.
            ical.rotate_feed(_actor(request))
    except accounts.AccountsError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "The member was removed from this workspace; %(count)d API key they created was revoked and the calendar (iCal) address was replaced.",
                "The member was removed from this workspace; %(count)d API keys they created were revoked and the calendar (iCal) address was replaced.",
                revoked,
            )
            % {"count": revoked},
        )
    return redirect("web:members")


# -- API keys ----------------------------------------------------------------------------


def _api_keys_page(
    request: WorkspaceRequest, form: forms.ApiKeyForm, status: int = 200, **extra: Any
) -> HttpResponse:
    keys = [
        {"key": k, "role_label": ROLE_LABELS[Role(k.role)]} for k in accounts.api_keys(request.workspace.pk)
    ]
    docs = request.build_absolute_uri("/api/v1/docs")
    return render(
        request, "web/api_keys.html", {"form": form, "keys": keys, "docs_url": docs, **extra}, status=status
    )


@workspace_view(Perm.APIKEYS_MANAGE)
@require_http_methods(["GET", "POST"])
def api_keys(request: WorkspaceRequest) -> HttpResponseBase:
    roles = _grantable(request.role)
    if request.method == "POST":
        form = forms.ApiKeyForm(request.POST, roles=roles)
        if form.is_valid():
            try:
                new = accounts.create_api_key(
                    _actor(request),
                    request.workspace,
                    form.cleaned_data["role"],
                    name=form.cleaned_data["name"],
                )
            except accounts.AccountsError as exc:
                _bind_error(form, exc.field, exc.message)
            else:
                return _api_keys_page(
                    request, forms.ApiKeyForm(roles=roles), new_key=new, new_role=ROLE_LABELS[new.role]
                )
        return _api_keys_page(request, form, status=400)
    return _api_keys_page(request, forms.ApiKeyForm(roles=roles))


@workspace_view(Perm.APIKEYS_MANAGE)
@require_POST
def api_key_revoke(request: WorkspaceRequest, key_id: int) -> HttpResponseBase:
    try:
        accounts.revoke_api_key(_actor(request), key_id)
    except accounts.AccountsError as exc:
        raise Http404 from exc
    messages.success(request, _("The key was revoked; anything using it stops working now."))
    return redirect("web:api_keys")


# -- profile -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: SignedInRequest) -> HttpResponseBase:
    user = request.user
    current_language = user.language or translation.get_language() or settings.LANGUAGE_CODE
    profile_form = forms.ProfileForm(
        request.POST if request.POST.get("form") == "profile" else None,
        initial={"name": user.name, "language": current_language[:2]},
    )
    password_form = PasswordChangeForm(user, request.POST if request.POST.get("form") == "password" else None)
    if request.method == "POST":
        if request.POST.get("form") == "profile" and profile_form.is_valid():
            # Local stand-in for a missing ``accounts.service.update_profile``.
            user.name = profile_form.cleaned_data["name"].strip()
            user.language = profile_form.cleaned_data["language"]
            user.save(update_fields=["name", "language"])
            translation.activate(user.language)
            messages.success(request, _("Profile saved."))
            return _with_language(redirect("web:profile"), user.language)
        if request.POST.get("form") == "password" and password_form.is_valid():
            password_form.save()
            auth.update_session_auth_hash(request, password_form.user)
            messages.success(request, _("Password changed."))
            return redirect("web:profile")
    status = 400 if request.method == "POST" else 200
    return profile_page(request, profile_form=profile_form, password_form=password_form, status=status)


def profile_page(request: SignedInRequest, status: int = 200, **forms_given: Any) -> HttpResponse:
    """The profile page with the forms given (the others empty), two-factor sign-in included."""
    user = request.user
    current_language = user.language or translation.get_language() or settings.LANGUAGE_CODE
    context = {
        "profile_form": forms.ProfileForm(initial={"name": user.name, "language": current_language[:2]}),
        "password_form": PasswordChangeForm(user),
        "off_form": forms.TwoFactorProofForm(prefix="off"),
        "codes_form": forms.TwoFactorProofForm(prefix="codes"),
        **twofactor_views.profile_context(request),
        **forms_given,
    }
    return render(request, "web/profile.html", context, status=status)
