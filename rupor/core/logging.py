"""Log lines: credentials redacted from every one, plain text or JSON (``RUPOR_LOG_FORMAT``).

A log call says what happened in its message and, for machines, passes an ``action`` and the ids
involved through ``extra=`` (see :func:`fields`)::

    log.info("target %s published", target_id, extra=fields("publish.attempt", target_id=target_id))

The :class:`RedactSecrets` filter on the handler cleans every record before any formatter sees it:
anything shaped like a credential in the message, and every ``extra`` value whose key names a
secret (password, token, secret, cookie, authorization, credentials, API key) or whose text looks
like one. :class:`JsonFormatter` (python-json-logger) then writes one JSON object per line with
``time``, ``level``, ``logger``, ``message``, ``action`` and the ids; tracebacks are redacted too.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_PATTERNS = [
    # The bearer token first, so that "Authorization: Bearer abc" loses abc, not the word Bearer.
    re.compile(r"(Bearer\s+)([A-Za-z0-9._~+/=-]+)", re.I),
    re.compile(
        r"(access_token|token|secret|password|api[_-]?key|authorization|session_secret_key|sessionid|sig|cookie)(\"?\s*[:=]\s*\"?)([^\s\"&,;]+)",
        re.I,
    ),
    re.compile(r"(/bot)(\d+:[A-Za-z0-9_-]+)"),  # Telegram bot token inside a URL
    re.compile(r"(rpr_)([A-Za-z0-9_-]{8,})"),  # Rupor API keys
]

#: An ``extra`` key whose value is never written, whatever it holds.
SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|cookie|authori[sz]ation|credential|api[_-]?key|session|signature|private",
    re.I,
)
REDACTED = "[redacted]"

#: The attributes every LogRecord has; anything else on a record came through ``extra=``.
_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime"}

#: Values nested deeper than this in an ``extra`` are dropped, not walked.
_MAX_DEPTH = 4


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
        else:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def clean(value: Any, depth: int = 0) -> Any:
    """A value fit for a log line: secrets under secret-named keys and secret-shaped text
    redacted, nested mappings and sequences walked, anything else written as redacted text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if SECRET_KEY.search(str(k)) else clean(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return redact(str(value))


def fields(action: str, **ids: object) -> dict[str, object]:
    """The ``extra=`` of a log call: what happened (``publish.attempt``, ``inbox.poll``…) and
    the ids involved (``workspace_id``, ``channel_id``, ``target_id``…); ``None`` ids are left out."""
    return {"action": action, **{k: v for k, v in ids.items() if v is not None}}


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        for key in [k for k in record.__dict__ if k not in _STANDARD]:
            value = record.__dict__[key]
            record.__dict__[key] = REDACTED if SECRET_KEY.search(key) else clean(value)
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PlainFormatter(logging.Formatter):
    """The plain line (``time LEVEL logger: message``), with tracebacks redacted too."""

    def formatException(self, ei: ExcInfo) -> str:
        return redact(super().formatException(ei))


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, action, then the
    ids and anything else passed through ``extra=``; a traceback under ``exception``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ARG002 - dictConfig's "()" passes the formatter options; this one has its own
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        del datefmt
        return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")

    def formatException(self, ei: ExcInfo) -> str:
        # exc_info_as_array is off, so the parent gives one text (its annotation allows a list).
        return redact(str(super().formatException(ei)))

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.setdefault("action", None)
        # Values a filter did not see (a handler without RedactSecrets): cleaned here as well.
        for key in list(log_data):
            if key not in ("time", "level", "logger", "message", "action", "exception"):
                log_data[key] = REDACTED if SECRET_KEY.search(key) else clean(log_data[key])


__all__ = ["JsonFormatter", "PlainFormatter", "RedactSecrets", "clean", "fields", "redact"]
