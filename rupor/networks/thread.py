"""Threads: a post followed by replies of the same account, each a part in ``options["thread"]``.

Networks whose adapter declares ``Capability.THREAD`` publish ``options["thread"]`` (the texts of
the posts after the first) as replies, each to the one before. This module checks those parts
against the network's limits and splits an over-long text into parts that fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from rupor.networks.base import Capability, Limits, Problem

if TYPE_CHECKING:
    from rupor.networks.base import Adapter

#: At most this many posts after the first (X and Bluesky take more; a longer thread is rarely read).
MAX_PARTS = 25
#: The line that separates the parts in the composer's "Thread" field.
SEPARATOR = "---"

_SEPARATOR_LINE = re.compile(r"^[ \t]*-{3,}[ \t]*$", re.MULTILINE)
_SENTENCE_END = re.compile("(?<=[.!?\u2026\u3002\uff01\uff1f])\\s+")  # also the ellipsis and CJK full stops


def supports_thread(adapter: Adapter) -> bool:
    return Capability.THREAD in adapter.capabilities


def parse_parts(typed: str) -> list[str]:
    """The parts typed in the composer: blocks separated by a line of ``---`` (empty ones dropped)."""
    return [part.strip() for part in _SEPARATOR_LINE.split(typed) if part.strip()]


def join_parts(parts: list[str]) -> str:
    """The composer's field for ``parts`` (the reverse of :func:`parse_parts`)."""
    return f"\n{SEPARATOR}\n".join(parts)


def thread_problems(
    adapter: Adapter, options: Mapping[str, Any] | None, limits: Limits | None
) -> list[Problem]:
    """What is wrong with ``options["thread"]``: not a list of non-empty texts, too many parts,
    or a part over the network's text limit (each named by its post number: the first post is 1)."""
    raw = (options or {}).get("thread")
    if raw is None:
        return []
    if not supports_thread(adapter):
        return [
            Problem(
                "options.thread", _("%(network)s cannot post threads.") % {"network": adapter.display_name}
            )
        ]
    if not isinstance(raw, list | tuple):
        return [Problem("options.thread", _("A thread is a list of texts, one per post."))]
    problems: list[Problem] = []
    if len(raw) > MAX_PARTS:
        problems.append(
            Problem(
                "options.thread",
                _("A thread takes at most %(max)s posts after the first; this one has %(n)s.")
                % {"max": MAX_PARTS, "n": len(raw)},
            )
        )
    limit = (limits or adapter.limits).text_max
    for index, part in enumerate(raw):
        field = f"options.thread[{index}]"
        if not isinstance(part, str) or not part.strip():
            problems.append(Problem(field, _("Post %(n)s of the thread is empty.") % {"n": index + 2}))
            continue
        length = adapter.text_length(part)
        if limit is not None and length > limit:
            problems.append(
                Problem(
                    field,
                    _("Post %(n)s of the thread has %(length)s; %(network)s allows %(max)s.")
                    % {"n": index + 2, "length": length, "network": adapter.display_name, "max": limit},
                )
            )
    return problems


def split_text(text: str, measure: Callable[[str], int], limit: int) -> list[str]:
    """``text`` cut into parts that each measure at most ``limit``: at paragraph and sentence ends
    where possible, else between words, and inside a word only when one word alone is too long."""
    parts: list[str] = []
    current = ""
    for piece in _pieces(text.strip()):
        if piece == "\n\n":  # a paragraph break: kept inside a part, dropped between parts
            current = f"{current}\n\n" if current else ""
            continue
        joined = f"{current}{'' if not current or current.endswith(chr(10)) else ' '}{piece}"
        if measure(joined) <= limit:
            current = joined
            continue
        if current.strip():
            parts.append(current.strip())
        current = piece if measure(piece) <= limit else _by_words(piece, measure, limit, parts)
    if current.strip():
        parts.append(current.strip())
    return parts


def _pieces(text: str) -> list[str]:
    """The sentences of ``text``, a ``"\n\n"`` piece between paragraphs."""
    pieces: list[str] = []
    for n, paragraph in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        if n:
            pieces.append("\n\n")
        pieces.extend(s for s in _SENTENCE_END.split(paragraph.strip()) if s)
    return pieces


def _by_words(sentence: str, measure: Callable[[str], int], limit: int, parts: list[str]) -> str:
    """A sentence longer than a post, cut between words into ``parts``; returns the unfinished rest."""
    current = ""
    for word in sentence.split():
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while measure(word) > limit:  # one word longer than a post
            cut = max(1, _fit(word, measure, limit))
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    return current


def _fit(word: str, measure: Callable[[str], int], limit: int) -> int:
    lo, hi = 0, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(word[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_for(adapter: Adapter, text: str, limits: Limits | None = None) -> list[str]:
    """``text`` split into posts that fit ``adapter``'s network (the whole text when no limit is known)."""
    limit = (limits or adapter.limits).text_max
    if limit is None:
        return [text.strip()] if text.strip() else []
    return split_text(text, adapter.text_length, limit)
