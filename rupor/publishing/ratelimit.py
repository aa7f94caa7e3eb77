"""Rate limits shared by every worker (ARCHITECTURE.md, engine invariant 5).

Each adapter declares the limits a publish counts against (:meth:`Adapter.rate_limits`: per
token, app, account or group). The engine asks :func:`try_acquire` before each call: either every
bucket has room *now* and all are charged at once, or nothing is charged and the caller learns how
long to wait. Calls are therefore spaced evenly at ``per_s / limit`` (times a safety margin for
network jitter), which never exceeds a "N per window" limit however the network counts it
(fixed or sliding window), and reaches about ``MARGIN`` of the allowed rate.

The algorithm is GCRA without burst: a bucket stores its *theoretical arrival time* (``tat``,
epoch seconds); a call may go when ``tat <= now`` and moves ``tat`` to ``max(tat, now) + cost *
interval``. When the network still answers "too many requests" (limits it does not publish,
other software on the same token), :func:`penalize` pushes the buckets past its retry-after so
that every worker backs off together.

Even spacing is measured where the call is *charged*, but a network counts a call when it
*arrives*. VK (and OK) count calls per token in one-second windows: with arrival jitter (a
busy machine, two workers) a call charged on time can land in the same window as the three
before it. So every network call also goes through :func:`window`, the same buckets seen the
way the network counts them: at most ``limit`` calls in any ``per_s`` seconds (plus
``WINDOW_SLACK``), each call holding its slot from before it is sent until its answer is back
(the network saw it somewhere in between), shared by every worker and process. Adapters reach
it through :func:`rupor.networks.base.call_window`; :class:`PublishingConfig` installs it.

Backends: Redis (``RUPOR_REDIS_URL``: one Lua script, atomic), the database (a row per bucket in
``publishing_ratebucket``, updated in one short transaction; works across processes on SQLite
and PostgreSQL), and memory (one process only: tests, benchmarks, single-process setups).
Real time (``time.time``) is used on purpose: networks count real seconds, not Rupor's clock.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from django.db import connection, transaction

from rupor.core import config
from rupor.networks.base import RateLimit

#: Share of the published rate the engine aims for; the rest absorbs arrival jitter.
MARGIN = 0.93
#: A call window is this much longer than the network's, for clock rounding at its end.
WINDOW_SLACK = 1.02
#: How long a call in flight may hold its window slot: a worker that dies mid-call frees it then.
CALL_LEASE_S = 120.0


@dataclass(frozen=True)
class _Charge:
    key: str  # hashed
    step: float  # seconds of bucket time one call of this publish uses


def _charges(limits: Sequence[RateLimit], margin: float) -> list[_Charge]:
    out: dict[str, float] = {}
    for lim in limits:
        if lim.limit <= 0 or lim.per_s <= 0:
            continue
        key = hashlib.sha256(lim.key.encode()).hexdigest()
        step = lim.per_s / (lim.limit * margin) * max(1, lim.cost)
        out[key] = max(out.get(key, 0.0), step)
    return [_Charge(k, s) for k, s in sorted(out.items())]


class Backend(Protocol):
    def acquire(self, charges: list[_Charge], now: float) -> float: ...

    def penalize(self, keys: list[str], until: float) -> None: ...

    def take_slot(self, slots: list[str], now: float, hold: float) -> tuple[float, str]:
        """Mark the slot free longest ago (``tat <= now``) as held until ``hold`` and return
        ``(0, slot)``; or, when none is free, ``(seconds until one is, "")``."""
        ...

    def put_slot(self, slot: str, held: float, free_at: float) -> None:
        """Set a slot taken with ``hold=held`` free at ``free_at``, unless it was taken again."""
        ...

    def peek(self, keys: list[str]) -> dict[str, float]:
        """The stored ``tat`` of each bucket that has one (read only; charges nothing)."""
        ...


class MemoryBackend:
    """Buckets in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}

    def acquire(self, charges: list[_Charge], now: float) -> float:
        with self._lock:
            wait = max((self._tat.get(c.key, 0.0) - now for c in charges), default=0.0)
            if wait > 0:
                return wait
            for c in charges:
                self._tat[c.key] = max(self._tat.get(c.key, 0.0), now) + c.step
            return 0.0

    def penalize(self, keys: list[str], until: float) -> None:
        with self._lock:
            for key in keys:
                self._tat[key] = max(self._tat.get(key, 0.0), until)

    def take_slot(self, slots: list[str], now: float, hold: float) -> tuple[float, str]:
        with self._lock:
            tat, slot = min((self._tat.get(k, 0.0), k) for k in slots)
            if tat > now:
                return tat - now, ""
            self._tat[slot] = hold
            return 0.0, slot

    def put_slot(self, slot: str, held: float, free_at: float) -> None:
        with self._lock:
            if self._tat.get(slot) == held:
                self._tat[slot] = free_at

    def peek(self, keys: list[str]) -> dict[str, float]:
        with self._lock:
            return {k: self._tat[k] for k in keys if k in self._tat}

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()


class _NoRoom(Exception):
    """A bucket had no room: undo the charges already made in this transaction."""


class DatabaseBackend:
    """A row per bucket; an acquire is one short write transaction of one conditional
    ``UPDATE`` per bucket (one, for most publishes).

    Each ``UPDATE`` charges its bucket only if it has room (``tat <= now``) and locks the row;
    the buckets are charged in key order, so two workers never deadlock, and when one has no
    room the transaction is rolled back: all or nothing. Only then are the buckets read, to
    say how long to wait. On SQLite the write transaction itself is the lock (``IMMEDIATE``).
    """

    def acquire(self, charges: list[_Charge], now: float) -> float:
        from rupor.publishing.models import RateBucket

        table = RateBucket._meta.db_table
        key = connection.ops.quote_name("key")
        sql = (
            f"UPDATE {table} SET tat = (CASE WHEN tat < %s THEN %s ELSE tat END) + %s "  # noqa: S608 - constants only
            f"WHERE {key} = %s AND tat <= %s"
        )
        for _ in range(3):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    for c in charges:
                        cursor.execute(sql, [now, now, c.step, c.key, now])
                        if cursor.rowcount != 1:
                            raise _NoRoom
                return 0.0
            except _NoRoom:
                pass
            tat = dict(RateBucket.objects.filter(key__in=[c.key for c in charges]).values_list("key", "tat"))
            missing = [c.key for c in charges if c.key not in tat]
            if missing:
                # First use of a bucket: create it, then try again.
                RateBucket.objects.bulk_create(
                    [RateBucket(key=k, tat=0.0) for k in missing], ignore_conflicts=True
                )
                continue
            wait = max(tat[c.key] - now for c in charges)
            if wait > 0:
                return wait
            # Every bucket has room now: one was created (or freed) by another worker
            # between our write and our read. Try again; never report room we did not charge.
        return 1e-3

    def take_slot(self, slots: list[str], now: float, hold: float) -> tuple[float, str]:
        from rupor.publishing.models import RateBucket

        for _ in range(5):
            tat = dict(RateBucket.objects.filter(key__in=slots).values_list("key", "tat"))
            missing = [k for k in slots if k not in tat]
            if missing:
                RateBucket.objects.bulk_create(
                    [RateBucket(key=k, tat=0.0) for k in missing], ignore_conflicts=True
                )
                continue
            free, slot = min((t, k) for k, t in tat.items())
            if free > now:
                return free - now, ""
            # Taken only if nobody took it since we read it (one conditional UPDATE, atomic).
            if RateBucket.objects.filter(key=slot, tat__lte=now).update(tat=hold) == 1:
                return 0.0, slot
        return 1e-3, ""

    def put_slot(self, slot: str, held: float, free_at: float) -> None:
        from rupor.publishing.models import RateBucket

        RateBucket.objects.filter(key=slot, tat=held).update(tat=free_at)

    def peek(self, keys: list[str]) -> dict[str, float]:
        from rupor.publishing.models import RateBucket

        return dict(RateBucket.objects.filter(key__in=keys).values_list("key", "tat"))

    def penalize(self, keys: list[str], until: float) -> None:
        from django.db.models import Case, F, Value, When

        from rupor.publishing.models import RateBucket

        with transaction.atomic():
            RateBucket.objects.bulk_create(
                [RateBucket(key=k, tat=until) for k in keys], ignore_conflicts=True
            )
            RateBucket.objects.filter(key__in=keys).update(
                tat=Case(When(tat__lt=until, then=Value(until)), default=F("tat"))
            )


_LUA = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat - now > wait then wait = tat - now end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local step = tonumber(ARGV[i + 1])
  redis.call('SET', key, tostring(tat + step), 'EX', math.ceil(step) + 3600)
end
return '0'
"""


_TAKE_SLOT = """
local now = tonumber(ARGV[1])
local best, best_tat = nil, nil
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0')
  if best_tat == nil or tat < best_tat then best, best_tat = key, tat end
end
if best_tat > now then return {tostring(best_tat - now), ''} end
redis.call('SET', best, ARGV[2], 'EX', math.ceil(tonumber(ARGV[2]) - now) + 3600)
return {'0', best}
"""

_PUT_SLOT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', 3600)
end
return 0
"""


class RedisBackend:
    """Buckets in Redis, checked and charged by one Lua script (atomic across all workers)."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_LUA)
        self._take = self._redis.register_script(_TAKE_SLOT)
        self._put = self._redis.register_script(_PUT_SLOT)

    def acquire(self, charges: list[_Charge], now: float) -> float:
        keys = [f"rupor:rate:{c.key}" for c in charges]
        result = self._script(keys=keys, args=[repr(now), *[repr(c.step) for c in charges]])
        return float(result)

    def take_slot(self, slots: list[str], now: float, hold: float) -> tuple[float, str]:
        keys = [f"rupor:rate:{k}" for k in slots]
        wait, slot = self._take(keys=keys, args=[repr(now), repr(hold)])
        slot = slot.decode() if isinstance(slot, bytes) else str(slot)
        return float(wait), slot.removeprefix("rupor:rate:")

    def put_slot(self, slot: str, held: float, free_at: float) -> None:
        self._put(keys=[f"rupor:rate:{slot}"], args=[repr(held), repr(free_at)])

    def peek(self, keys: list[str]) -> dict[str, float]:
        values = self._redis.mget([f"rupor:rate:{k}" for k in keys]) if keys else []
        return {k: float(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def penalize(self, keys: list[str], until: float) -> None:
        pipe = self._redis.pipeline()
        for key in keys:
            full = f"rupor:rate:{key}"
            current = self._redis.get(full)
            if current is None or float(current) < until:
                pipe.set(full, repr(until), ex=int(until - time.time()) + 3600)
        pipe.execute()


_backend: Backend | None = None
_backend_lock = threading.Lock()


def backend() -> Backend:
    """The configured backend: Redis when ``RUPOR_REDIS_URL`` is set, else the database."""
    global _backend
    with _backend_lock:
        if _backend is None:
            url = config.redis_url()
            _backend = RedisBackend(url) if url else DatabaseBackend()
        return _backend


def use(new: Backend | str | None) -> Backend | None:
    """Pick a backend explicitly (``"memory"``, ``"database"``, a Redis URL, an instance, or
    ``None`` to go back to the configured one). Returns the previous one."""
    global _backend
    with _backend_lock:
        previous = _backend
        if new is None or isinstance(new, MemoryBackend | DatabaseBackend | RedisBackend):
            _backend = new
        elif new == "memory":
            _backend = MemoryBackend()
        elif new == "database":
            _backend = DatabaseBackend()
        elif isinstance(new, str):
            _backend = RedisBackend(new)
        else:
            _backend = new
        return previous


def try_acquire(limits: Sequence[RateLimit], *, margin: float = MARGIN) -> float:
    """Charge every bucket for one publish and return 0, or charge nothing and return the
    seconds to wait before asking again."""
    charges = _charges(limits, margin)
    if not charges:
        return 0.0
    return backend().acquire(charges, time.time())


def acquire(limits: Sequence[RateLimit], *, max_wait: float, margin: float = MARGIN) -> float:
    """Wait (up to ``max_wait`` seconds) until the buckets have room, and charge them.

    Returns 0 when charged, else the remaining wait (nothing charged): the caller should put
    the work back and come later instead of holding a worker thread.
    """
    deadline = time.monotonic() + max_wait
    while True:
        wait = try_acquire(limits, margin=margin)
        if wait <= 0:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)


def interval(limits: Sequence[RateLimit], *, margin: float = MARGIN) -> float:
    """Seconds between two such calls at the paced rate (the slowest of their buckets)."""
    return max((c.step for c in _charges(limits, margin)), default=0.0)


def idle_for(limits: Sequence[RateLimit]) -> float:
    """Seconds since the busiest of these buckets last had a call charged to it: how long it has
    had room to spare (``0`` while a call is still being paced, ``inf`` for buckets never used).

    A bucket's ``tat`` is when its next call may go; once that moment has passed, the bucket has
    been idle since. Collection reads this before it asks a network for statistics, so that it
    only uses a bucket publishing has left alone for a while (:mod:`rupor.publishing.service`).
    """
    keys = [c.key for c in _charges(limits, MARGIN)]
    if not keys:
        return float("inf")
    tat = backend().peek(keys)
    if not tat:
        return float("inf")
    return max(0.0, time.time() - max(tat.values()))


def penalize(limits: Sequence[RateLimit], retry_after: float) -> None:
    """The network said "too many requests": no worker calls these buckets for ``retry_after``."""
    keys = [c.key for c in _charges(limits, MARGIN)]
    if keys and retry_after > 0:
        backend().penalize(keys, time.time() + retry_after)


def _slots(lim: RateLimit) -> list[str]:
    # A bucket's window is ``limit`` slot rows, apart from its spacing row (another key).
    return [hashlib.sha256(f"{lim.key}#call-slot-{i}".encode()).hexdigest() for i in range(lim.limit)]


@contextmanager
def window(limits: Sequence[RateLimit], *, max_wait: float = CALL_LEASE_S) -> Iterator[None]:
    """Hold one slot of every bucket for one network call (``cost`` is ignored: this is one call).

    Waits until each bucket has had fewer than ``limit`` calls in the last ``per_s *
    WINDOW_SLACK`` seconds, counting a call from before it was sent to after its answer came,
    so the network never counts more than ``limit`` in one of its windows however late a call
    arrives. Raises :class:`TimeoutError` after ``max_wait`` seconds without room (nothing held).
    """
    held: list[tuple[str, float, float]] = []  # slot, hold, window
    deadline = time.monotonic() + max_wait
    store = backend()
    try:
        for lim in sorted((lim for lim in limits if lim.limit > 0 and lim.per_s > 0), key=lambda x: x.key):
            span = lim.per_s * WINDOW_SLACK
            while True:
                now = time.time()
                hold = now + CALL_LEASE_S + span
                wait, slot = store.take_slot(_slots(lim), now, hold)
                if not wait:
                    held.append((slot, hold, span))
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"No room in the call window of {lim.key.split(':')[0]} in {max_wait:.0f} s."
                    )
                # A slot still in flight frees a whole window after its answer: look again then.
                time.sleep(min(wait, span, left))
        yield
    finally:
        done = time.time()
        for slot, hold, span in held:
            store.put_slot(slot, hold, done + span)
