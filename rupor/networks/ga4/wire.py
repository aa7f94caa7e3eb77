"""The Google Analytics Data API (v1beta) on the wire, and Google's service-account sign-in
(docs/networks.md, "Google Analytics 4").

Sources:

* ``properties.runReport`` (``POST https://analyticsdata.googleapis.com/v1beta/properties/
  {property}:runReport``, https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/runReport):
  ``dateRanges`` (``startDate``/``endDate``: ``YYYY-MM-DD``, ``NdaysAgo``, ``yesterday``,
  ``today``), ``dimensions``/``metrics`` (``{"name"}``), ``dimensionFilter`` (a
  ``FilterExpression``: ``filter`` with ``stringFilter`` or ``inListFilter``, ``andGroup``,
  ``orGroup``, ``notExpression``), ``orderBys``, ``limit`` and ``offset`` (int64 as strings;
  ``limit`` 10,000 by default, at most 250,000), ``keepEmptyRows``, ``returnPropertyQuota``.
* The answer (``RunReportResponse``): ``dimensionHeaders``, ``metricHeaders`` (``type``),
  ``rows`` (``dimensionValues``/``metricValues``, each ``{"value": string}``), ``rowCount`` (all
  rows, whatever the page), ``metadata`` (``currencyCode``, ``timeZone``), ``propertyQuota``,
  ``kind``. As proto3 JSON, fields at their default are left out: an empty report has neither
  ``rows`` nor ``rowCount``.
* The schema (https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema):
  ``date`` (``YYYYMMDD``), ``sessionSource``, ``sessionMedium``, ``sessionCampaignName``
  (utm_campaign), ``sessionManualAdContent`` (utm_content); ``sessions``, ``totalUsers``,
  ``keyEvents`` and ``keyEvents:<event name>`` (``conversions`` before they were renamed in 2024);
  a value the session lacked is ``(not set)``. ``GET …/properties/{property}/metadata`` lists
  the dimensions and metrics, a ``keyEvents:<name>`` metric for each key event.
* Quotas (``PropertyQuota``, https://developers.google.com/analytics/devguides/reporting/data/v1/quotas):
  a standard property may spend 200,000 tokens a day, 40,000 an hour and 14,000 an hour per
  Cloud project, 10 concurrent requests, 10 server errors an hour per project, 120 potentially
  thresholded requests an hour; each request costs tokens by its complexity (Google does not
  publish the formula); an exhausted quota is 429 ``RESOURCE_EXHAUSTED``.
* Errors (https://cloud.google.com/apis/design/errors): ``{"error": {"code", "message",
  "status"}}``; the ``status`` decides (``INVALID_ARGUMENT``, ``UNAUTHENTICATED``,
  ``PERMISSION_DENIED``, ``RESOURCE_EXHAUSTED``, ``INTERNAL``, ``UNAVAILABLE``…).
* Service accounts (https://developers.google.com/identity/protocols/oauth2/service-account):
  a JWT signed RS256 with the key's ``private_key``, claims ``iss`` (``client_email``),
  ``scope``, ``aud`` (``https://oauth2.googleapis.com/token``), ``iat`` and ``exp`` (at most an
  hour later), sent as ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…``;
  the answer's ``access_token`` lives ``expires_in`` seconds (an hour); refusals are
  ``{"error": "invalid_grant", "error_description"}``. The key file is JSON with ``type``
  ``service_account``, ``client_email``, ``private_key``, ``private_key_id``, ``project_id``.

Raw payloads never leave ``rupor/networks/ga4/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils.translation import gettext as _

from rupor.networks import errors

DEFAULT_API_ROOT = "https://analyticsdata.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
#: The ``aud`` of every assertion: Google's token endpoint, whichever address the request goes to.
TOKEN_AUDIENCE = TOKEN_URL
TOKEN_PATH = "/token"
SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
RUN_REPORT = "/v1beta/properties/{property}:runReport"
METADATA = "/v1beta/properties/{property}/metadata"

DIM_DATE = "date"
DIM_SOURCE = "sessionSource"
DIM_MEDIUM = "sessionMedium"
DIM_CAMPAIGN = "sessionCampaignName"
DIM_CONTENT = "sessionManualAdContent"
DIMENSIONS = (DIM_DATE, DIM_SOURCE, DIM_MEDIUM, DIM_CAMPAIGN, DIM_CONTENT)
METRIC_SESSIONS = "sessions"
METRIC_USERS = "totalUsers"
METRIC_KEY_EVENTS = "keyEvents"
NOT_SET = "(not set)"

MAX_DIMENSIONS = 9
MAX_METRICS = 10
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
#: Rupor's page.
PAGE_LIMIT = 10_000
#: A standard property's quotas.
TOKENS_PER_DAY = 200_000
TOKENS_PER_HOUR = 40_000
TOKENS_PER_PROJECT_PER_HOUR = 14_000
CONCURRENT_REQUESTS = 10
SERVER_ERRORS_PER_HOUR = 10
THRESHOLDED_PER_HOUR = 120
#: Rupor stops before a quota whose remaining tokens are fewer than this many of the last
#: request's cost: the next page may cost as much again, and an exhausted property refuses
#: every request (the site's own dashboards included) until the hour or the day turns.
RESERVE_REQUESTS = 5
#: An assertion's lifetime (Google's maximum: one hour).
ASSERTION_TTL_S = 3600
PROPERTY_ID = re.compile(r"[1-9][0-9]{0,14}")
KEY_EVENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
MAX_KEY_FILE = 20_000  # webanalytics.MAX_SECRET


class Status(enum.StrEnum):
    """The ``error.status`` values (google.rpc.Code names) the client acts on."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    UNKNOWN = "UNKNOWN"


class TokenError(enum.StrEnum):
    """The token endpoint's ``error`` values (RFC 6749, section 5.2)."""

    INVALID_GRANT = "invalid_grant"
    INVALID_CLIENT = "invalid_client"
    INVALID_SCOPE = "invalid_scope"
    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    UNAUTHORIZED_CLIENT = "unauthorized_client"


_NAME = "Google Analytics"
_RULES: dict[str, errors.CodeRule] = {
    Status.INVALID_ARGUMENT: errors.CodeRule(
        errors.Rejected, f"{_NAME} refused the report: {{detail}}", needs_person=True
    ),
    Status.FAILED_PRECONDITION: errors.CodeRule(
        errors.Rejected, f"{_NAME} refused the report: {{detail}}", needs_person=True
    ),
    Status.NOT_FOUND: errors.CodeRule(
        errors.Rejected, f"{_NAME} has no property {{property}}.", needs_person=True
    ),
    Status.PERMISSION_DENIED: errors.CodeRule(
        errors.Rejected,
        "The service account may not read GA4 property {property}: add its e-mail address as a Viewer in "
        "the property's access management (and enable the Google Analytics Data API in its Cloud project).",
        needs_person=True,
    ),
    Status.UNAUTHENTICATED: errors.CodeRule(
        errors.AuthExpired, f"{_NAME} refused the service account's access token.", needs_person=True
    ),
    Status.RESOURCE_EXHAUSTED: errors.CodeRule(
        errors.RateLimited,
        "The GA4 property's API quota is spent; Rupor will read again later.",
        retry_after=3600.0,
    ),
    Status.INTERNAL: errors.CodeRule(errors.Transient, f"{_NAME} had a server error; Rupor will try again."),
    Status.UNAVAILABLE: errors.CodeRule(errors.Transient, f"{_NAME} is unavailable; Rupor will try again."),
    Status.DEADLINE_EXCEEDED: errors.CodeRule(
        errors.Transient, f"{_NAME} took too long; Rupor will try again."
    ),
    Status.UNKNOWN: errors.CodeRule(errors.Transient, f"{_NAME} failed; Rupor will try again."),
}
_TOKEN_RULES: dict[str, errors.CodeRule] = {
    TokenError.INVALID_GRANT: errors.CodeRule(
        errors.AuthExpired,
        "Google refused the service account key (deleted or disabled, or this server's clock is wrong): "
        "create a new key and connect again.",
        needs_person=True,
    ),
    TokenError.INVALID_CLIENT: errors.CodeRule(
        errors.AuthExpired,
        "Google does not know this service account: check the key file.",
        needs_person=True,
    ),
    TokenError.UNAUTHORIZED_CLIENT: errors.CodeRule(
        errors.AuthExpired,
        "Google does not let this service account sign in: check the key file.",
        needs_person=True,
    ),
}


@dataclass(frozen=True)
class ServiceAccount:
    """A service account key (the JSON file Google Cloud gives)."""

    client_email: str
    private_key: str
    private_key_id: str = ""
    project_id: str = ""

    def __repr__(self) -> str:  # the private key must never reach a log line
        return f"ServiceAccount(client_email={self.client_email!r}, private_key_id={self.private_key_id!r})"


def parse_key(text: str) -> ServiceAccount:
    """The service account in a key file; ``ValueError`` with a sentence when it is not one."""
    if len(text) > MAX_KEY_FILE:
        raise ValueError(_("The key file is too large to be a service account key."))
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(_("The key file is not JSON: paste the whole file Google Cloud gave you.")) from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValueError(
            _('The key file is not a service account key (its "type" must be "service_account").')
        )
    email, key = data.get("client_email"), data.get("private_key")
    if not isinstance(email, str) or "@" not in email or not isinstance(key, str):
        raise ValueError(_('The key file lacks "client_email" or "private_key".'))
    try:
        loaded = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(_("The key file's private key cannot be read.")) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(_("The key file's private key is not an RSA key."))
    return ServiceAccount(
        client_email=email,
        private_key=key,
        private_key_id=str(data.get("private_key_id") or ""),
        project_id=str(data.get("project_id") or ""),
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(account: ServiceAccount, now: int, scope: str = SCOPE) -> str:
    """The signed JWT (RS256) that asks Google's token endpoint for an access token."""
    header = {
        "alg": "RS256",
        "typ": "JWT",
        **({"kid": account.private_key_id} if account.private_key_id else {}),
    }
    claims = {
        "iss": account.client_email,
        "scope": scope,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + ASSERTION_TTL_S,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # parse_key checked it
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def token_form(account: ServiceAccount, now: int) -> dict[str, str]:
    return {"grant_type": GRANT_TYPE, "assertion": assertion(account, now)}


def parse_token(payload: Any) -> tuple[str, int]:
    """The access token and its lifetime in seconds."""
    return str(payload["access_token"]), int(payload.get("expires_in", 3600))


def metric_for(goal: str) -> str:
    """Key events of one event (its name) or of every key event (empty)."""
    return f"{METRIC_KEY_EVENTS}:{goal}" if goal else METRIC_KEY_EVENTS


def report_body(
    first: dt.date, last: dt.date, mediums: Sequence[str], goal: str, *, offset: int, limit: int = PAGE_LIMIT
) -> dict[str, Any]:
    """One page of Rupor's report: sessions, users and key events by day and UTM tags of the
    sessions whose medium is one of ``mediums``, in a stable order (so pages do not overlap)."""
    return {
        "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
        "dimensions": [{"name": d} for d in DIMENSIONS],
        "metrics": [{"name": METRIC_SESSIONS}, {"name": METRIC_USERS}, {"name": metric_for(goal)}],
        "dimensionFilter": {"filter": {"fieldName": DIM_MEDIUM, "inListFilter": {"values": list(mediums)}}},
        "orderBys": [{"dimension": {"dimensionName": d}} for d in DIMENSIONS],
        "offset": str(offset),
        "limit": str(limit),
        "returnPropertyQuota": True,
    }


def probe_body() -> dict[str, Any]:
    """The smallest report: proves the account may read the property; its metadata has the time zone."""
    return {
        "dateRanges": [{"startDate": "yesterday", "endDate": "today"}],
        "metrics": [{"name": METRIC_SESSIONS}],
        "limit": "1",
        "returnPropertyQuota": True,
    }


def _value(cell: Any) -> str:
    if not isinstance(cell, Mapping):
        raise TypeError("a value of a row is not an object")
    value = str(cell.get("value", ""))
    return "" if value == NOT_SET else value


@dataclass(frozen=True)
class Report:
    rows: list[tuple[list[str], list[float]]]
    row_count: int
    timezone: str
    quota: dict[str, tuple[int, int]]  # quota name -> (consumed, remaining)


def parse_report(payload: Any) -> Report:
    """A ``RunReportResponse`` (``rows`` and ``rowCount`` absent when empty)."""
    if not isinstance(payload, Mapping):
        raise TypeError("the report is not an object")
    rows = []
    for row in payload.get("rows", []):
        dims = [_value(c) for c in row.get("dimensionValues", [])]
        metrics = [float(_value(c) or 0) for c in row["metricValues"]]
        rows.append((dims, metrics))
    quota: dict[str, tuple[int, int]] = {}
    for name, status in (payload.get("propertyQuota") or {}).items():
        if isinstance(status, Mapping):
            quota[str(name)] = (int(status.get("consumed", 0)), int(status.get("remaining", 0)))
    metadata = payload.get("metadata") or {}
    return Report(rows, int(payload.get("rowCount", 0)), str(metadata.get("timeZone", "")), quota)


def parse_day(value: str) -> dt.date:
    """A ``date`` dimension value (``YYYYMMDD``)."""
    return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 - a calendar day, no time


def key_events(payload: Any) -> list[str]:
    """The key events a property's metadata lists (``keyEvents:<name>`` metrics)."""
    prefix = METRIC_KEY_EVENTS + ":"
    return sorted(
        str(m["apiName"])[len(prefix) :]
        for m in payload.get("metrics", [])
        if str(m["apiName"]).startswith(prefix)
    )


def api_error(payload: Any) -> tuple[str, str]:
    """``status`` and ``message`` of ``{"error": {"code", "message", "status"}}`` (empty when
    the answer is not Google's envelope)."""
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return "", ""
    return str(error.get("status") or ""), str(error.get("message") or "")[:300]


def token_error(payload: Any) -> tuple[str, str]:
    """``error`` and ``error_description`` of the token endpoint's refusal."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("error"), str):
        return "", ""
    return str(payload["error"]), str(payload.get("error_description") or "")[:300]


def error_for(status: str, detail: str, *, prop: str, excerpt: str) -> errors.NetworkError:
    rule = _RULES.get(
        status, errors.CodeRule(errors.Rejected, f"{_NAME} refused the request ({{code}}): {{detail}}")
    )
    message = rule.message.format(code=status or "unknown", detail=detail or status, property=prop)
    return rule.kind(
        message,
        code=status or None,
        excerpt=excerpt,
        retry_after=rule.retry_after,
        needs_person=rule.needs_person,
    )


def token_error_for(kind: str, detail: str, *, excerpt: str) -> errors.NetworkError:
    rule = _TOKEN_RULES.get(
        kind,
        errors.CodeRule(errors.Rejected, "Google refused the sign-in ({code}): {detail}", needs_person=True),
    )
    message = rule.message.format(code=kind or "unknown", detail=detail or kind)
    return rule.kind(message, code=kind or None, excerpt=excerpt, needs_person=rule.needs_person)
