"""Client reports: the PDF and XLSX carry the period's figures (hand-computed here), Russian and
Korean text, the commentary and the logo; schedules email each period exactly once; roles and
workspaces are kept apart; the CLI refuses bad input with a sentence."""

from __future__ import annotations

import datetime as dt
import io
import smtplib

import pytest
from click.testing import CliRunner
from django.core import mail
from django.utils import translation
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.analytics import report_document, reports
from rupor.analytics.models import ChannelDay, PostStat, Report, ReportDelivery, ReportSchedule
from rupor.channels.models import Channel
from rupor.core import clock

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 7)
COMMENTARY = "Охват вырос благодаря видео. 동영상 덕분에 도달이 늘었습니다."


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def fill(workspace: Workspace) -> tuple[Channel, Channel]:
    """Posts in 2026-03-01..07 (engagements 15 + 30 = 45, views 1300, reach 650) and one in the
    week before (engagements 10); followers 1000 -> 1012 on the VK page."""
    vk = Channel.objects.create(workspace=workspace, network="vk", name="Страница ВКонтакте", remote_id="-1")
    tg = Channel.objects.create(
        workspace=workspace, network="telegram", name="텔레그램 채널", remote_id="@tg"
    )

    def post(channel: Channel, remote: str, when: dt.datetime, text: str, **figures: object) -> None:
        PostStat.objects.create(
            workspace=workspace,
            channel=channel,
            remote_post_id=remote,
            published_at=when,
            text_excerpt=text,
            text_length=len(text),
            read_at=when + dt.timedelta(days=1),
            **figures,
        )

    post(
        vk,
        "p1",
        at(2, 10),
        "Новая коллекция весны",
        likes=10,
        reposts=2,
        comments=3,
        views=300,
        reach=150,
        followers=1000,
    )
    post(
        vk,
        "p2",
        at(5, 10),
        "봄 신상품 영상",
        likes=20,
        reposts=5,
        comments=5,
        views=1000,
        reach=500,
        followers=1000,
        content_format="video",
    )
    post(tg, "t1", at(3, 12), "=SUM(A1) реакции", likes=40, reactions_only=True, followers=2000)
    post(
        vk,
        "old",
        at(25, 9, month=2),
        "Старый пост",
        likes=5,
        reposts=1,
        comments=4,
        views=500,
        reach=200,
        followers=990,
    )
    ChannelDay.objects.create(workspace=workspace, channel=vk, day=dt.date(2026, 2, 28), members=990)
    for i in range(7):
        ChannelDay.objects.create(
            workspace=workspace,
            channel=vk,
            day=START + dt.timedelta(days=i),
            members=1000 + 2 * i,
            joins=3,
            leaves=1,
            source="stats",
        )
    return vk, tg


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def png(width: int = 120, height: int = 40, fmt: str = "PNG") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, format=fmt)
    out.seek(0)
    return out


@pytest.fixture
def shop(make_workspace):
    ws = make_workspace("Магазин 가게", timezone="UTC")
    fill(ws)
    return ws


def owner(ws) -> accounts.Actor:
    return accounts.Actor(ws.pk, Role.OWNER, label="test")


def as_role(ws, role: Role) -> accounts.Actor:
    return accounts.Actor(ws.pk, role, label=str(role))


@pytest.fixture(autouse=True)
def _march():
    clock.freeze(dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize("language", ["ru", "ko"])
def test_pdf_has_the_kpis_with_their_change_and_russian_and_korean_text(shop, language):
    with translation.override(language):
        rendered = reports.render_period(owner(shop), START, END, "pdf", commentary=COMMENTARY)
    assert rendered.content.startswith(b"%PDF-")
    assert rendered.filename == f"rupor-report-{shop.slug}-2026-03-01-2026-03-07.pdf"
    text = pdf_text(rendered.content)
    assert "Магазин 가게" in text
    assert "Охват вырос благодаря видео." in text and "동영상 덕분에 도달이 늘었습니다." in text
    assert "Страница ВКонтакте" in text and "텔레그램 채널" in text  # channels of the top posts
    assert "봄 신상품 영상" in text and "Новая коллекция весны" in text
    # Engagements 15 + 30 = 45 against 10 the week before: +350 %; views 1 300 against 500: +160 %.
    assert "45" in text
    assert ("+350,0 %" in text) or ("+350.0 %" in text)
    assert "1 300" in text or "1,300" in text
    # ERpost = mean(15/1000, 30/1000) = 2.25 %; ERR = 45 / 650 = 6.92 %.
    assert ("2,25 %" in text) or ("2.25 %" in text)
    assert ("6,92 %" in text) or ("6.92 %" in text)
    assert "2026-03-01 \u2013 2026-03-07" in text


def test_pdf_speaks_the_reports_language(shop):
    with translation.override("ru"):
        ru = pdf_text(reports.render_period(owner(shop), START, END, "pdf").content)
    with translation.override("ko"):
        ko = pdf_text(reports.render_period(owner(shop), START, END, "pdf").content)
    assert "Комментарий менеджера" in ru and "Лучшие посты" in ru
    assert "매니저 코멘트" in ko and "인기 게시물" in ko


def test_xlsx_parses_back_with_the_right_numbers(shop):
    rendered = reports.render_period(owner(shop), START, END, "xlsx", commentary=COMMENTARY)
    book = load_workbook(io.BytesIO(rendered.content))
    kpi, daily, top, channels, formulas = book.worksheets
    assert kpi.title == "KPI"
    assert kpi["A5"].value == COMMENTARY
    rows = {r[4]: r for r in kpi.iter_rows(min_row=8, values_only=True) if r[4]}
    assert rows["posts"][1:4] == (3, 1, 200.0)
    assert rows["engagements"][1:4] == (45, 10, 350.0)
    assert rows["views"][1:3] == (1300, 500)
    assert rows["reach"][1:3] == (650, 200)
    assert rows["er_post"][1] == pytest.approx(2.25)
    assert rows["err"][1] == pytest.approx(45 / 650 * 100)
    assert rows["reactions"][1] == 40
    assert rows["complaints"][1] is None  # unknown stays empty, never 0
    days = {r[0].date(): r for r in daily.iter_rows(min_row=2, values_only=True)}
    assert len(days) == 7
    assert days[dt.date(2026, 3, 2)][1:4] == (1, 10, 2)  # posts, likes, reposts
    assert days[dt.date(2026, 3, 7)][9] == 1012  # followers at the end of the week
    top_rows = list(top.iter_rows(min_row=2, values_only=True))
    assert [r[9] for r in top_rows] == [40, 30, 15]  # engagements, best first
    assert top_rows[0][3] == "'=SUM(A1) реакции"  # a text that looks like a formula stays text
    assert top.cell(row=2, column=4).data_type != "f"
    assert {r[0] for r in channels.iter_rows(min_row=2, values_only=True)} == {
        "Страница ВКонтакте",
        "텔레그램 채널",
    }
    formula_rows = {r[1]: r for r in formulas.iter_rows(min_row=2, values_only=True) if r[1]}
    assert "followers" in formula_rows["er_post"][2]


def test_the_logo_goes_into_the_pdf_and_the_xlsx(shop):
    without = PdfReader(io.BytesIO(reports.render_period(owner(shop), START, END, "pdf").content))
    accounts.set_logo(owner(shop), png(900, 300))
    stored = Image.open(io.BytesIO(accounts.logo_png(shop.pk) or b""))
    assert stored.format == "PNG" and stored.size == (600, 200)  # scaled to 600 px a side
    with_logo = PdfReader(io.BytesIO(reports.render_period(owner(shop), START, END, "pdf").content))
    assert len(with_logo.pages[0].images) == len(without.pages[0].images) + 1
    book = load_workbook(io.BytesIO(reports.render_period(owner(shop), START, END, "xlsx").content))
    assert len(book["KPI"]._images) == 1


def test_a_logo_must_be_a_real_image(shop, make_workspace):
    with pytest.raises(accounts.AccountsError, match="PNG, JPEG"):
        accounts.set_logo(owner(shop), io.BytesIO(b"<svg onload=alert(1)></svg>"))
    with pytest.raises(accounts.AccountsError, match="2 MB"):
        accounts.set_logo(owner(shop), io.BytesIO(b"\x89PNG" + b"0" * (accounts.LOGO_MAX_BYTES + 10)))
    with pytest.raises(accounts.AccountsError, match="Choose an image"):
        accounts.set_logo(owner(shop), io.BytesIO(b""))
    broken = png().getvalue()[:60]
    with pytest.raises(accounts.AccountsError):
        accounts.set_logo(owner(shop), io.BytesIO(broken))
    with pytest.raises(accounts.AccountsError) as refused:
        accounts.set_logo(as_role(shop, Role.MANAGER), png())
    assert refused.value.status == 403
    accounts.set_logo(owner(shop), png(fmt="GIF"))
    assert accounts.logo_png(shop.pk) is not None
    other = make_workspace("Other", timezone="UTC")
    assert accounts.logo_png(other.pk) is None
    accounts.remove_logo(owner(shop))
    assert accounts.logo_png(shop.pk) is None


def test_saved_reports_commentary_and_periods(shop):
    manager = as_role(shop, Role.MANAGER)
    report, created = reports.create_report(manager, START, END, "  Первый комментарий ")
    assert created and report.commentary == "Первый комментарий"
    again, created = reports.create_report(manager, START, END)
    assert not created and again.id == report.id and again.commentary == "Первый комментарий"
    reports.set_commentary(manager, report.id, "한국어 코멘트")
    assert reports.get_report(manager, report.id).commentary == "한국어 코멘트"
    text = pdf_text(reports.download(manager, report.id, "pdf").content)
    assert "한국어 코멘트" in text
    with pytest.raises(reports.ReportError, match="ends before it starts"):
        reports.create_report(manager, END, START)
    with pytest.raises(reports.ReportError, match="366"):
        reports.create_report(manager, dt.date(2024, 1, 1), dt.date(2026, 1, 1))
    with pytest.raises(reports.ReportError, match="future"):
        reports.create_report(manager, dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    with pytest.raises(reports.ReportError, match="at most 5000"):
        reports.set_commentary(manager, report.id, "x" * 5001)
    with pytest.raises(reports.ReportError, match="pdf or xlsx"):
        reports.download(manager, report.id, "docx")


def test_roles_clients_read_managers_write_others_nothing(shop):
    report, _ = reports.create_report(owner(shop), START, END)
    for role in (Role.CLIENT, Role.ANALYST):
        reader = as_role(shop, role)
        assert [r.id for r in reports.list_reports(reader)] == [report.id]
        assert reports.download(reader, report.id, "xlsx").content.startswith(b"PK")
        for write in (
            lambda a: reports.create_report(a, START, END),
            lambda a: reports.set_commentary(a, report.id, "no"),
            lambda a: reports.delete_report(a, report.id),
            lambda a: reports.save_schedule(a, frequency="weekly", recipients=["c@example.com"]),
        ):
            with pytest.raises(reports.ReportError) as refused:
                write(reader)
            assert refused.value.status == 403
    for role in (Role.EDITOR, Role.MODERATOR):
        with pytest.raises(reports.ReportError) as refused:
            reports.list_reports(as_role(shop, role))
        assert refused.value.status == 403


def test_workspaces_never_see_each_others_reports(shop, make_workspace):
    other = make_workspace("Чужой", timezone="UTC")
    report, _ = reports.create_report(owner(shop), START, END)
    schedule = reports.save_schedule(owner(shop), frequency="weekly", recipients=["a@example.com"])
    stranger = owner(other)
    assert reports.list_reports(stranger) == [] and reports.list_schedules(stranger) == []
    for attempt in (
        lambda: reports.get_report(stranger, report.id),
        lambda: reports.download(stranger, report.id, "pdf"),
        lambda: reports.set_commentary(stranger, report.id, "x"),
        lambda: reports.delete_report(stranger, report.id),
        lambda: reports.get_schedule(stranger, schedule.id),
        lambda: reports.delete_schedule(stranger, schedule.id),
    ):
        with pytest.raises(reports.ReportError) as refused:
            attempt()
        assert refused.value.status == 404
    # The other workspace's own report of the same period has none of the shop's posts.
    text = pdf_text(reports.render_period(stranger, START, END, "pdf").content)
    assert "Страница ВКонтакте" not in text and "Чужой" in text


def test_previous_period_weeks_and_months():
    assert reports.previous_period("weekly", dt.date(2026, 3, 9)) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 8),
    )
    assert reports.previous_period("weekly", dt.date(2026, 3, 15)) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 8),
    )
    assert reports.previous_period("monthly", dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )
    assert reports.previous_period("monthly", dt.date(2026, 1, 31)) == (
        dt.date(2025, 12, 1),
        dt.date(2025, 12, 31),
    )


def test_schedule_input_is_checked(shop):
    a = owner(shop)
    with pytest.raises(reports.ReportError, match="not an email"):
        reports.save_schedule(a, frequency="weekly", recipients="boss@example.com, not-an-address")
    with pytest.raises(reports.ReportError, match="at least one"):
        reports.save_schedule(a, frequency="weekly", recipients=" , ")
    with pytest.raises(reports.ReportError, match="weekly or monthly"):
        reports.save_schedule(a, frequency="daily", recipients=["a@example.com"])
    with pytest.raises(reports.ReportError, match="pdf, xlsx or both"):
        reports.save_schedule(a, frequency="weekly", recipients=["a@example.com"], format="doc")
    with pytest.raises(reports.ReportError, match="at most 20"):
        reports.save_schedule(a, frequency="weekly", recipients=[f"u{i}@example.com" for i in range(21)])
    s = reports.save_schedule(a, frequency="weekly", recipients="A@example.com; a@example.com\nb@example.com")
    assert s.recipients == ("A@example.com", "b@example.com")


def test_a_schedule_emails_each_period_exactly_once(shop):
    clock.freeze(dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC))  # a Wednesday
    reports.save_schedule(
        owner(shop), frequency="weekly", recipients=["client@example.com"], format="both", language="ru"
    )
    assert reports.run_schedules(clock.now()) == 0  # last week ended before the schedule existed
    clock.freeze(dt.datetime(2026, 3, 9, 5, 0, tzinfo=dt.UTC))  # Monday, before the send hour
    assert reports.run_schedules(clock.now()) == 0
    clock.freeze(dt.datetime(2026, 3, 9, 7, 0, tzinfo=dt.UTC))
    assert reports.run_schedules(clock.now()) == 1
    for _ in range(3):  # the worker's next rounds, or a second worker, or a restarted one
        assert reports.run_schedules(clock.now()) == 0
    clock.advance(dt.timedelta(days=2))
    assert reports.run_schedules(clock.now()) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["client@example.com"]
    assert "2026-03-02 \u2013 2026-03-08" in message.subject and "Магазин 가게" in message.subject
    names = [a[0] for a in message.attachments]
    assert names == [
        f"rupor-report-{shop.slug}-2026-03-02-2026-03-08.pdf",
        f"rupor-report-{shop.slug}-2026-03-02-2026-03-08.xlsx",
    ]
    assert "Комментарий менеджера" in pdf_text(message.attachments[0][1])
    # The period's report is saved for the client to open in the browser.
    saved = Report.objects.get(workspace=shop, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 8))
    assert saved.schedule_id is not None
    # Next Monday: the next week, once.
    clock.freeze(dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC))
    assert reports.run_schedules(clock.now()) == 1
    assert reports.run_schedules(clock.now()) == 0
    assert len(mail.outbox) == 2
    assert ReportDelivery.objects.filter(state="sent").count() == 2


def test_a_delivery_another_worker_holds_is_left_alone_until_its_lease_ends(shop):
    clock.freeze(dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC))
    info = reports.save_schedule(owner(shop), frequency="monthly", recipients=["c@example.com"])
    schedule = ReportSchedule.objects.get(pk=info.id)
    now = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    # Another worker claimed February a minute ago and is sending it.
    ReportDelivery.objects.create(
        schedule=schedule,
        start=dt.date(2026, 2, 1),
        end=dt.date(2026, 2, 28),
        claimed_at=now - dt.timedelta(minutes=1),
    )
    assert reports.run_schedules(now) == 0 and mail.outbox == []
    # It died: after the lease another worker takes over, once.
    later = now + reports.LEASE + dt.timedelta(minutes=1)
    assert reports.run_schedules(later) == 1
    assert reports.run_schedules(later) == 0
    assert len(mail.outbox) == 1
    assert ReportDelivery.objects.get().attempts == 2


def test_a_refused_email_is_tried_again_later_and_then_sent_once(shop, settings, monkeypatch):
    clock.freeze(dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC))
    reports.save_schedule(owner(shop), frequency="monthly", recipients=["c@example.com"], format="xlsx")
    now = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"c@example.com": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    assert reports.run_schedules(now) == 0
    failed = ReportDelivery.objects.get()
    assert failed.state == "failed" and "c@example.com" in failed.error
    assert reports.list_schedules(owner(shop))[0].last_state == "failed"
    monkeypatch.undo()
    assert reports.run_schedules(now + dt.timedelta(minutes=5)) == 0  # not before RETRY_AFTER
    assert reports.run_schedules(now + reports.RETRY_AFTER + dt.timedelta(minutes=1)) == 1
    assert reports.run_schedules(now + reports.RETRY_AFTER + dt.timedelta(minutes=2)) == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][0].endswith(".xlsx")


def test_inactive_and_deleted_schedules_send_nothing(shop):
    clock.freeze(dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC))
    a = owner(shop)
    paused = reports.save_schedule(a, frequency="monthly", recipients=["c@example.com"])
    reports.save_schedule(
        a, schedule_id=paused.id, frequency="monthly", recipients=["c@example.com"], active=False
    )
    gone = reports.save_schedule(a, frequency="monthly", recipients=["d@example.com"])
    reports.delete_schedule(a, gone.id)
    assert reports.run_schedules(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)) == 0
    assert mail.outbox == []


# -- the command line ----------------------------------------------------------------------


def run_cli(*args: str):
    from rupor.cli.main import cli

    return CliRunner().invoke(cli, ["report", *args], prog_name="rupor")


def test_cli_writes_the_report(shop, tmp_path):
    out = tmp_path / "report.pdf"
    result = run_cli(
        "--workspace",
        shop.slug,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-07",
        "--format",
        "pdf",
        "--output",
        str(out),
        "--language",
        "ko",
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "매니저 코멘트" in text and "텔레그램 채널" in text
    xlsx = tmp_path / "report.xlsx"
    result = run_cli(
        "--workspace", shop.slug, "--from", "2026-03-01", "--to", "2026-03-07", "--output", str(xlsx)
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx)["KPI"]["A1"].value == "Report: Магазин 가게"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", "nope", "--from", "2026-03-01", "--to", "2026-03-07"], "no workspace with the slug"),
        (
            ["--from", "2026-13-01", "--to", "2026-03-07"],
            "'2026-13-01' is not a date; write it as YYYY-MM-DD",
        ),
        (["--from", "2026-03-01", "--to", "yesterday"], "--to"),
        (["--from", "2026-03-07", "--to", "2026-03-01"], "The period ends before it starts."),
        (["--from", "2024-01-01", "--to", "2026-03-01"], "at most 366 days"),
        (
            ["--from", "2026-03-01", "--to", "2026-03-07", "--format", "docx"],
            "'docx' is not one of 'pdf', 'xlsx'",
        ),
    ],
)
def test_cli_refuses_bad_input_with_a_sentence(shop, tmp_path, args, message):
    if "--workspace" not in args:
        args = ["--workspace", shop.slug, *args]
    result = run_cli(*args, "--output", str(tmp_path / "r.pdf"))
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "r.pdf").exists()


def test_cli_checks_the_output_file(shop, tmp_path):
    base = ["--workspace", shop.slug, "--from", "2026-03-01", "--to", "2026-03-07"]
    result = run_cli(*base, "--output", str(tmp_path / "r.txt"))
    assert result.exit_code == 2 and "give --format pdf or xlsx" in result.output
    result = run_cli(*base, "--format", "xlsx", "--output", str(tmp_path / "r.pdf"))
    assert result.exit_code == 2 and "ends in .pdf but --format is xlsx" in result.output
    result = run_cli(*base, "--output", str(tmp_path / "missing" / "r.pdf"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_numbers_read_the_same_in_every_rendition():
    assert report_document.number(None) == "—"
    with translation.override("en"):
        assert report_document.number(1300) == "1,300"
        assert report_document.number(2.25, "%") == "2.25 %"
    with translation.override("ru"):
        assert report_document.number(2.25, "%") == "2,25 %"
