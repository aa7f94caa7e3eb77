"""The report pages and the reports API: clients read and download, managers create, comment and
schedule, other roles and other workspaces see nothing; bad input is a 422 that says why."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.analytics.models import Report, ReportSchedule
from rupor.analytics.test_reports import COMMENTARY, END, START, fill, pdf_text
from rupor.core import clock

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    clock.freeze(dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC))
    users = {
        role: accounts.create_user(f"{role}@example.com", PASSWORD)
        for role in ("owner", "manager", "client", "editor", "stranger")
    }
    ws = accounts.create_workspace("Магазин 가게", users["owner"], timezone="UTC")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("manager", "client", "editor"):
        accounts.add_member(owner, f"{role}@example.com", role)
    other = accounts.create_workspace("Other shop", users["stranger"], timezone="UTC")
    fill(ws)
    report = Report.objects.create(workspace=ws, start=START, end=END, commentary=COMMENTARY)
    return {"ws": ws, "other": other, "users": users, "report": report}


def test_a_client_reads_the_report_in_the_browser_and_downloads_it(world):
    client = _client(world["users"]["client"])
    listing = client.get("/reports/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert f'id="report-{world["report"].pk}"' in body
    assert 'id="report-form"' not in body and 'id="schedule-form"' not in body  # managers only
    page = client.get(f"/reports/{world['report'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Report: Магазин 가게" in html and COMMENTARY in html
    assert 'id="figure-engagements"' in html and ">45<" in html  # 15 + 30
    assert 'src="data:image/png;base64,' in html  # the charts, the same PNGs as in the PDF
    assert 'id="commentary-form"' not in html
    pdf = client.get(f"/reports/{world['report'].pk}/download/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="rupor-report-')
    assert COMMENTARY.split(".")[0] in pdf_text(pdf.content)
    xlsx = client.get(f"/reports/{world['report'].pk}/download/xlsx/")
    assert load_workbook(io.BytesIO(xlsx.content))["KPI"]["A5"].value == COMMENTARY
    assert client.get(f"/reports/{world['report'].pk}/download/docx/").status_code == 404
    # Writing is for managers.
    assert client.post("/reports/new/", {"start": "2026-03-01", "end": "2026-03-02"}).status_code == 403
    assert client.post(f"/reports/{world['report'].pk}/commentary/", {"commentary": "x"}).status_code == 403
    assert client.post("/reports/schedules/", {"frequency": "weekly"}).status_code == 403


def test_the_page_speaks_russian_and_korean(world):
    client = _client(world["users"]["client"])
    for language, words in (("ru", "Комментарий менеджера"), ("ko", "매니저 코멘트")):
        page = client.get(f"/reports/{world['report'].pk}/", headers={"accept-language": language})
        assert words in page.content.decode()


def test_other_roles_and_workspaces_see_nothing(world):
    assert _client(world["users"]["editor"]).get("/reports/").status_code == 403
    stranger = _client(world["users"]["stranger"])
    assert stranger.get("/reports/").status_code == 200
    assert f'id="report-{world["report"].pk}"' not in stranger.get("/reports/").content.decode()
    assert stranger.get(f"/reports/{world['report'].pk}/").status_code == 404
    assert stranger.get(f"/reports/{world['report'].pk}/download/pdf/").status_code == 404


def test_a_manager_creates_comments_schedules_and_deletes(world):
    client = _client(world["users"]["manager"])
    bad = client.post("/reports/new/", {"start": "2026-03-09", "end": "2026-03-08", "commentary": "keep me"})
    assert bad.status_code == 422
    assert "The period ends before it starts." in bad.content.decode() and "keep me" in bad.content.decode()
    assert client.post("/reports/new/", {"start": "soon", "end": "2026-03-08"}).status_code == 422
    made = client.post("/reports/new/", {"start": "2026-03-08", "end": "2026-03-14", "commentary": "Неделя"})
    new = Report.objects.get(start=dt.date(2026, 3, 8))
    assert made.status_code == 302 and made["Location"] == f"/reports/{new.pk}/"
    assert client.post(f"/reports/{new.pk}/commentary/", {"commentary": "x" * 5001}).status_code == 422
    assert client.post(f"/reports/{new.pk}/commentary/", {"commentary": "주간 요약"}).status_code == 302
    assert Report.objects.get(pk=new.pk).commentary == "주간 요약"
    bad = client.post(
        "/reports/schedules/",
        {"frequency": "weekly", "recipients": "boss, x@example.com", "format": "pdf", "language": "en"},
    )
    assert bad.status_code == 422 and "is not an email address" in bad.content.decode()
    ok = client.post(
        "/reports/schedules/",
        {"frequency": "monthly", "recipients": "boss@example.com", "format": "both", "language": "ko"},
    )
    assert ok.status_code == 302
    schedule = ReportSchedule.objects.get(workspace=world["ws"])
    assert schedule.recipients == ["boss@example.com"] and schedule.language == "ko"
    assert 'id="schedule-' in client.get("/reports/").content.decode()
    assert client.post(f"/reports/schedules/{schedule.pk}/delete/").status_code == 302
    assert client.post(f"/reports/{new.pk}/delete/").status_code == 302
    assert not Report.objects.filter(pk=new.pk).exists()


def test_a_manager_edits_and_pauses_a_schedule_in_the_page(world):
    client = _client(world["users"]["manager"])
    body = {"frequency": "monthly", "recipients": "boss@example.com", "format": "pdf", "language": "en"}
    assert client.post("/reports/schedules/", body).status_code == 302
    schedule = ReportSchedule.objects.get(workspace=world["ws"])
    page = client.get("/reports/").content.decode()
    assert f'id="schedule-{schedule.pk}-form"' in page and "boss@example.com" in page

    bad = client.post(f"/reports/schedules/{schedule.pk}/", {**body, "recipients": "nobody, cfo@example.com"})
    text = bad.content.decode()
    assert bad.status_code == 422 and "is not an email address" in text
    assert (
        f'id="schedule-{schedule.pk}-problem"' in text and "nobody, cfo@example.com" in text
    )  # kept as typed
    assert ReportSchedule.objects.get(pk=schedule.pk).recipients == ["boss@example.com"]

    edited = {"frequency": "weekly", "recipients": "cfo@example.com; boss@example.com", "format": "both"}
    assert client.post(f"/reports/schedules/{schedule.pk}/", {**edited, "language": "ru"}).status_code == 302
    schedule.refresh_from_db()
    assert (schedule.frequency, schedule.format, schedule.language) == ("weekly", "both", "ru")
    assert (
        schedule.recipients == ["cfo@example.com", "boss@example.com"] and not schedule.active
    )  # box unticked
    assert f'id="schedule-{schedule.pk}-paused"' in client.get("/reports/").content.decode()
    resumed = {**edited, "language": "ru", "active": "1"}
    assert client.post(f"/reports/schedules/{schedule.pk}/", resumed).status_code == 302
    assert ReportSchedule.objects.get(pk=schedule.pk).active

    assert (
        _client(world["users"]["client"]).post(f"/reports/schedules/{schedule.pk}/", resumed).status_code
        == 403
    )
    # Another workspace's owner: not found, and nothing changed.
    assert (
        _client(world["users"]["stranger"]).post(f"/reports/schedules/{schedule.pk}/", body).status_code
        == 404
    )
    assert ReportSchedule.objects.get(pk=schedule.pk).frequency == "weekly"
    assert client.post("/reports/schedules/999999/", resumed).status_code == 404


def test_the_logo_is_uploaded_in_the_settings(world):
    client = _client(world["users"]["owner"])
    image = io.BytesIO()
    Image.new("RGB", (300, 100), (10, 120, 200)).save(image, format="JPEG")
    image.name = "logo.jpg"
    image.seek(0)
    assert client.post("/settings/logo/", {"logo": image}).status_code == 302
    settings_page = client.get("/settings/").content.decode()
    assert 'id="current-logo"' in settings_page
    page = client.get(f"/reports/{world['report'].pk}/").content.decode()
    assert 'class="report-logo"' in page
    fake = io.BytesIO(b"GIF89a not really")
    fake.name = "logo.gif"
    refused = client.post("/settings/logo/", {"logo": fake})
    assert refused.status_code == 422 and 'id="logo-problem"' in refused.content.decode()
    assert client.post("/settings/logo/", {}).status_code == 422
    assert _client(world["users"]["manager"]).post("/settings/logo/", {}).status_code == 403
    assert client.post("/settings/logo/remove/").status_code == 302
    assert accounts.logo_png(world["ws"].pk) is None


# -- the API -------------------------------------------------------------------------------


def test_api_reports_and_files(world, api_for):
    owner, client = api_for(world["ws"], "owner"), api_for(world["ws"], "client")
    listed = client.get("/reports")
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [world["report"].pk]
    pdf = client.get(f"/reports/{world['report'].pk}/file", format="pdf", language="ko")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "매니저 코멘트" in pdf_text(pdf.content)
    one_off = client.get("/reports/file", **{"from": "2026-03-01", "to": "2026-03-07", "format": "xlsx"})
    assert one_off.status_code == 200
    rows = {
        r[4]: r
        for r in load_workbook(io.BytesIO(one_off.content))["KPI"].iter_rows(min_row=8, values_only=True)
    }
    assert rows["engagements"][1:3] == (45, 10)
    bad = client.get("/reports/file", **{"from": "2026-03-07", "to": "2026-03-01"})
    assert bad.status_code == 422 and "ends before it starts" in bad.json()["detail"]
    assert client.get("/reports/file", **{"from": "2026-03-01"}).status_code == 422
    assert (
        client.get("/reports/file", **{"from": "2026-03-01", "to": "2026-03-07", "format": "doc"}).status_code
        == 422
    )
    assert client.post("/reports", {"start": "2026-03-01", "end": "2026-03-02"}).status_code == 403
    made = owner.post("/reports", {"start": "2026-03-08", "end": "2026-03-14", "commentary": "API"})
    assert made.status_code == 201 and made.json()["commentary"] == "API"
    again = owner.post("/reports", {"start": "2026-03-08", "end": "2026-03-14"})
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    put = owner.client.put(
        f"/api/v1/reports/{made.json()['id']}/commentary",
        '{"commentary": "Новый"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner.key}"},
    )
    assert put.status_code == 200 and put.json()["commentary"] == "Новый"
    assert owner.delete(f"/reports/{made.json()['id']}").status_code == 204
    assert owner.get(f"/reports/{made.json()['id']}").status_code == 404


def test_api_schedules_crud_roles_and_isolation(world, api_for):
    owner, client = api_for(world["ws"], "owner"), api_for(world["ws"], "client")
    stranger = api_for(world["other"], "owner")
    body = {"frequency": "weekly", "recipients": ["a@example.com"], "format": "pdf", "language": "ru"}
    assert client.post("/report-schedules", body).status_code == 403
    made = owner.post("/report-schedules", body)
    assert made.status_code == 201 and made.json()["last_state"] == ""
    sid = made.json()["id"]
    bad = owner.post("/report-schedules", {**body, "recipients": ["nope"]})
    assert bad.status_code == 422 and "not an email address" in bad.json()["detail"]
    assert owner.post("/report-schedules", {**body, "frequency": "daily"}).status_code == 422
    changed = owner.client.put(
        f"/api/v1/report-schedules/{sid}",
        '{"frequency": "monthly", "recipients": ["b@example.com"], "format": "both", "language": "ko"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner.key}"},
    )
    assert changed.status_code == 200 and changed.json()["frequency"] == "monthly"
    assert [s["id"] for s in client.get("/report-schedules").json()] == [sid]
    assert stranger.get(f"/report-schedules/{sid}").status_code == 404
    assert stranger.delete(f"/report-schedules/{sid}").status_code == 404
    assert stranger.get(f"/reports/{world['report'].pk}/file").status_code == 404
    assert owner.delete(f"/report-schedules/{sid}").status_code == 204
