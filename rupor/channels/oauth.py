"""The state of a web OAuth connect flow (X, Mastodon): made when a person starts connecting, kept
server-side in their session, bound to them and the workspace, used once, and gone after ten minutes.

``state`` is the flow's CSRF token (RFC 6749 section 10.12): the callback accepts only an answer
that carries a state this session issued for the same person, workspace and network.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from rupor.core import clock

SESSION_KEY = "rupor_oauth"
LIFETIME_SECONDS = 600
MAX_PENDING = 5


class StateError(Exception):
    """The answer does not belong to a flow this person started here (missing, unknown, reused,
    expired, or someone else's); ``message`` says so in the person's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Flow:
    network: str
    workspace_id: int
    user_id: int
    data: dict[str, str]


def begin(
    session: MutableMapping[str, Any], *, network: str, workspace_id: int, user_id: int, data: dict[str, str]
) -> str:
    """Remember a new flow and return its ``state``; ``data`` is what the callback needs (PKCE
    verifier, client id, redirect URI...). Expired flows are dropped; at most ``MAX_PENDING`` kept."""
    now = clock.now().timestamp()
    pending = {k: v for k, v in dict(session.get(SESSION_KEY) or {}).items() if v["expires"] > now}
    for old in sorted(pending, key=lambda k: pending[k]["expires"])[: max(0, len(pending) - MAX_PENDING + 1)]:
        del pending[old]
    state = secrets.token_urlsafe(32)
    pending[state] = {
        "network": network,
        "workspace": workspace_id,
        "user": user_id,
        "expires": now + LIFETIME_SECONDS,
        "data": dict(data),
    }
    session[SESSION_KEY] = pending
    return state


def take(
    session: MutableMapping[str, Any], state: str, *, network: str, workspace_id: int, user_id: int
) -> Flow:
    """The flow ``state`` names, removed from the session whatever the outcome (single use)."""
    pending = dict(session.get(SESSION_KEY) or {})
    found = pending.pop(state, None) if state else None
    session[SESSION_KEY] = pending
    if found is None:
        raise StateError(
            _("This answer does not match a connection started here, or it was used already. Start again.")
        )
    if found["expires"] <= clock.now().timestamp():
        raise StateError(_("Connecting took more than ten minutes. Start again."))
    if found["network"] != network or found["workspace"] != workspace_id or found["user"] != user_id:
        raise StateError(
            _("This connection was started in another workspace or by someone else. Start again there.")
        )
    return Flow(network, found["workspace"], found["user"], dict(found["data"]))
