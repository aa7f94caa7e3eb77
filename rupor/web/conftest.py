from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import launch, open_page


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The production hasher is slow on purpose; a dozen users per test would take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run (each test opens its own context)."""
    with launch() as instance:
        yield instance


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A tab on the live server in English (modules that need another viewport define their own)."""
    with open_page(browser, live_server.url) as tab:
        yield tab


@pytest.fixture
def vk_emu() -> Iterator[RunningEmulator]:
    """The VK emulator, without its rate limits (the inbox pages' tests answer through it)."""
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()
