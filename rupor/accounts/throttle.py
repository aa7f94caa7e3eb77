"""Throttling of failed sign-ins and API-key attempts, per account and per address.

A small counter in the database (every process and machine shares it, no cache needed): each
failure is a row; while a scope holds ``limit`` failures inside its ``window``, further attempts
are refused before any password or key is checked, even a right one. Refused attempts are not
counted, so the lock lifts by itself once the oldest counted failure leaves the window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from django.http import HttpRequest

from rupor.accounts.models import AuthFailure
from rupor.core import clock


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: dt.timedelta


#: Wrong passwords for one account (whoever tries them).
SIGN_IN_ACCOUNT = Limit("signin-account", 20, dt.timedelta(minutes=1))
#: Wrong passwords from one address (for any accounts); offices share addresses, so higher.
SIGN_IN_ADDRESS = Limit("signin-address", 60, dt.timedelta(minutes=1))
#: Unknown or revoked API keys from one address.
API_KEY_ADDRESS = Limit("apikey-address", 30, dt.timedelta(minutes=1))

#: Wrong second-step codes (and wrong proofs for turning two-factor sign-in off) for one account:
#: far fewer than passwords, since a code has only a million values (accounts/twofactor.py).
TWO_FACTOR_ACCOUNT = Limit("2fa-account", 5, dt.timedelta(minutes=5))
#: Wrong second-step codes from one address (for any accounts).
TWO_FACTOR_ADDRESS = Limit("2fa-address", 30, dt.timedelta(minutes=5))

_LONGEST = max(
    SIGN_IN_ACCOUNT.window,
    SIGN_IN_ADDRESS.window,
    API_KEY_ADDRESS.window,
    TWO_FACTOR_ACCOUNT.window,
    TWO_FACTOR_ADDRESS.window,
)


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def client_address(request: HttpRequest) -> str:
    """The address the request came from (the one the server saw; proxies set it right)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def wait_seconds(*checks: tuple[Limit, str]) -> int:
    """Seconds until an attempt is allowed again (0: allowed now)."""
    now = clock.now()
    wait = 0.0
    for limit, value in checks:
        recent = list(
            AuthFailure.objects.filter(scope=limit.scope, key=_digest(value), at__gt=now - limit.window)
            .order_by("-at")
            .values_list("at", flat=True)[: limit.limit]
        )
        if len(recent) >= limit.limit:
            # Allowed again when the limit-th most recent failure leaves the window.
            wait = max(wait, (recent[limit.limit - 1] + limit.window - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def record_failure(*checks: tuple[Limit, str]) -> None:
    now = clock.now()
    AuthFailure.objects.bulk_create(
        [AuthFailure(scope=limit.scope, key=_digest(value), at=now) for limit, value in checks]
    )
    AuthFailure.objects.filter(at__lt=now - _LONGEST).delete()


def clear(limit: Limit, value: str) -> None:
    """Forget the failures of ``value`` (an account after a right password)."""
    AuthFailure.objects.filter(scope=limit.scope, key=_digest(value)).delete()
