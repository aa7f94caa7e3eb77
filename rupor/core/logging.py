"""A logging filter that redacts anything shaped like a credential."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(
        r"(access_token|token|secret|password|api[_-]?key|authorization|session_secret_key|sig)(\"?\s*[:=]\s*\"?)([^\s\"&,;]+)",
        re.I,
    ),
    re.compile(r"(Bearer\s+)([A-Za-z0-9._~+/=-]+)", re.I),
    re.compile(r"(/bot)(\d+:[A-Za-z0-9_-]+)"),  # Telegram bot token inside a URL
    re.compile(r"(rpr_)([A-Za-z0-9_-]{8,})"),  # Rupor API keys
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + "[redacted]", text)
        else:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
