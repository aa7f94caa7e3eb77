"""The Graph API's wire facts shared by Facebook Pages and Instagram: the pinned version, the error
envelope and what each code means, and the usage headers that announce a rate limit ahead.

Sources:

* errors: https://developers.facebook.com/docs/graph-api/guides/error-handling (the envelope
  ``{"error": {"message", "type", "code", "error_subcode", "error_user_title", "error_user_msg",
  "fbtrace_id", "is_transient"}}``, the code table, the 190 subcodes);
* rate limits: https://developers.facebook.com/docs/graph-api/overview/rate-limiting (``X-App-Usage``
  and ``X-Page-Usage`` as ``{"call_count": %, "total_cputime": %, "total_time": %}``,
  ``X-Business-Use-Case-Usage`` as ``{"<business id>": [{"type", "call_count", "total_cputime",
  "total_time", "estimated_time_to_regain_access"}]}`` with the estimate in minutes; throttled at
  100 %; codes 4, 17, 32, 613 and 80001-80014);
* version: the Graph API version of the ``facebook-business`` SDK whose object definitions the
  emulators validate against (``facebook_business/apiconfig.py``).

Raw payloads never leave ``rupor/networks/graph/`` and the network packages that use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rupor.networks.errors import (
    AuthExpired,
    CodeRule,
    Duplicate,
    NetworkError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
    ambiguous,
)

#: The one place the Graph API version is pinned; every call of both networks goes to it.
VERSION = "v26.0"
DEFAULT_BASE_URL = "https://graph.facebook.com"

#: Usage (percent of the limit) from which Rupor stops calling until the window has room again:
#: the limit itself is 100 %, and a call made at 100 % is refused and counts against the app.
PAUSE_AT = 90
#: How long to stay away when a usage header is at or over :data:`PAUSE_AT` and names no
#: estimate: a minute per percentage point from :data:`PAUSE_AT` (one minute at 90 %, eleven at 100 %).
PAUSE_PER_POINT_S = 60.0
#: A rate-limit error without an estimate in its headers waits this long (Meta: "wait and retry").
DEFAULT_THROTTLE_WAIT_S = 300.0

#: Codes that say a rate limit was reached (app, user, Page, custom-level, Business Use Case).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
#: OAuthException codes that mean the token no longer works.
TOKEN_CODES = frozenset({102, 190})
#: Subcodes of 190 in words (the error-handling guide's table).
TOKEN_SUBCODES: dict[int, str] = {
    458: "the app was removed from the account",
    459: "the account is checkpointed; log in on Facebook to fix it",
    460: "the password was changed",
    463: "the token expired",
    464: "the account is not confirmed",
    467: "the token is invalid",
    492: "the session is invalid",
}

#: What each Graph error code means. ``UnknownOutcome`` rows are ambiguous (an unknown outcome on
#: a create, transient elsewhere). Codes not listed fall to ``is_transient`` or to :data:`OTHER`.
ERRORS: dict[int, CodeRule] = {
    1: CodeRule(UnknownOutcome, "The Graph API failed with an unknown error (code 1): {detail}"),
    2: CodeRule(UnknownOutcome, "The Graph API service is temporarily down (code 2): {detail}"),
    4: CodeRule(
        RateLimited, "The app reached its Graph API call limit (code 4); Rupor waits before the next call."
    ),
    17: CodeRule(
        RateLimited,
        "The account reached its Graph API call limit (code 17); Rupor waits before the next call.",
    ),
    32: CodeRule(
        RateLimited, "The Page reached its Graph API call limit (code 32); Rupor waits before the next call."
    ),
    613: CodeRule(
        RateLimited, "A Graph API call limit was reached (code 613); Rupor waits before the next call."
    ),
    341: CodeRule(
        RateLimited,
        "The app's limit for this action was reached (code 341); Rupor waits before trying again.",
    ),
    10: CodeRule(
        Rejected,
        "Facebook refused: the app lacks the permission for this ({detail}). Reconnect and grant it.",
        needs_person=True,
    ),
    100: CodeRule(Rejected, "The Graph API refused a parameter: {detail}", needs_person=True),
    102: CodeRule(
        AuthExpired, "The Facebook session is no longer valid; reconnect the channel.", needs_person=True
    ),
    190: CodeRule(
        AuthExpired,
        "The Facebook access token no longer works ({why}); reconnect the channel.",
        needs_person=True,
    ),
    200: CodeRule(
        Rejected,
        "Facebook refused: a permission is missing ({detail}). Reconnect and grant it.",
        needs_person=True,
    ),
    324: CodeRule(Rejected, "Facebook could not read the picture: {detail}", needs_person=True),
    368: CodeRule(
        Rejected,
        "Facebook has temporarily blocked this account from posting for policy reasons (code 368): {detail}",
        needs_person=True,
    ),
    506: CodeRule(Duplicate, "Facebook says the same post was just published (code 506)."),
}
OTHER = CodeRule(Rejected, "The Graph API refused the request (code {code}): {detail}", needs_person=True)
TRANSIENT = CodeRule(Transient, "The Graph API had a temporary problem (code {code}); Rupor will try again.")


@dataclass(frozen=True)
class GraphError:
    """One error envelope as the Graph API sends it."""

    code: int
    message: str = ""
    type: str = ""
    subcode: int | None = None
    is_transient: bool | None = None
    user_title: str = ""
    user_msg: str = ""
    fbtrace_id: str = ""

    @property
    def detail(self) -> str:
        """What a person should read: the user message where Meta wrote one, else the message."""
        return self.user_msg or self.message


def parse_error(payload: Any) -> GraphError | None:
    """The error of an answer body (already decoded), or ``None`` when it carries none."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None
    raw_code = error.get("code")
    code = int(str(raw_code)) if isinstance(raw_code, int) or str(raw_code or "").isdigit() else 1
    subcode = error.get("error_subcode")
    transient = error.get("is_transient")
    return GraphError(
        code=code,
        message=str(error.get("message") or ""),
        type=str(error.get("type") or ""),
        subcode=int(str(subcode)) if isinstance(subcode, int) or str(subcode or "").isdigit() else None,
        is_transient=bool(transient) if transient is not None else None,
        user_title=str(error.get("error_user_title") or ""),
        user_msg=str(error.get("error_user_msg") or ""),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
    )


def to_network_error(
    error: GraphError, *, creates: bool, excerpt: str = "", retry_after: float | None = None
) -> NetworkError:
    """Rupor's error class for a Graph error, by ``code``, ``error_subcode`` and ``is_transient``.

    Rate-limit codes wait ``retry_after`` (from the usage headers) or :data:`DEFAULT_THROTTLE_WAIT_S`;
    an unlisted code marked ``is_transient`` is retried (ambiguous on a create); anything else is
    refused for a person to read.
    """
    code = error.code
    if code in TOKEN_CODES or (error.type == "OAuthException" and error.subcode in TOKEN_SUBCODES):
        rule = ERRORS[190] if code != 102 else ERRORS[102]
        why = TOKEN_SUBCODES.get(error.subcode or 0, error.detail or "no reason given")
        return AuthExpired(rule.message.format(why=why), code=code, excerpt=excerpt, needs_person=True)
    if code in RATE_LIMIT_CODES or code == 341:
        rule = ERRORS.get(code) or CodeRule(
            RateLimited, "Facebook is throttling this business's calls (code {code}); Rupor waits."
        )
        return RateLimited(
            rule.message.format(code=code),
            code=code,
            excerpt=excerpt,
            retry_after=retry_after or DEFAULT_THROTTLE_WAIT_S,
        )
    if 200 <= code <= 299:
        rule = ERRORS[200]
    elif code in ERRORS:
        rule = ERRORS[code]
    elif error.is_transient:
        rule = TRANSIENT
    else:
        rule = OTHER
    message = rule.message.format(code=code, detail=error.detail or error.type or "no details")
    if rule.kind is UnknownOutcome or (rule is TRANSIENT and creates):
        return ambiguous(creates, message, code=code, excerpt=excerpt)
    if rule.kind is Duplicate:
        return Duplicate(message, code=code, excerpt=excerpt)
    return rule.kind(message, code=code, excerpt=excerpt, needs_person=rule.needs_person)


# -- usage headers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """One usage report: which limit, the highest percentage of it used, and Meta's estimate (in
    seconds) of when calls are allowed again (0 when it gives none)."""

    header: str
    percent: float
    regain_s: float = 0.0
    business_id: str = ""
    use_case: str = ""


def _percent(entry: Mapping[str, Any]) -> float:
    values = [entry.get(k) for k in ("call_count", "total_cputime", "total_time")]
    return max(
        (float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)), default=0.0
    )


def _regain(entry: Mapping[str, Any]) -> float:
    minutes = entry.get("estimated_time_to_regain_access")
    return float(minutes) * 60 if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) else 0.0


def parse_usage(headers: Mapping[str, str]) -> list[Usage]:
    """Every usage report in the answer's headers (``X-App-Usage``, ``X-Page-Usage``,
    ``X-Business-Use-Case-Usage``, ``X-Ad-Account-Usage`` is not Rupor's); unreadable ones are
    left out, never fatal."""
    lower = {k.lower(): v for k, v in headers.items()}
    out: list[Usage] = []
    for name in ("x-app-usage", "x-page-usage"):
        raw = lower.get(name)
        if not raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, Mapping):
            out.append(Usage(name, _percent(entry), _regain(entry)))
    raw = lower.get("x-business-use-case-usage")
    if raw:
        try:
            business = json.loads(raw)
        except ValueError:
            business = None
        if isinstance(business, Mapping):
            for business_id, entries in business.items():
                for entry in entries if isinstance(entries, list) else ():
                    if isinstance(entry, Mapping):
                        out.append(
                            Usage(
                                "x-business-use-case-usage",
                                _percent(entry),
                                _regain(entry),
                                str(business_id),
                                str(entry.get("type") or ""),
                            )
                        )
    return out


def pause_for(usages: list[Usage]) -> float:
    """Seconds to stay away before the next call, from the answer's usage reports: 0 below
    :data:`PAUSE_AT`; at or over it Meta's estimate where it gives one, else a minute per point."""
    wait = 0.0
    for usage in usages:
        if usage.percent >= PAUSE_AT:
            estimate = usage.regain_s or PAUSE_PER_POINT_S * (usage.percent - PAUSE_AT + 1)
            wait = max(wait, estimate)
        elif usage.regain_s:
            wait = max(wait, usage.regain_s)
    return wait


def throttle_wait(usages: list[Usage]) -> float | None:
    """How long a refused (rate-limited) call should wait: the longest estimate in the headers,
    or ``None`` when they give none."""
    estimates = [u.regain_s for u in usages if u.regain_s > 0]
    return max(estimates) if estimates else None
