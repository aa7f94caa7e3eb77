"""Which networks exist, and their adapters and emulators.

Adding a network: see ARCHITECTURE.md, "Adding a network". A network package registers itself here by
name; domains look adapters up with :func:`adapter` and never import a network package directly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rupor.networks.base import Adapter

#: network key -> (module with ``Adapter`` subclass named ``adapter_class``, emulator factory path)
NETWORKS: dict[str, tuple[str, str]] = {
    "vk": ("rupor.networks.vk.adapter:VkAdapter", "rupor.networks.vk.emulator:create_app"),
    "telegram": (
        "rupor.networks.telegram.adapter:TelegramAdapter",
        "rupor.networks.telegram.emulator:create_app",
    ),
    "ok": ("rupor.networks.ok.adapter:OkAdapter", "rupor.networks.ok.emulator:create_app"),
    "x": ("rupor.networks.x.adapter:XAdapter", "rupor.networks.x.emulator:create_app"),
    "bluesky": (
        "rupor.networks.bluesky.adapter:BlueskyAdapter",
        "rupor.networks.bluesky.emulator:create_app",
    ),
    "linkedin": (
        "rupor.networks.linkedin.adapter:LinkedInAdapter",
        "rupor.networks.linkedin.emulator:create_app",
    ),
    "mastodon": (
        "rupor.networks.mastodon.adapter:MastodonAdapter",
        "rupor.networks.mastodon.emulator:create_app",
    ),
    "facebook": (
        "rupor.networks.facebook.adapter:FacebookAdapter",
        "rupor.networks.facebook.emulator:create_app",
    ),
    "instagram": (
        "rupor.networks.instagram.adapter:InstagramAdapter",
        "rupor.networks.instagram.emulator:create_app",
    ),
    "youtube": (
        "rupor.networks.youtube.adapter:YouTubeAdapter",
        "rupor.networks.youtube.emulator:create_app",
    ),
}

DISPLAY_NAMES: dict[str, str] = {
    "vk": "VKontakte",
    "telegram": "Telegram",
    "ok": "Odnoklassniki",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "x": "X",
    "youtube": "YouTube",
    "linkedin": "LinkedIn",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
}

#: The short mark shown where a full name does not fit (calendar chips, channel badges); the same
#: keys as :data:`DISPLAY_NAMES`.
ABBREVIATIONS: dict[str, str] = {
    "vk": "VK",
    "telegram": "TG",
    "ok": "OK",
    "facebook": "FB",
    "instagram": "IG",
    "x": "X",
    "youtube": "YT",
    "linkedin": "in",
    "bluesky": "BS",
    "mastodon": "M",
}


def display_name(network: str) -> str:
    """The network's name for people; an unknown key is shown as it is."""
    return DISPLAY_NAMES.get(network, network)


def abbreviation(network: str) -> str:
    """The network's short mark; an unknown key gives its first two letters."""
    return ABBREVIATIONS.get(network, network[:2].upper())


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def available() -> list[str]:
    """Networks with a working adapter, in display order."""
    return list(_available(tuple(NETWORKS.items())))


@cache
def _available(networks: tuple[tuple[str, tuple[str, str]], ...]) -> tuple[str, ...]:
    """:func:`available` for one state of :data:`NETWORKS` (asked on every webhook delivery)."""
    out = []
    for key, (adapter_path, _emulator) in networks:
        try:
            _load(adapter_path)
        except (ImportError, AttributeError):
            continue
        out.append(key)
    return tuple(out)


@cache
def adapter(network: str) -> Adapter:
    if network not in NETWORKS:
        raise KeyError(f"unknown network {network!r}")
    cls = _load(NETWORKS[network][0])
    instance: Adapter = cls()
    return instance


def emulator_factory(network: str) -> Callable[..., Any]:
    if network not in NETWORKS:
        raise KeyError(f"unknown network {network!r}")
    factory: Callable[..., Any] = _load(NETWORKS[network][1])
    return factory
