"""Web analytics sources: what Rupor reads from a site's own analytics, and the clients that read it.

A web analytics source is not a channel: nothing is published there, it has no inbox, and it is
connected once per workspace, not per account (docs/decisions/0044-web-analytics-sources.md). So
it is not in :mod:`rupor.networks.registry` (the publishing networks); this module is its small
registry instead. Each source reads sessions, users and conversions of the visits that arrived
with Rupor's UTM tags (``utm_medium`` social or paid_social), by day and by the four tags:

* ``metrica`` — the Yandex Metrica Reports API (``rupor/networks/metrica/``);
* ``ga4`` — the Google Analytics Data API v1beta (``rupor/networks/ga4/``).

Raw payloads stay in each source's package; what leaves is :class:`TrafficRow` and
:class:`SourceInfo`, and every failure is a class of :mod:`rupor.networks.errors`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.translation import gettext as _

#: source key -> "module:class" of its client.
SOURCES: dict[str, str] = {
    "metrica": "rupor.networks.metrica.client:MetricaClient",
    "ga4": "rupor.networks.ga4.client:Ga4Client",
}
DISPLAY_NAMES: dict[str, str] = {"metrica": "Yandex Metrica", "ga4": "Google Analytics 4"}
#: Each source's emulator factory (``rupor emulate metrica|ga4``, the demo, tests).
EMULATORS: dict[str, str] = {
    "metrica": "rupor.networks.metrica.emulator:create_app",
    "ga4": "rupor.networks.ga4.emulator:create_app",
}


@dataclass(frozen=True)
class SourceAccess:
    """Everything a client needs to read one connected source. ``credentials`` is the decrypted
    mapping (never logged, never returned by the API); ``base_url`` overrides the service's own
    address (a proxy, an emulator)."""

    kind: str
    account_id: str
    credentials: Mapping[str, str]
    base_url: str | None = None

    def __repr__(self) -> str:  # credentials must never reach a log line
        return f"SourceAccess(kind={self.kind!r}, account_id={self.account_id!r}, base_url={self.base_url!r})"


@dataclass(frozen=True)
class Goal:
    """A conversion the source counts: a Metrica goal (numeric id) or a GA4 key event (its name)."""

    id: str
    name: str


@dataclass(frozen=True)
class SourceInfo:
    """What a connection test learns: the counter's or property's name, its time zone (the days
    of its reports are its local days) and the conversions it counts."""

    name: str
    timezone: str = ""
    goals: tuple[Goal, ...] = ()


@dataclass(frozen=True)
class TrafficQuery:
    """The visits to read: days ``first``..``last`` (the source's own local days, inclusive) that
    arrived with one of ``mediums`` as ``utm_medium``; conversions of ``goal`` (a Metrica goal id
    or a GA4 key event name), or of every goal when it is empty."""

    first: dt.date
    last: dt.date
    mediums: tuple[str, ...] = ("social", "paid_social")
    goal: str = ""


@dataclass(frozen=True)
class TrafficRow:
    """The visits of one day with one combination of UTM tags (values as the source reports them;
    a tag the visit did not carry is empty)."""

    day: dt.date
    source: str
    medium: str
    campaign: str
    content: str
    sessions: int
    users: int
    conversions: int


@dataclass
class Quota:
    """What the source said about its quota after the last call (GA4's ``propertyQuota``;
    Metrica says nothing until it refuses). ``None``: not reported."""

    tokens_per_hour: int | None = None
    tokens_per_day: int | None = None
    tokens_per_project_per_hour: int | None = None
    extra: dict[str, int] = field(default_factory=dict)


class Client(Protocol):
    """A source's client: built from a :class:`SourceAccess`."""

    def verify(self) -> SourceInfo:
        """Check the credentials and the account id; the source's name and goals."""
        ...

    def traffic(self, query: TrafficQuery) -> Iterator[TrafficRow]:
        """Every row of the query, page after page (a failure raises; rows already yielded stand
        for pages that were read whole)."""
        ...


def client_for(access: SourceAccess) -> Client:
    """The client of ``access.kind``."""
    try:
        path = SOURCES[access.kind]
    except KeyError:
        raise ValueError(f"unknown web analytics source {access.kind!r}") from None
    module, name = path.split(":")
    factory = getattr(importlib.import_module(module), name)
    client: Client = factory(access)
    return client


#: Longest secret accepted (a token, or a service account key file of about 2.4 KB).
MAX_SECRET = 20_000


def account_ok(kind: str, account_id: str) -> bool:
    """Whether ``account_id`` has the shape of the kind's counter number or property id."""
    from rupor.networks.ga4 import wire as ga4_wire
    from rupor.networks.metrica import wire as metrica_wire

    pattern = metrica_wire.COUNTER_ID if kind == "metrica" else ga4_wire.PROPERTY_ID
    return bool(pattern.fullmatch(account_id))


def goal_ok(kind: str, goal: str) -> bool:
    """Whether ``goal`` has the shape of a Metrica goal id or a GA4 key event name."""
    from rupor.networks.ga4 import wire as ga4_wire

    if kind == "metrica":
        return goal.isascii() and goal.isdigit() and len(goal) <= 12
    return bool(ga4_wire.KEY_EVENT.fullmatch(goal))


def credentials_from(kind: str, secret: str) -> dict[str, str]:
    """The credentials a person's secret makes (a Metrica token, a GA4 key file's text);
    ``ValueError`` with a sentence when it cannot be one."""
    from rupor.networks.ga4 import wire as ga4_wire

    if len(secret) > MAX_SECRET:
        raise ValueError(_("This is too long to be a key."))
    if kind == "metrica":
        token = secret.strip()
        if not token or len(token) > 500 or any(c.isspace() for c in token):
            raise ValueError(_("Paste the OAuth token: one word, without spaces."))
        return {"token": token}
    ga4_wire.parse_key(secret.strip())
    return {"service_account": secret.strip()}


def client_email(credentials: Mapping[str, str]) -> str:
    """The service account of GA4 credentials (not a secret: GA4's access list names it)."""
    from rupor.networks.ga4 import wire as ga4_wire

    try:
        return ga4_wire.parse_key(credentials.get("service_account", "")).client_email
    except ValueError:
        return ""


def emulator_factory(kind: str) -> object:
    module, name = EMULATORS[kind].split(":")
    return getattr(importlib.import_module(module), name)
