"""The UTM builder: a workspace's conventions as tags added to an address (pure functions).

Conventions (lower case throughout): ``utm_source`` the network, ``utm_medium`` social or
paid_social, ``utm_campaign`` from the post's rubric, its title or a fixed name, ``utm_content``
the post's id. A tag the author already wrote in the address is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: An http(s) address in running text: up to whitespace, quotes or angle brackets (so an
#: ``href="..."`` in Telegram's HTML is found without its quote).
_URL = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
#: Punctuation that ends a sentence rather than the address ("see https://a.b/c.").
_TRAILING = ".,;:!?…"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_SLUG_DROP = re.compile(r"[^\w\-]+", re.UNICODE)


@dataclass(frozen=True)
class Convention:
    """The tags one variant's links get."""

    source: str
    medium: str
    campaign: str
    content: str

    def tags(self) -> list[tuple[str, str]]:
        pairs = [
            ("utm_source", self.source),
            ("utm_medium", self.medium),
            ("utm_campaign", self.campaign),
            ("utm_content", self.content),
        ]
        return [(k, v) for k, v in pairs if v]


def slug(value: str) -> str:
    """A tag value: lower case, spaces as underscores, punctuation other than ``-`` and ``_`` left
    out (letters of any script are kept; the address encodes them)."""
    words = _SLUG_DROP.sub(" ", value.strip().lower()).split()
    return "_".join(words)[:100]


def tag(url: str, convention: Convention) -> str:
    """``url`` with the convention's tags; the query's other parameters and the fragment kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k.lower() for k, _ in query}
    query += [(k, v) for k, v in convention.tags() if k not in present]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _trim(candidate: str) -> str:
    """Drop what ends a sentence, and a closing bracket the address did not open."""
    while candidate:
        last = candidate[-1]
        unopened = last in _CLOSERS and candidate.count(last) > candidate.count(_CLOSERS[last])
        if last not in _TRAILING and not unopened:
            break
        candidate = candidate[:-1]
    return candidate


def links_in(text: str) -> list[str]:
    """The http(s) addresses in ``text``, in order (repeats kept)."""
    return [_trim(m.group(0)) for m in _URL.finditer(text)]


def rewrite(text: str, change: Callable[[str], str]) -> str:
    """``text`` with every address replaced by ``change(address)``."""

    def one(match: re.Match[str]) -> str:
        whole = match.group(0)
        url = _trim(whole)
        return change(url) + whole[len(url) :]

    return _URL.sub(one, text)
