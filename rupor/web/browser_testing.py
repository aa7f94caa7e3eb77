"""What the Chromium tests of the web UI share: the marks, the browser, a page and sign-in.

The ``browser`` fixture lives in ``rupor/web/conftest.py``; tests build pages with
:func:`open_page` and sign in with :func:`sign_in`.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

#: ``pytestmark`` of every browser test module: Playwright's sync API runs an event loop in this
#: thread (the ORM calls in the tests are ours, not async code), and the live server needs
#: committed data.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def launch() -> Iterator[Any]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def open_page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A tab in a fresh context (its own cookies), English unless ``locale`` says otherwise."""
    options.setdefault("locale", "en-US")
    context = browser.new_context(base_url=base_url, **options)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    # Loading a page may take longer than waiting for something on it: a fresh live server's
    # first request imports the whole URL configuration, 10-30 s on a loaded machine.
    tab.set_default_navigation_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def shot(page: Any, name: str) -> None:
    """A full-page screenshot into $RUPOR_SHOTS, when it is set (to look at a page as people see it)."""
    folder = os.environ.get("RUPOR_SHOTS")
    if folder:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(pathlib.Path(folder) / name), full_page=True)
