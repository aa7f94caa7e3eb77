"""A Yandex Metrica emulator: the Reports API table and the Management API's counter and goals,
with Metrica's validation, error envelope and quotas (``wire.py`` lists the facts and sources).

Served:

* ``GET /stat/v1/data`` — ``ids``, ``metrics`` (``ym:s:visits``, ``ym:s:users``,
  ``ym:s:pageviews``, ``ym:s:bounceRate``, ``ym:s:sumGoalReachesAny``, ``ym:s:goal<ID>reaches``;
  at most 20), ``dimensions`` (``ym:s:date``, ``ym:s:UTMSource``, ``ym:s:UTMMedium``,
  ``ym:s:UTMCampaign``, ``ym:s:UTMContent``, ``ym:s:trafficSource``; at most 10), ``date1``/
  ``date2`` (dates, ``today``, ``yesterday``, ``NdaysAgo``, in the counter's time zone),
  ``filters`` (``==``, ``!=``, ``=@``, ``!@``, ``=.(…)``, ``!.(…)`` on dimensions, joined by
  ``AND``/``OR`` with brackets), ``sort`` (``-`` for descending; by the first metric, descending,
  when absent), ``limit`` (1..100,000, default 100), ``offset`` (from 1), ``include_undefined``;
  the answer has ``query``, ``data``, ``total_rows``, ``sampled``, ``totals``, ``min``, ``max``.
* ``GET /management/v1/counter/{id}`` and ``/management/v1/counter/{id}/goals``.
* ``Authorization: OAuth <token>`` on every call: none is 401 ``unauthorized``, an unknown or
  expired token 403 ``invalid_token``, a counter the token's account may not read 403
  ``access_denied``.
* Quotas (``rate_limits``): 30 requests a second per IP address (``quota_requests_by_ip``), 3
  parallel requests per user (``quota_parallel_requests``), 200 report requests per five minutes
  and 5,000 requests a day (UTC) per user (``quota_requests_by_uid``), all 429.

The site's visits come from :mod:`rupor.networks.sitetraffic`: a steady background (search,
direct, e-mail) and the *landings* tests and the demo register: ``POST /_emulator/landings``
``{"landings": [{"url": "https://…?utm_source=vk&…", "since": <unix time>}]}`` (the tagged
addresses Rupor published, and when). ``POST /_emulator/quotas`` changes the limits
(``per_second``, ``parallel``, ``per_five_minutes``, ``per_day``, ``report_delay_s``: a pause in
every report, so parallel requests overlap). Also the shared ``/_emulator`` routes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import sitetraffic
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.metrica import wire
from rupor.networks.sitetraffic import Landing

DEMO_COUNTER_ID = 90210001
DEMO_COUNTER_NAME = "Rupor Demo Coffee"
DEMO_SITE = "example.com"
DEMO_LOGIN = "rupor-demo"
DEMO_TOKEN = "y0_AgAAAAB-rupor-demo-metrica-token-0001"
#: A counter of another Yandex account, which the demo token may not read.
OTHER_COUNTER_ID = 90210002
OTHER_TOKEN = "y0_AgAAAAB-rupor-other-metrica-token-0002"
EXPIRED_TOKEN = "y0_AgAAAAB-rupor-expired-metrica-token-03"
TIME_ZONE = "Europe/Moscow"
#: The demo counter's goals: id, name, type, the share of sessions that reach it.
GOALS = (
    (301, "Order placed", "action", 0.03),
    (302, "Added to cart", "action", 0.08),
    (303, "Contact form sent", "form", 0.015),
)
#: Landings an emulator started on its own shows (``sample=True``): tags and days before now.
SAMPLE_LANDINGS = (
    ("vk", "social", "useful", "101", 10),
    ("telegram", "social", "news", "102", 6),
    ("ok", "social", "selling", "103", 3),
    ("vk", "paid_social", "selling", "104", 2),
    ("x", "social", "useful", "105", 1),
)

DIMENSIONS = {
    wire.DIM_DATE,
    wire.DIM_SOURCE,
    wire.DIM_MEDIUM,
    wire.DIM_CAMPAIGN,
    wire.DIM_CONTENT,
    "ym:s:trafficSource",
}
PLAIN_METRICS = {
    wire.METRIC_VISITS,
    wire.METRIC_USERS,
    "ym:s:pageviews",
    wire.METRIC_BOUNCE_RATE,
    wire.METRIC_ANY_GOAL,
}
_RELATIVE = re.compile(r"(\d{1,4})daysAgo")


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "errors": [{"error_type": self.kind, "message": self.message}],
                "code": self.status,
                "message": self.message,
            },
            status_code=self.status,
        )


def _invalid(message: str) -> ApiError:
    return ApiError(400, wire.Code.INVALID_PARAMETER, message)


@dataclass
class Counter:
    id: int
    name: str
    site: str
    owner: str
    goals: list[tuple[int, str, str, float]]
    landings: list[Landing] = field(default_factory=list)


@dataclass
class TokenRow:
    login: str
    expired: bool = False


@dataclass
class Limits:
    per_second: int = wire.REQUESTS_PER_SECOND_PER_IP
    parallel: int = wire.PARALLEL_REQUESTS
    per_five_minutes: int = wire.REPORTS_PER_FIVE_MINUTES
    per_day: int = wire.REQUESTS_PER_DAY
    report_delay_s: float = 0.0


class MetricaState:
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
        self.counters = {
            DEMO_COUNTER_ID: Counter(DEMO_COUNTER_ID, DEMO_COUNTER_NAME, DEMO_SITE, DEMO_LOGIN, list(GOALS)),
            OTHER_COUNTER_ID: Counter(
                OTHER_COUNTER_ID, "Another site", "another.example", "someone-else", []
            ),
        }
        self.tokens = {
            DEMO_TOKEN: TokenRow(DEMO_LOGIN),
            OTHER_TOKEN: TokenRow("someone-else"),
            EXPIRED_TOKEN: TokenRow(DEMO_LOGIN, expired=True),
        }
        if self.sample:
            for source, medium, campaign, content, days_ago in SAMPLE_LANDINGS:
                self.counters[DEMO_COUNTER_ID].landings.append(
                    Landing(source, medium, campaign, content, now - days_ago * 86400)
                )
        self.by_ip: dict[str, deque[float]] = defaultdict(deque)
        self.reports: dict[str, deque[float]] = defaultdict(deque)
        self.daily: dict[tuple[str, str], int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.events: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.reset_world()

    def now(self) -> float:
        return self.clock.timestamp()

    # -- quotas ---------------------------------------------------------------------------------
    def admit(self, ip: str, login: str, report: bool) -> None:
        """Count one request against the quotas (refused ones are not counted)."""
        if not self.rate_limits:
            return
        now = self.now()
        with self.lock:
            window = self.by_ip[ip]
            while window and window[0] <= now - 1:
                window.popleft()
            if len(window) >= self.limits.per_second:
                raise ApiError(
                    429, wire.Code.QUOTA_REQUESTS_BY_IP, "Too many requests per second from this IP."
                )
            if self.in_flight[login] >= self.limits.parallel:
                raise ApiError(
                    429, wire.Code.QUOTA_PARALLEL_REQUESTS, "Too many parallel requests for this user."
                )
            day = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
            if self.daily[(login, day)] >= self.limits.per_day:
                raise ApiError(
                    429, wire.Code.QUOTA_REQUESTS_BY_UID, "Daily request quota for this user is spent."
                )
            recent = self.reports[login]
            while recent and recent[0] <= now - 300:
                recent.popleft()
            if report and len(recent) >= self.limits.per_five_minutes:
                raise ApiError(
                    429,
                    wire.Code.QUOTA_REQUESTS_BY_UID,
                    "Too many report requests in five minutes for this user.",
                )
            window.append(now)
            self.daily[(login, day)] += 1
            if report:
                recent.append(now)

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counters": {
                    str(c.id): {"name": c.name, "landings": [vars(x) for x in c.landings]}
                    for c in self.counters.values()
                },
                "daily": {f"{login}|{day}": n for (login, day), n in self.daily.items()},
                "limits": vars(self.limits),
            }


# -- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """The visits of one day from one landing (or background source): its dimension values."""

    values: dict[str, str]
    sessions: int
    users: int
    bounces: int
    pageviews: int
    goals: dict[int, int]


def _parse_date(text: str, today: dt.date, name: str) -> dt.date:
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
        raise _invalid(f"Wrong parameter: '{name}', value: '{text}'") from None


def _traffic_source(source: str, medium: str) -> str:
    if medium in ("social", "paid_social"):
        return "social"
    if medium == "organic":
        return "organic"
    if medium == "email":
        return "email"
    return "direct" if not source else "referral"


def _visits(state: MetricaState, counter: Counter, first: dt.date, last: dt.date) -> list[Visit]:
    zone = ZoneInfo(TIME_ZONE)
    now = state.now()
    out: list[Visit] = []
    landings = list(counter.landings)
    for day in sitetraffic.days(first, last):
        groups: list[tuple[str, str, str, str, str, int]] = []
        for landing in landings:
            n = sitetraffic.sessions_of(state.seed, landing, day, zone, now)
            groups.append((landing.key, landing.source, landing.medium, landing.campaign, landing.content, n))
        for source, medium, campaign, daily in sitetraffic.BACKGROUND:
            key = f"bg|{source}|{medium}"
            n = sitetraffic.background_sessions(state.seed, daily, key, day, zone, now, state.world_start)
            groups.append((key, source, medium, campaign, "", n))
        for key, source, medium, campaign, content, n in groups:
            if n <= 0:
                continue
            v = sitetraffic.visits(state.seed, key, day, n)
            out.append(
                Visit(
                    values={
                        wire.DIM_DATE: day.isoformat(),
                        wire.DIM_SOURCE: source,
                        wire.DIM_MEDIUM: medium,
                        wire.DIM_CAMPAIGN: campaign,
                        wire.DIM_CONTENT: content,
                        "ym:s:trafficSource": _traffic_source(source, medium),
                    },
                    sessions=v.sessions,
                    users=v.users,
                    bounces=v.bounces,
                    pageviews=v.pageviews,
                    goals={
                        gid: sitetraffic.reaches(state.seed, key, day, n, str(gid), rate)
                        for gid, _name, _type, rate in counter.goals
                    },
                )
            )
    return out


# -- filters: a small recursive-descent parser of Metrica's segmentation syntax ---------------

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<word>AND|OR)(?=[\s(])|(?P<dim>ym:s:[A-Za-z0-9]+)"
    r"|(?P<op>==|!=|=@|!@|=\.|!\.)|(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<comma>,))",
    re.IGNORECASE,
)
Predicate = Callable[[dict[str, str]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _invalid(f"Wrong parameter: 'filters', value: '{text}' (at position {pos})")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value.upper() if kind == "word" else value))
        pos = match.end()
    return out


class _Filter:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        found, value = self.peek()
        if found != kind:
            raise _invalid(f"Wrong parameter: 'filters' (expected {kind}, found {value or 'the end'})")
        self.pos += 1
        return value

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek()[0] != "end":
            raise _invalid("Wrong parameter: 'filters' (text after the end of the expression)")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == ("word", "OR"):
            self.pos += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.atom()]
        while self.peek() == ("word", "AND"):
            self.pos += 1
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def atom(self) -> Predicate:
        if self.peek()[0] == "open":
            self.pos += 1
            inner = self.disjunction()
            self.take("close")
            return inner
        dim = self.take("dim")
        if dim not in DIMENSIONS:
            raise _invalid(f"Wrong parameter: 'filters', unknown or unsupported dimension '{dim}'")
        op = self.take("op")
        if op in ("=.", "!."):
            self.take("open")
            values = [self.value()]
            while self.peek()[0] == "comma":
                self.pos += 1
                values.append(self.value())
            self.take("close")
            wanted = set(values)
            return (lambda r: r[dim] in wanted) if op == "=." else (lambda r: r[dim] not in wanted)
        value = self.value()
        return {
            "==": lambda r: r[dim] == value,
            "!=": lambda r: r[dim] != value,
            "=@": lambda r: value in r[dim],
            "!@": lambda r: value not in r[dim],
        }[op]

    def value(self) -> str:
        kind, value = self.peek()
        if kind not in ("str", "num"):
            raise _invalid("Wrong parameter: 'filters' (a value in single quotes was expected)")
        self.pos += 1
        return value


# -- metrics --------------------------------------------------------------------------------


def _metric(name: str, rows: list[Visit]) -> float:
    sessions = sum(v.sessions for v in rows)
    if name == wire.METRIC_VISITS:
        return float(sessions)
    if name == wire.METRIC_USERS:
        return float(sum(v.users for v in rows))
    if name == "ym:s:pageviews":
        return float(sum(v.pageviews for v in rows))
    if name == wire.METRIC_BOUNCE_RATE:
        return round(100.0 * sum(v.bounces for v in rows) / sessions, 6) if sessions else 0.0
    if name == wire.METRIC_ANY_GOAL:
        return float(sum(sum(v.goals.values()) for v in rows))
    match = wire.GOAL_METRIC.fullmatch(name)
    assert match is not None  # checked before
    return float(sum(v.goals.get(int(match.group(1)), 0) for v in rows))


def _check_metrics(names: list[str], counter: Counter) -> None:
    if not names:
        raise ApiError(400, wire.Code.MISSING_PARAMETER, "Required parameter 'metrics' is missing")
    if len(names) > wire.MAX_METRICS:
        raise _invalid(f"Too many metrics: {len(names)}, at most {wire.MAX_METRICS}")
    goals = {g[0] for g in counter.goals}
    for name in names:
        match = wire.GOAL_METRIC.fullmatch(name)
        if name in PLAIN_METRICS:
            continue
        if match is None:
            raise _invalid(f"Wrong parameter: 'metrics', value: '{name}'")
        if int(match.group(1)) not in goals:
            raise _invalid(f"Counter {counter.id} has no goal {match.group(1)}")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
        raise _invalid(f"Wrong parameter: '{name}', value: '{text}' (from {low} to {high})")
    return int(text)


def _sort_key(
    sort: list[str], dims: list[str], metrics: list[str]
) -> Callable[[tuple[list[str | None], list[float]]], Any]:
    keys: list[tuple[str, int, bool]] = []
    for item in sort:
        desc = item.startswith("-")
        name = item.lstrip("-")
        if name in dims:
            keys.append(("d", dims.index(name), desc))
        elif name in metrics:
            keys.append(("m", metrics.index(name), desc))
        else:
            raise _invalid(
                f"Wrong parameter: 'sort', '{name}' is not among the query's dimensions and metrics"
            )

    def key(row: tuple[list[str | None], list[float]]) -> Any:
        out: list[Any] = []
        for kind, index, desc in keys:
            value: Any = (row[0][index] or "") if kind == "d" else row[1][index]
            if kind == "m":
                out.append(-value if desc else value)
            else:
                out.append(_Desc(value) if desc else value)
        return out

    return key


class _Desc:
    """A string that sorts backwards (descending order of a dimension)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def table(state: MetricaState, counter: Counter, request: Request) -> dict[str, Any]:
    q = request.query_params
    metrics = [m for m in q.get("metrics", "").split(",") if m]
    _check_metrics(metrics, counter)
    dims = [d for d in q.get("dimensions", "").split(",") if d]
    if len(dims) > wire.MAX_DIMENSIONS:
        raise _invalid(f"Too many dimensions: {len(dims)}, at most {wire.MAX_DIMENSIONS}")
    for d in dims:
        if d not in DIMENSIONS:
            raise _invalid(f"Wrong parameter: 'dimensions', value: '{d}'")
    today = dt.datetime.fromtimestamp(state.now(), ZoneInfo(TIME_ZONE)).date()
    first = _parse_date(q.get("date1", "6daysAgo"), today, "date1")
    last = _parse_date(q.get("date2", "today"), today, "date2")
    if first > last:
        raise _invalid("Wrong parameter: 'date1' must not be after 'date2'")
    if (last - first).days > 3700:
        raise ApiError(400, wire.Code.QUERY_ERROR, "The period is too long")
    limit = _int_param(request, "limit", wire.DEFAULT_LIMIT, 1, wire.MAX_LIMIT)
    offset = _int_param(request, "offset", 1, 1, 10**9)
    filters = q.get("filters", "")
    if len(filters) > 10_000:
        raise ApiError(400, wire.Code.FILTER_LIMITS, "The filter is longer than 10,000 characters")
    predicate = _Filter(filters).parse() if filters.strip() else (lambda _row: True)
    include_undefined = q.get("include_undefined", "false").lower() == "true"
    sort = [s for s in q.get("sort", "").split(",") if s] or ["-" + metrics[0]]
    key = _sort_key(sort, dims, metrics)

    visits = [v for v in _visits(state, counter, min(first, last), last) if predicate(v.values)]
    groups: dict[tuple[str, ...], list[Visit]] = defaultdict(list)
    for v in visits:
        groups[tuple(v.values[d] for d in dims)].append(v)
    rows: list[tuple[list[str | None], list[float]]] = []
    for values, members in groups.items():
        if dims and not values[0] and not include_undefined:
            continue  # Metrica leaves out rows whose first dimension is undefined
        rows.append(([v or None for v in values], [_metric(m, members) for m in metrics]))
    rows.sort(key=key)
    page = rows[offset - 1 : offset - 1 + limit]
    sessions = sum(v.sessions for v in visits)
    columns = list(zip(*(r[1] for r in rows), strict=False))
    return {
        "query": {
            "ids": [counter.id],
            "dimensions": dims,
            "metrics": metrics,
            "sort": sort,
            "date1": first.isoformat(),
            "date2": last.isoformat(),
            "filters": filters,
            "limit": limit,
            "offset": offset,
            "group": "Week",
            "auto_group_size": "1",
            "attr_name": "",
            "quantile": "50",
            "offline_window": "21",
            "attribution": "LastSign",
            "currency": "RUB",
            "adfox_event_id": "0",
        },
        "data": [
            {"dimensions": [{"name": value} for value in values], "metrics": numbers}
            for values, numbers in page
        ],
        "total_rows": len(rows),
        "total_rows_rounded": False,
        "sampled": False,
        "contains_sensitive_data": False,
        "sample_share": 1.0,
        "sample_size": sessions,
        "sample_space": sessions,
        "data_lag": 0,
        "totals": [_metric(m, visits) for m in metrics],
        "min": [min(c) for c in columns] if rows else [0.0] * len(metrics),
        "max": [max(c) for c in columns] if rows else [0.0] * len(metrics),
    }


# -- the app --------------------------------------------------------------------------------


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path: str = scope["path"]
    if path.startswith("/stat/"):
        return "report"
    if path.startswith("/management/"):
        return "management"
    return None


def create_app(seed: int = 0, rate_limits: bool = True, sample: bool = True) -> Any:  # noqa: C901 - the routes share the state through closures
    state = MetricaState(seed=seed, rate_limits=rate_limits, sample=sample)
    injector = FaultInjector(seed=seed)

    def login_of(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("oauth", "bearer") or not token.strip():
            raise ApiError(
                401, wire.Code.UNAUTHORIZED, "Unauthorized: no OAuth token in the Authorization header"
            )
        row = state.tokens.get(token.strip())
        if row is None or row.expired:
            raise ApiError(403, wire.Code.INVALID_TOKEN, "Invalid oauth_token")
        return row.login

    def counter_for(login: str, raw: str) -> Counter:
        if not re.fullmatch(r"\d{1,12}", raw):
            raise _invalid(f"Wrong parameter: 'ids', value: '{raw}'")
        counter = state.counters.get(int(raw))
        if counter is None:
            raise ApiError(404, wire.Code.NOT_FOUND, f"Counter {raw} not found")
        if counter.owner != login:
            raise ApiError(403, wire.Code.ACCESS_DENIED, "Access is denied")
        return counter

    async def call(request: Request, report: bool, act: Callable[[str], dict[str, Any]]) -> Response:
        try:
            login = login_of(request)
            state.admit(request.client.host if request.client else "", login, report)
        except ApiError as exc:
            return exc.response()
        with state.lock:
            state.in_flight[login] += 1
        try:
            if report and state.limits.report_delay_s:
                await asyncio.sleep(state.limits.report_delay_s)
            with state.lock:
                body = act(login)
                state.events.append({"kind": "report" if report else "management", "at": state.now()})
            return JSONResponse(body)
        except ApiError as exc:
            return exc.response()
        finally:
            with state.lock:
                state.in_flight[login] -= 1

    async def data(request: Request) -> Response:
        def act(login: str) -> dict[str, Any]:
            ids = request.query_params.get("ids", "") or request.query_params.get("id", "")
            if not ids:
                raise ApiError(400, wire.Code.MISSING_PARAMETER, "Required parameter 'ids' is missing")
            if "," in ids:
                raise _invalid("This emulator reads one counter per request")
            return table(state, counter_for(login, ids), request)

        return await call(request, True, act)

    async def counter_info(request: Request) -> Response:
        def act(login: str) -> dict[str, Any]:
            c = counter_for(login, str(request.path_params["counter"]))
            return {
                "counter": {
                    "id": c.id,
                    "status": "Active",
                    "owner_login": c.owner,
                    "code_status": "CS_OK",
                    "name": c.name,
                    "type": "simple",
                    "site": c.site,
                    "site2": {"site": c.site, "domain": c.site},
                    "permission": "own",
                    "time_zone_name": TIME_ZONE,
                    "time_zone_offset": 180,
                    "create_time": "2024-03-01T10:00:00+03:00",
                    "gdpr_agreement_accepted": 1,
                }
            }

        return await call(request, False, act)

    async def goals(request: Request) -> Response:
        def act(login: str) -> dict[str, Any]:
            c = counter_for(login, str(request.path_params["counter"]))
            return {
                "goals": [
                    {
                        "id": gid,
                        "name": name,
                        "type": kind,
                        "is_retargeting": 0,
                        "goal_source": "user",
                        "is_favorite": 0,
                        "prev_goal_id": 0,
                        "conditions": [{"type": "exact", "url": f"goal-{gid}"}],
                    }
                    for gid, name, kind, _rate in c.goals
                ]
            }

        return await call(request, False, act)

    async def landings(request: Request) -> Response:
        try:
            body = await request.json()
            counter = state.counters[int(body.get("counter", DEMO_COUNTER_ID))]
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
                    before = len(counter.landings)
                    counter.landings = sitetraffic.merge(counter.landings, landing)
                    added += len(counter.landings) - before
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"added": added, "landings": len(counter.landings)})

    async def quotas(request: Request) -> Response:
        try:
            body = await request.json()
            with state.lock:
                for name in ("per_second", "parallel", "per_five_minutes", "per_day"):
                    if name in body:
                        setattr(state.limits, name, int(body[name]))
                if "report_delay_s" in body:
                    state.limits.report_delay_s = float(body["report_delay_s"])
                if body.get("clear_usage"):
                    state.by_ip.clear()
                    state.reports.clear()
                    state.daily.clear()
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"limits": vars(state.limits)})

    routes = [
        Route(wire.DATA_PATH, data, methods=["GET"]),
        Route("/management/v1/counter/{counter}", counter_info, methods=["GET"]),
        Route("/management/v1/counter/{counter}/goals", goals, methods=["GET"]),
        Route("/_emulator/landings", landings, methods=["POST"]),
        Route("/_emulator/quotas", quotas, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, lambda: list(state.events), state.reset),
    ]
    inner = Starlette(routes=routes)
    app = FaultMiddleware(
        inner,
        injector,
        _method_of,
        lambda _m: ApiError(
            429, wire.Code.QUOTA_REQUESTS_BY_IP, "Too many requests per second from this IP."
        ).response(),
        lambda _m: ApiError(503, wire.Code.BACKEND_ERROR, "Internal server error").response(),
    )
    app.state = SimpleNamespace(emulator=state, clock=state.clock)  # type: ignore[attr-defined]  # the shape every emulator has: tests and the demo reach the state here
    return app
