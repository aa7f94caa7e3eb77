"""Public actions of the accounts domain: users, workspaces, members, invitations, API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
import warnings
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from rupor.accounts.models import (
    ApiKey,
    AuditEntry,
    Invitation,
    Membership,
    TwoFactorDevice,
    User,
    Workspace,
    validate_timezone,
)
from rupor.accounts.roles import ROLE_LABELS, Perm, Role, can, may_grant
from rupor.core import clock
from rupor.core.errors import DomainError

API_KEY_PREFIX = "rpr_"
INVITATION_TTL = dt.timedelta(days=7)


class AccountsError(DomainError):
    """A request the accounts domain refuses; ``field`` names the offending input."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (browser, CLI) or an API key, with their role in a workspace."""

    workspace_id: int
    role: Role
    user_id: int | None = None
    api_key_id: int | None = None
    label: str = ""

    def can(self, perm: Perm) -> bool:
        return can(self.role, perm)


@dataclass(frozen=True)
class NewApiKey:
    id: int
    key: str  # shown once, never stored
    prefix: str
    role: Role


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _role_name(role: str) -> str:
    """A role as it stands inside a sentence, in the active language ("owner", "владелец")."""
    return str(ROLE_LABELS[Role(role)]).lower()


# -- users -------------------------------------------------------------------------------


def create_user(email: str, password: str | None, *, name: str = "") -> User:
    email = (email or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise AccountsError(_("%(email)s is not an email address.") % {"email": repr(email)}, "email")
    if User.objects.filter(email=email).exists():
        raise AccountsError(
            _("A user with the email %(email)s already exists.") % {"email": email}, "email", 409
        )
    if password is not None:
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(password, User(email=email, name=name))
        except ValidationError as exc:
            raise AccountsError(" ".join(exc.messages), "password") from exc
    return User.objects.create_user(email, password, name=name)


# -- workspaces --------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


#: Sent (with ``workspace_id``) inside the transaction that creates a workspace, so another
#: domain sets up its part of a new workspace (planning: the default rubrics) without accounts
#: knowing it; a receiver that raises undoes the whole creation.
workspace_created = Signal()


def create_workspace(name: str, owner: User, *, timezone: str = "UTC") -> Workspace:
    name = (name or "").strip()
    if not name:
        raise AccountsError(_("A workspace needs a name."), "name")
    if len(name) > 120:
        raise AccountsError(_("A workspace name has at most 120 characters."), "name")
    try:
        validate_timezone(timezone)
    except Exception as exc:
        raise AccountsError(
            _("%(value)s is not a known time zone (e.g. Europe/Moscow).") % {"value": repr(timezone)},
            "timezone",
        ) from exc
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name, slug=_unique_slug(name), timezone=timezone)
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        workspace_created.send(sender=Workspace, workspace_id=workspace.pk)
        record(
            workspace.pk,
            None,
            "workspace.create",
            "workspace",
            workspace.pk,
            f"created by {owner.email}",
            user_id=owner.pk,
        )
    return workspace


def workspaces_for(user: User) -> list[Workspace]:
    return list(Workspace.objects.filter(memberships__user=user).order_by("name"))


def resolve_membership(user: User, slug: str | None) -> tuple[Workspace, Role] | None:
    """The workspace a user is working in: ``slug`` if they belong to it, else their first."""
    qs = Membership.objects.select_related("workspace").filter(user=user)
    membership = qs.filter(workspace__slug=slug).first() if slug else None
    if membership is None:
        membership = qs.order_by("workspace__name").first()
    if membership is None:
        return None
    return membership.workspace, Role(membership.role)


def role_of(user: User, workspace: Workspace | int) -> Role | None:
    """The user's role in a workspace (given as the object or its id), or None for a stranger."""
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    return Role(membership.role) if membership else None


def actor_for_user(user: User, workspace: Workspace) -> Actor | None:
    role = role_of(user, workspace)
    if role is None:
        return None
    return Actor(workspace.pk, role, user_id=user.pk, label=user.email)


def update_workspace(
    actor: Actor, *, name: str, timezone: str, late_window_minutes: int, approval: str
) -> Workspace:
    """Change a workspace's name, time zone, late window and approval mode."""
    _require(actor, Perm.WORKSPACE_MANAGE)
    name = (name or "").strip()
    if not name:
        raise AccountsError(_("A workspace needs a name."), "name")
    try:
        validate_timezone(timezone)
    except Exception as exc:
        raise AccountsError(
            _("%(value)s is not a known time zone (e.g. Europe/Moscow).") % {"value": repr(timezone)},
            "timezone",
        ) from exc
    if approval not in Workspace.Approval.values:
        raise AccountsError(_("%(value)s is not an approval mode.") % {"value": repr(approval)}, "approval")
    if not 0 <= int(late_window_minutes) <= 7 * 24 * 60:
        raise AccountsError(_("The late window is between 0 minutes and 7 days."), "late_window_minutes")
    workspace = Workspace.objects.get(pk=actor.workspace_id)
    workspace.name, workspace.timezone = name[:120], timezone
    workspace.late_window_minutes, workspace.approval = int(late_window_minutes), approval
    workspace.save(update_fields=["name", "timezone", "late_window_minutes", "approval"])
    record(
        workspace.pk,
        actor,
        "workspace.update",
        "workspace",
        workspace.pk,
        f"{name} · {timezone} · {approval}",
    )
    return workspace


#: A workspace logo: the most bytes accepted, the image types, the pixels decoded at most, and
#: the longest side it is stored at (a report prints it a few centimetres wide).
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_TYPES = ("PNG", "JPEG", "WEBP", "GIF")
LOGO_MAX_PIXELS = 25_000_000
LOGO_MAX_SIDE = 600


def set_logo(actor: Actor, source: IO[bytes]) -> None:
    """Give the workspace a logo (client reports carry it). The upload must be a PNG, JPEG, WebP
    or GIF image of at most 2 MB; it is decoded, scaled down to at most LOGO_MAX_SIDE pixels a
    side and stored re-encoded as PNG, so nothing but pixels survives (no scripts, no metadata)."""
    _require(actor, Perm.WORKSPACE_MANAGE)
    data = source.read(LOGO_MAX_BYTES + 1)
    if not data:
        raise AccountsError(_("Choose an image file for the logo."), "logo")
    if len(data) > LOGO_MAX_BYTES:
        raise AccountsError(_("A logo is at most 2 MB."), "logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                if kind not in LOGO_TYPES:
                    raise AccountsError(_("A logo is a PNG, JPEG, WebP or GIF image."), "logo")
                if width * height > LOGO_MAX_PIXELS:
                    raise AccountsError(_("The logo has too many pixels (at most 25 megapixels)."), "logo")
                probe.seek(0)
                image = probe.convert("RGBA")
    except AccountsError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AccountsError(_("A logo is a PNG, JPEG, WebP or GIF image."), "logo") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt image data
        raise AccountsError(_("The logo image is damaged and cannot be read."), "logo") from exc
    image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    workspace = Workspace.objects.get(pk=actor.workspace_id)
    old = workspace.logo.name
    workspace.logo.save(f"{workspace.slug}.png", ContentFile(out.getvalue()), save=True)
    if old:
        storage, name = workspace.logo.storage, old
        transaction.on_commit(lambda: storage.delete(name))
    record(workspace.pk, actor, "workspace.logo", "workspace", workspace.pk, f"{image.width}x{image.height}")


def remove_logo(actor: Actor) -> None:
    """Take the workspace's logo away (reports go out without one)."""
    _require(actor, Perm.WORKSPACE_MANAGE)
    workspace = Workspace.objects.get(pk=actor.workspace_id)
    if not workspace.logo.name:
        return
    storage, name = workspace.logo.storage, workspace.logo.name
    Workspace.objects.filter(pk=workspace.pk).update(logo="")
    transaction.on_commit(lambda: storage.delete(name))
    record(workspace.pk, actor, "workspace.logo", "workspace", workspace.pk, "removed")


def logo_png(workspace_id: int) -> bytes | None:
    """The workspace's logo as PNG bytes, or ``None`` when it has none (or its file is gone)."""
    name = Workspace.objects.values_list("logo", flat=True).get(pk=workspace_id)
    if not name:
        return None
    storage = Workspace._meta.get_field("logo").storage
    try:
        with storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except OSError:
        return None


def members(workspace_id: int) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(workspace_id=workspace_id).order_by("user__email")


@dataclass(frozen=True)
class WorkspaceInfo:
    """A workspace as other domains show and plan it."""

    id: int
    name: str
    slug: str
    timezone: str
    approval: str  # a value of Approval


def workspace_info(workspace_id: int) -> WorkspaceInfo:
    """The workspace's name, slug, zone and approval mode."""
    return WorkspaceInfo(
        *Workspace.objects.values_list("pk", "name", "slug", "timezone", "approval").get(pk=workspace_id)
    )


#: A workspace's approval modes (``Workspace.Approval``), for other domains to compare with.
Approval = Workspace.Approval


def approval_mode(workspace_id: int) -> str:
    """The workspace's approval mode (a value of :data:`Approval`)."""
    return str(Workspace.objects.values_list("approval", flat=True).get(pk=workspace_id))


@dataclass(frozen=True)
class Recipient:
    """An active member as notifications reach them."""

    user_id: int
    email: str
    language: str  # blank: the installation's language


def recipients(workspace_id: int) -> list[Recipient]:
    """The workspace's active members, to notify."""
    return [
        Recipient(user_id, email or "", language or "")
        for user_id, email, language in Membership.objects.filter(
            workspace_id=workspace_id, user__is_active=True
        ).values_list("user_id", "user__email", "user__language")
    ]


def done_by(workspace_id: int, action: str, object_type: str, object_id: object) -> int | None:
    """The user who first did ``action`` on the object (from the audit log), if still a member."""
    user_id = (
        AuditEntry.objects.filter(
            workspace_id=workspace_id, action=action, object_type=object_type, object_id=str(object_id)
        )
        .order_by("at", "pk")
        .values_list("actor_id", flat=True)
        .first()
    )
    if (
        user_id is None
        or not Membership.objects.filter(
            workspace_id=workspace_id, user_id=user_id, user__is_active=True
        ).exists()
    ):
        return None
    return int(user_id)


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise AccountsError(_("Your role does not allow this."), status=403)


def add_member(actor: Actor, email: str, role: str) -> Membership:
    _require(actor, Perm.MEMBERS_MANAGE)
    role_value = _parse_role(role)
    if not may_grant(actor.role, role_value):
        raise AccountsError(
            _("The %(role)s role cannot grant the %(new)s role.")
            % {"role": _role_name(actor.role), "new": _role_name(role_value)},
            "role",
            403,
        )
    user = User.objects.filter(email=(email or "").strip().lower()).first()
    if user is None:
        raise AccountsError(
            _("No user with the email %(email)s; invite them instead.") % {"email": email}, "email", 404
        )
    try:
        membership = Membership.objects.create(workspace_id=actor.workspace_id, user=user, role=role_value)
    except IntegrityError as exc:
        raise AccountsError(
            _("%(email)s is already a member of this workspace.") % {"email": email}, "email", 409
        ) from exc
    record(actor.workspace_id, actor, "member.add", "user", user.pk, f"{user.email} as {role_value.value}")
    return membership


def change_role(actor: Actor, membership_id: int, role: str) -> Membership:
    _require(actor, Perm.MEMBERS_MANAGE)
    role_value = _parse_role(role)
    membership = Membership.objects.filter(pk=membership_id, workspace_id=actor.workspace_id).first()
    if membership is None:
        raise AccountsError(_("No such member."), status=404)
    if not may_grant(actor.role, role_value) or not may_grant(actor.role, membership.role):
        raise AccountsError(
            _("The %(role)s role cannot change a member's role from %(old)s to %(new)s.")
            % {
                "role": _role_name(actor.role),
                "old": _role_name(membership.role),
                "new": _role_name(role_value),
            },
            "role",
            403,
        )
    if membership.role == Role.OWNER and role_value != Role.OWNER:
        _keep_an_owner(actor.workspace_id, membership)
    membership.role = role_value
    membership.save(update_fields=["role"])
    record(actor.workspace_id, actor, "member.role", "user", membership.user_id, f"now {role_value.value}")
    return membership


def _managed_membership(actor: Actor, membership_id: int, refusal: str) -> Membership:
    """A membership of the actor's workspace whose role the actor may grant (``refusal`` names
    ``%(role)s`` and ``%(old)s`` for when they may not)."""
    _require(actor, Perm.MEMBERS_MANAGE)
    membership = Membership.objects.filter(pk=membership_id, workspace_id=actor.workspace_id).first()
    if membership is None:
        raise AccountsError(_("No such member."), status=404)
    if not may_grant(actor.role, membership.role):
        raise AccountsError(
            refusal % {"role": _role_name(actor.role), "old": _role_name(membership.role)}, status=403
        )
    return membership


def remove_member(actor: Actor, membership_id: int) -> int:
    """Remove a member and revoke the API keys they created in this workspace (returns how many).

    The workspace's iCal address is the plan's domain; entry points replace it after this.
    """
    membership = _managed_membership(
        actor, membership_id, _("The %(role)s role cannot remove a member with the %(old)s role.")
    )
    if membership.role == Role.OWNER:
        _keep_an_owner(actor.workspace_id, membership)
    with transaction.atomic():
        membership.delete()
        # Leaving revokes access: the keys this person created here stop working with them.
        revoked = ApiKey.objects.filter(
            workspace_id=actor.workspace_id, created_by_id=membership.user_id, revoked_at__isnull=True
        ).update(revoked_at=clock.now())
        record(
            actor.workspace_id,
            actor,
            "member.remove",
            "user",
            membership.user_id,
            f"{revoked} API key(s) revoked",
        )
    return revoked


def set_reply_approval(actor: Actor, membership_id: int, required: bool) -> Membership:
    """Whether a member's inbox replies wait for an approver before they are sent (decision 0012).

    Only for roles that cannot approve replies themselves: an approver's own replies go out."""
    membership = _managed_membership(
        actor, membership_id, _("The %(role)s role cannot change this for a member with the %(old)s role.")
    )
    if required and can(membership.role, Perm.INBOX_APPROVE):
        raise AccountsError(
            _("A %(role)s approves replies; their own replies need no approval.")
            % {"role": _role_name(membership.role)},
            "replies_need_approval",
            422,
        )
    if membership.replies_need_approval != required:
        membership.replies_need_approval = required
        membership.save(update_fields=["replies_need_approval"])
        record(
            actor.workspace_id,
            actor,
            "member.reply_approval",
            "user",
            membership.user_id,
            "replies need approval" if required else "replies go out directly",
        )
    return membership


def replies_need_approval(actor: Actor) -> bool:
    """Whether this actor's inbox replies wait for an approver: a person whose membership says so
    and whose role cannot approve (API keys carry their own role and are never held)."""
    if actor.user_id is None or actor.can(Perm.INBOX_APPROVE):
        return False
    return Membership.objects.filter(
        workspace_id=actor.workspace_id, user_id=actor.user_id, replies_need_approval=True
    ).exists()


def approvers(workspace_id: int) -> list[int]:
    """The user ids of the workspace's active members who may approve inbox replies."""
    roles = [r.value for r in Role if can(r, Perm.INBOX_APPROVE)]
    return list(
        Membership.objects.filter(
            workspace_id=workspace_id, role__in=roles, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def _keep_an_owner(workspace_id: int, leaving: Membership) -> None:
    others = Membership.objects.filter(workspace_id=workspace_id, role=Role.OWNER).exclude(pk=leaving.pk)
    if not others.exists():
        raise AccountsError(_("A workspace must keep at least one owner."), "role", 409)


def _parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        allowed = ", ".join(r.value for r in Role)
        raise AccountsError(
            _("%(value)s is not a role; use one of: %(allowed)s.")
            % {"value": repr(role), "allowed": allowed},
            "role",
        ) from exc


# -- invitations -------------------------------------------------------------------------


def invite(actor: Actor, email: str, role: str) -> tuple[Invitation, str]:
    """Create an invitation; returns it and the secret token for the link (shown once)."""
    _require(actor, Perm.MEMBERS_MANAGE)
    email = (email or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise AccountsError(_("%(email)s is not an email address.") % {"email": repr(email)}, "email")
    role_value = _parse_role(role)
    if not may_grant(actor.role, role_value):
        raise AccountsError(
            _("The %(role)s role cannot grant the %(new)s role.")
            % {"role": _role_name(actor.role), "new": _role_name(role_value)},
            "role",
            403,
        )
    if Membership.objects.filter(workspace_id=actor.workspace_id, user__email=email).exists():
        raise AccountsError(
            _("%(email)s is already a member of this workspace.") % {"email": email}, "email", 409
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace_id=actor.workspace_id,
        email=email,
        role=role_value,
        token_hash=_hash(token),
        invited_by_id=actor.user_id,
        expires_at=clock.now() + INVITATION_TTL,
    )
    record(
        actor.workspace_id,
        actor,
        "member.invite",
        "invitation",
        invitation.pk,
        f"{email} as {role_value.value}",
    )
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    invitation = Invitation.objects.select_related("workspace").filter(token_hash=_hash(token or "")).first()
    if (
        invitation is None
        or invitation.accepted_at
        or invitation.revoked_at
        or invitation.expires_at < clock.now()
    ):
        return None
    return invitation


def pending_invitations(workspace_id: int) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            workspace_id=workspace_id,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=clock.now(),
        ).order_by("-created_at")
    )


def revoke_invitation(actor: Actor, invitation_id: int) -> None:
    _require(actor, Perm.MEMBERS_MANAGE)
    updated = Invitation.objects.filter(
        pk=invitation_id, workspace_id=actor.workspace_id, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=clock.now())
    if not updated:
        raise AccountsError(_("No such invitation."), status=404)
    record(actor.workspace_id, actor, "member.uninvite", "invitation", invitation_id, "")


def accept_invitation(token: str, user: User) -> Membership:
    with transaction.atomic():
        invitation = find_invitation(token)
        if invitation is None:
            raise AccountsError(
                _("This invitation is invalid, used or expired; ask for a new one."), status=404
            )
        if user.email.lower() != invitation.email.lower():
            raise AccountsError(
                _(
                    "This invitation is for %(email)s. Sign in as %(email)s (or sign up with that address) to accept it."
                )
                % {"email": invitation.email},
                status=403,
            )
        membership, _created = Membership.objects.get_or_create(
            workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = clock.now()
        invitation.save(update_fields=["accepted_at"])
        record(
            invitation.workspace_id,
            None,
            "member.join",
            "user",
            user.pk,
            f"{user.email} accepted an invitation",
            user_id=user.pk,
        )
    return membership


# -- API keys ----------------------------------------------------------------------------


def create_api_key(actor: Actor | None, workspace: Workspace, role: str, *, name: str = "") -> NewApiKey:
    """Create a key. ``actor`` is ``None`` only for the operator's CLI."""
    if actor is not None:
        _require(actor, Perm.APIKEYS_MANAGE)
    role_value = _parse_role(role)
    if actor is not None and not may_grant(actor.role, role_value):
        raise AccountsError(
            _("The %(role)s role cannot create a key with the %(new)s role.")
            % {"role": _role_name(actor.role), "new": _role_name(role_value)},
            "role",
            403,
        )
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = key[:12]
    row = ApiKey.objects.create(
        workspace=workspace,
        name=(name or f"{role_value.value} key")[:100],
        role=role_value,
        prefix=prefix,
        key_hash=_hash(key),
        created_by_id=actor.user_id if actor else None,
    )
    record(workspace.pk, actor, "apikey.create", "apikey", row.pk, f"{row.name} ({role_value.value})")
    return NewApiKey(row.pk, key, prefix, role_value)


def authenticate_api_key(key: str) -> Actor | None:
    if not key or not key.startswith(API_KEY_PREFIX):
        return None
    row = ApiKey.objects.filter(key_hash=_hash(key), revoked_at__isnull=True).first()
    if row is None:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
    return Actor(row.workspace_id, Role(row.role), api_key_id=row.pk, label=f"API key {row.prefix}…")


def api_keys(workspace_id: int) -> list[ApiKey]:
    """A workspace's keys, live ones first (only prefixes are known; keys are never stored)."""
    return list(ApiKey.objects.filter(workspace_id=workspace_id).order_by("revoked_at", "-created_at"))


def revoke_api_key(actor: Actor, key_id: int) -> None:
    _require(actor, Perm.APIKEYS_MANAGE)
    updated = ApiKey.objects.filter(
        pk=key_id, workspace_id=actor.workspace_id, revoked_at__isnull=True
    ).update(revoked_at=clock.now())
    if not updated:
        raise AccountsError(_("No such API key."), status=404)
    record(actor.workspace_id, actor, "apikey.revoke", "apikey", key_id, "")


# -- audit -------------------------------------------------------------------------------


def record(
    workspace_id: int,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: object = "",
    summary: str = "",
    *,
    user_id: int | None = None,
) -> None:
    """Write one audit entry: who (a person, an API key, or ``None`` for Rupor itself — then
    ``user_id`` may name the person a system action was for), what, on which object. The summary
    is for people; it never holds a secret (keys, tokens and passwords are never passed here)."""
    AuditEntry.objects.create(
        workspace_id=workspace_id,
        actor_id=actor.user_id if actor else user_id,
        api_key_id=actor.api_key_id if actor else None,
        actor_label=(actor.label if actor else "")[:200],
        action=action[:64],
        object_type=object_type[:40],
        object_id=str(object_id)[:40],
        summary=summary[:300],
    )


# -- two-factor sign-in (the actions are in accounts/twofactor.py) -----------------------

#: Sent inside the transaction of a change to a person's two-factor sign-in that they must hear
#: about, with ``user_id``, ``event`` ("two_factor_disabled" or "recovery_code_used"),
#: ``by_operator`` (turned off from the command line) and ``left`` (recovery codes left).
#: notifications tells the person; accounts does not know it exists.
two_factor_event = Signal()


def has_two_factor(user_id: int) -> bool:
    """Whether the person signs in with a second factor (a confirmed authenticator app)."""
    return TwoFactorDevice.objects.filter(user_id=user_id, confirmed=True).exists()


def two_factor_users(user_ids: list[int]) -> set[int]:
    """Which of these people sign in with a second factor."""
    return set(
        TwoFactorDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list("user_id", flat=True)
    )


def two_factor_required(workspace_id: int) -> bool:
    """Whether the workspace requires its members to sign in with a second factor."""
    return bool(Workspace.objects.filter(pk=workspace_id, require_two_factor=True).exists())


def two_factor_missing(user_id: int, workspace_id: int) -> bool:
    """Whether this person must set up two-factor sign-in before working in this workspace."""
    return two_factor_required(workspace_id) and not has_two_factor(user_id)


def set_two_factor_required(actor: Actor, required: bool) -> Workspace:
    """Require (or stop requiring) two-factor sign-in of the workspace's members (owners only).

    A person turning it on must use it themselves, so they are not sent away at once. API keys
    are not affected: they are not a person's sign-in (docs/decisions/0041)."""
    _require(actor, Perm.WORKSPACE_SECURITY)
    if required and actor.user_id is not None and not has_two_factor(actor.user_id):
        raise AccountsError(
            _("Turn on two-factor sign-in for yourself first (on your profile), then require it here."),
            "require_two_factor",
            409,
        )
    workspace = Workspace.objects.get(pk=actor.workspace_id)
    if workspace.require_two_factor != required:
        workspace.require_two_factor = required
        workspace.save(update_fields=["require_two_factor"])
        record(
            workspace.pk,
            actor,
            "workspace.two_factor",
            "workspace",
            workspace.pk,
            "two-factor sign-in required" if required else "two-factor sign-in optional",
        )
    return workspace


def account_recipient(user_id: int) -> tuple[Recipient, list[int]] | None:
    """An active person as notifications reach them about their own account, with the workspaces
    they belong to (by name); ``None`` for an unknown or deactivated account."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    workspace_ids = list(
        Membership.objects.filter(user_id=user_id)
        .order_by("workspace__name", "workspace_id")
        .values_list("workspace_id", flat=True)
    )
    return Recipient(user.pk, user.email, user.language), workspace_ids
