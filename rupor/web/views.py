"""Pages of the web UI. Views parse input, call a domain's service, and render; every view that
touches a workspace checks the role's permission on the server (hidden links are not a check)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django import forms as djforms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts import service as accounts
from rupor.accounts import throttle
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import Invitation, User, Workspace
from rupor.accounts.roles import GRANTABLE, ROLE_HELP, ROLE_LABELS, Perm, Role, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.timezones import LocalTimeError, to_utc, zone
from rupor.networks import registry
from rupor.networks.base import Capability, CredentialField
from rupor.notifications import service as notifications
from rupor.planning import approvals, compose, ical
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import Media, Post, PostVariant, Review
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web import forms, previews

log = logging.getLogger(__name__)
P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


# -- access ------------------------------------------------------------------------------


def workspace_view(perm: Perm) -> Callable[[View[P]], View[P]]:
    """Login required, a current workspace required, and ``perm`` in it — else 403.

    Times render in the workspace's zone for the length of the request.
    """

    def decorate(view: View[P]) -> View[P]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            workspace: Workspace | None = getattr(request, "workspace", None)
            if workspace is None:
                messages.info(request, _("Create your first workspace to get started."))
                return redirect("web:workspace_new")
            if not can(request.role, perm):  # type: ignore[attr-defined]
                raise PermissionDenied(_("Your role in this workspace does not allow this."))
            timezone.activate(zone(workspace.timezone))
            try:
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        wrapper.required_perm = perm  # type: ignore[attr-defined]  # read by the role matrix test
        return wrapper

    return decorate


def _actor(request: HttpRequest) -> accounts.Actor:
    user: User = request.user  # type: ignore[assignment]
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    return accounts.Actor(workspace.pk, Role(request.role), user_id=user.pk, label=user.email)  # type: ignore[attr-defined]


def _ws(request: HttpRequest) -> Workspace:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    return workspace


def _bind_error(form: djforms.Form, field: str | None, message: str) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    name = (field or "").split(".")[-1] if field else None
    if field and field.startswith("credentials."):
        name = forms.CRED_PREFIX + field.split(".", 1)[1]
    form.add_error(name if name in form.fields else None, message)


def _grantable(role: Role | str | None) -> list[Role]:
    if role is None:
        return []
    allowed = GRANTABLE.get(Role(role), frozenset())
    return [r for r in Role if r in allowed]


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only a path on this site: redirect() would read a bare word ("abc") as a view name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


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
def workspace_new(request: HttpRequest) -> HttpResponseBase:
    current = getattr(request, "workspace", None)
    form = forms.WorkspaceForm(
        request.POST or None, initial={"timezone": current.timezone if current else "UTC"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            workspace = accounts.create_workspace(
                form.cleaned_data["name"],
                request.user,  # type: ignore[arg-type]  # login_required: an authenticated User
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
def workspace_switch(request: HttpRequest) -> HttpResponseBase:
    slug = request.POST.get("workspace", "")
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None or accounts.role_of(request.user, workspace) is None:  # type: ignore[arg-type]
        raise Http404
    request.session[SESSION_KEY] = workspace.slug
    messages.info(request, _("You are now working in %(name)s.") % {"name": workspace.name})
    nxt = _safe_next(request, "web:dashboard")
    return redirect(nxt)


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponseBase:
    form = forms.WorkspaceSettingsForm(request.POST or None, initial=_settings_initial(_ws(request)))
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
    return _settings_page(request, form)


def _settings_initial(ws: Workspace) -> dict[str, Any]:
    return {
        "name": ws.name,
        "timezone": ws.timezone,
        "late_window_minutes": ws.late_window_minutes,
        "approval": ws.approval,
    }


def _settings_page(
    request: HttpRequest,
    form: forms.WorkspaceSettingsForm | None = None,
    webhook_form: forms.WebhookForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The settings page: the workspace's own settings and, for those allowed, its webhooks."""
    ws = _ws(request)
    if form is None:
        form = forms.WorkspaceSettingsForm(initial=_settings_initial(ws))
    context: dict[str, Any] = {"form": form, "tz_names": forms.timezone_names(), **extra}
    if can(request.role, Perm.WEBHOOKS_MANAGE):  # type: ignore[attr-defined]
        context["webhooks"] = notifications.endpoints(ws.pk)
        context["webhook_form"] = webhook_form or forms.WebhookForm(events=notifications.EVENTS)
        context["event_labels"] = notifications.EVENTS
        context["signature_header"] = notifications.SIGNATURE_HEADER
    return render(request, "web/workspace_settings.html", context, status=status)


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_create(request: HttpRequest) -> HttpResponseBase:
    form = forms.WebhookForm(request.POST, events=notifications.EVENTS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            new = notifications.create_endpoint(
                _ws(request).pk, data["url"], events=data["events"], description=data["description"]
            )
        except notifications.NotificationsError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            return _settings_page(request, new_endpoint=new)
    return _settings_page(request, webhook_form=form, status=400)


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponseBase:
    try:
        notifications.remove_endpoint(_ws(request).pk, endpoint_id)
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    messages.success(request, _("The webhook endpoint was deleted; Rupor sends it nothing more."))
    return redirect("web:workspace_settings")


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponseBase:
    try:
        result = notifications.send_test(_ws(request).pk, endpoint_id)
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    if result.state == "sent":
        messages.success(request, _("The test event was delivered."))
    else:
        messages.error(
            request, _("The test event was not delivered: %(error)s") % {"error": result.last_error}
        )
    return redirect("web:workspace_settings")


# -- dashboard ---------------------------------------------------------------------------


def _target_rows(posts: list[Post]) -> dict[int, list[dict[str, Any]]]:
    """Per post: each channel with its publication target's state."""
    variants = [v for p in posts for v in p.variants.all()]
    states = publishing.summaries([v.pk for v in variants])
    labels = dict(TargetState.choices)
    rows: dict[int, list[dict[str, Any]]] = {}
    for post in posts:
        rows[post.pk] = []
        for v in post.variants.all():
            summary = states.get(v.pk)
            state = summary.state if summary else TargetState.DRAFT
            rows[post.pk].append(
                {
                    "channel": v.channel,
                    "state": state,
                    "label": labels.get(state, state),
                    "error": summary.error_message if summary else "",
                    "url": summary.remote_url if summary else "",
                    "target_id": summary.id if summary else None,
                }
            )
    return rows


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponseBase:
    if getattr(request, "workspace", None) is None:
        return render(
            request,
            "web/welcome.html",
            {"form": forms.WorkspaceForm(initial={"timezone": "UTC"}), "tz_names": forms.timezone_names()},
        )
    return _dashboard(request)


@workspace_view(Perm.WORKSPACE_VIEW)
def _dashboard(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    role = request.role  # type: ignore[attr-defined]
    local_now = clock.now().astimezone(zone(ws.timezone))
    today = local_now.date()
    start = to_utc(dt.datetime.combine(today, dt.time()), ws.timezone)
    end = to_utc(dt.datetime.combine(today + dt.timedelta(days=8), dt.time()), ws.timezone)
    posts: list[Post] = []
    days: list[dict[str, Any]] = []
    if can(role, Perm.POSTS_VIEW):
        posts = list(
            planning.with_publication(
                list(planning.list_posts(ws.pk, start=start, end=end).order_by("scheduled_at", "id"))
            )
        )
        rows = _target_rows(posts)
        by_day: dict[dt.date, list[dict[str, Any]]] = {}
        for post in posts:
            assert post.scheduled_at is not None
            day = post.scheduled_at.astimezone(zone(ws.timezone)).date()
            by_day.setdefault(day, []).append({"post": post, "targets": rows[post.pk]})
        for offset in range(8):
            day = today + dt.timedelta(days=offset)
            days.append({"date": day, "is_today": offset == 0, "items": by_day.get(day, [])})
    counts = publishing.counts_by_state(ws.pk) if can(role, Perm.POSTS_VIEW) else {}
    state_counts = [
        {"state": s, "label": label, "count": counts.get(s, 0)}
        for s, label in TargetState.choices
        if s
        in (
            TargetState.SCHEDULED,
            TargetState.PUBLISHED,
            TargetState.FAILED,
            TargetState.MISSED,
            TargetState.UNCONFIRMED,
            TargetState.HELD,
        )
    ]
    channel_list = list(channels.list_channels(ws.pk)) if can(role, Perm.CHANNELS_VIEW) else []
    attention = [c for c in channel_list if c.status == Channel.Status.RECONNECT]
    post_total = planning.list_posts(ws.pk).count() if can(role, Perm.POSTS_VIEW) else 0
    member_total = accounts.members(ws.pk).count()
    steps: list[dict[str, Any]] = [
        {
            "done": bool(channel_list),
            "title": _("Connect a channel"),
            "text": _("A Telegram channel, a VK community or another account."),
            "url": reverse("web:channels"),
            "perm": Perm.CHANNELS_MANAGE,
        },
        {
            "done": member_total > 1,
            "title": _("Invite your team"),
            "text": _("Give each person the role they need."),
            "url": reverse("web:members"),
            "perm": Perm.MEMBERS_MANAGE,
        },
        {
            "done": post_total > 0,
            "title": _("Plan your first post"),
            "text": _("Write once, adapt per channel, pick a time."),
            "url": reverse("web:post_new"),
            "perm": Perm.POSTS_EDIT,
        },
    ]
    steps = [s for s in steps if can(role, s["perm"])]
    return render(
        request,
        "web/dashboard.html",
        {
            "days": days,
            "state_counts": state_counts,
            "attention": attention,
            "steps": steps,
            "show_steps": any(not s["done"] for s in steps),
            "local_now": local_now,
        },
    )


# -- members -----------------------------------------------------------------------------


def _members_page(request: HttpRequest, invite_form: forms.InviteForm, **extra: Any) -> HttpResponse:
    ws = _ws(request)
    role = request.role  # type: ignore[attr-defined]
    grantable = _grantable(role)
    rows = []
    for m in accounts.members(ws.pk):
        rows.append(
            {
                "membership": m,
                "role_label": ROLE_LABELS[Role(m.role)],
                "manageable": can(role, Perm.MEMBERS_MANAGE)
                and Role(m.role) in grantable
                and m.user_id != request.user.pk,
                "form": forms.RoleForm(initial={"role": m.role}, roles=grantable, prefix=f"m{m.pk}"),
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
            **extra,
        },
        status=extra.pop("status", 200),
    )


@workspace_view(Perm.MEMBERS_VIEW)
@require_GET
def members(request: HttpRequest) -> HttpResponseBase:
    return _members_page(request, forms.InviteForm(roles=_grantable(request.role)))  # type: ignore[attr-defined]


@workspace_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_invite(request: HttpRequest) -> HttpResponseBase:
    form = forms.InviteForm(request.POST, roles=_grantable(request.role))  # type: ignore[attr-defined]
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
                forms.InviteForm(roles=_grantable(request.role)),  # type: ignore[attr-defined]
                new_invitation={"email": invitation.email, "link": link, "sent": sent},
            )
    return _members_page(request, form, status=400)


def _send_invitation(request: HttpRequest, invitation: Invitation, link: str) -> bool:
    ws = _ws(request)
    inviter = request.user.display_name  # type: ignore[union-attr]
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
def member_role(request: HttpRequest, membership_id: int) -> HttpResponseBase:
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
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponseBase:
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
    request: HttpRequest, form: forms.ApiKeyForm, status: int = 200, **extra: Any
) -> HttpResponse:
    keys = [{"key": k, "role_label": ROLE_LABELS[Role(k.role)]} for k in accounts.api_keys(_ws(request).pk)]
    docs = request.build_absolute_uri("/api/v1/docs")
    return render(
        request, "web/api_keys.html", {"form": form, "keys": keys, "docs_url": docs, **extra}, status=status
    )


@workspace_view(Perm.APIKEYS_MANAGE)
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponseBase:
    roles = _grantable(request.role)  # type: ignore[attr-defined]
    if request.method == "POST":
        form = forms.ApiKeyForm(request.POST, roles=roles)
        if form.is_valid():
            try:
                new = accounts.create_api_key(
                    _actor(request), _ws(request), form.cleaned_data["role"], name=form.cleaned_data["name"]
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
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponseBase:
    try:
        accounts.revoke_api_key(_actor(request), key_id)
    except accounts.AccountsError as exc:
        raise Http404 from exc
    messages.success(request, _("The key was revoked; anything using it stops working now."))
    return redirect("web:api_keys")


# -- channels ----------------------------------------------------------------------------


def _credential_fields(network: str) -> tuple[CredentialField, ...] | None:
    """The network's credential fields, or ``None`` when Rupor has no adapter for it yet."""
    if network not in registry.available():
        return None
    return registry.adapter(network).credential_fields


def _networks() -> list[dict[str, Any]]:
    available = set(registry.available())
    return [
        {"key": key, "name": name, "available": key in available}
        for key, name in registry.DISPLAY_NAMES.items()
    ]


@workspace_view(Perm.CHANNELS_VIEW)
@require_GET
def channel_list(request: HttpRequest) -> HttpResponseBase:
    items = list(channels.list_channels(_ws(request).pk))
    return render(request, "web/channels.html", {"channels": items, "networks": _networks()})


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_connect(request: HttpRequest, network: str) -> HttpResponseBase:
    if network not in registry.DISPLAY_NAMES:
        raise Http404
    fields = _credential_fields(network)
    if fields is None:
        messages.info(
            request,
            _("Rupor cannot connect to %(network)s yet.") % {"network": registry.DISPLAY_NAMES[network]},
        )
        return redirect("web:channels")
    form = forms.ChannelForm(request.POST or None, fields=fields)
    if request.method == "POST" and form.is_valid():
        data = channels.ChannelInput(
            network=network,
            name=form.cleaned_data["name"],
            remote_id=form.cleaned_data["remote_id"],
            credentials=form.credentials(),
            base_url=form.cleaned_data["base_url"],
        )
        try:
            channel = channels.connect(_actor(request), data)
        except channels.ChannelError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            messages.success(request, _("%(name)s is connected.") % {"name": channel.name})
            return redirect("web:channels")
    return render(
        request,
        "web/channel_form.html",
        {"form": form, "network": network, "network_name": registry.DISPLAY_NAMES[network], "channel": None},
        status=400 if form.is_bound and form.errors else 200,
    )


def _get_channel(request: HttpRequest, channel_id: int) -> Channel:
    try:
        return channels.get_channel(_ws(request).pk, channel_id)
    except channels.ChannelError as exc:
        raise Http404 from exc


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponseBase:
    channel = _get_channel(request, channel_id)
    fields = _credential_fields(channel.network) or ()
    initial = {
        "name": channel.name,
        "base_url": channel.base_url,
        "status": "paused" if channel.status == Channel.Status.PAUSED else "active",
    }
    for f in fields:
        if not f.secret:
            initial[forms.CRED_PREFIX + f.name] = channel.get_credentials().get(f.name, "")
    form = forms.ChannelForm(request.POST or None, fields=fields, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes: dict[str, Any] = {"name": form.cleaned_data["name"] or channel.name}
        if (form.cleaned_data["base_url"] or "").rstrip("/") != channel.base_url:
            changes["base_url"] = form.cleaned_data["base_url"]  # a new address is verified again
        creds = form.credentials()
        if creds:
            changes["credentials"] = creds
        if channel.status != Channel.Status.RECONNECT or form.cleaned_data["status"] == "paused":
            changes["status"] = form.cleaned_data["status"]
        try:
            channels.update(_actor(request), channel.pk, changes)
        except channels.ChannelError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": changes["name"]})
            return redirect("web:channels")
    return render(
        request,
        "web/channel_form.html",
        {
            "form": form,
            "network": channel.network,
            "network_name": registry.DISPLAY_NAMES.get(channel.network, channel.network),
            "channel": channel,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_remove(request: HttpRequest, channel_id: int) -> HttpResponseBase:
    channel = _get_channel(request, channel_id)
    if request.method == "POST":
        try:
            channels.remove(_actor(request), channel.pk)
        except channels.ChannelError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s was removed.") % {"name": channel.name})
        return redirect("web:channels")
    return render(
        request,
        "web/confirm.html",
        {
            "title": _("Remove %(name)s?") % {"name": channel.name},
            "text": _(
                "Posts not published yet on this channel are cancelled. Published posts keep their history."
            ),
            "action": _("Remove channel"),
            "cancel_url": reverse("web:channels"),
        },
    )


# -- posts -------------------------------------------------------------------------------


POST_STATUS_FILTERS = [Post.Status.DRAFT, Post.Status.SCHEDULED, Post.Status.IN_REVIEW, Post.Status.CANCELLED]


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def post_list(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    status = request.GET.get("status", "")
    if status not in dict(planning.SHOWN_STATUSES):
        status = ""
    channel_id = forms.parse_id(request.GET.get("channel"))
    qs = planning.list_posts(ws.pk, status=status or None, channel_id=channel_id).order_by(
        F("scheduled_at").desc(nulls_first=True), "-id"
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    posts = list(planning.with_publication(list(page.object_list)))
    rows = _target_rows(posts)
    return render(
        request,
        "web/posts.html",
        {
            "page": page,
            "items": [{"post": p, "targets": rows[p.pk]} for p in posts],
            "status": status,
            "channel_id": channel_id,
            "statuses": planning.SHOWN_STATUSES,
            "channels": list(channels.list_channels(ws.pk)),
            "filtered": bool(status or channel_id),
        },
    )


def _queue_url() -> str:
    try:
        return reverse("web:queue")
    except NoReverseMatch:
        return "/queue/"


def _composer_actions(request: HttpRequest, post: Post | None) -> dict[str, Any]:
    """Which buttons the composer offers this person for this post, and what it tells them."""
    ws = _ws(request)
    role = request.role  # type: ignore[attr-defined]
    mode = ws.approval
    may_publish = can(role, Perm.POSTS_PUBLISH)
    may_approve = can(role, Perm.POSTS_APPROVE)
    status = post.status if post else Post.Status.DRAFT
    approved = post is not None and post.approved_at is not None
    needs_review = mode != Workspace.Approval.NONE and not approved
    schedule = may_publish and (not needs_review or may_approve)
    if needs_review and may_approve and mode == Workspace.Approval.CLIENT:
        schedule_label = _("Send to the client")
        note = _(
            "The client approves posts in this workspace: this sends the post to the client, and it is scheduled once they approve."
        )
    elif needs_review and may_approve:
        schedule_label = _("Approve and schedule")
        note = _(
            "Posts in this workspace are approved before they are scheduled; scheduling it yourself counts as your approval."
        )
    elif needs_review:
        schedule_label = ""
        note = _(
            "Posts in this workspace are approved before they are scheduled: submit it for review, and a reviewer's approval schedules it for its time."
        )
        if mode == Workspace.Approval.CLIENT:
            note = _(
                "Posts in this workspace are approved by a reviewer and then by the client before they are scheduled: submit it for review."
            )
    else:
        schedule_label = _("Update schedule") if status == Post.Status.SCHEDULED else _("Schedule")
        note = "" if may_publish else _("Your role writes drafts; a manager schedules them.")
    if approved and mode != Workspace.Approval.NONE:
        note = _("Approved. Changing the text, media or channels withdraws the approval.")
    if post is not None and publishing.has_started([v.pk for v in post.variants.all()]):
        return _published_actions(post)
    return {
        "save_label": _("Save changes") if post and status not in (Post.Status.DRAFT,) else _("Save draft"),
        "unschedule": post is not None and status == Post.Status.SCHEDULED and may_publish,
        "schedule": schedule,
        "schedule_label": schedule_label,
        "now": schedule and not (needs_review and mode == Workspace.Approval.CLIENT),
        "queue": schedule,
        "submit": needs_review and not may_approve and status in approvals.SUBMITTABLE,
        "note": note,
        "warn": needs_review and not may_approve,
    }


def _published_actions(post: Post) -> dict[str, Any]:
    """A post that is being or has been published keeps its time; a saved change goes out as an
    edit where the network allows it, and the page says where it does not."""
    out = publishing.published_variants([v.pk for v in post.variants.all()])
    fixed = sorted(
        {
            registry.DISPLAY_NAMES.get(v.channel.network, v.channel.network)
            for v in post.variants.all()
            if v.pk in out
            and (
                v.channel.network not in registry.available()
                or Capability.EDIT not in registry.adapter(v.channel.network).capabilities
            )
        }
    )
    note = _(
        "Published: it stays at the time it went out. Saving a change sends it to the networks as an edit."
    )
    if fixed:
        note = _(
            "Published: it stays at the time it went out. %(networks)s cannot edit a published post, so a change "
            "to this post is refused; write a new post instead."
        ) % {"networks": ", ".join(fixed)}
    return {
        "save_label": _("Save and edit on the networks") if not fixed else _("Save changes"),
        "unschedule": False,
        "schedule": False,
        "schedule_label": "",
        "now": False,
        "queue": False,
        "submit": False,
        "note": note,
        "warn": bool(fixed),
        "published": True,
    }


def _review_context(request: HttpRequest, post: Post, **extra: Any) -> dict[str, Any]:
    ws = _ws(request)
    role = request.role  # type: ignore[attr-defined]
    may_approve = can(role, Perm.POSTS_APPROVE)
    status = post.status
    mode = ws.approval
    context = {
        "post": post,
        "mode": mode,
        "reviews": [
            {
                "decision": r.decision,
                "label": Review.Decision(r.decision).label,
                "stage_label": Review.Stage(r.stage).label,
                # The client sees decisions, not the team's email addresses.
                "actor": r.actor if can(role, Perm.POSTS_INTERNAL) or r.actor == request.user.email else "",  # type: ignore[union-attr]
                "at": r.at,
                "comment": r.comment,
            }
            for r in approvals.reviews(ws.pk, post.pk)
        ],
        "can_approve": may_approve and status == Post.Status.IN_REVIEW,
        "can_request_changes": may_approve
        and mode != Workspace.Approval.NONE
        and status
        in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW, Post.Status.APPROVED, Post.Status.SCHEDULED),
        "can_reject": may_approve and status in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW),
        "can_link": may_approve and mode == Workspace.Approval.CLIENT and status == Post.Status.CLIENT_REVIEW,
        "fingerprint": approvals.content_fingerprint(post) if status in approvals.AWAITING_DECISION else "",
        "error": "",
        "comment": "",
        "new_link": None,
    }
    context.update(extra)
    return context


def _local_input(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime(forms.LOCAL_INPUT_FORMAT) if value else ""


def _aware(ws: Workspace, naive: dt.datetime | None) -> dt.datetime | None:
    if naive is None:
        return None
    try:
        return to_utc(naive, ws.timezone)
    except LocalTimeError:  # a time inside a DST gap: the service explains it on save
        return None


def _draft_of(variant: PostVariant) -> forms.VariantDraft:
    poll = variant.poll or {}
    options = [str(o) for o in poll.get("options", [])] or ["", ""]
    while len(options) < 2:
        options.append("")
    return forms.VariantDraft(
        channel_id=variant.channel_id,
        text=variant.text,
        follows=variant.text == variant.post.text,
        media_ids=[vm.media_id for vm in variant.variantmedia_set.all()],
        link=variant.link,
        first_comment=variant.first_comment,
        poll_on=bool(variant.poll),
        poll_question=str(poll.get("question", "")),
        poll_options=options,
        poll_multiple=bool(poll.get("multiple", False)),
        poll_anonymous=bool(poll.get("anonymous", True)),
        html=(variant.options or {}).get("format") == "html",
    )


def _composer_state(
    request: HttpRequest, post: Post | None, channel_list: list[Channel]
) -> tuple[str, list[int], dict[int, forms.VariantDraft]]:
    """(shared text, shared media ids, each channel's variant) as typed, or as saved when editing."""
    if request.method == "POST":
        shared_text = request.POST.get("text", "")
        shared_media = forms.read_ids(request.POST.getlist("media"))
        drafts = {
            c.pk: forms.read_variant(request.POST, c.pk, shared_text=shared_text, shared_media=shared_media)
            for c in channel_list
        }
        return shared_text, shared_media, drafts
    shared_text = post.text if post else ""
    variants = {v.channel_id: v for v in post.variants.all()} if post else {}
    drafts = {c.pk: _draft_of(variants[c.pk]) for c in channel_list if c.pk in variants}
    lists = [d.media_ids for d in drafts.values()]
    shared_media = max(lists, key=lists.count) if lists else []
    for c in channel_list:
        draft = drafts.get(c.pk)
        if draft is None:
            drafts[c.pk] = forms.VariantDraft(channel_id=c.pk, text=shared_text, media_ids=list(shared_media))
        else:
            draft.media_follows = draft.media_ids == shared_media
    return shared_text, shared_media, drafts


def _variant_preview(
    channel: Channel, draft: forms.VariantDraft, media: dict[int, Media], when: dt.datetime | None
) -> dict[str, Any]:
    items = [media[m] for m in draft.media_ids if m in media]
    preview = previews.content_preview(
        channel,
        text=draft.text,
        media=items,
        link=draft.link,
        poll=draft.poll(),
        first_comment=draft.first_comment,
        when=when,
        options=draft.options(),
    )
    missing = [m for m in draft.media_ids if m not in media]
    if missing:
        preview["problems"].insert(
            0, _("Media %(id)s is not in this workspace's library.") % {"id": missing[0]}
        )
    return preview


def _save_post(
    request: HttpRequest,
    post: Post | None,
    form: forms.PostForm,
    chosen: list[Channel],
    drafts: dict[int, forms.VariantDraft],
    rows: list[dict[str, Any]],
) -> HttpResponseBase | dict[str, Any]:
    """Apply the composer's button through planning's compose action; a response on success,
    else the extra context of the refusal (its reasons bound to the form's fields)."""
    data = form.cleaned_data
    legacy = data.get("status") or ""
    action = data.get("action") or ("schedule" if legacy == Post.Status.SCHEDULED else "save")
    intent = compose.Intent(action)
    variants = tuple(
        planning.VariantInput(
            channel_id=c.pk,
            text=drafts[c.pk].text if not drafts[c.pk].follows else None,
            link=drafts[c.pk].link,
            poll=drafts[c.pk].poll(),
            first_comment=drafts[c.pk].first_comment,
            media_ids=tuple(drafts[c.pk].media_ids),
            options={
                **{k: v for k, v in post_variant_options(post, c.pk).items() if k != "format"},
                **drafts[c.pk].options(),
            },
        )
        for c in chosen
    )
    fields = compose.COMPOSER_FIELDS | ({"status"} if intent == compose.Intent.SAVE and legacy else set())
    result = compose.compose(
        compose.ComposeRequest(
            actor=_actor(request),
            post=planning.PostInput(
                title=data["title"],
                text=data["text"],
                rubric_id=data["rubric"],
                status=legacy or (post.status if post else Post.Status.DRAFT),
                scheduled_at=data["scheduled_at"],
                variants=variants,
                notes=post.notes if post else "",
                publish_late=post.publish_late if post else False,
            ),
            intent=intent,
            post_id=post.pk if post else None,
            fields=frozenset(fields),
        )
    )
    if result.post is not None and result.ok:
        return _after_save(request, result.post, action)
    return _bind_refusal(form, result, rows)


def _bind_refusal(
    form: forms.PostForm, result: compose.ComposeResult, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Show a refused save on the composer: each reason on its field, unfit channels marked."""
    if result.status == 404:
        raise Http404
    if result.reason == compose.Reason.NO_QUEUE_SLOT:
        return {"queue_error": True}
    if result.reason == compose.Reason.NO_CHANNELS:
        form.add_error("channels", result.refusals[0].message)
        return {}
    if result.reason == compose.Reason.UNFIT:
        unfit = {r.channel_id for r in result.refusals}
        for row in rows:
            if row["channel"].pk in unfit:
                row["refused"] = True
        form.add_error(
            None, _("Some variants do not fit their networks; fix what is marked in each channel below.")
        )
        return {}
    error = result.error
    if error is not None and error.errors:
        for problem in error.errors:
            form.add_error(None, problem.message)
        return {}
    refusal = result.refusals[0]
    if refusal.field.startswith("variants"):
        form.add_error("channels", refusal.message)
    elif refusal.field in ("scheduled_at", "title", "text"):
        form.add_error(refusal.field, refusal.message)
    elif refusal.field == "rubric_id":
        form.add_error("rubric", refusal.message)
    else:
        form.add_error(None, refusal.message)
    return {}


def post_variant_options(post: Post | None, channel_id: int) -> dict[str, Any]:
    """The options a saved variant already has (kept when the composer saves it again)."""
    if post is None:
        return {}
    for variant in post.variants.all():
        if variant.channel_id == channel_id:
            return dict(variant.options or {})
    return {}


def _after_save(request: HttpRequest, saved: Post, action: str) -> HttpResponseBase:
    tz = _ws(request).timezone
    when = timezone.localtime(saved.scheduled_at).strftime("%Y-%m-%d %H:%M") if saved.scheduled_at else ""
    status = saved.status
    if status == Post.Status.SCHEDULED and action == "now":
        messages.success(request, _("Publishing now. Follow its state on each channel in the list below."))
    elif status == Post.Status.SCHEDULED and action == "queue":
        messages.success(
            request,
            _("Added to the queue: it takes the slot on %(when)s (%(tz)s).") % {"when": when, "tz": tz},
        )
    elif status == Post.Status.SCHEDULED:
        messages.success(request, _("Scheduled for %(when)s (%(tz)s).") % {"when": when, "tz": tz})
    elif status == Post.Status.IN_REVIEW:
        messages.success(request, _("Sent for review. It is scheduled once a reviewer approves it."))
    elif status == Post.Status.CLIENT_REVIEW:
        messages.success(
            request,
            _("Approved on your side; now it waits for the client. Get a review link for them below."),
        )
        return redirect("web:post_edit", saved.pk)
    elif status == Post.Status.APPROVED:
        messages.success(request, _("Approved. It has no time ahead yet: pick a time to schedule it."))
    elif action == "queue" and when:
        messages.success(
            request,
            _("The post takes the queue slot on %(when)s (%(tz)s); a manager schedules it.")
            % {"when": when, "tz": tz},
        )
    else:
        messages.success(request, _("Draft saved."))
    return redirect("web:posts")


def _post_form_page(request: HttpRequest, post: Post | None) -> HttpResponseBase:
    ws = _ws(request)
    channel_list = list(channels.list_channels(ws.pk))
    rubrics = [(r.pk, r.name) for r in ws.rubrics.all()]
    statuses = compose.statuses_offered(_actor(request), post.status if post else None)
    initial: dict[str, Any] = {"channels": []}
    if post is not None:
        initial = {
            "title": post.title,
            "text": post.text,
            "rubric": post.rubric_id,
            "channels": [v.channel_id for v in post.variants.all()],
            "scheduled_at": _local_input(post.scheduled_at),
        }
    else:
        wanted = request.GET.get("scheduled_at", "")
        try:
            if forms.parse_local_time(wanted):
                initial["scheduled_at"] = wanted[:16]
        except djforms.ValidationError:
            pass
    form = forms.PostForm(
        request.POST or None,
        initial=initial,
        channels=[(c.pk, c.name) for c in channel_list],
        rubrics=rubrics,
        statuses=statuses,
    )
    checked = set(
        forms.read_ids(request.POST.getlist("channels") if request.method == "POST" else initial["channels"])
    )
    _shared_text, shared_media, drafts = _composer_state(request, post, channel_list)
    wanted_ids = set(shared_media) | {m for d in drafts.values() for m in d.media_ids}
    library = {m.pk: m for m in Media.objects.filter(workspace_id=ws.pk, pk__in=wanted_ids)}
    if request.method == "POST":
        try:
            naive = forms.parse_local_time(request.POST.get("scheduled_at", ""))
        except djforms.ValidationError:
            naive = None
        when = _aware(ws, naive)
    else:
        when = (
            post.scheduled_at if post else _aware(ws, forms.parse_local_time(initial.get("scheduled_at", "")))
        )
    rows = []
    for c in channel_list:
        draft = drafts[c.pk]
        preview = _variant_preview(c, draft, library, when)
        rows.append(
            {
                "channel": c,
                "checked": c.pk in checked,
                "draft": draft,
                "text": draft.text,
                "follows": draft.follows,
                "media": [library[m] for m in draft.media_ids if m in library],
                "preview": preview,
                "refused": False,
                "poll_max": _poll_max(c.network),
                "media_field": f"variant_media_{c.pk}",
                "id_suffix": str(c.pk),
            }
        )
    extra: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        chosen = [c for c in channel_list if c.pk in set(form.cleaned_data["channels"])]
        outcome = _save_post(request, post, form, chosen, drafts, rows)
        if isinstance(outcome, HttpResponseBase):
            return outcome
        extra = outcome
    return render(
        request,
        "web/post_form.html",
        {
            "form": form,
            "post": post,
            "variant_rows": rows,
            "tz": ws.timezone,
            "shared_media": [library[m] for m in shared_media if m in library],
            "actions": _composer_actions(request, post),
            "review": _review_context(request, post) if post is not None else None,
            "queue_url": _queue_url(),
            "max_photo_mb": media_lib.MAX_PHOTO_BYTES // (1024 * 1024),
            "max_video_mb": media_lib.MAX_VIDEO_BYTES // (1024 * 1024),
            **extra,
        },
        status=400 if (form.is_bound and form.errors) or extra else 200,
    )


def _poll_max(network: str) -> int:
    if network in registry.available():
        return registry.adapter(network).limits.poll_options_max or 10
    return 10


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_new(request: HttpRequest) -> HttpResponseBase:
    return _post_form_page(request, None)


def _get_post(request: HttpRequest, post_id: int) -> Post:
    try:
        post = planning.get_post(_ws(request).pk, post_id)
    except planning.PlanningError as exc:
        raise Http404 from exc
    planning.with_publication([post])
    return post


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, post_id: int) -> HttpResponseBase:
    return _post_form_page(request, _get_post(request, post_id))


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_delete(request: HttpRequest, post_id: int) -> HttpResponseBase:
    post = _get_post(request, post_id)
    if request.method == "POST":
        try:
            planning.delete_post(_actor(request), post.pk)
        except planning.PlanningError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The post was deleted."))
        return redirect("web:posts")
    return render(
        request,
        "web/confirm.html",
        {
            "title": _("Delete this post?"),
            "text": str(post),
            "action": _("Delete post"),
            "cancel_url": reverse("web:posts"),
        },
    )


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def post_check(request: HttpRequest) -> HttpResponseBase:
    """HTMX: one variant checked live — its length in the network's unit, what does not fit its
    network (text, media, poll, link, first comment), and its preview (swapped out of band)."""
    try:
        channel_id = int(request.POST.get("channel", ""))
    except ValueError as exc:
        raise Http404 from exc
    channel = _get_channel(request, channel_id)
    ws = _ws(request)
    shared_text = request.POST.get("text", "")
    shared_media = forms.read_ids(request.POST.getlist("media"))
    draft = forms.read_variant(request.POST, channel.pk, shared_text=shared_text, shared_media=shared_media)
    library = {m.pk: m for m in Media.objects.filter(workspace_id=ws.pk, pk__in=draft.media_ids)}
    try:
        when = _aware(ws, forms.parse_local_time(request.POST.get("scheduled_at", "")))
    except djforms.ValidationError:
        when = None
    preview = _variant_preview(channel, draft, library, when)
    context: dict[str, Any] = {
        "channel": channel,
        "p": preview,
        "length": preview["length"],
        "limit": preview["limit"],
        "unit": preview["unit"],
        "problems": preview["problems"],
        "supported": preview["supported"],
        "over": preview["over"],
        "oob": request.POST.get("preview", "1") != "0",
    }
    return render(request, "web/_composer_check.html", context)


# -- posts: media, approvals ----------------------------------------------------------------------


def _media_json(media: Media) -> dict[str, Any]:
    thumb = media.thumbnail.url if media.thumbnail else (media.file.url if media.kind == "photo" else "")
    return {
        "id": media.pk,
        "name": media.original_name,
        "kind": media.kind,
        "thumb": thumb,
        "content_type": media.content_type,
        "size": media.size,
        "width": media.width,
        "height": media.height,
    }


@workspace_view(Perm.POSTS_EDIT)
@require_GET
def post_media_library(request: HttpRequest) -> HttpResponseBase:
    """HTMX: the workspace's media library as tiles to pick from in the composer."""
    items = list(media_lib.list_media(_ws(request).pk)[:200])
    return render(
        request,
        "web/_composer_library.html",
        {"items": items, "thumbs": {m.pk: _media_json(m)["thumb"] for m in items}},
    )


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def post_media_upload(request: HttpRequest) -> HttpResponseBase:
    """Upload a picture or video into the library from the composer (JSON for the picker)."""
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError:
        upload = None
    if upload is None:
        return JsonResponse({"error": _("Choose a picture or video to upload.")}, status=400)
    limit = media_lib.MAX_VIDEO_BYTES
    if (upload.size or 0) > limit:
        return JsonResponse(
            {
                "error": _("%(name)s is larger than %(mb)s MB.")
                % {"name": upload.name, "mb": limit // (1024 * 1024)}
            },
            status=400,
        )
    try:
        media = media_lib.save_media(
            _actor(request), upload.name or "upload", upload
        )  # streamed, never read whole
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse(_media_json(media), status=201)


def _review_reply(request: HttpRequest, post: Post, *, status: int = 200, **extra: Any) -> HttpResponseBase:
    return render(
        request, "web/_review_panel.html", {"r": _review_context(request, post, **extra)}, status=status
    )


REVIEW_DECISIONS: dict[str, Callable[..., Post]] = {
    "approve": approvals.approve,
    "request_changes": approvals.request_changes,
    "reject": approvals.reject,
    "submit": approvals.submit,
}


@workspace_view(Perm.POSTS_VIEW)
@require_POST
def post_review(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """Submit, approve, request changes or reject; the service checks who may do which."""
    post = _get_post(request, post_id)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")
    action = REVIEW_DECISIONS.get(decision)
    htmx = request.headers.get("HX-Request") == "true"
    if action is None:
        return HttpResponse(_("Unknown decision."), status=400)
    # An approval is of what the page showed (approvals.content_fingerprint).
    seen = {"seen": request.POST.get("fingerprint") or None} if decision == "approve" else {}
    try:
        saved = action(_actor(request), post.pk, comment, **seen)
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        if exc.status == 404:
            raise Http404 from exc
        if htmx:
            return _review_reply(
                request, post, status=422, error=exc.message, comment=comment, decision=decision
            )
        messages.error(request, exc.message)
        return redirect("web:post_edit", post.pk)
    labels: dict[str, str] = {
        Post.Status.IN_REVIEW: _("Sent for review."),
        Post.Status.CLIENT_REVIEW: _("Approved; now it waits for the client."),
        Post.Status.SCHEDULED: _("Approved and scheduled."),
        Post.Status.APPROVED: _("Approved. Pick a time ahead to schedule it."),
        Post.Status.CHANGES_REQUESTED: _("Changes requested; the author sees your comment."),
        Post.Status.REJECTED: _("Rejected."),
    }
    messages.success(request, labels.get(saved.status, _("Saved.")))
    target = reverse("web:post_edit", args=[post.pk])
    if htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@workspace_view(Perm.POSTS_APPROVE)
@require_POST
def post_client_link(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """Create a client review link for this post; the address is shown once."""
    post = _get_post(request, post_id)
    htmx = request.headers.get("HX-Request") == "true"
    try:
        link = approvals.client_link_for(_actor(request), post_id=post.pk)
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        if htmx:
            return _review_reply(request, post, status=422, error=exc.message)
        messages.error(request, exc.message)
        return redirect("web:post_edit", post.pk)
    if htmx:
        return _review_reply(request, post, new_link=link)
    messages.success(
        request, _("Send this review link to the client (it is shown once): %(url)s") % {"url": link.url}
    )
    return redirect("web:post_edit", post.pk)


# -- profile -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
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
    return render(
        request,
        "web/profile.html",
        {"profile_form": profile_form, "password_form": password_form},
        status=status,
    )
