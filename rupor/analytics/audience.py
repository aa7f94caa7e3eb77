"""Who a channel's audience is, where the network tells (docs/analytics.md, "Audience").

VK community statistics (``stats.get``) break each day's visitors and reach down by sex, age,
sex and age, city and country (and the reach by device: mobile or not). Collection stores them
per day in :class:`AudienceSnapshot`; this module reads the newest day with its change against
an earlier day of the chosen window, and a short history per dimension.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext as _

from rupor.analytics.models import AudienceSnapshot
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.networks import registry

#: Who was counted: people who opened the community that day, or who saw its posts.
BASES = ("visitors", "reach")
#: The dimensions in the order they are shown.
DIMENSIONS = ("sex", "age", "sex_age", "city", "country", "device")
#: Networks whose audience Rupor reads (the others say why not: :func:`unsupported_reason`).
NETWORKS = frozenset({"vk"})
AGES = ("12-18", "18-21", "21-24", "24-27", "27-30", "30-35", "35-45", "45-100")
#: How many bars a long list (cities, countries) shows; the rest is summed as "Other".
TOP = 10
#: How many days the history table shows (spread over the window).
HISTORY_DAYS = 8


class AudienceError(DomainError):
    """A request for audience figures the analytics domain refuses."""


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    #: Percent of the dimension's total that day.
    share: float
    #: The share on the compared (earlier) day, and the change in percentage points.
    share_before: float | None = None
    change: float | None = None


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    total: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class HistoryRow:
    day: dt.date
    #: The share of each key of :attr:`History.keys` that day (None: not reported).
    shares: tuple[float | None, ...]


@dataclass(frozen=True)
class History:
    dimension: str
    title: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]
    rows: tuple[HistoryRow, ...]


@dataclass(frozen=True)
class ChannelAudience:
    channel_id: int
    network: str
    basis: str
    supported: bool
    day: dt.date | None
    compared_day: dt.date | None
    days_with_data: int
    breakdowns: tuple[Breakdown, ...]
    history: tuple[History, ...]
    notes: tuple[str, ...] = ()


def dimension_title(dimension: str) -> str:
    return {
        "sex": _("Sex"),
        "age": _("Age"),
        "sex_age": _("Sex and age"),
        "city": _("Cities"),
        "country": _("Countries"),
        "device": _("Devices"),
    }.get(dimension, dimension)


def _age(key: str) -> str:
    return _("%(age)s+") % {"age": key.split("-")[0]} if key.endswith("-100") else key.replace("-", "\u2013")


def key_label(dimension: str, key: str, label: str = "") -> str:
    """What a bar is called for people ("Women", "18-21", "Women 18-21", "Moscow", "Mobile"; ages with an en dash)."""
    sexes = {"f": _("Women"), "m": _("Men")}
    if dimension == "sex":
        return sexes.get(key, key)
    if dimension == "age":
        return _age(key)
    if dimension == "sex_age":
        sex, _sep, age = key.partition(";")
        return f"{sexes.get(sex, sex)} {_age(age)}"
    if dimension == "device":
        return {"mobile": _("Mobile"), "other": _("Other devices")}.get(key, key)
    if key == "other":
        return _("Other")
    return label or key


def _order(dimension: str, counts: dict[str, int]) -> list[str]:
    if dimension == "sex":
        return sorted(counts)
    if dimension == "age":
        return sorted(counts, key=lambda k: (AGES.index(k) if k in AGES else len(AGES), k))
    if dimension == "sex_age":
        return sorted(
            counts,
            key=lambda k: (
                k.partition(";")[0],
                AGES.index(k.partition(";")[2]) if k.partition(";")[2] in AGES else 99,
            ),
        )
    if dimension == "device":
        return sorted(counts, key=lambda k: (k != "mobile", k))
    return sorted(counts, key=lambda k: (-counts[k], k))


def unsupported_reason(network: str) -> str:
    """Why Rupor shows no audience for a channel on this network."""
    name = registry.DISPLAY_NAMES.get(network, network)
    if network == "ok":
        return _(
            "OK lists group statistics methods (group.getStatPeople, group.getStatTrends) but does not "
            "document what they return, so Rupor does not read OK audiences yet."
        )
    if network == "telegram":
        return _("The Telegram Bot API tells nothing about who a channel's subscribers are.")
    return _("%(network)s does not tell Rupor who a channel's audience is.") % {"network": name}


def _pct(part: int, whole: int) -> float:
    return round(part / whole * 100, 2) if whole else 0.0


def _day_counts(channel_id: int, basis: str, day: dt.date) -> dict[str, dict[str, tuple[int, str]]]:
    out: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    for dimension, key, label, count in AudienceSnapshot.objects.filter(
        channel_id=channel_id, basis=basis, day=day
    ).values_list("dimension", "key", "label", "count"):
        out[dimension][key] = (count, label)
    return out


def _top(dimension: str, counts: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """Cities and countries beyond the :data:`TOP` largest summed as "other"."""
    if dimension not in ("city", "country") or len(counts) <= TOP:
        return counts
    keys = sorted(counts, key=lambda k: (-counts[k][0], k))
    out = {k: counts[k] for k in keys[:TOP]}
    out["other"] = (sum(counts[k][0] for k in keys[TOP:]), "")
    return out


def channel_audience(
    workspace_id: int, channel_id: int, *, basis: str = "visitors", days: int = 30
) -> ChannelAudience:
    """The channel's audience on the newest day reported, each bar's share and its change in
    percentage points against the earliest day reported within the last ``days`` days, and a
    short history of each dimension."""
    if basis not in BASES:
        raise AudienceError(
            _("Choose who to count: %(choices)s.") % {"choices": ", ".join(BASES)}, "basis", 422
        )
    if not 1 <= days <= 366:
        raise AudienceError(_("Give a period of 1 to 366 days."), "days", 422)
    channel = channels.get_channel(workspace_id, channel_id)
    if channel.network not in NETWORKS:
        return ChannelAudience(
            channel_id=channel.pk,
            network=channel.network,
            basis=basis,
            supported=False,
            day=None,
            compared_day=None,
            days_with_data=0,
            breakdowns=(),
            history=(),
            notes=(unsupported_reason(channel.network),),
        )
    snapshots = AudienceSnapshot.objects.filter(channel_id=channel.pk, basis=basis)
    latest = snapshots.order_by("-day").values_list("day", flat=True).first()
    if latest is None:
        return ChannelAudience(
            channel_id=channel.pk,
            network=channel.network,
            basis=basis,
            supported=True,
            day=None,
            compared_day=None,
            days_with_data=0,
            breakdowns=(),
            history=(),
            notes=(
                _(
                    "No audience statistics yet: they come with the channel's daily statistics, which need a "
                    "user token of a community administrator and people visiting or seeing the community."
                ),
            ),
        )
    window = sorted(
        set(snapshots.filter(day__gte=latest - dt.timedelta(days=days - 1)).values_list("day", flat=True))
    )
    compared = window[0] if len(window) > 1 else None
    now_counts = _day_counts(channel.pk, basis, latest)
    before_counts = _day_counts(channel.pk, basis, compared) if compared else {}
    breakdowns = []
    for dimension in DIMENSIONS:
        counts = _top(dimension, now_counts.get(dimension, {}))
        if not counts:
            continue
        total = sum(c for c, _label in counts.values())
        before = _top(dimension, before_counts.get(dimension, {}))
        before_total = sum(c for c, _label in before.values())
        bars = []
        for key in _order(dimension, {k: v[0] for k, v in counts.items()}):
            count, label = counts[key]
            share = _pct(count, total)
            share_before = (
                _pct(before[key][0], before_total)
                if before_total and key in before
                else (0.0 if before_total else None)
            )
            bars.append(
                Bar(
                    key=key,
                    label=key_label(dimension, key, label),
                    count=count,
                    share=share,
                    share_before=share_before,
                    change=round(share - share_before, 2) if share_before is not None else None,
                )
            )
        breakdowns.append(Breakdown(dimension, dimension_title(dimension), total, tuple(bars)))
    history = []
    if len(window) > 1:
        step = max(1, -(-len(window) // HISTORY_DAYS))
        picked = window[::-1][::step][::-1]
        per_day = {d: _day_counts(channel.pk, basis, d) for d in picked}
        for b in breakdowns:
            if b.dimension == "sex_age":
                continue
            keys = tuple(bar.key for bar in b.bars if bar.key != "other")[:8]
            rows = []
            for d in picked:
                counts = per_day[d].get(b.dimension, {})
                whole = sum(c for c, _label in counts.values())
                rows.append(
                    HistoryRow(
                        d, tuple(_pct(counts[k][0], whole) if whole and k in counts else None for k in keys)
                    )
                )
            history.append(
                History(
                    b.dimension,
                    b.title,
                    keys,
                    tuple(bar.label for bar in b.bars if bar.key in keys),
                    tuple(rows),
                )
            )
    notes = [
        _("Visitors: people who opened the community that day, as VK's community statistics count them.")
        if basis == "visitors"
        else _(
            "Reach: people who saw the community's posts that day, as VK's community statistics count them."
        )
    ]
    if compared is None:
        notes.append(_("Only one day has been collected so far, so there is no change to show yet."))
    return ChannelAudience(
        channel_id=channel.pk,
        network=channel.network,
        basis=basis,
        supported=True,
        day=latest,
        compared_day=compared,
        days_with_data=len(window),
        breakdowns=tuple(breakdowns),
        history=tuple(history),
        notes=tuple(notes),
    )
