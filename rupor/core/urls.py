"""The one check for an address Rupor stores and later renders as a link.

Only absolute ``http://`` and ``https://`` addresses with a host pass. ``javascript:``, ``data:``,
``vbscript:``, relative and schemeless addresses are refused, and so is any whitespace or control
character inside the address: browsers silently drop tabs and newlines from a URL, so
``java\\tscript:`` would run as ``javascript:`` once it is in an ``href``.

Entry points call :func:`clean_http_url` for what a person types (a refusal is a clear 400, a
field error or a CLI error); data that arrives from a network goes through :func:`http_url_or_empty`
and is stored without the link rather than refused.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from rupor.core.errors import DomainError

#: The longest address kept (browsers and networks handle far less in practice).
MAX_URL_LENGTH = 2000

_VALIDATOR = URLValidator(schemes=["http", "https"])


class UnsafeUrl(DomainError):
    """An address that is not an absolute http(s) URL."""


#: In an ASCII address, the characters :func:`_has_hidden_characters` looks for: ASCII has no
#: format or separator characters, its whitespace is the space and 0x09-0x0D, 0x1C-0x1F, and its
#: controls are 0x00-0x1F and DEL.
_ASCII_HIDDEN = re.compile(r"[\x00-\x20\x7f]")


def _has_hidden_characters(value: str) -> bool:
    # Whitespace, controls (C0, DEL, C1) and invisible format characters (zero-width, bidi).
    if value.isascii():
        return _ASCII_HIDDEN.search(value) is not None  # the same answer, a hundred times faster
    return any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in value)


def url_problem(value: str, *, max_length: int = MAX_URL_LENGTH) -> str | None:
    """Why ``value`` (already stripped) cannot be stored as a link, or ``None`` when it can."""
    shown = value if len(value) <= 80 else value[:77] + "…"
    if len(value) > max_length:
        return _("This address is longer than %(max)s characters.") % {"max": max_length}
    if _has_hidden_characters(value):
        return _("%(url)s contains spaces or invisible characters; paste the address again.") % {
            "url": repr(shown)
        }
    scheme, sep, _rest = value.partition(":")
    if not sep or scheme.lower() not in {"http", "https"}:
        return _("%(url)s is not an http(s) address: a link starts with http:// or https://.") % {
            "url": repr(shown)
        }
    try:
        _VALIDATOR(value)
    except ValidationError:
        return _("%(url)s is not a valid web address.") % {"url": repr(shown)}
    return None


def clean_http_url(value: str | None, *, field: str = "url", max_length: int = MAX_URL_LENGTH) -> str:
    """``value`` without surrounding spaces, or ``""``; raises :class:`UnsafeUrl` (a 400 naming
    ``field``) for anything but an absolute http(s) address."""
    text = (value or "").strip()
    if not text:
        return ""
    problem = url_problem(text, max_length=max_length)
    if problem:
        raise UnsafeUrl(problem, field)
    return text


def http_url_or_empty(value: str | None, *, max_length: int = MAX_URL_LENGTH) -> str:
    """``value`` when it is a safe http(s) address, else ``""`` (for data from networks: the item is
    kept, the link is not)."""
    text = (value or "").strip()
    if not text or not _safe(text, max_length):
        return ""
    return text


@functools.lru_cache(maxsize=8192)
def _safe(text: str, max_length: int) -> bool:
    """:func:`url_problem` found nothing; remembered, since the intake sees the same authors'
    links over and over (the check is a regular expression of some cost)."""
    return url_problem(text, max_length=max_length) is None
