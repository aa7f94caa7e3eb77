"""How much room ``RUPOR_HOME`` takes: its files (walked, cached briefly) and the disk's free space.

Walking a directory of many files costs time, so the answer is kept for :data:`CACHE_S` seconds per
process: the operations page and every Prometheus scrape read the same cached walk.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: How long one walk of RUPOR_HOME is reused.
CACHE_S = 60.0
#: A walk stops after this many entries (a runaway directory never stalls a scrape); ``complete``
#: says whether it got through.
MAX_ENTRIES = 500_000


@dataclass(frozen=True)
class HomeUsage:
    path: str
    total_bytes: int  # every file under RUPOR_HOME (database, media, mail, …)
    media_bytes: int  # under RUPOR_HOME/media (the library, its conversions and thumbnails)
    database_bytes: int  # the SQLite database and its WAL, when Rupor runs on SQLite
    files: int
    disk_free_bytes: int  # on the file system holding RUPOR_HOME
    disk_total_bytes: int
    complete: bool  # False when the walk stopped at MAX_ENTRIES
    walked_at: float  # time.time() of the walk


_lock = threading.Lock()
_cache: dict[str, HomeUsage] = {}


def _walk(root: Path, budget: list[int]) -> tuple[int, int, bool]:
    """(bytes, files, complete) of the regular files under ``root``, not following links."""
    total = files = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                return total, files, False
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
                    files += 1
            except OSError:
                continue
    return total, files, True


def home_usage(home: Path, *, max_age_s: float = CACHE_S) -> HomeUsage:
    """The usage of ``home``, walked at most once per ``max_age_s`` in this process."""
    key = str(home)
    now = time.time()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and now - cached.walked_at < max_age_s:
            return cached
    budget = [MAX_ENTRIES]
    media, media_files, media_complete = _walk(home / "media", budget)
    rest, rest_files, rest_complete = 0, 0, True
    database = 0
    try:
        top = list(os.scandir(home))
    except OSError:
        top = []
    for entry in top:
        if entry.name == "media":
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                size, count, complete = _walk(Path(entry.path), budget)
                rest, rest_files, rest_complete = rest + size, rest_files + count, rest_complete and complete
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                rest, rest_files = rest + size, rest_files + 1
                if entry.name.startswith("rupor.sqlite3"):
                    database += size
        except OSError:
            continue
    try:
        disk = shutil.disk_usage(home)
        free, capacity = disk.free, disk.total
    except OSError:
        free = capacity = 0
    usage = HomeUsage(
        path=key,
        total_bytes=media + rest,
        media_bytes=media,
        database_bytes=database,
        files=media_files + rest_files,
        disk_free_bytes=free,
        disk_total_bytes=capacity,
        complete=media_complete and rest_complete,
        walked_at=now,
    )
    with _lock:
        _cache[key] = usage
    return usage


def forget() -> None:
    """Drop the cached walks (tests)."""
    with _lock:
        _cache.clear()


__all__ = ["HomeUsage", "forget", "home_usage"]
