"""The typed, bounded schema of a channel's settings (``Channel.settings``).

Settings are non-secret per-channel options that adapters read (a request timeout, pacing,
VK's long-poll wait, Telegram's chat type, …). Every write goes through :func:`clean_settings`
(unknown keys, wrong types and values out of range are refused, naming the field), and every
read for an adapter through :func:`check_stored`, so a value written by an older version or
straight into the database stops only its own channel, with a message, never a worker loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from rupor.core.errors import DomainError

#: Keys Rupor itself keeps in ``settings`` (the webhook secret; the limits a channel's own server
#: stated when it was verified, ``networks.base.LIMITS_SETTING``); never written from outside.
INTERNAL_KEYS = frozenset({"hook_token", "network_limits"})


class SettingError(DomainError):
    """A channel setting that does not fit the schema; ``field`` is ``settings.<key>``."""


@dataclass(frozen=True)
class Option:
    kind: type  # bool, int, float or str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200


#: Every setting a channel may have, with its type and bounds. Adapters read only these keys.
OPTIONS: dict[str, Option] = {
    # Seconds one request to the network may take (connect, send and read).
    "timeout": Option(float, 0.1, 120),
    # Whether VK calls are paced to VK's published per-token rate, and Graph API (Instagram) calls
    # wait out a kept usage pause (tests turn it off).
    "pace": Option(bool),
    # Seconds VK's long poll server may hold a poll open.
    "longpoll_wait": Option(int, 0, 90),
    # The code VK's Callback API expects back when it confirms the webhook address.
    "callback_confirmation": Option(str, max_length=100),
    # What kind of Telegram chat this is (decides which rate limit applies).
    "chat_type": Option(str, choices=("", "channel", "group", "supergroup", "private")),
    # How often, and how many seconds apart, Telegram's automatic forward of a post is looked for.
    "forward_attempts": Option(int, 1, 20),
    "forward_wait_s": Option(float, 0, 10),
    # Seconds an Instagram publish polls a container Meta is processing before it hands the engine
    # the second step (a reel).
    "processing_wait_s": Option(float, 0, 120),
    # YouTube: the Google Cloud project's daily quota in units, its separate daily bucket of
    # uploads (0: uploads cost units instead, the older model), and method costs that differ from
    # the published ones ("videos.insert=1600,thumbnails.set=50").
    "quota_units_per_day": Option(int, 1, 10**9),
    "quota_uploads_per_day": Option(int, 0, 10**6),
    "quota_costs": Option(str, max_length=1000),
}


def _number(kind: type[int] | type[float], value: Any) -> float | int | None:
    # bool is an int in Python; a JSON true is not a number of seconds.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    if kind is int and isinstance(value, float) and value != number:
        return None
    return number


def _clean_one(key: str, value: Any) -> Any:
    option = OPTIONS[key]
    field = f"settings.{key}"
    if option.kind is bool:
        if not isinstance(value, bool):
            raise SettingError(_("The setting %(field)s must be true or false.") % {"field": key}, field)
        return value
    if option.kind is str:
        if not isinstance(value, str):
            raise SettingError(_("The setting %(field)s must be text.") % {"field": key}, field)
        if option.choices and value not in option.choices:
            raise SettingError(
                _("The setting %(field)s must be one of: %(choices)s.")
                % {"field": key, "choices": ", ".join(repr(c) for c in option.choices)},
                field,
            )
        if len(value) > option.max_length:
            raise SettingError(
                _("The setting %(field)s may be at most %(max)s characters long.")
                % {"field": key, "max": option.max_length},
                field,
            )
        return value
    number = _number(option.kind, value)
    low, high = option.minimum, option.maximum
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        message = (
            _("The setting %(field)s must be a whole number from %(min)s to %(max)s.")
            if option.kind is int
            else _("The setting %(field)s must be a number from %(min)s to %(max)s.")
        )
        raise SettingError(message % {"field": key, "min": _fmt(low), "max": _fmt(high)}, field)
    return number


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def clean_settings(
    values: Mapping[str, Any] | None, *, keep: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate settings written by a person (web, API, CLI) and merge them over ``keep``.

    A ``None`` value removes the key. Rupor's own keys (the webhook secret) are carried over from
    ``keep`` and can never be written from outside.
    """
    result = dict(keep or {})
    if values is not None and not isinstance(values, Mapping):
        raise SettingError(_("Settings must be an object of names and values."), "settings")
    for raw_key, value in dict(values or {}).items():
        key = str(raw_key)
        if key in INTERNAL_KEYS:
            raise SettingError(
                _("The setting %(field)s is managed by Rupor and cannot be changed.") % {"field": key},
                f"settings.{key}",
            )
        if key not in OPTIONS:
            raise SettingError(
                _("Unknown setting %(field)s; the settings are: %(known)s.")
                % {"field": key[:60], "known": ", ".join(sorted(OPTIONS))},
                f"settings.{key[:60]}",
            )
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _clean_one(key, value)
    return result


def check_stored(stored: Any) -> dict[str, Any]:
    """The stored settings as adapters get them; a value no write could have stored (an older
    version, a hand edit) raises :class:`SettingError` naming it, so only this channel stops."""
    if not stored:
        return {}
    if not isinstance(stored, Mapping):
        raise SettingError(_("The stored settings are not a set of names and values."), "settings")
    result: dict[str, Any] = {}
    for key, value in stored.items():
        if key in INTERNAL_KEYS:
            result[key] = value
        elif key in OPTIONS:
            result[key] = _clean_one(key, value)
        # Keys no adapter reads are left out rather than passed on.
    return result


#: What the check runs for the CLI's ``--setting KEY=VALUE`` (text from a shell).
PARSERS: dict[type, Callable[[str], Any]] = {
    bool: lambda s: {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
        s.strip().lower(), s
    ),
    int: lambda s: s.strip(),
    float: lambda s: s.strip(),
    str: lambda s: s,
}


def parse_text(key: str, text: str) -> Any:
    """A setting typed on the command line, as the value :func:`clean_settings` checks."""
    option = OPTIONS.get(key)
    if option is None:
        return text
    return PARSERS[option.kind](text)
