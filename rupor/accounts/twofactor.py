"""Two-factor sign-in: an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

A person turns it on from their profile: :func:`begin` gives them a new key (as a QR code and as
text), :func:`confirm` turns it on once they type a code from the app and returns ten recovery
codes, shown once. At sign-in, after the password, :func:`verify` takes a code from the app or a
recovery code. :func:`disable` and :func:`regenerate_codes` need the password or a current code;
:func:`reset` is the operator's, for someone who lost both the app and the codes.

The TOTP arithmetic is django-otp's (``django_otp.oath.TOTP``: HMAC-SHA1, 30 s, 6 digits), with
a tolerance of one step either way and never a code of a step at or before the last one accepted
(``last_t``, moved by one conditional UPDATE, so two requests cannot both use a code). The key is
stored encrypted; recovery codes only as keyed digests (core/crypto.py). Wrong app codes in a row
make the next attempt wait (django-otp's back-off: 1, 2, 4… seconds, at most an hour); the web
pages also count failures in ``throttle.py``. Decision record: docs/decisions/0041.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from base64 import b32encode
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.oath import TOTP

from rupor.accounts.models import Membership, RecoveryCode, TwoFactorDevice, User
from rupor.accounts.service import AccountsError, record, two_factor_event
from rupor.core import clock, crypto

ISSUER = "Rupor"
STEP_S = 30
DIGITS = 6
#: Codes of the step before and after the current one are accepted too (clocks drift).
TOLERANCE = 1
KEY_BYTES = 20
RECOVERY_CODES = 10
#: Recovery codes: ten characters that cannot be mistaken for one another (no 0/o, 1/l/i),
#: about 49 bits each, shown as ``xxxxx-xxxxx``.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
CODE_PURPOSE = "recovery-code"
#: The longest wait the back-off imposes after wrong codes (django-otp's would grow for ever).
MAX_BACKOFF = dt.timedelta(hours=1)

_APP_CODE = re.compile(rf"\d{{{DIGITS}}}")


class TwoFactorLocked(AccountsError):
    """Too many wrong codes in a row: the next one is looked at only after ``wait`` seconds."""

    def __init__(self, wait: int) -> None:
        super().__init__(
            ngettext(
                "Too many wrong codes in a row. Wait %(count)d second and try again, or use a recovery code.",
                "Too many wrong codes in a row. Wait %(count)d seconds and try again, or use a recovery code.",
                wait,
            )
            % {"count": wait},
            "code",
            429,
        )
        self.wait = wait


@dataclass(frozen=True)
class Setup:
    """A key waiting for its first code: for the app as a QR code (``uri``) or typed (``secret``)."""

    secret: str  # base32, as authenticator apps take it
    uri: str  # otpauth://totp/… (Google's Key Uri Format, which every app reads)

    @property
    def grouped(self) -> str:
        """The secret in groups of four characters, easier to type."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class Status:
    enabled: bool
    enabled_at: dt.datetime | None
    recovery_left: int


@dataclass(frozen=True)
class Verified:
    """A second factor accepted: ``method`` is "app" or "recovery_code"."""

    method: str
    recovery_left: int


def _device(user: User, *, confirmed: bool | None = None) -> TwoFactorDevice | None:
    devices = TwoFactorDevice.objects.filter(user=user)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    return devices.first()


def status(user: User) -> Status:
    device = _device(user, confirmed=True)
    if device is None:
        return Status(False, None, 0)
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    return Status(True, device.confirmed_at, left)


def _setup(user: User, device: TwoFactorDevice) -> Setup:
    secret = b32encode(device.get_key()).decode("ascii").rstrip("=")
    label = quote(f"{ISSUER}:{user.email}")
    query = urlencode(
        {"secret": secret, "issuer": ISSUER, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_S},
        quote_via=quote,
    )
    return Setup(secret, f"otpauth://totp/{label}?{query}")


def begin(user: User) -> Setup:
    """A key for the person's app, not yet in force. The same key comes back until it is
    confirmed (so reloading the page does not change the QR code being scanned)."""
    if _device(user, confirmed=True) is not None:
        raise AccountsError(_("Two-factor sign-in is already on."), status=409)
    device = _device(user, confirmed=False)
    if device is None:
        device = TwoFactorDevice(user=user, name="authenticator app", confirmed=False)
        device.set_key(secrets.token_bytes(KEY_BYTES))
        device.save()
    return _setup(user, device)


def _step(device: TwoFactorDevice, code: str) -> int | None:
    """The time step whose code ``code`` is (within the tolerance, after ``last_t``), or None."""
    totp = TOTP(device.get_key(), step=STEP_S, digits=DIGITS)
    totp.time = clock.now().timestamp()
    if not totp.verify(int(code), tolerance=TOLERANCE, min_t=device.last_t + 1):
        return None
    return int(totp.t())


def _wait(device: TwoFactorDevice) -> int:
    """Seconds before the device looks at another code (django-otp's back-off, capped)."""
    failures, last = device.throttling_failure_count, device.throttling_failure_timestamp
    if failures <= 0 or last is None:
        return 0
    delay = min(dt.timedelta(seconds=device.get_throttle_factor() * 2 ** min(failures - 1, 20)), MAX_BACKOFF)
    left = (last + delay - clock.now()).total_seconds()
    return math.ceil(left) if left > 0 else 0


def _use_app_code(device: TwoFactorDevice, code: str) -> bool:
    """Accept an app code once: the step is claimed by a conditional UPDATE, so of two requests
    with the same code only one gets in. A wrong code counts toward the back-off."""
    wait = _wait(device)
    if wait:
        raise TwoFactorLocked(wait)
    t = _step(device, code)
    devices = TwoFactorDevice.objects.filter(pk=device.pk)
    if t is not None and devices.filter(last_t__lt=t).update(
        last_t=t, last_used_at=clock.now(), throttling_failure_count=0, throttling_failure_timestamp=None
    ):
        device.last_t = t
        return True
    devices.update(
        throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=clock.now()
    )
    return False


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _new_codes(user: User) -> list[str]:
    """Ten fresh recovery codes in place of the old ones (the codes themselves, shown once)."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(10)]
    RecoveryCode.objects.filter(user=user).delete()
    now = clock.now()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            user=user, code_hash=crypto.keyed_digests(f"{user.pk}:{c}", CODE_PURPOSE)[0], created_at=now
        )
        for c in codes
    )
    half = RECOVERY_LENGTH // 2
    return [f"{c[:half]}-{c[half:]}" for c in codes]


def _record_everywhere(user: User, action: str, summary: str, *, by: User | None) -> None:
    """An audit entry in every workspace the person belongs to (their sign-in opens each)."""
    for workspace_id in Membership.objects.filter(user=user).values_list("workspace_id", flat=True):
        record(workspace_id, None, action, "user", user.pk, summary, user_id=by.pk if by else None)


def confirm(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with the first code from the app; returns the recovery codes."""
    code = _normalise(code)
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            if _device(user, confirmed=True) is not None:
                raise AccountsError(_("Two-factor sign-in is already on."), status=409)
            raise AccountsError(_("Start again: open the set-up page for a new key."), status=409)
        if not _APP_CODE.fullmatch(code):
            raise AccountsError(
                _("Type the %(digits)d-digit code your app shows.") % {"digits": DIGITS}, "code"
            )
        t = _step(device, code)
        if t is None:
            raise AccountsError(
                _(
                    "That code does not match. Check that the app has the key shown here and that the phone's clock is right, then try the current code."
                ),
                "code",
            )
        device.confirmed, device.confirmed_at, device.last_t = True, clock.now(), t
        device.save(update_fields=["confirmed", "confirmed_at", "last_t"])
        codes = _new_codes(user)
        _record_everywhere(user, "two_factor.enable", f"{user.email} turned on two-factor sign-in", by=user)
    return codes


def verify(user: User, code: str) -> Verified | None:
    """The second step of signing in: a code from the app or an unused recovery code (used up
    here). ``None`` when it is wrong; :class:`TwoFactorLocked` while the back-off lasts."""
    device = _device(user, confirmed=True)
    if device is None:
        return None
    code = _normalise(code)
    if _APP_CODE.fullmatch(code):
        if not _use_app_code(device, code):
            return None
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        return Verified("app", left)
    if len(code) != RECOVERY_LENGTH or set(code) - set(RECOVERY_ALPHABET):
        return None
    with transaction.atomic():
        hashes = crypto.keyed_digests(f"{user.pk}:{code}", CODE_PURPOSE)
        row = RecoveryCode.objects.filter(user=user, code_hash__in=hashes, used_at__isnull=True).first()
        # The conditional update spends the code once, however many requests carry it.
        if row is None or not RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
            used_at=clock.now()
        ):
            return None
        TwoFactorDevice.objects.filter(pk=device.pk).update(
            throttling_failure_count=0, throttling_failure_timestamp=None
        )
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        _record_everywhere(
            user,
            "two_factor.recovery_used",
            f"{user.email} signed in with a recovery code ({left} left)",
            by=user,
        )
        two_factor_event.send(
            sender=TwoFactorDevice, user_id=user.pk, event="recovery_code_used", by_operator=False, left=left
        )
    return Verified("recovery_code", left)


def _check_proof(user: User, proof: str) -> None:
    """The password or a current code from the app, for turning it off or new recovery codes."""
    device = _device(user, confirmed=True)
    if device is None:
        raise AccountsError(_("Two-factor sign-in is not on."), status=409)
    if proof and user.check_password(proof):
        return
    code = _normalise(proof)
    if _APP_CODE.fullmatch(code) and _use_app_code(device, code):
        return
    raise AccountsError(_("That is neither your password nor a current code from your app."), "proof", 403)


def disable(user: User, proof: str) -> None:
    """Turn two-factor sign-in off (the password or a current code proves it is the person)."""
    with transaction.atomic():
        _check_proof(user, proof)
        _remove(user)
        _record_everywhere(user, "two_factor.disable", f"{user.email} turned off two-factor sign-in", by=user)
        two_factor_event.send(
            sender=TwoFactorDevice, user_id=user.pk, event="two_factor_disabled", by_operator=False, left=0
        )


def regenerate_codes(user: User, proof: str) -> list[str]:
    """Ten new recovery codes in place of the old ones (used or not), shown once."""
    with transaction.atomic():
        _check_proof(user, proof)
        codes = _new_codes(user)
        _record_everywhere(
            user, "two_factor.recovery_regenerate", f"{user.email} made new recovery codes", by=user
        )
    return codes


def _remove(user: User) -> None:
    TwoFactorDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


def reset(email: str) -> bool:
    """The operator turns two-factor sign-in off for someone who lost their app and their codes
    (``rupor two-factor reset``). False when it was not on."""
    user = User.objects.filter(email=(email or "").strip().lower()).first()
    if user is None:
        raise AccountsError(_("No user with the email %(email)s.") % {"email": email}, "email", 404)
    with transaction.atomic():
        if not TwoFactorDevice.objects.filter(user=user, confirmed=True).exists():
            _remove(user)
            return False
        _remove(user)
        _record_everywhere(
            user, "two_factor.reset", f"the operator turned off two-factor sign-in of {user.email}", by=None
        )
        two_factor_event.send(
            sender=TwoFactorDevice, user_id=user.pk, event="two_factor_disabled", by_operator=True, left=0
        )
    return True
