"""A plan import reads within fixed bounds whatever the file claims: hostile XLSX and CSV files
are refused with a reason naming the limits, quickly and in little memory, and nothing is created.

The hostile files are built here: a tiny workbook whose sheet declares ``A1:XFD1048576``, sheets
with too many rows or columns, a zip-bomb part, a huge shared-strings table.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rupor.channels.models import Channel
from rupor.cli.main import cli
from rupor.planning import plan_io
from rupor.planning.models import Post
from rupor.planning.testing import measured

pytestmark = pytest.mark.django_db

#: Far below the gigabytes the unbounded reader allocated, far above what a bounded read needs.
MEMORY_BOUND = 200 * 1024 * 1024
LIMITS = f"at most {plan_io.MAX_ROWS} rows after the header and {plan_io.MAX_COLUMNS} columns"


@pytest.fixture
def world(make_user: Any, make_workspace: Any, api_for: Any) -> Any:
    owner = make_user("owner@example.com")
    ws = make_workspace("Plan", owner=owner)
    Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    return ws, owner, api_for(ws, "owner")


def _workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROWS = [["channels", "text"], ["Our Telegram", "Hello"]]


def _rezip(
    data: bytes, change: Callable[[str, bytes], bytes] = lambda _n, b: b, extra: dict[str, Any] | None = None
) -> bytes:
    """The workbook with its parts rewritten by ``change`` and ``extra`` parts added (bytes, or a
    callable that writes a large part in chunks)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
        for name, content in (extra or {}).items():
            if callable(content):
                with target.open(name, "w") as handle:
                    content(handle)
            else:
                target.writestr(name, content)
    return out.getvalue()


def _sheet_xml(body: str, dimension: str = "A1:B2") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    ).encode()


def _with_sheet(xml: bytes) -> bytes:
    return _rezip(
        _workbook(GOOD_ROWS), lambda name, body: xml if name == "xl/worksheets/sheet1.xml" else body
    )


def _inline_row(number: int, cells: list[tuple[str, str]]) -> str:
    inner = "".join(f'<c r="{ref}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
    return f'<row r="{number}">{inner}</row>'


def _lying_dimension() -> bytes:
    """A few KB: a header and one row, but the sheet says it spans every row and column Excel has."""
    body = _inline_row(1, [("A", "channels"), ("B", "text")]) + _inline_row(
        2, [("A", "Our Telegram"), ("B", "Hello")]
    )
    return _with_sheet(_sheet_xml(body, dimension="A1:XFD1048576"))


def _zeros(megabytes: int) -> Callable[[Any], None]:
    def write(handle: Any) -> None:
        block = b"\0" * (1024 * 1024)
        for _ in range(megabytes):
            handle.write(block)

    return write


def _huge_shared_strings(count: int) -> bytes:
    strings = "".join(f"<si><t>{i}</t></si>" for i in range(count))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{count}">{strings}</sst>'
    ).encode()
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )

    def change(name: str, body: bytes) -> bytes:
        return body.replace(b"</Types>", override) if name == "[Content_Types].xml" else body

    return _rezip(_workbook(GOOD_ROWS), change, extra={"xl/sharedStrings.xml": xml})


def _api_import(api: Any, name: str, data: bytes, dry_run: bool = True) -> Any:
    path = "/api/v1/plan/import" + ("?dry_run=true" if dry_run else "")
    return api.client.post(path, {"file": SimpleUploadedFile(name, data)}, headers=api._headers())


def test_a_lying_dimension_costs_nothing_and_the_real_rows_import(world: Any) -> None:
    """The 1.6 KB workbook that claims A1:XFD1048576 is read as what it holds: one row."""
    _ws, _owner, api = world
    data = _lying_dimension()
    assert len(data) < 8192
    response, peak = measured(lambda: _api_import(api, "plan.xlsx", data))
    assert response.status_code == 200, response.content
    assert [p["text"] for p in response.json()["posts"]] == ["Hello"]
    assert peak < MEMORY_BOUND, f"{peak / 1e6:.0f} MB"
    assert plan_io.read_table("plan.xlsx", data) == GOOD_ROWS


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "a value in the last row Excel has": (
        lambda: _with_sheet(
            _sheet_xml(
                _inline_row(1, [("A", "channels"), ("B", "text")]) + _inline_row(1048576, [("A", "x")]),
                dimension="A1:XFD1048576",
            )
        ),
        f"more than {plan_io.MAX_ROWS} rows after the header",
    ),
    "too many rows": (
        lambda: _workbook([["channels", "text"], *([["Our Telegram", "x"]] * (plan_io.MAX_ROWS + 1))]),
        f"more than {plan_io.MAX_ROWS} rows after the header",
    ),
    "too many columns": (
        lambda: _workbook(
            [["channels", "text"], ["Our Telegram", "x", *([""] * plan_io.MAX_COLUMNS), "far right"]]
        ),
        f"more than {plan_io.MAX_COLUMNS} columns",
    ),
    "a value in column XFD": (
        lambda: _with_sheet(_sheet_xml(_inline_row(1, [("A", "channels"), ("B", "text"), ("XFD", "x")]))),
        f"more than {plan_io.MAX_COLUMNS} columns",
    ),
    "a zip bomb part": (
        lambda: _rezip(_workbook(GOOD_ROWS), extra={"xl/media/bomb.bin": _zeros(120)}),
        "unpacks to more than 100 MB",
    ),
    "a highly compressed part": (
        lambda: _rezip(_workbook(GOOD_ROWS), extra={"docProps/padding.xml": _zeros(3)}),
        "A part of the workbook (docProps/padding.xml) is compressed more than 200 times",
    ),
    "a big XML part": (
        lambda: _rezip(
            _workbook(GOOD_ROWS), extra={"docProps/custom.xml": os.urandom(3 * 1024 * 1024).hex().encode()}
        ),
        "A part of the workbook (docProps/custom.xml) unpacks to more than 5 MB",
    ),
    "too many parts": (
        lambda: _rezip(
            _workbook(GOOD_ROWS),
            extra={f"xl/parts/{i}.xml": b"<a/>" for i in range(plan_io.XLSX_MAX_ENTRIES)},
        ),
        f"more than {plan_io.XLSX_MAX_ENTRIES} parts",
    ),
    "a huge shared-strings table": (
        lambda: _huge_shared_strings(plan_io.XLSX_MAX_SHARED_STRINGS + 1),
        f"more than {plan_io.XLSX_MAX_SHARED_STRINGS} different texts",
    ),
    "a cell longer than a spreadsheet holds": (
        lambda: _with_sheet(
            _sheet_xml(_inline_row(1, [("A", "channels"), ("B", "x" * (plan_io.MAX_CELL_CHARS + 1))]))
        ),
        f"more than {plan_io.MAX_CELL_CHARS} characters",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_workbooks_are_refused_in_little_memory(world: Any, case: str) -> None:
    _ws, _owner, api = world
    build, expected = HOSTILE[case]
    data = build()
    assert len(data) <= plan_io.MAX_FILE_BYTES
    for dry_run in (True, False):
        response, peak = measured(lambda: _api_import(api, "plan.xlsx", data, dry_run=dry_run))  # noqa: B023  # called at once
        assert response.status_code == 400, response.content
        detail = response.json()["detail"]
        assert expected in detail, detail
        assert peak < MEMORY_BOUND, f"{case}: {peak / 1e6:.0f} MB"
    if "rows" in expected or "columns" in expected or "texts" in expected:
        assert LIMITS in detail  # the refusal names both limits
    assert Post.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "channels,text\n" + "Our Telegram,x\n" * (plan_io.MAX_ROWS + 1),
            f"more than {plan_io.MAX_ROWS} rows after the header",
        ),
        (
            "channels,text\nOur Telegram,x" + "," * plan_io.MAX_COLUMNS + "far right\n",
            f"more than {plan_io.MAX_COLUMNS} columns",
        ),
        (
            "channels,text\nOur Telegram," + "x" * (plan_io.MAX_CELL_CHARS + 1) + "\n",
            f"more than {plan_io.MAX_CELL_CHARS} characters",
        ),
        ("channels,text\nOur Telegram," + "x" * 200_000 + "\n", "The CSV file is broken"),
    ],
)
def test_csv_is_bounded_too(world: Any, content: str, expected: str) -> None:
    _ws, _owner, api = world
    response = _api_import(api, "plan.csv", content.encode())
    assert response.status_code == 400, response.content
    assert expected in response.json()["detail"]
    assert Post.objects.count() == 0


def test_the_row_limit_itself_is_allowed_and_blank_lines_after_it_are_ignored(world: Any) -> None:
    rows = plan_io.read_table(
        "plan.csv", ("channels,text\n" + "Our Telegram,x\n" * plan_io.MAX_ROWS + "\n\n,,\n").encode()
    )
    assert len(rows) == plan_io.MAX_ROWS + 1
    rows = plan_io.read_table(
        "plan.xlsx", _workbook([["channels", "text"], *([["Our Telegram", "x"]] * plan_io.MAX_ROWS)])
    )
    assert len(rows) == plan_io.MAX_ROWS + 1


def test_web_import_page_refuses_a_hostile_workbook(world: Any) -> None:
    ws, owner, _api = world
    browser = Client()
    browser.force_login(owner)
    data = HOSTILE["a value in the last row Excel has"][0]()
    response, peak = measured(
        lambda: browser.post("/plan/import/", {"file": SimpleUploadedFile("plan.xlsx", data)})
    )
    assert response.status_code == 400
    assert f"more than {plan_io.MAX_ROWS} rows after the header" in response.content.decode()
    assert peak < MEMORY_BOUND
    assert Post.objects.filter(workspace=ws).count() == 0


def test_cli_import_of_a_hostile_workbook_exits_non_zero(world: Any, tmp_path: Any) -> None:
    ws, _owner, _api = world
    hostile = tmp_path / "plan.xlsx"
    hostile.write_bytes(HOSTILE["a zip bomb part"][0]())
    result = CliRunner().invoke(cli, ["plan", "import", str(hostile), "--workspace", ws.slug, "--dry-run"])
    assert result.exit_code == 1
    assert "unpacks to more than 100 MB" in result.output
    too_big = tmp_path / "big.csv"
    too_big.write_bytes(b"channels,text\n" + b"x" * (plan_io.MAX_FILE_BYTES + 1))
    result = CliRunner().invoke(cli, ["plan", "import", str(too_big), "--workspace", ws.slug])
    assert result.exit_code == 1 and "larger than 10 MB" in result.output
    assert Post.objects.count() == 0


def test_the_refusal_is_translated(world: Any) -> None:
    from django.utils import translation

    data = HOSTILE["too many columns"][0]()
    with translation.override("ru"), pytest.raises(plan_io.ImportFileError) as caught:
        plan_io.read_table("plan.xlsx", data)
    assert (
        "64" in caught.value.message
        and "5000" in caught.value.message
        and "columns" not in caught.value.message
    )
