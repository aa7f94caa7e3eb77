"""Import and export of the content plan as CSV or XLSX (columns: ``docs/plan-import-format.md``).

An import is all or nothing: every row is checked first; when any row is bad nothing is created
and every bad row is reported with its number as the spreadsheet shows it (the header is row 1).
A dry run checks the same way and reports what would be created.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import secrets
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from xml.etree.ElementTree import ParseError, XMLPullParser

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.channels import service as channels
from rupor.core import clock, config
from rupor.core.timezones import LocalTimeError, to_local, to_utc
from rupor.networks import registry
from rupor.networks.base import Content
from rupor.networks.base import Media as MediaItem
from rupor.planning import compose, content
from rupor.planning import media as media_lib
from rupor.planning.models import Post, Rubric
from rupor.planning.service import PAST_GRACE, PlanningError, PostInput, VariantInput

log = logging.getLogger(__name__)

BASE_COLUMNS = ("date", "time", "channels", "rubric", "title", "text", "media_urls", "status")
#: Columns an import also takes (written by an export only when a post has one).
OPTIONAL_COLUMNS = ("link",)
TEXT_PREFIX = "text_"
IMPORT_STATUSES = (Post.Status.DRAFT, Post.Status.SCHEDULED)
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000  # after the header
MAX_COLUMNS = 64
MAX_CELL_CHARS = 32_767  # what Excel itself allows in a cell
MAX_MEDIA_PER_ROW = 10
IMPORT_MEDIA_MAX_BYTES = 200 * 1024 * 1024
FORMATS = ("csv", "xlsx")

# An XLSX file is a zip of XML parts. These limits are checked on the zip's directory before any
# part is decompressed, so a 10 MB file cannot unpack to gigabytes (a "zip bomb"); the sizes a zip
# declares are enforced by ``zipfile`` while reading, so a lying entry stops at its declared size.
XLSX_MAX_ENTRIES = 500
XLSX_MAX_TOTAL_BYTES = 100 * 1024 * 1024  # all parts together, uncompressed
XLSX_MAX_SHEET_BYTES = 50 * 1024 * 1024  # one worksheet or the shared-strings table, uncompressed
XLSX_MAX_PART_BYTES = 5 * 1024 * 1024  # any other XML part (openpyxl parses these whole)
XLSX_MAX_RATIO = 200  # uncompressed / compressed, for parts over 1 MB
XLSX_MAX_SHARED_STRINGS = (MAX_ROWS + 1) * MAX_COLUMNS  # no more distinct texts than the cells we read
XLSX_MAX_ROW_ELEMENTS = 100_000  # empty formatted rows are tolerated up to this many
_SHEET_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


@dataclass(frozen=True)
class RowProblem:
    row: int  # as the spreadsheet shows it: the header is row 1
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


@dataclass(frozen=True)
class PlannedChannel:
    id: int
    name: str
    network: str
    text: str


@dataclass(frozen=True)
class PlannedPost:
    """One post an import row stands for."""

    row: int
    title: str
    text: str
    rubric: str
    rubric_id: int | None
    status: str
    local_time: dt.datetime | None  # naive, wall-clock in the workspace zone
    scheduled_at: dt.datetime | None  # UTC
    channels: tuple[PlannedChannel, ...]
    media_urls: tuple[str, ...]
    link: str = ""


@dataclass
class ImportReport:
    dry_run: bool
    posts: list[PlannedPost] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})


class ImportFileError(PlanningError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, unknown columns)."""


# -- reading files ------------------------------------------------------------------------


def format_of(filename: str) -> str:
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix not in FORMATS:
        raise ImportFileError(
            _("%(name)s is neither .csv nor .xlsx.") % {"name": filename or _("The file")}, "file"
        )
    return suffix


#: What makes a spreadsheet read a cell as a formula (CSV injection): the ASCII signs, their
#: full-width forms (which some spreadsheet programs also take), and a leading tab or carriage return.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _guard(value: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection): prefix a quote.
    The import takes the quote off again, so an exported plan imports unchanged."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _limits() -> str:
    return _("A plan file may have at most %(rows)s rows after the header and %(columns)s columns.") % {
        "rows": MAX_ROWS,
        "columns": MAX_COLUMNS,
    }


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s rows after the header.") % {"max": MAX_ROWS} + " " + _limits(),
        "file",
    )


def _too_many_columns() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s columns.") % {"max": MAX_COLUMNS} + " " + _limits(),
        "file",
    )


def _too_long_cell() -> ImportFileError:
    return ImportFileError(
        _("A cell has more than %(max)s characters, more than a spreadsheet holds.")
        % {"max": MAX_CELL_CHARS},
        "file",
    )


def _unreadable_xlsx() -> ImportFileError:
    return ImportFileError(_("The file is not a readable XLSX workbook."), "file")


def _unpacks_too_large(part: str = "", limit: int = XLSX_MAX_TOTAL_BYTES) -> ImportFileError:
    if part:
        message = _(
            "A part of the workbook (%(part)s) unpacks to more than %(mb)s MB; it is not a plan Rupor can import. "
            "Save the plan as a new file and try again."
        ) % {"part": part[:80], "mb": limit // (1024 * 1024)}
    else:
        message = _(
            "The workbook unpacks to more than %(mb)s MB; it is not a plan Rupor can import. "
            "Save the plan as a new file and try again."
        ) % {"mb": limit // (1024 * 1024)}
    return ImportFileError(message, "file")


def _compressed_too_much(part: str) -> ImportFileError:
    return ImportFileError(
        _(
            "A part of the workbook (%(part)s) is compressed more than %(ratio)s times, as zip bombs are; "
            "it is not a plan Rupor can import."
        )
        % {"part": part[:80], "ratio": XLSX_MAX_RATIO},
        "file",
    )


def _bounded(rows: Iterable[list[str]]) -> list[list[str]]:
    """At most the header and MAX_ROWS rows, each of at most MAX_COLUMNS cells of MAX_CELL_CHARS."""
    table: list[list[str]] = []
    for cells in rows:
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells are no columns
        if len(table) > MAX_ROWS:
            if cells:
                raise _too_many_rows()
            continue  # empty lines after the last row
        if len(cells) > MAX_COLUMNS:
            raise _too_many_columns()
        if any(len(c) > MAX_CELL_CHARS for c in cells):
            raise _too_long_cell()
        table.append(cells)
    while table and not any(table[-1]):
        table.pop()
    return table


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The CSV file is not UTF-8 text; save it as “CSV UTF-8”."), "file") from exc
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV text file."), "file")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return _bounded([_unguard(c.strip()) for c in row] for row in reader)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is broken: %(error)s.") % {"error": exc}, "file") from exc


def _check_zip(archive: zipfile.ZipFile) -> str | None:
    """Refuse a workbook whose parts would unpack too large; returns the shared-strings part's name."""
    entries = archive.infolist()
    if len(entries) > XLSX_MAX_ENTRIES:
        raise ImportFileError(
            _("The workbook has more than %(max)s parts; it is not a plan Rupor can import.")
            % {"max": XLSX_MAX_ENTRIES},
            "file",
        )
    if sum(e.file_size for e in entries) > XLSX_MAX_TOTAL_BYTES:
        raise _unpacks_too_large()
    names = {e.filename for e in entries}
    strings = None
    if "[Content_Types].xml" in names:
        types = archive.getinfo("[Content_Types].xml")
        if types.file_size > XLSX_MAX_PART_BYTES:
            raise _unpacks_too_large(types.filename, XLSX_MAX_PART_BYTES)
        for event, element in _iterparse(archive, types, XLSX_MAX_PART_BYTES):
            if (
                event == "start"
                and element.tag.endswith("}Override")
                and element.get("ContentType") == _SHARED_STRINGS_TYPE
            ):
                strings = (element.get("PartName") or "").lstrip("/")
                break
    for entry in entries:
        big_part = entry.filename.startswith("xl/worksheets/") or entry.filename == strings
        is_xml = entry.filename.endswith((".xml", ".rels"))
        limit = XLSX_MAX_SHEET_BYTES if big_part or not is_xml else XLSX_MAX_PART_BYTES
        if entry.file_size > limit:
            raise _unpacks_too_large(entry.filename, limit)
        if entry.file_size > 1024 * 1024 and entry.file_size > XLSX_MAX_RATIO * max(entry.compress_size, 1):
            raise _compressed_too_much(entry.filename)
    return strings if strings in names else None


def _iterparse(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo | str, max_bytes: int
) -> Iterator[tuple[str, Any]]:
    """("start"/"end", element) events of one XML part, read in chunks and never past ``max_bytes``.

    Once the caller has seen an element end, the element is dropped from its parent, so memory
    stays flat however many elements the part has (read what you need at "start" or "end").
    """
    parser = XMLPullParser(events=("start", "end"))
    open_elements: list[Any] = []
    read = 0
    try:
        with archive.open(entry) as source:
            while True:
                chunk = source.read(64 * 1024)
                read += len(chunk)
                if read > max_bytes:
                    raise _unpacks_too_large(str(getattr(entry, "filename", entry)), max_bytes)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                for event, element in parser.read_events():  # type: ignore[misc]  # only start/end events, each a pair
                    if event == "start":
                        open_elements.append(element)
                    yield event, element
                    if event == "end":
                        open_elements.pop()
                        if open_elements:
                            open_elements[-1].clear()
                if not chunk:
                    return
    except (ParseError, zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise _unreadable_xlsx() from exc


_STRING_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def _check_shared_strings(archive: zipfile.ZipFile, name: str) -> None:
    """A table of more distinct texts than the cells we read would only fill memory. The items are
    counted in the raw XML (no parsing, so this takes a moment even for a hostile table)."""
    count = read = 0
    tail = b""
    try:
        with archive.open(name) as source:
            while chunk := source.read(256 * 1024):
                read += len(chunk)
                if read > XLSX_MAX_SHEET_BYTES:
                    raise _unpacks_too_large(name, XLSX_MAX_SHEET_BYTES)
                window = tail + chunk  # an item cut between two chunks is found whole here
                count += sum(
                    1 for m in _STRING_ITEM.finditer(window) if m.end() > len(tail)
                )  # not counted before
                tail = window[-40:]
                if count > XLSX_MAX_SHARED_STRINGS:
                    raise ImportFileError(
                        _("The workbook holds more than %(max)s different texts.")
                        % {"max": XLSX_MAX_SHARED_STRINGS}
                        + " "
                        + _limits(),
                        "file",
                    )
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise _unreadable_xlsx() from exc


_CELL_REF = re.compile(r"([A-Za-z]{1,3})?(\d+)?")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _sheet_extent(archive: zipfile.ZipFile, path: str) -> tuple[int, int]:
    """The last row and column that hold a value, found by reading the sheet's cells themselves
    (the sheet's declared dimension is not trusted); refuses a sheet beyond the limits."""
    last_row = last_column = 0
    row_number = column = rows_seen = 0
    cell_has_value = False
    for event, element in _iterparse(archive, path, XLSX_MAX_SHEET_BYTES):
        tag = element.tag
        if event == "start":
            if tag == _SHEET_MAIN + "row":
                rows_seen += 1
                if rows_seen > XLSX_MAX_ROW_ELEMENTS:
                    raise _too_many_rows()
                ref = element.get("r")
                row_number = int(ref) if ref and ref.isdigit() else row_number + 1
                column = 0
            elif tag == _SHEET_MAIN + "c":
                match = _CELL_REF.fullmatch(element.get("r") or "")
                if match is None:
                    raise _unreadable_xlsx()
                column = _column_number(match[1]) if match[1] else column + 1
                cell_has_value = False
        elif tag in (_SHEET_MAIN + "v", _SHEET_MAIN + "t"):
            text = element.text or ""
            if len(text) > MAX_CELL_CHARS:
                raise _too_long_cell()
            cell_has_value = cell_has_value or bool(text)
        elif tag == _SHEET_MAIN + "c" and cell_has_value:
            if column > MAX_COLUMNS:
                raise _too_many_columns()
            if row_number > MAX_ROWS + 1:
                raise _too_many_rows()
            last_row, last_column = max(last_row, row_number), max(last_column, column)
    return last_row, last_column


def _read_xlsx(data: bytes) -> list[list[str]]:
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable_xlsx() from exc
    with archive:
        strings = _check_zip(archive)
        if strings is not None:
            _check_shared_strings(archive, strings)
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # a damaged workbook raises anything from KeyError to zipfile.BadZipFile
            raise _unreadable_xlsx() from exc
        try:
            if not book.worksheets:
                raise _unreadable_xlsx()
            sheet = book.worksheets[0]
            path = getattr(sheet, "_worksheet_path", None)
            if not isinstance(path, str) or path not in archive.namelist():
                raise _unreadable_xlsx()
            last_row, last_column = _sheet_extent(archive, path)
            if not last_row:
                return []
            # max_row and max_col are given, so openpyxl never pads rows to the declared dimension.
            rows = sheet.iter_rows(min_row=1, max_row=last_row, max_col=last_column, values_only=True)
            return _bounded([_unguard(_cell(v)) for v in row] for row in rows)
        except ImportFileError:
            raise
        except Exception as exc:
            raise _unreadable_xlsx() from exc
        finally:
            book.close()


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Rows of cells as text (the header first), read within fixed bounds of size, rows, columns and
    cell length whatever the file claims about itself."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(max)s MB.") % {"max": MAX_FILE_BYTES // (1024 * 1024)}, "file"
        )
    return _read_csv(data) if format_of(filename) == "csv" else _read_xlsx(data)


def _columns(header: Sequence[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    known = set(BASE_COLUMNS) | set(OPTIONAL_COLUMNS) | {TEXT_PREFIX + key for key in registry.DISPLAY_NAMES}
    unknown = [c for c in columns if c and c not in known]
    problems = []
    if unknown:
        problems.append(
            _("Unknown column(s): %(unknown)s. Columns are %(columns)s and text_<network> (%(networks)s).")
            % {
                "unknown": ", ".join(unknown),
                "columns": ", ".join((*BASE_COLUMNS, *OPTIONAL_COLUMNS)),
                "networks": ", ".join(registry.DISPLAY_NAMES),
            }
        )
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        problems.append(_("Column(s) appear twice: %(columns)s.") % {"columns": ", ".join(duplicates)})
    if "channels" not in columns:
        problems.append(_("The header has no 'channels' column."))
    if "text" not in columns and not any(c.startswith(TEXT_PREFIX) for c in columns):
        problems.append(_("The header has no 'text' (or text_<network>) column."))
    if problems:
        raise ImportFileError(" ".join(problems), "file", errors=[])
    return columns


# -- checking rows ------------------------------------------------------------------------


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")


def _parse_date(value: str) -> dt.date:
    value = value.strip()
    if " " in value:  # a datetime cell from a spreadsheet
        value = value.split(" ", 1)[0]
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("date %(value)s is not YYYY-MM-DD") % {"value": repr(value)}) from None


def _parse_time(value: str) -> dt.time:
    match = _TIME.fullmatch(value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(_("time %(value)s is not HH:MM (24-hour)") % {"value": repr(value)})
    return dt.time(int(match[1]), int(match[2]))


def _split(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n]", value) if p.strip()]


class _Named(Protocol):
    """A channel as the export names it (a variant's channel row)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class _Lookup:
    def __init__(self, workspace_id: int) -> None:
        self.channels = channels.workspace_channels(workspace_id)
        self.by_id = {c.id: c for c in self.channels}
        self.by_name: dict[str, list[channels.ChannelRef]] = {}
        for c in self.channels:
            self.by_name.setdefault(c.name.strip().lower(), []).append(c)
        self.rubrics = {r.name.strip().lower(): r for r in Rubric.objects.filter(workspace_id=workspace_id)}

    def channel(self, ref: str) -> channels.ChannelRef:
        if ref.isdigit() and int(ref) in self.by_id:
            return self.by_id[int(ref)]
        found = self.by_name.get(ref.lower(), [])
        if len(found) > 1:
            raise ValueError(
                _("channel name %(name)s is ambiguous; use its id (%(ids)s)")
                % {"name": repr(ref), "ids": ", ".join(str(c.id) for c in found)}
            )
        if not found:
            raise ValueError(_("channel %(name)s does not exist in this workspace") % {"name": repr(ref)})
        return found[0]


def _fits(channel: channels.ChannelRef, text: str, media_count: int, link: str) -> list[str]:
    """What keeps the row's variant from fitting its channel: the composer's own check
    (``content.content_problems``: the network's limits and the link), with placeholder media
    until the files are downloaded."""
    placeholders = tuple(
        MediaItem.from_bytes("photo", f"media{i}", "image/jpeg", b"") for i in range(media_count)
    )
    found = content.content_problems(channel, Content(text=text, media=placeholders, link=link or None))
    return [p.message.rstrip(".") for p in found]


def check_rows(actor: Actor, workspace: accounts.WorkspaceInfo, table: list[list[str]]) -> ImportReport:  # noqa: C901 - one check per column of the import format
    """Check every row; no side effects."""
    report = ImportReport(dry_run=True)
    if not table or not any(table[0]):
        raise ImportFileError(_("The file is empty: the first row must name the columns."), "file")
    columns = _columns(table[0])
    if len(table) - 1 > MAX_ROWS:
        count = len(table) - 1
        raise ImportFileError(
            ngettext(
                "The file has %(rows)s row; import at most %(max)s at a time.",
                "The file has %(rows)s rows; import at most %(max)s at a time.",
                count,
            )
            % {"rows": count, "max": MAX_ROWS},
            "file",
        )
    lookup = _Lookup(workspace.id)
    now = clock.now()
    for index, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            report.problems.append(RowProblem(index, _("the row has more cells than the header has columns")))
            continue
        row = {col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(columns) if col}
        errors: list[str] = []
        # time
        local_time = scheduled_at = None
        date_text, time_text = row.get("date", ""), row.get("time", "")
        try:
            if date_text and " " in date_text.strip() and not time_text:
                date_text, time_text = date_text.strip().split(" ", 1)
            if date_text and not time_text:
                errors.append(_("a date needs a time (HH:MM)"))
            elif time_text and not date_text:
                errors.append(_("a time needs a date (YYYY-MM-DD)"))
            elif date_text:
                local_time = dt.datetime.combine(_parse_date(date_text), _parse_time(time_text))
                scheduled_at = to_utc(local_time, workspace.timezone)
        except (ValueError, LocalTimeError) as exc:
            errors.append(str(exc).rstrip("."))
            local_time = scheduled_at = None
        time_problem = bool(errors)  # only date and time problems so far
        # status
        status = (row.get("status") or Post.Status.DRAFT).lower()
        if status not in IMPORT_STATUSES:
            errors.append(_("status %(status)s is not draft or scheduled") % {"status": repr(status)})
        elif status == Post.Status.SCHEDULED:
            if not actor.can(Perm.POSTS_PUBLISH):
                errors.append(_("your role can import drafts but not scheduled posts"))
            if scheduled_at is None and not time_problem:
                errors.append(_("a scheduled post needs a date and a time"))
            elif scheduled_at is not None and scheduled_at < now - PAST_GRACE:
                errors.append(_("%(time)s is in the past") % {"time": f"{local_time:%Y-%m-%d %H:%M}"})
        # rubric
        rubric_name = row.get("rubric", "")
        rubric = lookup.rubrics.get(rubric_name.lower()) if rubric_name else None
        if rubric_name and rubric is None:
            errors.append(_("rubric %(name)s does not exist in this workspace") % {"name": repr(rubric_name)})
        title = row.get("title", "")
        if len(title) > 200:
            errors.append(_("the title is longer than 200 characters"))
        # media
        media_urls = _split(row.get("media_urls", ""))
        if len(media_urls) > MAX_MEDIA_PER_ROW:
            errors.append(
                ngettext(
                    "at most %(max)s media URL per row",
                    "at most %(max)s media URLs per row",
                    MAX_MEDIA_PER_ROW,
                )
                % {"max": MAX_MEDIA_PER_ROW}
            )
        for url in media_urls:
            problem = media_lib.check_remote_url(url)
            if problem:
                errors.append(problem.rstrip("."))
        # channels and their texts
        text = row.get("text", "")
        link = row.get("link", "")
        planned: list[PlannedChannel] = []
        refs = _split(row.get("channels", ""))
        if not refs:
            errors.append(_("no channels"))
        seen: set[int] = set()
        for ref in refs:
            try:
                channel = lookup.channel(ref)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if channel.id in seen:
                continue
            seen.add(channel.id)
            own = row.get(TEXT_PREFIX + channel.network, "")
            variant_text = own or text
            for problem in _fits(channel, variant_text, len(media_urls), link):
                errors.append(f"{channel.name}: {problem}")
            planned.append(PlannedChannel(channel.id, channel.name, channel.network, variant_text))
        if errors:
            report.problems.extend(RowProblem(index, e) for e in errors)
            continue
        report.posts.append(
            PlannedPost(
                index,
                title,
                text,
                rubric.name if rubric else "",
                rubric.pk if rubric else None,
                status,
                local_time,
                scheduled_at,
                tuple(planned),
                tuple(media_urls),
                link,
            )
        )
    if not report.posts and not report.problems:
        raise ImportFileError(_("The file has a header but no rows."), "file")
    return report


# -- importing ----------------------------------------------------------------------------


def import_plan(actor: Actor, filename: str, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Check a CSV/XLSX plan and (unless ``dry_run``) create its posts, all or nothing."""
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow importing posts."), status=403)
    workspace = accounts.workspace_info(actor.workspace_id)
    table = read_table(filename, data)
    report = check_rows(actor, workspace, table)
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    # Media first (network I/O stays outside the transaction); any failure stops the import.
    # Each download is spooled to disk beyond a few MB, so a plan of many videos does not fill memory.
    downloads: dict[str, tuple[str, File[bytes]]] = {}
    try:
        return _import_checked(actor, filename, report, downloads)
    finally:
        for _name, handle in downloads.values():
            handle.close()


def _import_checked(
    actor: Actor, filename: str, report: ImportReport, downloads: dict[str, tuple[str, File[bytes]]]
) -> ImportReport:
    for post in report.posts:
        for url in post.media_urls:
            if url in downloads:
                continue
            try:
                name, handle = media_lib.fetch_remote(url, max_bytes=IMPORT_MEDIA_MAX_BYTES)
                downloads[url] = (name, handle)
                media_lib.inspect(handle, name)
            except PlanningError as exc:
                report.problems.append(RowProblem(post.row, exc.message.rstrip(".")))
    if report.problems:
        return report
    try:
        with transaction.atomic():
            for post in report.posts:
                try:
                    media_ids = tuple(
                        media_lib.save_media(actor, *downloads[url]).pk for url in post.media_urls
                    )
                    saved = compose.compose(
                        compose.ComposeRequest(
                            actor,
                            PostInput(
                                title=post.title,
                                text=post.text,
                                rubric_id=post.rubric_id,
                                status=post.status,
                                scheduled_at=post.scheduled_at,
                                variants=tuple(
                                    VariantInput(c.id, text=c.text, link=post.link, media_ids=media_ids)
                                    for c in post.channels
                                ),
                            ),
                            intent=compose.Intent.SCHEDULE
                            if post.status == Post.Status.SCHEDULED
                            else compose.Intent.SAVE,
                        )
                    ).raise_if_refused()
                    report.created_ids.append(saved.pk)
                except PlanningError as exc:
                    details = "; ".join(p.message for p in exc.errors) or exc.message
                    report.problems.append(RowProblem(post.row, details.rstrip(".")))
            if report.problems:
                raise _Rollback
    except _Rollback:
        report.created_ids = []
        return report
    record(
        actor.workspace_id,
        actor,
        "plan.import",
        "workspace",
        actor.workspace_id,
        f"{len(report.created_ids)} posts from {filename}",
    )
    return report


class _Rollback(Exception):
    pass


# -- staging: check, preview, commit -------------------------------------------------------

#: How long a checked file waits for the person to confirm the import.
STAGE_TTL = dt.timedelta(hours=1)
_STAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True)
class StagedImport:
    """A checked plan file kept for the confirm step (the file itself waits on disk, private)."""

    token: str
    fmt: str
    name: str
    workspace_id: int
    at: float  # when it was checked, POSIX seconds of clock.now()

    def as_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "fmt": self.fmt,
            "name": self.name,
            "workspace": self.workspace_id,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, entry: Any) -> StagedImport | None:
        """The staged import :meth:`as_dict` wrote, or ``None`` for anything else."""
        if not isinstance(entry, dict):
            return None
        token, fmt = str(entry.get("token", "")), str(entry.get("fmt", ""))
        if not _STAGE_TOKEN.fullmatch(token) or fmt not in FORMATS:
            return None
        try:
            workspace_id, at = int(entry.get("workspace", 0)), float(entry.get("at", 0))
        except (TypeError, ValueError):
            return None
        return cls(token, fmt, str(entry.get("name") or f"plan.{fmt}")[:200], workspace_id, at)

    @property
    def path(self) -> Path:
        return _stage_dir() / f"{self.token}.{self.fmt}"


@dataclass(frozen=True)
class Preview:
    """What an import would create; ``staged`` (kept for :func:`commit`) only when every row is good."""

    name: str
    report: ImportReport
    staged: StagedImport | None


class StaleImport(PlanningError):
    """The preview to confirm is gone (expired, discarded, or another workspace's)."""


def _stage_dir() -> Path:
    folder = config.home() / "tmp" / "plan-import"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def sweep_staged() -> None:
    """Delete previews older than :data:`STAGE_TTL` (the confirm step must follow soon).

    File times are the operating system's, so this compares with its clock, not ``clock.now()``.
    """
    limit = time.time() - STAGE_TTL.total_seconds()
    for item in _stage_dir().glob("*"):
        try:
            if item.is_file() and item.stat().st_mtime < limit:
                item.unlink()
        except OSError:
            log.warning("could not remove the stale import preview %s", item.name)


def preview(actor: Actor, upload: File[bytes]) -> Preview:
    """Check an uploaded plan file (nothing is created) and keep it for :func:`commit` when it is good."""
    sweep_staged()
    name = upload.name or ""
    fmt = format_of(name)
    if (upload.size or 0) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}, "file"
        )
    data = b"".join(upload.chunks())  # at most MAX_FILE_BYTES (checked above); read_table bounds the rest
    report = import_plan(actor, name, data, dry_run=True)
    if not report.ok:
        return Preview(name, report, None)
    token = secrets.token_urlsafe(24)
    staged = StagedImport(token, fmt, name[:200], actor.workspace_id, clock.now().timestamp())
    fd = os.open(staged.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Preview(name, report, staged)


def discard(staged: StagedImport | None) -> None:
    """Forget a preview (its file is deleted)."""
    if staged is not None:
        staged.path.unlink(missing_ok=True)


def commit(actor: Actor, staged: StagedImport | None) -> ImportReport:
    """Import a previewed file, checked again (the plan may have changed since), all or nothing."""
    age = clock.now().timestamp() - staged.at if staged is not None else 0.0
    if (
        staged is None
        or staged.workspace_id != actor.workspace_id
        or not staged.path.is_file()
        or age > STAGE_TTL.total_seconds()
    ):
        discard(staged)
        raise StaleImport(_("This preview is no longer available; upload the file again."), status=409)
    try:
        data = staged.path.read_bytes()
    finally:
        discard(staged)
    return import_plan(actor, staged.name, data)


# -- exporting ----------------------------------------------------------------------------


def export_rows(
    workspace_id: int, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[list[str]]:
    """The plan as rows (header first) in the import format; cancelled and rejected posts are left out."""
    workspace = accounts.workspace_info(workspace_id)
    qs = (
        Post.objects.filter(workspace_id=workspace.id)
        .exclude(status__in=(Post.Status.CANCELLED, Post.Status.REJECTED))
        .select_related("rubric")
        .prefetch_related("variants__channel", "variants__variantmedia_set__media")
        .order_by("scheduled_at", "id")
    )
    if start is not None:
        qs = qs.filter(scheduled_at__gte=start)
    if end is not None:
        qs = qs.filter(scheduled_at__lt=end)
    posts = list(qs)
    names: dict[str, int] = {}
    for known in channels.workspace_channels(workspace.id):
        key = known.name.strip().lower()
        names[key] = names.get(key, 0) + 1

    def ref(channel: _Named) -> str:
        unique = (
            names.get(channel.name.strip().lower()) == 1
            and not channel.name.strip().isdigit()
            and "," not in channel.name
        )
        return channel.name.strip() if unique else str(channel.id)

    networks = sorted({v.channel.network for p in posts for v in p.variants.all() if v.text != p.text})
    with_link = any(v.link for p in posts for v in p.variants.all())
    header = [
        "date",
        "time",
        "channels",
        "rubric",
        "title",
        "text",
        *(TEXT_PREFIX + n for n in networks),
        *(["link"] if with_link else []),
        "media_urls",
        "status",
    ]
    rows = [header]
    for post in posts:
        local = to_local(post.scheduled_at, workspace.timezone) if post.scheduled_at else None
        variants = list(post.variants.all())
        per_network: dict[str, str] = {}
        for v in variants:
            if v.text != post.text:
                per_network.setdefault(v.channel.network, v.text)
        urls: list[str] = []
        for v in variants[:1]:
            urls = [media_lib.media_url(vm.media) or "" for vm in v.variantmedia_set.all()]
        rows.append(
            [
                local.strftime("%Y-%m-%d") if local else "",
                local.strftime("%H:%M") if local else "",
                ", ".join(ref(v.channel) for v in variants),
                post.rubric.name if post.rubric else "",
                post.title,
                post.text,
                *(per_network.get(n, "") for n in networks),
                *([next((v.link for v in variants if v.link), "")] if with_link else []),
                ", ".join(u for u in urls if u),
                Post.Status.SCHEDULED if post.status == Post.Status.SCHEDULED else Post.Status.DRAFT,
            ]
        )
    return rows


def render(rows: Iterable[Sequence[str]], fmt: str) -> bytes:
    """CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read Cyrillic right) or XLSX."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for row in rows:
            writer.writerow([_guard(str(cell)) for cell in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Plan"
        for row in rows:
            sheet.append(list(row))
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                cell.data_type = (
                    "s"  # text cells throughout: a text starting with "=" never becomes a formula
                )
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                    cell.quotePrefix = True  # and stays text when someone edits the cell
        for cell in sheet[1]:
            cell.font = openpyxl.styles.Font(bold=True)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    raise PlanningError(
        _("%(format)s is not an export format; use csv or xlsx.") % {"format": repr(fmt)}, "format"
    )


def export_plan(
    workspace_id: int, fmt: str, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> bytes:
    return render(export_rows(workspace_id, start=start, end=end), fmt)
