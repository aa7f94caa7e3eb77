"""Client reports in the browser: a manager makes a report for a period with a commentary, the
client opens it from the sidebar, reads it, downloads the PDF, and the page reads in Russian and
Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

from typing import Any

from rupor.accounts import service as accounts
from rupor.analytics.models import Report
from rupor.analytics.test_reports import fill, pdf_text
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {"ru": ("Отчёты", "Скачать PDF"), "ko": ("보고서", "PDF 다운로드")}


def test_a_manager_makes_a_report_and_the_client_downloads_its_pdf(
    browser: Any, live_server: Any, tmp_path: Any
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Магазин 가게", owner, timezone="UTC")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("boss@example.com", PASSWORD).email, "manager")
    accounts.add_member(actor, accounts.create_user("client@example.com", PASSWORD).email, "client")
    fill(ws)

    with open_page(browser, live_server.url, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, "boss@example.com", PASSWORD)
        page.goto("/reports/")
        page.get_by_label("First day").fill("2026-03-07")
        page.get_by_label("Last day").fill("2026-03-01")
        page.get_by_role("button", name="Create report").click()
        expect(page.locator("#report-problem")).to_contain_text("The period ends before it starts.")
        page.get_by_label("First day").fill("2026-03-01")
        page.get_by_label("Last day").fill("2026-03-07")
        page.locator("#r-commentary").fill("Видео дали вдвое больше вовлечений. 영상이 효과적이었습니다.")
        page.get_by_role("button", name="Create report").click()
        expect(page.locator("h1")).to_have_text("Report: Магазин 가게")
        expect(page.locator("#figure-engagements")).to_contain_text("45")
        shot(page, "report-manager-en.png")

    report = Report.objects.get(workspace=ws)
    with open_page(browser, live_server.url, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, "client@example.com", PASSWORD)
        page.goto("/")
        page.get_by_role("link", name="Reports").click()
        expect(page.locator(f"#report-{report.pk}")).to_contain_text("2026-03-01")
        expect(page.locator("#report-form")).to_have_count(0)
        page.locator(f"#report-{report.pk} a").first.click()
        expect(page.locator(".report-commentary")).to_contain_text("Видео дали вдвое больше")
        expect(page.locator("#chart-activity img")).to_be_visible()
        with page.expect_download() as download:
            page.locator("#download-pdf").click()
        saved = tmp_path / "report.pdf"
        download.value.save_as(saved)
        assert download.value.suggested_filename.endswith("-2026-03-01-2026-03-07.pdf")
        text = pdf_text(saved.read_bytes())
        assert "영상이 효과적이었습니다." in text and "Магазин 가게" in text

    for lang, (title, button) in WORDS.items():
        with open_page(browser, live_server.url, viewport={"width": 1280, "height": 900}) as page:
            sign_in(page, "client@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto("/reports/")
            expect(page.locator("h1")).to_have_text(title)
            page.goto(f"/reports/{report.pk}/")
            expect(page.get_by_role("link", name=button)).to_be_visible()
            shot(page, f"report-{lang}.png")
