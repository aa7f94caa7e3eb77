"""The main pages work under the Content-Security-Policy: not one violation in Chromium.

Set ``RUPOR_SHOTS=/some/dir`` to keep a screenshot of each page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.channels import service as channels
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import mix
from rupor.planning import service as planning
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in
from rupor.web.context import ADMIN_NAVIGATION, NAVIGATION

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

#: Recorded in the page before any of its own scripts run (init scripts are not subject to CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, viewport={"width": 1360, "height": 1000}) as tab:
        tab.add_init_script(RECORD_VIOLATIONS)
        yield tab


@pytest.fixture
def workspace(db: Any) -> dict[str, Any]:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    made = []
    for network, remote in (("vk", "1"), ("telegram", "@coffee")):
        creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
        made.append(
            channels.connect(
                actor,
                channels.ChannelInput(
                    network=network, name=f"Coffee {network}", remote_id=remote, credentials=creds
                ),
                verify=False,
            )
        )
    rubric = mix.create_rubric(actor, mix.RubricInput(name="Seasonal", color="#2f855a", target_share=0))
    when = clock.now() + dt.timedelta(days=1)
    planning.create_post(
        actor,
        planning.PostInput(
            text="Fresh croissants",
            rubric_id=rubric.pk,
            scheduled_at=when,
            status="scheduled",
            variants=tuple(planning.VariantInput(c.pk) for c in made),
        ),
    )
    return {"channels": made}


def test_the_main_pages_work_under_the_policy_without_a_violation(
    page: Any, workspace: dict[str, Any]
) -> None:
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    sign_in(page, "anna@example.com", PASSWORD)

    names = [row[0] for row in NAVIGATION + ADMIN_NAVIGATION]
    for name in names:
        response = page.goto(reverse(name))
        assert response is not None and response.ok, name
        assert "default-src 'self'" in response.headers["content-security-policy"]
        shot(page, f"csp-{name.split(':')[1]}.png")
    page.goto(reverse("web:calendar") + "?view=week")

    # The composer: htmx posts the text for the live check, composer.js draws the previews.
    vk, tg = workspace["channels"]
    page.goto(reverse("web:post_new"))
    page.locator(f"input[name=channels][value='{vk.pk}']").check()
    page.locator(f"input[name=channels][value='{tg.pk}']").check()
    page.get_by_label("Shared text").fill("Fresh croissants every morning at https://coffee.example/menu")
    expect(page.locator(f"#preview-{vk.pk} .pv-text")).to_contain_text("Fresh croissants every morning")
    expect(page.locator(f"#counter-{tg.pk}")).to_contain_text(re.compile(r"^\s*61\b"))  # htmx answered
    shot(page, "csp-composer.png")

    # A confirmation that used to be an inline onsubmit handler still asks first.
    page.goto(reverse("web:api_keys"))
    page.get_by_label("Name").fill("CRM")
    page.get_by_role("button", name="Create key").click()
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer)
    page.locator("form[data-confirm] button").first.click()
    page.wait_for_timeout(300)
    assert asked and "Revoke this key" in asked[0]
    expect(page.get_by_text("Revoked")).to_have_count(0)

    violations = page.evaluate("window.__cspViolations")
    assert violations == []
    assert [
        line for line in console if "Content Security Policy" in line or "Content-Security-Policy" in line
    ] == []
