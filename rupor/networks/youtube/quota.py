"""YouTube quota accounting: units spent per Google Cloud project and Pacific-time day.

YouTube does not tell how much of a project's quota is left; it answers 403 ``quotaExceeded`` once
it is spent, until midnight Pacific time. Rupor therefore counts what it spends itself, per
project (the OAuth client id, hashed) and day, and refuses a publish *before* it would go over,
with a sentence that says what it needs, what is left and when the quota resets.

The costs are configurable per channel (``settings["quota_costs"]``, e.g.
``"videos.insert=1600"`` for a project on the older model; ``quota_units_per_day``,
``quota_uploads_per_day``) and default to the current published model (:mod:`.wire`).

The ledger is a small JSON file per project and day under ``RUPOR_HOME/youtube-quota/``, changed
under an exclusive ``flock``, so every worker process on the machine counts into the same one.
Workers on several machines each count their own share; YouTube's own ``quotaExceeded`` answer
stays the backstop, and when it comes the day is marked spent here so no further call is tried.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rupor.core import config
from rupor.networks.youtube import wire


@dataclass(frozen=True)
class Budget:
    """A project's daily quota and what each method costs in it."""

    units_per_day: int
    uploads_per_day: int  # 0: videos.insert has no bucket of its own (the older model)
    costs: Mapping[str, int]

    def cost(self, method: str) -> tuple[int, int]:
        """(units, upload-bucket calls) one call of ``method`` spends."""
        units = int(self.costs.get(method, 1))
        uploads = 1 if method == "videos.insert" and self.uploads_per_day > 0 else 0
        return units, uploads


def budget(settings: Mapping[str, Any]) -> Budget:
    """The channel's budget: the defaults, with what its settings say."""
    costs = dict(wire.DEFAULT_COSTS)
    for item in str(settings.get("quota_costs") or "").split(","):
        name, _, value = item.partition("=")
        if name.strip() and value.strip().isdigit():
            costs[name.strip()] = int(value)
    uploads = settings.get("quota_uploads_per_day")
    return Budget(
        units_per_day=int(settings.get("quota_units_per_day") or wire.DEFAULT_UNITS_PER_DAY),
        uploads_per_day=wire.DEFAULT_UPLOADS_PER_DAY if uploads is None else int(uploads),
        costs=costs,
    )


@dataclass(frozen=True)
class Shortfall:
    """A plan that does not fit in what is left of today's quota."""

    needed_units: int
    left_units: int
    needed_uploads: int
    left_uploads: int
    resets_at: dt.datetime


def _path(project: str, day: str) -> Path:
    key = hashlib.sha256(project.encode()).hexdigest()[:16]
    return config.home() / "youtube-quota" / f"{key}-{day}.json"


def _locked(project: str, day: str) -> int:
    path = _path(project, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _read(fd: int) -> dict[str, int]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    return {
        "units": int(data.get("units", 0)),
        "uploads": int(data.get("uploads", 0)),
        "spent": int(data.get("spent", 0)),
    }


def _write(fd: int, data: Mapping[str, int]) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(dict(data)).encode())


def reserve(project: str, plan: Mapping[str, int], limits: Budget, now: dt.datetime) -> Shortfall | None:
    """Charge the calls of ``plan`` (method -> count) to today's ledger if they all fit, else
    charge nothing and say what is short."""
    units = sum(limits.cost(m)[0] * n for m, n in plan.items())
    uploads = sum(limits.cost(m)[1] * n for m, n in plan.items())
    day = wire.quota_day(now)
    fd = _locked(project, day)
    try:
        used = _read(fd)
        left_units = 0 if used["spent"] else limits.units_per_day - used["units"]
        left_uploads = 0 if used["spent"] else limits.uploads_per_day - used["uploads"]
        if units > left_units or (uploads and uploads > left_uploads):
            return Shortfall(units, max(0, left_units), uploads, max(0, left_uploads), wire.next_reset(now))
        _write(fd, {**used, "units": used["units"] + units, "uploads": used["uploads"] + uploads})
        return None
    finally:
        os.close(fd)


def charge(project: str, method: str, limits: Budget, now: dt.datetime) -> None:
    """Count one call that was not reserved ahead (reads, replies, moderation)."""
    units, uploads = limits.cost(method)
    fd = _locked(project, wire.quota_day(now))
    try:
        used = _read(fd)
        _write(fd, {**used, "units": used["units"] + units, "uploads": used["uploads"] + uploads})
    finally:
        os.close(fd)


def mark_spent(project: str, now: dt.datetime) -> None:
    """YouTube said ``quotaExceeded``: nothing more is tried until its midnight."""
    fd = _locked(project, wire.quota_day(now))
    try:
        _write(fd, {**_read(fd), "spent": 1})
    finally:
        os.close(fd)


def used_today(project: str, now: dt.datetime) -> dict[str, int]:
    """What the ledger holds for today (units, uploads, spent)."""
    fd = _locked(project, wire.quota_day(now))
    try:
        return _read(fd)
    finally:
        os.close(fd)
