"""A Google Analytics 4 emulator: Google's token endpoint for service accounts and the Data API's
``runReport`` and ``metadata``, with the API's validation, error envelope and property quotas
(``wire.py`` lists the facts and their sources).

Served:

* ``POST /token`` (Google's ``oauth2.googleapis.com/token``): ``grant_type`` jwt-bearer and an
  ``assertion`` signed RS256 by a known service account's key, ``aud`` Google's token endpoint,
  ``exp`` at most an hour after ``iat``, neither out of time; an access token for an hour
  (``invalid_grant`` 400 otherwise). A disabled key is ``invalid_grant`` too.
* ``POST /v1beta/properties/{id}:runReport`` — ``dateRanges`` (1 to 4; ``YYYY-MM-DD``,
  ``NdaysAgo``, ``yesterday``, ``today`` in the property's time zone), ``dimensions`` (at most 9:
  ``date``, ``sessionSource``, ``sessionMedium``, ``sessionCampaignName``,
  ``sessionManualAdContent``, ``sessionDefaultChannelGroup``), ``metrics`` (at most 10:
  ``sessions``, ``totalUsers``, ``screenPageViews``, ``bounceRate``, ``keyEvents``,
  ``keyEvents:<key event>``, ``conversions``), ``dimensionFilter`` (``filter`` with
  ``stringFilter`` (EXACT, BEGINS_WITH, ENDS_WITH, CONTAINS, FULL_REGEXP) or ``inListFilter``,
  ``andGroup``, ``orGroup``, ``notExpression``), ``orderBys`` (dimension or metric, ``desc``),
  ``limit`` (at most 250,000 rows a page, 10,000 by default) and ``offset``, ``keepEmptyRows``,
  ``returnPropertyQuota``; unknown fields and names are 400 ``INVALID_ARGUMENT``. Empty answers
  leave out ``rows`` and ``rowCount``, as proto3 JSON does.
* ``GET /v1beta/properties/{id}/metadata`` — the dimensions and metrics, a ``keyEvents:<name>``
  metric for each key event.
* ``Authorization: Bearer`` on both: none or an expired token is 401 ``UNAUTHENTICATED``, a
  property the service account was not given (or does not exist) 403 ``PERMISSION_DENIED``.
* Quotas (``rate_limits``), per property: 200,000 tokens a day (the property's day), 40,000 an
  hour, 14,000 an hour per Cloud project, 10 concurrent requests; an exhausted one is 429
  ``RESOURCE_EXHAUSTED``. Google does not publish what a request costs; this emulator charges 1
  token, plus 1 for each 30 days of the date ranges, plus 1 for each 10,000 rows read before
  grouping. ``returnPropertyQuota`` reports ``consumed`` and ``remaining`` of each.

The site's visits come from :mod:`rupor.networks.sitetraffic`: a steady background and the
landings ``POST /_emulator/landings`` registers (as the Metrica emulator). ``POST
/_emulator/quotas`` changes the limits (``tokens_per_day``, ``tokens_per_hour``,
``tokens_per_project_per_hour``, ``concurrent``, ``report_delay_s``); ``POST
/_emulator/service-accounts`` adds a key (``client_email``, ``public_key`` PEM,
``properties``, ``disabled``). Also the shared ``/_emulator`` routes.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import math
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import sitetraffic
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.ga4 import wire
from rupor.networks.sitetraffic import Landing

#: The demo's service account: its key file ships with Rupor (it is valid at this emulator only).
DEMO_KEY_FILE = Path(__file__).with_name("demo_service_account.json")
DEMO_PROPERTY_ID = "412345678"
#: A property the demo service account was never given.
OTHER_PROPERTY_ID = "498765432"
TIME_ZONE = "Europe/Moscow"
#: The demo property's key events and the share of sessions that trigger each.
KEY_EVENTS = {"purchase": 0.025, "generate_lead": 0.02}
#: GA4 counts a little fewer sessions than Metrica for the same visits (its own session rules).
SESSION_BIAS = 0.92
TOKEN_TTL_S = 3600
#: The clock skew Google tolerates on ``iat``.
SKEW_S = 300
SAMPLE_LANDINGS = (
    ("vk", "social", "useful", "101", 10),
    ("telegram", "social", "news", "102", 6),
    ("ok", "social", "selling", "103", 3),
    ("vk", "paid_social", "selling", "104", 2),
    ("x", "social", "useful", "105", 1),
)
SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
PROPERTY_ID_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id"
QUOTA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"

DIMENSIONS = {
    wire.DIM_DATE: "Date",
    wire.DIM_SOURCE: "Session source",
    wire.DIM_MEDIUM: "Session medium",
    wire.DIM_CAMPAIGN: "Session campaign",
    wire.DIM_CONTENT: "Session manual ad content",
    "sessionDefaultChannelGroup": "Session default channel group",
}
METRICS = {
    wire.METRIC_SESSIONS: ("Sessions", "TYPE_INTEGER"),
    wire.METRIC_USERS: ("Total users", "TYPE_INTEGER"),
    "screenPageViews": ("Views", "TYPE_INTEGER"),
    "bounceRate": ("Bounce rate", "TYPE_FLOAT"),
    wire.METRIC_KEY_EVENTS: ("Key events", "TYPE_FLOAT"),
    "conversions": ("Conversions", "TYPE_FLOAT"),
}
_RELATIVE = re.compile(r"(\d{1,4})daysAgo")
_REQUEST_FIELDS = {
    "property",
    "dimensions",
    "metrics",
    "dateRanges",
    "dimensionFilter",
    "metricFilter",
    "offset",
    "limit",
    "metricAggregations",
    "orderBys",
    "currencyCode",
    "cohortSpec",
    "keepEmptyRows",
    "returnPropertyQuota",
    "comparisons",
}


class ApiError(Exception):
    STATUS = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": self.code, "message": self.message, "status": self.STATUS[self.code]}},
            status_code=self.code,
        )


def _invalid(message: str) -> ApiError:
    return ApiError(400, message)


class TokenRefusal(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, status_code=self.status
        )


@dataclass
class Property:
    id: str
    timezone: str
    key_events: dict[str, float]
    landings: list[Landing] = field(default_factory=list)


@dataclass
class Account:
    email: str
    project: str
    public_key: rsa.RSAPublicKey
    properties: set[str]
    disabled: bool = False


@dataclass
class Token:
    email: str
    project: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class Limits:
    tokens_per_day: int = wire.TOKENS_PER_DAY
    tokens_per_hour: int = wire.TOKENS_PER_HOUR
    tokens_per_project_per_hour: int = wire.TOKENS_PER_PROJECT_PER_HOUR
    concurrent: int = wire.CONCURRENT_REQUESTS
    report_delay_s: float = 0.0


def demo_key() -> dict[str, str]:
    data: dict[str, str] = json.loads(DEMO_KEY_FILE.read_text())
    return data


def _public_key(pem: str) -> rsa.RSAPublicKey:
    loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded.public_key()


class Ga4State:
    def __init__(self, seed: int = 0, rate_limits: bool = True, sample: bool = True) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.sample = sample
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self.limits = Limits()
        self.reset_world()

    def reset_world(self) -> None:
        now = self.clock.timestamp()
        self.world_start = now
        self.properties = {
            DEMO_PROPERTY_ID: Property(DEMO_PROPERTY_ID, TIME_ZONE, dict(KEY_EVENTS)),
            OTHER_PROPERTY_ID: Property(OTHER_PROPERTY_ID, "America/Los_Angeles", {"purchase": 0.01}),
        }
        key = demo_key()
        self.accounts = {
            key["client_email"]: Account(
                key["client_email"], key["project_id"], _public_key(key["private_key"]), {DEMO_PROPERTY_ID}
            )
        }
        if self.sample:
            for source, medium, campaign, content, days_ago in SAMPLE_LANDINGS:
                self.properties[DEMO_PROPERTY_ID].landings.append(
                    Landing(source, medium, campaign, content, now - days_ago * 86400)
                )
        self.tokens: dict[str, Token] = {}
        #: tokens spent: (property, "day"|"hour", bucket) and (project, property, hour)
        self.spent: dict[tuple[str, ...], int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.events: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.reset_world()

    def now(self) -> float:
        return self.clock.timestamp()

    def buckets(self, prop: Property, project: str) -> dict[str, tuple[tuple[str, ...], int]]:
        """Each quota's key in :attr:`spent` and its limit, as of now."""
        now = self.now()
        day = dt.datetime.fromtimestamp(now, ZoneInfo(prop.timezone)).date().isoformat()
        hour = str(int(now // 3600))
        return {
            "tokensPerDay": ((prop.id, "day", day), self.limits.tokens_per_day),
            "tokensPerHour": ((prop.id, "hour", hour), self.limits.tokens_per_hour),
            "tokensPerProjectPerHour": ((project, prop.id, hour), self.limits.tokens_per_project_per_hour),
        }

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "properties": {
                    p.id: {"landings": [vars(x) for x in p.landings], "key_events": p.key_events}
                    for p in self.properties.values()
                },
                "spent": {"|".join(k): v for k, v in self.spent.items()},
                "limits": vars(self.limits),
                "accounts": sorted(self.accounts),
            }


# -- the token endpoint ------------------------------------------------------------------------


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def issue(state: Ga4State, form: dict[str, list[str]]) -> dict[str, Any]:
    grant = (form.get("grant_type") or [""])[0]
    if grant != wire.GRANT_TYPE:
        raise TokenRefusal("unsupported_grant_type", f"Invalid grant_type: {grant}")
    raw = (form.get("assertion") or [""])[0]
    parts = raw.split(".")
    if len(parts) != 3:
        raise TokenRefusal("invalid_request", "Invalid assertion format")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError:
        raise TokenRefusal("invalid_grant", "Invalid JWT: the assertion cannot be decoded.") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise TokenRefusal("invalid_grant", "Invalid JWT: the algorithm must be RS256.")
    account = state.accounts.get(str(claims.get("iss", "")))
    if account is None:
        raise TokenRefusal("invalid_grant", "Invalid grant: account not found")
    try:
        account.public_key.verify(
            signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise TokenRefusal("invalid_grant", "Invalid JWT Signature.") from None
    if account.disabled:
        raise TokenRefusal("invalid_grant", "Invalid grant: the key is disabled")
    if claims.get("aud") != wire.TOKEN_AUDIENCE:
        raise TokenRefusal("invalid_grant", "Invalid JWT: the audience must be the token endpoint.")
    now = state.now()
    try:
        iat, exp = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise TokenRefusal("invalid_grant", "Invalid JWT: iat and exp are required.") from None
    if exp - iat > wire.ASSERTION_TTL_S or iat > now + SKEW_S or exp < now:
        raise TokenRefusal(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
            "Check your iat and exp values in the JWT claim.",
        )
    scopes = tuple(str(claims.get("scope", "")).split())
    if not scopes:
        raise TokenRefusal("invalid_scope", "Empty or missing scope not allowed.")
    value = "ya29.c." + secrets.token_urlsafe(48)
    state.tokens[value] = Token(account.email, account.project, scopes, now + TOKEN_TTL_S)
    state.events.append({"kind": "token", "client_email": account.email, "at": now})
    return {"access_token": value, "expires_in": TOKEN_TTL_S - 1, "token_type": "Bearer"}


# -- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    values: dict[str, str]
    sessions: int
    users: int
    bounces: int
    pageviews: int
    events: dict[str, int]


def _channel_group(medium: str) -> str:
    return {
        "social": "Organic Social",
        "paid_social": "Paid Social",
        "organic": "Organic Search",
        "email": "Email",
        "(none)": "Direct",
    }.get(medium, "Unassigned")


def _values(day: dt.date, source: str, medium: str, campaign: str, content: str) -> dict[str, str]:
    if not source:  # a direct visit
        source, medium, campaign = "(direct)", "(none)", "(direct)"
    elif medium == "organic" and not campaign:
        campaign = "(organic)"
    return {
        wire.DIM_DATE: day.strftime("%Y%m%d"),
        wire.DIM_SOURCE: source,
        wire.DIM_MEDIUM: medium or wire.NOT_SET,
        wire.DIM_CAMPAIGN: campaign or wire.NOT_SET,
        wire.DIM_CONTENT: content or wire.NOT_SET,
        "sessionDefaultChannelGroup": _channel_group(medium or "(none)"),
    }


def _visits(state: Ga4State, prop: Property, first: dt.date, last: dt.date) -> list[Visit]:
    zone = ZoneInfo(prop.timezone)
    now = state.now()
    out = []
    for day in sitetraffic.days(first, last):
        groups = [
            (
                landing.key,
                landing,
                sitetraffic.sessions_of(state.seed, landing, day, zone, now, bias=SESSION_BIAS),
            )
            for landing in prop.landings
        ]
        for source, medium, campaign, daily in sitetraffic.BACKGROUND:
            key = f"bg|{source}|{medium}"
            n = sitetraffic.background_sessions(
                state.seed, daily * SESSION_BIAS, key, day, zone, now, state.world_start
            )
            groups.append((key, Landing(source, medium, campaign, "", 0.0), n))
        for key, landing, n in groups:
            if n <= 0:
                continue
            v = sitetraffic.visits(state.seed, key, day, n)
            out.append(
                Visit(
                    _values(day, landing.source, landing.medium, landing.campaign, landing.content),
                    v.sessions,
                    v.users,
                    v.bounces,
                    v.pageviews,
                    {
                        name: sitetraffic.reaches(state.seed, key, day, n, name, rate)
                        for name, rate in prop.key_events.items()
                    },
                )
            )
    return out


def _metric(name: str, rows: list[Visit]) -> str:
    sessions = sum(v.sessions for v in rows)
    if name == wire.METRIC_SESSIONS:
        return str(sessions)
    if name == wire.METRIC_USERS:
        return str(sum(v.users for v in rows))
    if name == "screenPageViews":
        return str(sum(v.pageviews for v in rows))
    if name == "bounceRate":
        return repr(sum(v.bounces for v in rows) / sessions) if sessions else "0"
    if name in (wire.METRIC_KEY_EVENTS, "conversions"):
        return str(sum(sum(v.events.values()) for v in rows))
    event = name.split(":", 1)[1]
    return str(sum(v.events.get(event, 0) for v in rows))


def _date(text: Any, today: dt.date, name: str) -> dt.date:
    text = str(text or "")
    if text == "today":
        return today
    if text == "yesterday":
        return today - dt.timedelta(days=1)
    match = _RELATIVE.fullmatch(text)
    if match:
        return today - dt.timedelta(days=int(match.group(1)))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"Invalid {name}: {text!r}. Use YYYY-MM-DD, NdaysAgo, yesterday or today.") from None


def _int64(body: dict[str, Any], name: str) -> int:
    raw = body.get(name, 0)
    try:
        value = int(str(raw))
    except ValueError:
        raise _invalid(f"Invalid value at '{name}' (TYPE_INT64), \"{raw}\"") from None
    if value < 0:
        raise _invalid(f"{name} must be positive; it is {value}.")
    return value


Predicate = Callable[[dict[str, str]], bool]


def _string_filter(field_name: str, spec: dict[str, Any]) -> Predicate:
    value = str(spec.get("value", ""))
    kind = str(spec.get("matchType", "EXACT"))
    case = bool(spec.get("caseSensitive", False))

    def norm(text: str) -> str:
        return text if case else text.lower()

    wanted = norm(value)
    if kind == "FULL_REGEXP" or kind == "PARTIAL_REGEXP":
        try:
            pattern = re.compile(value, 0 if case else re.IGNORECASE)
        except re.error:
            raise _invalid(f"Invalid regular expression {value!r} in the filter of {field_name}.") from None
        full = kind == "FULL_REGEXP"
        return lambda r: bool(pattern.fullmatch(r[field_name]) if full else pattern.search(r[field_name]))
    tests: dict[str, Callable[[str], bool]] = {
        "EXACT": lambda t: t == wanted,
        "BEGINS_WITH": lambda t: t.startswith(wanted),
        "ENDS_WITH": lambda t: t.endswith(wanted),
        "CONTAINS": lambda t: wanted in t,
    }
    if kind not in tests:
        raise _invalid(f"Invalid matchType {kind!r}.")
    test = tests[kind]
    return lambda r: test(norm(r[field_name]))


def _filter(spec: Any, depth: int = 0) -> Predicate:
    if not isinstance(spec, dict) or depth > 10:
        raise _invalid("Invalid dimensionFilter.")
    if "andGroup" in spec or "orGroup" in spec:
        group = spec.get("andGroup") or spec.get("orGroup") or {}
        parts = [_filter(e, depth + 1) for e in group.get("expressions", [])]
        if "andGroup" in spec:
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if "notExpression" in spec:
        inner = _filter(spec["notExpression"], depth + 1)
        return lambda r: not inner(r)
    one = spec.get("filter")
    if not isinstance(one, dict):
        raise _invalid("Invalid dimensionFilter: a filter, andGroup, orGroup or notExpression is required.")
    name = str(one.get("fieldName", ""))
    if name not in DIMENSIONS:
        if name in METRICS or name.startswith(wire.METRIC_KEY_EVENTS):
            raise _invalid(f"Metric {name} cannot be used in dimensionFilter; use metricFilter.")
        raise _invalid(
            f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, see {SCHEMA_URL}"
        )
    if "inListFilter" in one:
        spec_list = one["inListFilter"] or {}
        case = bool(spec_list.get("caseSensitive", False))
        values = {str(v) if case else str(v).lower() for v in spec_list.get("values", [])}
        if not values:
            raise _invalid("inListFilter.values must not be empty.")
        return lambda r: (r[name] if case else r[name].lower()) in values
    if "stringFilter" in one:
        return _string_filter(name, one["stringFilter"] or {})
    raise _invalid(f"The filter of {name} needs a stringFilter or an inListFilter.")


def _names(body: dict[str, Any], key: str, limit: int) -> list[str]:
    items = body.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("name") for i in items):
        raise _invalid(f"Invalid {key}: each needs a name.")
    if len(items) > limit:
        raise _invalid(f"Requests are limited to {limit} {key}; this one has {len(items)}.")
    return [str(i["name"]) for i in items]


def _check_metric(name: str, prop: Property) -> None:
    if name in METRICS:
        return
    if name.startswith(wire.METRIC_KEY_EVENTS + ":") and name.split(":", 1)[1] in prop.key_events:
        return
    raise _invalid(
        f"Field {name} is not a valid metric. For a list of valid dimensions and metrics, see {SCHEMA_URL}"
    )


def _order(
    body: dict[str, Any], dims: list[str], metrics: list[str]
) -> Callable[[tuple[list[str], list[str]]], Any]:
    keys: list[tuple[str, int, bool]] = []
    for item in body.get("orderBys", []) or []:
        desc = bool(item.get("desc", False))
        if "dimension" in item:
            name = str((item["dimension"] or {}).get("dimensionName", ""))
            if name not in dims:
                raise _invalid(f"orderBys: dimension {name} is not in the request's dimensions.")
            keys.append(("d", dims.index(name), desc))
        elif "metric" in item:
            name = str((item["metric"] or {}).get("metricName", ""))
            if name not in metrics:
                raise _invalid(f"orderBys: metric {name} is not in the request's metrics.")
            keys.append(("m", metrics.index(name), desc))
        else:
            raise _invalid("orderBys: a dimension or a metric is required.")
    if not keys and metrics:
        keys = [("m", 0, True)]

    def key(row: tuple[list[str], list[str]]) -> Any:
        out: list[Any] = []
        for kind, index, desc in keys:
            if kind == "m":
                number = float(row[1][index])
                out.append(-number if desc else number)
            else:
                text = row[0][index]
                out.append((*tuple(-ord(c) for c in text), 1) if desc else text)
        return out

    return key


def _cost(first_last: list[tuple[dt.date, dt.date]], scanned: int) -> int:
    days = sum((b - a).days + 1 for a, b in first_last)
    return 1 + math.ceil(days / 30) + math.ceil(scanned / 10_000)


def run_report(state: Ga4State, prop: Property, body: Any) -> tuple[dict[str, Any], int]:  # noqa: C901 - one validation per documented field, in the API's order
    """The answer (without ``propertyQuota``) and its cost in tokens."""
    if not isinstance(body, dict):
        raise _invalid("Invalid JSON payload received. The body must be a RunReportRequest object.")
    unknown = sorted(set(body) - _REQUEST_FIELDS)
    if unknown:
        raise _invalid(f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
    if body.get("cohortSpec") or body.get("comparisons"):
        raise _invalid("This emulator serves no cohort or comparison reports.")
    dims = _names(body, "dimensions", wire.MAX_DIMENSIONS)
    metrics = _names(body, "metrics", wire.MAX_METRICS)
    if not dims and not metrics:
        raise _invalid("A request needs at least one dimension or metric.")
    for d in dims:
        if d not in DIMENSIONS:
            raise _invalid(
                f"Field {d} is not a valid dimension. For a list of valid dimensions and metrics, see {SCHEMA_URL}"
            )
    for m in metrics:
        _check_metric(m, prop)
    ranges = body.get("dateRanges") or []
    if not isinstance(ranges, list) or not ranges:
        raise _invalid("A dateRange is required.")
    if len(ranges) > 4:
        raise _invalid("Requests are limited to 4 dateRanges.")
    today = dt.datetime.fromtimestamp(state.now(), ZoneInfo(prop.timezone)).date()
    spans = []
    for r in ranges:
        if not isinstance(r, dict):
            raise _invalid("Invalid dateRanges.")
        first, last = _date(r.get("startDate"), today, "startDate"), _date(r.get("endDate"), today, "endDate")
        if first > last:
            raise _invalid(f"The startDate {first} is after the endDate {last}.")
        spans.append((first, last))
    limit = _int64(body, "limit") or wire.DEFAULT_LIMIT
    limit = min(limit, wire.MAX_LIMIT)
    offset = _int64(body, "offset")
    predicate = _filter(body["dimensionFilter"]) if body.get("dimensionFilter") else (lambda _r: True)
    if body.get("metricFilter"):
        raise _invalid("This emulator serves no metricFilter.")
    key = _order(body, dims, metrics)
    extra = ["dateRange"] if len(spans) > 1 else []
    grouped: dict[tuple[str, ...], list[Visit]] = defaultdict(list)
    scanned = 0
    for index, (first, last) in enumerate(spans):
        for v in _visits(state, prop, first, last):
            scanned += 1
            if predicate(v.values):
                suffix = (f"date_range_{index}",) if extra else ()
                grouped[tuple(v.values[d] for d in dims) + suffix].append(v)
    rows = [(list(values), [_metric(m, members) for m in metrics]) for values, members in grouped.items()]
    rows.sort(key=key)
    page = rows[offset : offset + limit]
    answer: dict[str, Any] = {
        "dimensionHeaders": [{"name": d} for d in [*dims, *extra]],
        "metricHeaders": [{"name": m, "type": METRICS.get(m, ("", "TYPE_INTEGER"))[1]} for m in metrics],
    }
    if page:
        answer["rows"] = [
            {
                "dimensionValues": [{"value": v} for v in values],
                "metricValues": [{"value": n} for n in numbers],
            }
            for values, numbers in page
        ]
    if rows:
        answer["rowCount"] = len(rows)
    answer["metadata"] = {"currencyCode": "RUB", "timeZone": prop.timezone}
    answer["kind"] = "analyticsData#runReport"
    return answer, _cost(spans, scanned)


def metadata(prop: Property) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = [
        {"apiName": name, "uiName": ui, "description": ui, "type": kind, "category": "Session"}
        for name, (ui, kind) in METRICS.items()
    ]
    metrics += [
        {
            "apiName": f"{wire.METRIC_KEY_EVENTS}:{event}",
            "uiName": f"Key events ({event})",
            "description": f"The count of {event} key events.",
            "type": "TYPE_FLOAT",
            "customDefinition": True,
            "category": "Event",
        }
        for event in sorted(prop.key_events)
    ]
    return {
        "name": f"properties/{prop.id}/metadata",
        "dimensions": [
            {"apiName": name, "uiName": ui, "description": ui, "category": "Traffic source"}
            for name, ui in DIMENSIONS.items()
        ],
        "metrics": metrics,
    }


# -- the app --------------------------------------------------------------------------------


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path: str = scope["path"]
    if path == "/token":
        return "token"
    if path.endswith(":runReport"):
        return "runReport"
    if path.endswith("/metadata"):
        return "metadata"
    return None


def create_app(seed: int = 0, rate_limits: bool = True, sample: bool = True) -> Any:  # noqa: C901 - the routes share the state through closures
    state = Ga4State(seed=seed, rate_limits=rate_limits, sample=sample)
    injector = FaultInjector(seed=seed)

    def token_of(request: Request) -> Token:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = state.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= state.now():
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        if not any(s in (wire.SCOPE, "https://www.googleapis.com/auth/analytics") for s in token.scopes):
            raise ApiError(403, "Request had insufficient authentication scopes.")
        return token

    def property_for(token: Token, raw: str) -> Property:
        if not re.fullmatch(r"\d{1,15}", raw):
            raise _invalid(
                f"Invalid property ID: {raw}. A numeric Property ID is required. See {PROPERTY_ID_URL}"
            )
        account = state.accounts.get(token.email)
        prop = state.properties.get(raw)
        if prop is None or account is None or raw not in account.properties:
            raise ApiError(
                403,
                "User does not have sufficient permissions for this property. To learn more about Property ID, "
                f"see {PROPERTY_ID_URL}.",
            )
        return prop

    def charge(prop: Property, project: str, cost: int) -> dict[str, Any]:
        buckets = state.buckets(prop, project)
        if state.rate_limits:
            for name, (key, limit) in buckets.items():
                if state.spent[key] + cost > limit:
                    raise ApiError(
                        429,
                        f"Exhausted property {name} quota. These quota tokens will return later. To learn more, "
                        f"see {QUOTA_URL}",
                    )
        for key, _limit in buckets.values():
            state.spent[key] += cost
        quota = {
            name: {"consumed": cost, "remaining": max(0, limit - state.spent[key])}
            for name, (key, limit) in buckets.items()
        }
        busy = state.in_flight[prop.id]
        quota["concurrentRequests"] = {"consumed": 0, "remaining": max(0, state.limits.concurrent - busy)}
        quota["serverErrorsPerProjectPerHour"] = {"consumed": 0, "remaining": wire.SERVER_ERRORS_PER_HOUR}
        quota["potentiallyThresholdedRequestsPerHour"] = {
            "consumed": 0,
            "remaining": wire.THRESHOLDED_PER_HOUR,
        }
        return quota

    async def report(request: Request) -> Response:
        target = str(request.path_params["target"])
        raw, _, verb = target.partition(":")
        if verb != "runReport":
            return ApiError(404, f"Method not found: {verb or target}").response()
        try:
            token = token_of(request)
            prop = property_for(token, raw)
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                raise _invalid("Invalid JSON payload received.") from None
        except ApiError as exc:
            return exc.response()
        with state.lock:
            if state.rate_limits and state.in_flight[prop.id] >= state.limits.concurrent:
                return ApiError(
                    429,
                    f"Exhausted concurrent requests quota for property {prop.id}. To learn more, see {QUOTA_URL}",
                ).response()
            state.in_flight[prop.id] += 1
        try:
            if state.limits.report_delay_s:
                await asyncio.sleep(state.limits.report_delay_s)
            with state.lock:
                answer, cost = run_report(state, prop, body)
                quota = charge(prop, token.project, cost)
                state.events.append(
                    {"kind": "runReport", "property": prop.id, "cost": cost, "at": state.now()}
                )
            if isinstance(body, dict) and body.get("returnPropertyQuota"):
                answer["propertyQuota"] = quota
            return JSONResponse(answer)
        except ApiError as exc:
            return exc.response()
        finally:
            with state.lock:
                state.in_flight[prop.id] -= 1

    async def meta(request: Request) -> Response:
        try:
            token = token_of(request)
            prop = property_for(token, str(request.path_params["prop"]))
        except ApiError as exc:
            return exc.response()
        return JSONResponse(metadata(prop))

    async def token_route(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        try:
            with state.lock:
                return JSONResponse(issue(state, form))
        except TokenRefusal as exc:
            return exc.response()

    async def landings(request: Request) -> Response:
        try:
            body = await request.json()
            prop = state.properties[str(body.get("property", DEMO_PROPERTY_ID))]
            added = 0
            with state.lock:
                for item in body.get("landings", []):
                    since = item.get("since", state.now())
                    when = (
                        dt.datetime.fromisoformat(since).timestamp()
                        if isinstance(since, str)
                        else float(since)
                    )
                    landing = sitetraffic.landing_from_url(str(item["url"]), when)
                    if landing is None:
                        continue
                    before = len(prop.landings)
                    prop.landings = sitetraffic.merge(prop.landings, landing)
                    added += len(prop.landings) - before
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"added": added, "landings": len(prop.landings)})

    async def quotas(request: Request) -> Response:
        try:
            body = await request.json()
            with state.lock:
                for name in (
                    "tokens_per_day",
                    "tokens_per_hour",
                    "tokens_per_project_per_hour",
                    "concurrent",
                ):
                    if name in body:
                        setattr(state.limits, name, int(body[name]))
                if "report_delay_s" in body:
                    state.limits.report_delay_s = float(body["report_delay_s"])
                if body.get("clear_usage"):
                    state.spent.clear()
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"limits": vars(state.limits)})

    async def accounts(request: Request) -> Response:
        try:
            body = await request.json()
            public = serialization.load_pem_public_key(str(body["public_key"]).encode())
            if not isinstance(public, rsa.RSAPublicKey):
                raise TypeError("not an RSA key")
            with state.lock:
                state.accounts[str(body["client_email"])] = Account(
                    str(body["client_email"]),
                    str(body.get("project_id", "rupor-test")),
                    public,
                    {str(p) for p in body.get("properties", [])},
                    bool(body.get("disabled", False)),
                )
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    routes = [
        Route(wire.TOKEN_PATH, token_route, methods=["POST"]),
        Route("/v1beta/properties/{target}", report, methods=["POST"]),
        Route("/v1beta/properties/{prop}/metadata", meta, methods=["GET"]),
        Route("/_emulator/landings", landings, methods=["POST"]),
        Route("/_emulator/quotas", quotas, methods=["POST"]),
        Route("/_emulator/service-accounts", accounts, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, lambda: list(state.events), state.reset),
    ]
    inner = Starlette(routes=routes)
    app = FaultMiddleware(
        inner,
        injector,
        _method_of,
        lambda _m: ApiError(
            429, f"Exhausted property tokens per hour. To learn more, see {QUOTA_URL}"
        ).response(),
        lambda _m: ApiError(503, "The service is currently unavailable.").response(),
    )
    app.state = SimpleNamespace(emulator=state, clock=state.clock)  # type: ignore[attr-defined]  # the shape every emulator has: tests and the demo reach the state here
    return app
