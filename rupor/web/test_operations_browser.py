"""The operations page in Chromium: the owner reaches it from the sidebar and reads the workers,
the queues and the last error on each channel; a manager is not shown the way there."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import get_resolver

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership
from rupor.operations import testing as ot
from rupor.web.browser_testing import MARKS, expect, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture
def world(settings: Any, tmp_path: Any, live_server: Any) -> Any:
    # The URL conf (the whole API) is imported on the first request: seconds on a busy machine,
    # more than a page load may take. Import it here, in this process, before Chromium's first visit.
    assert get_resolver().url_patterns
    with ot.built(settings, tmp_path) as w:
        Membership.objects.create(
            user=accounts.create_user("owner@example.com", PASSWORD), workspace=w.a, role="owner"
        )
        Membership.objects.create(
            user=accounts.create_user("manager@example.com", PASSWORD), workspace=w.a, role="manager"
        )
        yield w


def test_the_owner_reads_workers_queues_and_errors(world: Any, page: Any) -> None:
    page.set_default_timeout(30_000)  # the page reads a dozen counts; a busy machine is slow at it
    sign_in(page, "owner@example.com", PASSWORD)
    page.locator("aside.sidebar").get_by_role("link", name="Operations").click()
    page.wait_for_url("**/operations/")
    expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    workers = page.locator("#workers tbody tr")
    expect(workers).to_have_count(3)
    expect(workers.filter(has_text="host:1:alive").locator(".badge")).to_have_text("alive")
    expect(workers.filter(has_text="host:2:stale").locator(".badge")).to_have_text("stale")
    expect(page.locator("#queue-publishing")).to_contain_text("2 min 0 s")
    expect(page.locator("#queue-inbox")).to_contain_text("1 h 30 min")
    errors = page.locator("#publish-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.filter(has_text="A on VK")).to_contain_text("The text is too long.")
    expect(page.locator("#job-errors")).to_contain_text("Polling failed: timeout")
    expect(page.locator("#rate-waits")).to_contain_text("VK")
    shot(page, "operations-en.png")
    page.get_by_role("link", name="Refresh").click()
    page.wait_for_url("**/operations/")
    expect(page.locator("#workers tbody tr")).to_have_count(3)


def test_a_manager_has_no_way_there(world: Any, page: Any) -> None:
    sign_in(page, "manager@example.com", PASSWORD)
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)
    response = page.goto("/operations/")
    assert response is not None and response.status == 403
