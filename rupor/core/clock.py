"""The one source of "now" (ARCHITECTURE.md, engine invariant 7).

Every domain asks this module for the time so that tests and emulators can move the
clock without monkeypatching the standard library.
"""

from __future__ import annotations

import datetime as dt
import threading

_lock = threading.Lock()
_offset = dt.timedelta(0)
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Aware UTC now, shifted or frozen when a test asked for it."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return dt.datetime.now(dt.UTC) + _offset


def freeze(at: dt.datetime | None) -> None:
    """Freeze the clock at an aware instant (``None`` unfreezes)."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    with _lock:
        _frozen = at


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward (or back) by ``delta``; works frozen or running."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def reset() -> None:
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = dt.timedelta(0)
