"""The Yandex Metrica client: a connection test (counter and goals) and the traffic of Rupor's
tagged links, page after page (``wire.py`` has the facts and their sources)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from rupor.networks import errors, transport
from rupor.networks.metrica import wire
from rupor.networks.webanalytics import Goal, SourceAccess, SourceInfo, TrafficQuery, TrafficRow

NAME = "Yandex Metrica"
#: Metrica answers a report within seconds; a month of a big site's rows in one page may take more.
TIMEOUT_S = 60.0


class MetricaClient:
    """Reads one counter with one OAuth token (``credentials["token"]``)."""

    def __init__(self, access: SourceAccess) -> None:
        self.counter = access.account_id
        self.token = access.credentials.get("token", "")
        self.root = (access.base_url or wire.DEFAULT_API_ROOT).rstrip("/")
        #: Calls made by this client.
        self.calls = 0
        #: Rows a page (tests make it small to see the paging).
        self.page_limit = wire.PAGE_LIMIT

    def _get(self, path: str, params: Mapping[str, str] | None, what: str) -> Any:
        if not wire.COUNTER_ID.fullmatch(self.counter):
            raise errors.Rejected("A Yandex Metrica counter number is digits only.", needs_person=True)
        if not self.token:
            raise errors.AuthExpired(
                "No Yandex Metrica token is stored: connect the counter again.", needs_person=True
            )
        self.calls += 1
        answer = transport.send(
            NAME,
            "GET",
            self.root + path,
            creates=False,
            what=what,
            timeout=TIMEOUT_S,
            headers=wire.auth_headers(self.token),
            params=dict(params or {}),
        )
        excerpt = answer.text[:300]
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        kind, detail = wire.error_type(payload)
        if kind:
            raise wire.error_for(kind, detail, counter=self.counter, excerpt=excerpt)
        failure = transport.status_error(answer, network=NAME, creates=False, excerpt=excerpt)
        if failure is not None:
            raise failure
        if payload is None:
            raise errors.Transient(f"{NAME} sent an answer Rupor could not read.", excerpt=excerpt)
        return payload

    def verify(self) -> SourceInfo:
        """The counter's name, time zone and goals (the Management API)."""
        counter = self._get(wire.COUNTER_PATH.format(counter=self.counter), None, "the counter")
        goals = self._get(wire.GOALS_PATH.format(counter=self.counter), None, "the goals")
        try:
            name, zone = wire.parse_counter(counter)
            found = wire.parse_goals(goals)
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, NAME) from exc
        return SourceInfo(name=name, timezone=zone, goals=tuple(Goal(i, n) for i, n in found))

    def traffic(self, query: TrafficQuery) -> Iterator[TrafficRow]:
        """Visits, users and conversions by day and UTM tags, ``limit``/``offset`` page by page
        until ``total_rows`` is read."""
        if query.goal and not query.goal.isdigit():
            raise errors.Rejected("A Yandex Metrica goal is its number.", needs_person=True)
        offset = 1
        while True:
            params = wire.data_params(
                self.counter,
                query.first,
                query.last,
                query.mediums,
                query.goal,
                offset=offset,
                limit=self.page_limit,
            )
            payload = self._get(wire.DATA_PATH, params, "the report")
            try:
                rows, total = wire.parse_table(payload)
                parsed = [_row(dims, metrics) for dims, metrics in rows]
            except errors.SHAPE_ERRORS as exc:
                raise errors.as_network_error(exc, NAME) from exc
            yield from parsed
            offset += len(rows)
            if not rows or offset > total:
                return


def _row(dims: list[str], metrics: list[float]) -> TrafficRow:
    day, source, medium, campaign, content = dims
    visits, users, reaches = metrics
    return TrafficRow(
        day=dt.date.fromisoformat(day),
        source=source,
        medium=medium,
        campaign=campaign,
        content=content,
        sessions=round(visits),
        users=round(users),
        conversions=round(reaches),
    )
