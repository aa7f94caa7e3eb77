"""X (Twitter) API v2 wire format: endpoints, OAuth 2.0 with PKCE, rate-limit headers, errors.

Sources (docs.x.com):

* posts: ``POST /2/tweets`` (JSON ``text``, ``reply.in_reply_to_tweet_id``, ``media.media_ids``,
  ``poll.options``/``poll.duration_minutes``), answer 201 ``{"data": {"id", "text"}}``;
  ``GET /2/tweets?ids=&tweet.fields=public_metrics``; ``DELETE /2/tweets/:id``;
* media: ``POST /2/media/upload`` with ``command=INIT|APPEND|FINALIZE`` (multipart), then
  ``GET /2/media/upload?command=STATUS&media_id=`` while ``processing_info.state`` is
  ``pending``/``in_progress`` (wait ``check_after_secs``);
* OAuth 2.0 authorization code with PKCE (S256): ``https://x.com/i/oauth2/authorize``, tokens from
  ``POST /2/oauth2/token``; an access token lives 2 hours; with ``offline.access`` a refresh
  token comes too, and each refresh answers a *new* refresh token (the old one stops working);
* rate limits: ``x-rate-limit-limit``/``-remaining``/``-reset`` (unix seconds) on every answer, and
  on creating posts ``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*``; a 429 has no
  ``Retry-After``: the wait is until the reset the headers name;
* errors: problem JSON (``title``, ``detail``, ``type``, ``status``); a duplicate text is 403
  "You are not allowed to create a Tweet with duplicate content."; an access tier without an
  endpoint answers 403 with ``reason: client-not-enrolled``.

Raw payloads never leave ``rupor/networks/x/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from rupor.networks.base import PollTally

DEFAULT_API_ROOT = "https://api.x.com"
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")
MAX_WEIGHTED = 280
POLL_MIN_MINUTES, POLL_MAX_MINUTES = 5, 10080
POLL_OPTION_MAX = 25
MEDIA_CHUNK = 4 * 1024 * 1024  # X takes segments of up to 5 MB
IMAGE_MAX_BYTES = 5 * 1024 * 1024
VIDEO_MAX_BYTES = 512 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
#: Problem types and details X answers with.
DUPLICATE_DETAIL = "duplicate content"
CLIENT_NOT_ENROLLED = "client-not-enrolled"
USAGE_CAPPED = "usage-capped"


@dataclass(frozen=True)
class Pkce:
    """One authorization's PKCE pair: send ``challenge`` (S256), keep ``verifier`` for the token."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)[:96]
        return cls(verifier, challenge(verifier))


def challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636, S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def authorize_url(
    client_id: str, redirect_uri: str, state: str, pkce: Pkce, *, base: str = AUTHORIZE_URL
) -> str:
    """Where a person allows the application (authorization code flow with PKCE)."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(SCOPES),
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    return f"{base}?{urlencode(query)}"


def basic_auth(client_id: str, client_secret: str) -> str:
    """Confidential clients authenticate to the token endpoint with HTTP Basic."""
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def token_credentials(
    answer: Mapping[str, Any], now: dt.datetime, previous: Mapping[str, str]
) -> dict[str, str]:
    """The stored credentials after a token answer: the new access token, its expiry, and the new
    refresh token (rotated: the one just used no longer works)."""
    out = dict(previous)
    out["access_token"] = str(answer["access_token"])
    if answer.get("refresh_token"):
        out["refresh_token"] = str(answer["refresh_token"])
    expires_in = int(answer.get("expires_in") or 7200)
    out["expires_at"] = str(int(now.timestamp()) + expires_in)
    return out


@dataclass(frozen=True)
class Limits:
    """What one answer's headers say about the limits it counted against (``None``: not told)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None
    user_day_limit: int | None = None
    user_day_remaining: int | None = None
    user_day_reset: int | None = None
    app_day_limit: int | None = None
    app_day_remaining: int | None = None
    app_day_reset: int | None = None

    def wait_s(self, now: float) -> float | None:
        """Seconds until the exhausted window or cap resets, as the headers say."""
        resets = [
            reset
            for remaining, reset in (
                (self.remaining, self.reset),
                (self.user_day_remaining, self.user_day_reset),
                (self.app_day_remaining, self.app_day_reset),
            )
            if remaining == 0 and reset is not None
        ]
        if not resets:
            return None
        return max(1.0, max(resets) - now)


def limits(headers: Mapping[str, str]) -> Limits:
    def num(name: str) -> int | None:
        value = headers.get(name, "")
        return int(value) if value.strip().isdigit() else None

    return Limits(
        num("x-rate-limit-limit"),
        num("x-rate-limit-remaining"),
        num("x-rate-limit-reset"),
        num("x-user-limit-24hour-limit"),
        num("x-user-limit-24hour-remaining"),
        num("x-user-limit-24hour-reset"),
        num("x-app-limit-24hour-limit"),
        num("x-app-limit-24hour-remaining"),
        num("x-app-limit-24hour-reset"),
    )


def problem_text(payload: Any) -> str:
    """``detail`` (or the first error's ``message``) of a problem answer, '' when there is none."""
    if not isinstance(payload, dict):
        return ""
    if payload.get("detail"):
        return str(payload["detail"])
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    return str(payload.get("error_description") or "")


def is_duplicate(status: int, payload: Any) -> bool:
    return status == 403 and DUPLICATE_DETAIL in problem_text(payload).lower()


def is_not_enrolled(status: int, payload: Any) -> bool:
    return status == 403 and isinstance(payload, dict) and payload.get("reason") == CLIENT_NOT_ENROLLED


def is_usage_capped(payload: Any) -> bool:
    return isinstance(payload, dict) and str(payload.get("type", "")).endswith(USAGE_CAPPED)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def tweet_body(
    text: str,
    *,
    reply_to: str | None = None,
    media_ids: tuple[str, ...] | list[str] = (),
    poll: tuple[tuple[str, ...], int] | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /2/tweets``."""
    body: dict[str, Any] = {}
    if text:
        body["text"] = text
    if reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    if media_ids:
        body["media"] = {"media_ids": [str(m) for m in media_ids]}
    if poll is not None:
        body["poll"] = {"options": list(poll[0]), "duration_minutes": poll[1]}
    return body


def tweet_url(username: str, tweet_id: str) -> str:
    return f"https://x.com/{username or 'i/web'}/status/{tweet_id}"


def poll_tally(poll: Mapping[str, Any]) -> PollTally:
    """An X Poll object: ``options`` (``position``, ``label``, ``votes``), ``voting_status``
    ("open" or "closed"), ``end_datetime``. X polls take one answer, so the voters are the votes."""
    options = sorted(
        (o for o in poll.get("options") or () if isinstance(o, Mapping)),
        key=lambda o: int(o.get("position") or 0),
    )
    votes = tuple(int(o.get("votes") or 0) for o in options)
    end = poll.get("end_datetime")
    closes = dt.datetime.fromisoformat(str(end).replace("Z", "+00:00")) if end else None
    return PollTally(
        remote_poll_id=str(poll.get("id", "")),
        options=tuple(str(o.get("label", "")) for o in options),
        votes=votes,
        voters=sum(votes),
        closed=poll.get("voting_status") == "closed",
        closes_at=closes,
    )
