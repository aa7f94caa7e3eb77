"""The Yandex Metrica API on the wire: the Reports API table, the Management API's counter and
goals, the error envelope and its table, the quotas (docs/networks.md, "Yandex Metrica").

Sources:

* Reports API, table (``GET https://api-metrika.yandex.net/stat/v1/data``,
  https://yandex.com/dev/metrika/en/stat/openapi/data): ``ids`` (counter ids), ``metrics`` (at
  most 20), ``dimensions`` (at most 10), ``date1``/``date2`` (``YYYY-MM-DD``, ``today``,
  ``yesterday``, ``NdaysAgo``; defaults 6daysAgo and today), ``filters`` (segmentation), ``sort``,
  ``limit`` (default 100, at most 100,000), ``offset`` (the first row, from 1), ``accuracy``
  (``full``: no sampling). The answer: ``query`` (the request as understood), ``data`` (rows:
  ``dimensions`` objects with ``name``, and ``metrics`` numbers in the order asked),
  ``total_rows``, ``sampled``, ``sample_share``, ``totals``, ``min``, ``max``, ``data_lag``.
* Metrics and dimensions (https://yandex.com/dev/metrika/en/stat/attrandmetr/dim_all):
  ``ym:s:visits`` (sessions), ``ym:s:users``, ``ym:s:bounceRate`` (per cent),
  ``ym:s:goal<ID>reaches`` (reaches of one goal), ``ym:s:sumGoalReachesAny`` (reaches of any
  goal); ``ym:s:date``, ``ym:s:UTMSource``, ``ym:s:UTMMedium``, ``ym:s:UTMCampaign``,
  ``ym:s:UTMContent``. Filters: ``ym:s:UTMMedium=.('social','paid_social')`` (``=.`` is "one
  of"), string values in single quotes.
* Management API (https://yandex.com/dev/metrika/en/management/openapi/): ``GET
  /management/v1/counter/{id}`` (``counter``: ``name``, ``site``, ``time_zone_name``) and
  ``GET /management/v1/counter/{id}/goals`` (``goals``: ``id``, ``name``, ``type``).
* Authorization: ``Authorization: OAuth <token>`` (tokens in the address are refused since
  2019), https://yandex.com/dev/metrika/en/intro/authorization.
* Errors (https://yandex.com/dev/metrika/en/intro/errors): ``{"errors": [{"error_type",
  "message"}], "code": <HTTP status>, "message"}``; the ``error_type`` decides (table below).
* Quotas (https://yandex.com/dev/metrika/en/intro/quotas): 30 requests a second from one IP
  address, 3 parallel requests per user, 5,000 requests a day per user, 200 Reports API requests
  per five minutes per user; an exceeded quota answers 429 with a ``quota_*`` error type (some
  versions of the page say 420: the type decides, not the status).

Raw payloads never leave ``rupor/networks/metrica/``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rupor.networks import errors

DEFAULT_API_ROOT = "https://api-metrika.yandex.net"
DATA_PATH = "/stat/v1/data"
COUNTER_PATH = "/management/v1/counter/{counter}"
GOALS_PATH = "/management/v1/counter/{counter}/goals"

DIM_DATE = "ym:s:date"
DIM_SOURCE = "ym:s:UTMSource"
DIM_MEDIUM = "ym:s:UTMMedium"
DIM_CAMPAIGN = "ym:s:UTMCampaign"
DIM_CONTENT = "ym:s:UTMContent"
#: The dimensions Rupor asks for, in this order (the date first: it is always defined).
DIMENSIONS = (DIM_DATE, DIM_SOURCE, DIM_MEDIUM, DIM_CAMPAIGN, DIM_CONTENT)
METRIC_VISITS = "ym:s:visits"
METRIC_USERS = "ym:s:users"
METRIC_BOUNCE_RATE = "ym:s:bounceRate"
METRIC_ANY_GOAL = "ym:s:sumGoalReachesAny"
GOAL_METRIC = re.compile(r"ym:s:goal(\d{1,12})reaches")

MAX_METRICS = 20
MAX_DIMENSIONS = 10
MAX_LIMIT = 100_000
DEFAULT_LIMIT = 100
#: Rupor's page: large enough that a workspace's month fits in one call or two.
PAGE_LIMIT = 10_000
#: The quotas (per user unless said otherwise).
REQUESTS_PER_SECOND_PER_IP = 30
PARALLEL_REQUESTS = 3
REQUESTS_PER_DAY = 5000
REPORTS_PER_FIVE_MINUTES = 200
COUNTER_ID = re.compile(r"[1-9][0-9]{0,11}")


class Code(enum.StrEnum):
    """The ``error_type`` values of the API's error table."""

    BACKEND_ERROR = "backend_error"
    INVALID_PARAMETER = "invalid_parameter"
    NOT_FOUND = "not_found"
    MISSING_PARAMETER = "missing_parameter"
    FILTER_LIMITS = "filter_limits"
    ACCESS_DENIED = "access_denied"
    INVALID_TOKEN = "invalid_token"
    UNAUTHORIZED = "unauthorized"
    QUOTA_REQUESTS_BY_UID = "quota_requests_by_uid"
    QUOTA_REQUESTS_BY_IP = "quota_requests_by_ip"
    QUOTA_PARALLEL_REQUESTS = "quota_parallel_requests"
    QUOTA_REQUESTS_BY_COUNTER_ID = "quota_requests_by_counter_id"
    QUERY_ERROR = "query_error"
    TOO_MUCH_ROWS = "too_much_rows"
    TIMEOUT = "timeout"


#: Seconds to wait after each quota: the IP and parallel limits lift within a second; the daily
#: and five-minute limits per user share one error type, so Rupor waits the five minutes, and
#: the collection job's backoff stretches the wait while the day's quota stays spent.
QUOTA_WAIT: dict[str, float] = {
    Code.QUOTA_REQUESTS_BY_IP: 1.0,
    Code.QUOTA_PARALLEL_REQUESTS: 1.0,
    Code.QUOTA_REQUESTS_BY_UID: 300.0,
    Code.QUOTA_REQUESTS_BY_COUNTER_ID: 3600.0,
}

_RULES: dict[str, errors.CodeRule] = {
    Code.BACKEND_ERROR: errors.CodeRule(
        errors.Transient, "Yandex Metrica had a server error; Rupor will try again."
    ),
    Code.TIMEOUT: errors.CodeRule(
        errors.Transient, "Yandex Metrica took too long to answer; Rupor will try again."
    ),
    Code.INVALID_PARAMETER: errors.CodeRule(
        errors.Rejected, "Yandex Metrica refused the request: {detail}", needs_person=True
    ),
    Code.MISSING_PARAMETER: errors.CodeRule(
        errors.Rejected, "Yandex Metrica refused the request: {detail}", needs_person=True
    ),
    Code.FILTER_LIMITS: errors.CodeRule(errors.Rejected, "Yandex Metrica refused the filter: {detail}"),
    Code.QUERY_ERROR: errors.CodeRule(
        errors.Rejected, "Yandex Metrica found the report too complex: {detail}"
    ),
    Code.TOO_MUCH_ROWS: errors.CodeRule(
        errors.Rejected, "Yandex Metrica found the report too large: {detail}"
    ),
    Code.NOT_FOUND: errors.CodeRule(
        errors.Rejected,
        "Yandex Metrica has no counter {counter}: check the counter number.",
        needs_person=True,
    ),
    Code.ACCESS_DENIED: errors.CodeRule(
        errors.Rejected,
        "The Yandex account of this token has no access to counter {counter}: grant it access in Metrica "
        "or use a token of an account that has it.",
        needs_person=True,
    ),
    Code.INVALID_TOKEN: errors.CodeRule(
        errors.AuthExpired,
        "Yandex Metrica refused the token (expired or revoked): get a new one.",
        needs_person=True,
    ),
    Code.UNAUTHORIZED: errors.CodeRule(
        errors.AuthExpired, "Yandex Metrica did not accept the token: get a new one.", needs_person=True
    ),
}
_QUOTA_MESSAGE = "Yandex Metrica's API quota is spent ({code}); Rupor will read again later."
_DEFAULT = errors.CodeRule(errors.Rejected, "Yandex Metrica refused the request ({code}): {detail}")


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"OAuth {token}", "Accept": "application/json"}


def quote(value: str) -> str:
    """A string value of a filter, in single quotes (backslash before a quote or a backslash)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def one_of(dimension: str, values: Sequence[str]) -> str:
    """``dimension`` is one of ``values``: ``ym:s:UTMMedium=.('social','paid_social')``."""
    return f"{dimension}=.({','.join(quote(v) for v in values)})"


def conversion_metric(goal: str) -> str:
    """Reaches of one goal (its numeric id) or of any goal (empty)."""
    return f"ym:s:goal{goal}reaches" if goal else METRIC_ANY_GOAL


def data_params(
    counter: str,
    first: dt.date,
    last: dt.date,
    mediums: Sequence[str],
    goal: str,
    *,
    offset: int,
    limit: int = PAGE_LIMIT,
) -> dict[str, str]:
    """The query of one page of Rupor's table: visits, users and conversions by day and tags."""
    return {
        "ids": counter,
        "metrics": ",".join((METRIC_VISITS, METRIC_USERS, conversion_metric(goal))),
        "dimensions": ",".join(DIMENSIONS),
        "date1": first.isoformat(),
        "date2": last.isoformat(),
        "filters": one_of(DIM_MEDIUM, mediums),
        "sort": ",".join(DIMENSIONS),
        "accuracy": "full",
        "limit": str(limit),
        "offset": str(offset),
    }


def _name(cell: Any) -> str:
    """A dimension's value: its ``name`` (``null`` for a tag the visit did not carry)."""
    if not isinstance(cell, Mapping):
        raise TypeError("a dimension of a row is not an object")
    value = cell.get("name")
    return "" if value is None else str(value)


def parse_table(payload: Any) -> tuple[list[tuple[list[str], list[float]]], int]:
    """The rows (dimension values, metric values) and ``total_rows`` of a table answer."""
    if not isinstance(payload, Mapping):
        raise TypeError("the table is not an object")
    rows = []
    for row in payload["data"]:
        dims = [_name(cell) for cell in row["dimensions"]]
        metrics = [float(m) if m is not None else 0.0 for m in row["metrics"]]
        rows.append((dims, metrics))
    return rows, int(payload["total_rows"])


def parse_counter(payload: Any) -> tuple[str, str]:
    """The counter's name (its site when it has none) and time zone."""
    counter = payload["counter"]
    name = str(counter.get("name") or counter.get("site") or counter["id"])
    return name, str(counter.get("time_zone_name") or "")


def parse_goals(payload: Any) -> list[tuple[str, str]]:
    """(id, name) of each goal of the counter."""
    return [(str(int(g["id"])), str(g.get("name") or g["id"])) for g in payload["goals"]]


def error_type(payload: Any) -> tuple[str, str]:
    """The first error's ``error_type`` and ``message`` of an error answer (empty when the
    answer is not the API's envelope)."""
    if not isinstance(payload, Mapping):
        return "", ""
    found = payload.get("errors")
    first = found[0] if isinstance(found, list) and found and isinstance(found[0], Mapping) else {}
    kind = str(first.get("error_type") or "")
    message = str(first.get("message") or payload.get("message") or "")
    return kind, message[:300]


def error_for(kind: str, detail: str, *, counter: str, excerpt: str) -> errors.NetworkError:
    """The taxonomy error of an ``error_type`` (by the table; never by the message)."""
    if kind.startswith("quota_"):
        return errors.RateLimited(
            _QUOTA_MESSAGE.format(code=kind),
            code=kind,
            excerpt=excerpt,
            retry_after=QUOTA_WAIT.get(kind, 300.0),
        )
    rule = _RULES.get(kind, _DEFAULT)
    message = rule.message.format(code=kind or "unknown", detail=detail or kind, counter=counter)
    return rule.kind(message, code=kind or None, excerpt=excerpt, needs_person=rule.needs_person)
