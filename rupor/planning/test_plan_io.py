"""Import and export of the plan: CSV and XLSX, preview, bad rows, all-or-nothing, round trip, CLI."""

from __future__ import annotations

import io

import openpyxl
import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile

from rupor.channels.models import Channel
from rupor.cli.main import cli
from rupor.planning import plan_io
from rupor.planning.models import Post

pytestmark = pytest.mark.django_db

HEADER = "date,time,channels,rubric,title,text,text_vk,media_urls,status\n"


@pytest.fixture
def world(make_workspace, api_for):
    ws = make_workspace("Plan", timezone="Europe/Moscow")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    vk = Channel.objects.create(workspace=ws, network="vk", name="Our VK", remote_id="-1")
    return ws, tg, vk, api_for(ws, "manager")


def _upload(api, content: bytes, name="plan.csv", dry_run=False):
    path = "/api/v1/plan/import" + ("?dry_run=true" if dry_run else "")
    return api.client.post(path, {"file": SimpleUploadedFile(name, content)}, headers=api._headers())


GOOD = (
    HEADER
    + '2099-03-01,10:00,"Our Telegram, Our VK",Useful,Launch,Shared text,Пост для вконтакте,,scheduled\n'
    + f"2099-03-02,18:30,{'{tg}'},Selling,,Buy now,,,draft\n"
    + ",,Our VK,,Idea,Someday,,,\n"
)


def test_csv_preview_then_import(world):
    _ws, tg, _vk, api = world
    content = GOOD.replace("{tg}", str(tg.pk)).encode()
    res = _upload(api, content, dry_run=True)
    assert res.status_code == 200, res.content
    preview = res.json()
    assert preview["dry_run"] and preview["created"] == []
    assert [p["row"] for p in preview["posts"]] == [2, 3, 4]
    first = preview["posts"][0]
    assert first["local_time"] == "2099-03-01 10:00" and first["scheduled_at"].startswith(
        "2099-03-01T07:00:00"
    )
    assert {c["name"]: c["text"] for c in first["channels"]} == {
        "Our Telegram": "Shared text",
        "Our VK": "Пост для вконтакте",
    }
    assert Post.objects.count() == 0
    res = _upload(api, content)
    assert res.status_code == 201, res.content
    assert len(res.json()["created"]) == 3
    launch = Post.objects.get(title="Launch")
    assert launch.status == "scheduled" and launch.rubric is not None and launch.rubric.name == "Useful"
    assert {v.channel.network: v.text for v in launch.variants.select_related("channel")} == {
        "telegram": "Shared text",
        "vk": "Пост для вконтакте",
    }
    idea = Post.objects.get(title="Idea")
    assert idea.scheduled_at is None and idea.status == "draft"


def test_bad_rows_are_named_and_nothing_is_created(world):
    _ws, _tg, _vk, api = world
    content = (
        HEADER
        + "2099-03-01,10:00,Our Telegram,,,Fine row,,,scheduled\n"
        + "2099-03-01,10:00,Nowhere,,,x,,,draft\n"
        + "2001-01-01,10:00,Our Telegram,,,Too late,,,scheduled\n"
        + f"2099-03-01,10:00,Our Telegram,,,{'x' * 5000},,,draft\n"
        + "01/03/2099,25:00,Our VK,Nonsense,,x,,ftp://files/x.jpg,published\n"
        + "2099-03-29,,Our VK,,,x,,,draft\n"
    ).encode()
    for dry_run in (True, False):
        res = _upload(api, content, dry_run=dry_run)
        assert res.status_code == 422, res.content
        body = res.json()
        assert "nothing" in body["detail"]
        rows = {e["row"] for e in body["errors"]}
        assert rows == {3, 4, 5, 6, 7}
        messages = " | ".join(f"{e['field']}: {e['message']}" for e in body["errors"])
        for expected in (
            "row 3: channel 'Nowhere' does not exist",
            "row 4: 2001-01-01 10:00 is in the past",
            "row 5: Our Telegram: Telegram allows 4",
            "not YYYY-MM-DD",
            "rubric 'Nonsense' does not exist",
            "'ftp://files/x.jpg' is not an http(s) address",
            "status 'published'",
            "row 7: a date needs a time",
        ):
            assert expected in messages, (expected, messages)
    assert Post.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"date,time,chanels,text\n2099-01-01,10:00,x,y\n", "plan.csv", "Unknown column(s): chanels"),
        (b"date,text\n", "plan.csv", "no 'channels' column"),
        (b"", "plan.csv", "empty"),
        (b'channels,text\n"Our VK,broken\n', "plan.csv", "broken"),
        (b"\xff\xfe\x00garbage", "plan.csv", "UTF-8"),
        (b"PK\x03\x04 not really a workbook", "plan.xlsx", "XLSX"),
        (b"channels,text\n", "plan.txt", "neither .csv nor .xlsx"),
        (b"channels,text\n", "plan.csv", "no rows"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(world, content, name, expected):
    _ws, _tg, _vk, api = world
    res = _upload(api, content, name=name, dry_run=True)
    assert res.status_code == 400, res.content
    assert expected in res.json()["detail"]
    assert res.json()["errors"][0]["field"] == "file"


def test_semicolon_csv_and_xlsx_cells(world):
    _ws, _tg, _vk, api = world
    res = _upload(
        api, "\ufeffdate;time;channels;text\n2099-05-01;09:15;Our VK;Привет\n".encode(), dry_run=True
    )
    assert res.status_code == 200, res.content
    book = openpyxl.Workbook()
    sheet = book.active
    import datetime as dt

    sheet.append(["Date", "Time", "Channels", "Text"])
    sheet.append([dt.date(2099, 5, 1), dt.time(9, 15), "Our VK", "From Excel"])
    buffer = io.BytesIO()
    book.save(buffer)
    res = _upload(api, buffer.getvalue(), name="plan.xlsx", dry_run=True)
    assert res.status_code == 200, res.content
    assert res.json()["posts"][0]["local_time"] == "2099-05-01 09:15"


def _snapshot(posts):
    return sorted(
        (
            p["local_time"] or "",
            p["title"],
            p["text"],
            p["rubric"],
            p["status"],
            tuple(sorted((c["id"], c["text"]) for c in p["channels"])),
        )
        for p in posts
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_gives_the_same_posts(world, fmt):
    _ws, tg, _vk, api = world
    content = GOOD.replace("{tg}", str(tg.pk)).encode()
    created = _upload(api, content)
    assert created.status_code == 201
    original = _upload(api, content, dry_run=True).json()["posts"]
    res = api.get("/plan/export", format=fmt)
    assert res.status_code == 200
    assert res["Content-Disposition"].endswith(f'.{fmt}"')
    again = _upload(api, res.content, name=f"export.{fmt}", dry_run=True)
    assert again.status_code == 200, again.content
    assert _snapshot(again.json()["posts"]) == _snapshot(original)
    assert api.get("/plan/export", format="pdf").status_code == 422


def test_roles_for_import(world, api_for):
    ws, _tg, _vk, _api = world
    editor, client = api_for(ws, "editor"), api_for(ws, "client")
    content = (HEADER + "2099-03-01,10:00,Our VK,,,x,,,scheduled\n").encode()
    res = _upload(editor, content, dry_run=True)
    assert res.status_code == 422 and "your role can import drafts" in res.json()["errors"][0]["message"]
    assert _upload(editor, content.replace(b"scheduled", b"draft"), dry_run=True).status_code == 200
    assert _upload(client, content, dry_run=True).status_code == 403
    assert client.get("/plan/export").status_code == 200  # clients see the plan


def test_cli_import_and_export(world, tmp_path):
    ws, tg, _vk, _api = world
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "2099-03-01,10:00,Our VK,,,ok,,,draft\n2099-03-01,10:00,Ghost,,,x,,,draft\n2001-01-01,09:00,Our VK,,,x,,,scheduled\n"
    )
    result = runner.invoke(cli, ["plan", "import", str(bad), "--workspace", ws.slug])
    assert result.exit_code == 1
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Row 3" in output and "Ghost" in output and "Row 4" in output and "in the past" in output
    assert Post.objects.count() == 0
    good = tmp_path / "good.csv"
    good.write_text(GOOD.replace("{tg}", str(tg.pk)))
    result = runner.invoke(cli, ["plan", "import", str(good), "--workspace", ws.slug, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would create 3" in result.output and Post.objects.count() == 0
    result = runner.invoke(cli, ["plan", "import", str(good), "--workspace", ws.slug])
    assert result.exit_code == 0, result.output
    assert Post.objects.count() == 3
    out = tmp_path / "plan.xlsx"
    result = runner.invoke(
        cli, ["plan", "export", "--workspace", ws.slug, "--format", "xlsx", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = plan_io.read_table("plan.xlsx", out.read_bytes())
    assert rows[0][:3] == ["date", "time", "channels"] and len(rows) == 4
    result = runner.invoke(cli, ["plan", "export", "--workspace", ws.slug])
    assert result.exit_code == 0 and "Shared text" in result.output
    assert runner.invoke(cli, ["plan", "import", str(good), "--workspace", "no-such"]).exit_code == 2
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"nonsense")
    result = runner.invoke(cli, ["plan", "import", str(broken), "--workspace", ws.slug])
    assert result.exit_code == 1 and "XLSX" in result.output


@pytest.mark.parametrize(
    "prefix", ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]
)  # and full-width =+-@
def test_export_guards_every_formula_prefix_and_the_import_takes_the_guard_off(prefix):
    """CSV injection: a cell a spreadsheet could run as a formula gets a leading quote in CSV (and
    the quote-prefix style in XLSX, where cells are text); importing the export gives the text back."""
    text = f'{prefix}HYPERLINK("http://evil.example/")'
    rows = [["channels", "text"], ["Our VK", text]]
    exported_csv = plan_io.render(rows, "csv").decode("utf-8-sig")
    assert f"'{prefix}HYPERLINK" in exported_csv
    back = plan_io.read_table("plan.csv", plan_io.render(rows, "csv"))[1][1]
    assert back == text or (
        prefix == "\r" and back == "\n" + text[1:]
    )  # csv reads a lone CR in a field as LF
    book = openpyxl.load_workbook(io.BytesIO(plan_io.render(rows, "xlsx")))
    cell = book.active["B2"]
    assert (
        cell.value.strip() == text.strip() and cell.data_type == "s" and cell.quotePrefix
    )  # XML reads CR as LF
    assert (
        plan_io.read_table("plan.xlsx", plan_io.render(rows, "xlsx"))[1][1] == text.strip()
    )  # cells are trimmed


def test_export_leaves_ordinary_text_alone():
    exported = plan_io.render([["text"], ["Hello - world"], ["50% off"]], "csv").decode("utf-8-sig")
    assert "'" not in exported


def test_a_staged_preview_is_committed_once_and_only_in_its_workspace(world, make_workspace):
    from rupor.accounts.roles import Role
    from rupor.accounts.service import Actor

    ws, tg, _vk, _api = world
    actor = Actor(ws.pk, Role.MANAGER, label="m")
    upload = SimpleUploadedFile("plan.csv", GOOD.replace("{tg}", str(tg.pk)).encode())
    checked = plan_io.preview(actor, upload)
    assert checked.report.ok and checked.staged is not None and Post.objects.count() == 0
    entry = plan_io.StagedImport.from_dict(checked.staged.as_dict())
    other = Actor(make_workspace("Other").pk, Role.MANAGER, label="m")
    with pytest.raises(plan_io.StaleImport):
        plan_io.commit(other, entry)
    assert Post.objects.count() == 0
    checked = plan_io.preview(
        actor, SimpleUploadedFile("plan.csv", GOOD.replace("{tg}", str(tg.pk)).encode())
    )
    assert len(plan_io.commit(actor, checked.staged).created_ids) == 3
    with pytest.raises(plan_io.StaleImport):
        plan_io.commit(actor, checked.staged)  # a preview is imported once
