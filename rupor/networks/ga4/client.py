"""The GA4 client: signs in as a service account (a JWT for an hour's access token, kept in
memory and never stored), tests a property and reads the traffic of Rupor's tagged links page
after page, stopping before the property's quota runs out (``wire.py`` has the facts and their
sources; docs/decisions/0044-web-analytics-sources.md why a service account)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import zoneinfo
from collections.abc import Iterator
from typing import Any

from rupor.core import clock
from rupor.networks import errors, transport
from rupor.networks.ga4 import wire
from rupor.networks.webanalytics import Goal, Quota, SourceAccess, SourceInfo, TrafficQuery, TrafficRow

NAME = "Google Analytics"
TIMEOUT_S = 60.0
#: A token is used until this many seconds before it expires.
TOKEN_MARGIN_S = 120.0

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every kept access token (tests; a key replaced by a person)."""
    with _tokens_lock:
        _tokens.clear()


class Ga4Client:
    """Reads one GA4 property as the service account of ``credentials["service_account"]`` (the
    key file's JSON)."""

    def __init__(self, access: SourceAccess) -> None:
        self.property = access.account_id
        self.key_text = access.credentials.get("service_account", "")
        self.root = (access.base_url or wire.DEFAULT_API_ROOT).rstrip("/")
        self.token_url = (
            (access.base_url.rstrip("/") + wire.TOKEN_PATH) if access.base_url else wire.TOKEN_URL
        )
        self.quota = Quota()
        self.timezone = ""
        self.calls = 0
        #: Seconds until the quota that is nearly spent is renewed (``None``: there is room).
        self.quota_wait: float | None = None
        #: Rows a page (tests make it small to see the paging).
        self.page_limit = wire.PAGE_LIMIT

    # -- signing in ---------------------------------------------------------------------------
    def _account(self) -> wire.ServiceAccount:
        try:
            return wire.parse_key(self.key_text)
        except ValueError as exc:
            raise errors.AuthExpired(str(exc), needs_person=True) from exc

    def _token(self, *, fresh: bool = False) -> str:
        account = self._account()
        key = (account.client_email, account.private_key_id, self.token_url)
        with _tokens_lock:
            kept = _tokens.get(key)
            if kept is not None and not fresh and kept[1] > time.monotonic():
                return kept[0]
            _tokens.pop(key, None)
        answer = transport.send(
            NAME,
            "POST",
            self.token_url,
            creates=False,
            what="signing in",
            timeout=TIMEOUT_S,
            data=wire.token_form(account, int(clock.now().timestamp())),
        )
        excerpt = answer.text[:300]
        payload = _json(answer)
        kind, detail = wire.token_error(payload)
        if kind:
            raise wire.token_error_for(kind, detail, excerpt=excerpt)
        failure = transport.status_error(answer, network=NAME, creates=False, excerpt=excerpt)
        if failure is not None:
            raise failure
        try:
            token, lifetime = wire.parse_token(payload)
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, NAME) from exc
        with _tokens_lock:
            _tokens[key] = (token, time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_S))
        return token

    # -- calls --------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any, what: str) -> Any:
        if not wire.PROPERTY_ID.fullmatch(self.property):
            raise errors.Rejected("A GA4 property id is digits only.", needs_person=True)
        for attempt in (1, 2):
            token = self._token(fresh=attempt == 2)
            self.calls += 1
            answer = transport.send(
                NAME,
                method,
                self.root + path.format(property=self.property),
                creates=False,
                what=what,
                timeout=TIMEOUT_S,
                headers={"Authorization": f"Bearer {token}"},
                json=body,
            )
            excerpt = answer.text[:300]
            payload = _json(answer)
            status, detail = wire.api_error(payload)
            if status == wire.Status.UNAUTHENTICATED and attempt == 1:
                continue  # the kept token was revoked or expired early: sign in once more
            if status:
                raise wire.error_for(status, detail, prop=self.property, excerpt=excerpt)
            failure = transport.status_error(answer, network=NAME, creates=False, excerpt=excerpt)
            if failure is not None:
                raise failure
            if payload is None:
                raise errors.Transient(f"{NAME} sent an answer Rupor could not read.", excerpt=excerpt)
            return payload
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _report(self, body: dict[str, Any], what: str) -> wire.Report:
        payload = self._call("POST", wire.RUN_REPORT, body, what)
        try:
            report = wire.parse_report(payload)
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, NAME) from exc
        self._note_quota(report)
        return report

    def _note_quota(self, report: wire.Report) -> None:
        self.timezone = report.timezone or self.timezone
        q = report.quota
        self.quota = Quota(
            tokens_per_hour=q["tokensPerHour"][1] if "tokensPerHour" in q else None,
            tokens_per_day=q["tokensPerDay"][1] if "tokensPerDay" in q else None,
            tokens_per_project_per_hour=q["tokensPerProjectPerHour"][1]
            if "tokensPerProjectPerHour" in q
            else None,
            extra={name: remaining for name, (_used, remaining) in q.items()},
        )
        cost = max((used for name, (used, _left) in q.items() if name.startswith("tokens")), default=0)
        reserve = max(1, cost) * wire.RESERVE_REQUESTS
        self.quota_wait = self.low_quota_wait(reserve)

    def low_quota_wait(self, reserve: int) -> float | None:
        """Seconds until a quota with fewer than ``reserve`` tokens left is renewed (the next hour,
        or the property's next midnight for the daily one); ``None`` when there is room."""
        now = clock.now()
        if self.quota.tokens_per_day is not None and self.quota.tokens_per_day < reserve:
            try:
                zone = zoneinfo.ZoneInfo(self.timezone) if self.timezone else dt.UTC
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = dt.UTC
            local = now.astimezone(zone)
            midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
            return max(60.0, (midnight - now).total_seconds())
        hourly = [
            q for q in (self.quota.tokens_per_hour, self.quota.tokens_per_project_per_hour) if q is not None
        ]
        if hourly and min(hourly) < reserve:
            return max(60.0, 3600.0 - (now.minute * 60 + now.second))
        return None

    # -- what the job asks --------------------------------------------------------------------
    def verify(self) -> SourceInfo:
        """Sign in, read the property's key events (metadata) and run the smallest report (which
        proves the account may read it and says the property's time zone)."""
        metadata = self._call("GET", wire.METADATA, None, "the property's metadata")
        try:
            events = wire.key_events(metadata)
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, NAME) from exc
        report = self._report(wire.probe_body(), "a test report")
        return SourceInfo(
            name="",  # the Data API does not say a property's name (the Admin API would)
            timezone=report.timezone,
            goals=tuple(Goal(e, e) for e in events),
        )

    def traffic(self, query: TrafficQuery) -> Iterator[TrafficRow]:
        if query.goal and not wire.KEY_EVENT.fullmatch(query.goal):
            raise errors.Rejected(
                "A GA4 key event is named by letters, digits and underscores.", needs_person=True
            )
        offset = 0
        while True:
            body = wire.report_body(
                query.first, query.last, query.mediums, query.goal, offset=offset, limit=self.page_limit
            )
            report = self._report(body, "the report")
            try:
                parsed = [_row(dims, metrics) for dims, metrics in report.rows]
            except errors.SHAPE_ERRORS as exc:
                raise errors.as_network_error(exc, NAME) from exc
            yield from parsed
            offset += len(report.rows)
            if not report.rows or offset >= report.row_count:
                return
            if self.quota_wait is not None:
                raise errors.RateLimited(
                    "The GA4 property's API quota is nearly spent; Rupor will read the rest later.",
                    code="quota_reserve",
                    retry_after=self.quota_wait,
                )


def _json(answer: Any) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _row(dims: list[str], metrics: list[float]) -> TrafficRow:
    day, source, medium, campaign, content = dims
    sessions, users, key_events = metrics
    return TrafficRow(
        day=wire.parse_day(day),
        source=source,
        medium=medium,
        campaign=campaign,
        content=content,
        sessions=round(sessions),
        users=round(users),
        conversions=round(key_events),
    )
