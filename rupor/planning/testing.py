"""Helpers for the planning tests: how much memory a call takes."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any


def measured(call: Callable[[], Any]) -> tuple[Any, int]:
    """``call()``'s result and the peak of Python-allocated memory while it ran, in bytes
    (tracemalloc: what Python objects and buffers take, not memory a C library maps itself)."""
    tracemalloc.start()
    try:
        result = call()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak
