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
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
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
from rupor.core.timezones import to_utc, zone
from rupor.networks import registry
from rupor.networks.base import CredentialField
from rupor.notifications import service as notifications
from rupor.planning import ical
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web import forms

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
