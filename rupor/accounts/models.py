"""Users, workspaces, memberships with roles, invitations and API keys."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, DeviceManager, ThrottlingMixin, TimestampMixin

from rupor.accounts.roles import ROLE_LABELS, Role
from rupor.core import clock, crypto

ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a known time zone (e.g. Europe/Moscow)."), params={"value": value}
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=clock.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Workspace(models.Model):
    class Approval(models.TextChoices):
        NONE = "none", _("No approval")
        INTERNAL = "internal", _("Internal review")
        CLIENT = "client", _("Internal review and client")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    late_window_minutes = models.PositiveIntegerField(
        _("late window (minutes)"),
        default=30,
        help_text=_("A post that could not go out within this many minutes of its time is marked missed."),
    )
    approval = models.CharField(_("approval"), max_length=16, choices=Approval.choices, default=Approval.NONE)
    created_at = models.DateTimeField(default=clock.now)
    #: The logo client reports carry: a PNG that ``service.set_logo`` checked and re-encoded
    #: (at most LOGO_MAX_SIDE pixels a side), or "" for none.
    logo = models.FileField(upload_to="logos/%Y/%m/", blank=True, default="")
    #: Members must sign in with a second factor (``TwoFactorDevice``) to work here; those without
    #: one are sent to set it up first. API keys are not affected (docs/decisions/0041).
    require_two_factor = models.BooleanField(_("require two-factor sign-in"), default=False, db_default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(default=clock.now)
    #: The member's inbox replies wait for an approver (``Perm.INBOX_APPROVE``) before they are sent.
    replies_need_approval = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
        ordering = ["workspace__name"]

    def __str__(self) -> str:
        return f"{self.user_id} in workspace {self.workspace_id} as {self.role}"


class Invitation(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to workspace {self.workspace_id} as {self.role}"


class ApiKey(models.Model):
    """A workspace API key. Only a SHA-256 of the key is stored; the key is shown once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"API key {self.prefix}… ({self.name or self.role}) of workspace {self.workspace_id}"


class AuditEntry(models.Model):
    """Who did what, in which workspace. Append-only."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: The API key that acted (the key's row stays after it is revoked, so the entry keeps naming it).
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            # The audit page: a workspace's entries newest first, walked by (at, id).
            models.Index(fields=["workspace", "-at", "-id"], name="audit_ws_at_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.object_type} {self.object_id}"
        )


class AuthFailure(models.Model):
    """One failed sign-in or API-key attempt, kept for the throttle's window (``throttle.py``).

    ``key`` is a SHA-256 of what was counted (an email, an address), so the table never holds
    the addresses or the emails people mistyped.
    """

    scope = models.CharField(max_length=16)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"], name="authfailure_lookup")]

    def __str__(self) -> str:
        return f"failed {self.scope} at {self.at:%Y-%m-%d %H:%M:%S}"


#: The purpose (core/crypto.py) of the key an authenticator app shares with Rupor.
TOTP_KEY_PURPOSE = "totp-key"


class TwoFactorDevice(TimestampMixin, ThrottlingMixin, Device):  # type: ignore[misc]  # django-otp ships no type hints
    """A person's authenticator app: a django-otp device for TOTP (RFC 6238, 30 s, 6 digits).

    Unlike django-otp's own ``TOTPDevice``, the shared key is stored encrypted
    (``core/crypto.py``, purpose ``totp-key``), never as plain hex; verification still uses
    django-otp's RFC 6238 implementation (``accounts/twofactor.py``). ``confirmed`` stays false
    until the person has typed a code from the app; only a confirmed device asks for a code at
    sign-in. ``last_t`` is the time step of the last accepted code: a code is accepted once.
    One device per person (docs/decisions/0041).
    """

    user: models.ForeignKey[User, User] = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="two_factor_devices"
    )
    confirmed: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    key_encrypted: models.TextField[str, str] = models.TextField()
    last_t: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)
    confirmed_at: models.DateTimeField[dt.datetime | None, dt.datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    objects: ClassVar[models.Manager[TwoFactorDevice]] = DeviceManager()
    # For django-stubs, which cannot see the managers of a model with an untyped base.
    _default_manager: ClassVar[models.Manager[TwoFactorDevice]]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], name="one_two_factor_device_per_user")]

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed else "unconfirmed"
        return f"{state} authenticator app of user {self.user_id}"

    def set_key(self, key: bytes) -> None:
        self.key_encrypted = crypto.encrypt(key.hex(), TOTP_KEY_PURPOSE)

    def get_key(self) -> bytes:
        return bytes.fromhex(crypto.decrypt(self.key_encrypted, TOTP_KEY_PURPOSE))

    def get_throttle_factor(self) -> int:
        # django-otp's back-off: after n wrong codes in a row the next waits 2**(n-1) seconds.
        return 1


class RecoveryCode(models.Model):
    """One single-use recovery code; only a keyed digest is stored (the code is shown once)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"], name="recoverycode_lookup")]

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id} ({'used' if self.used_at else 'unused'})"
