"""What every .xlsx the service writes shares: a title row, Chinese headers on a frozen row, column
widths, thin borders and wrapped text, so files look the same in Excel, WPS and LibreOffice."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from app.models._base import local_date
from app.services.errors import Invalid

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
SUBTOTAL = PatternFill("solid", fgColor="F2F2F2")

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Columns = tuple[tuple[str, int], ...]  # (header, width in characters)

# Text a spreadsheet program (or a CSV made from the file) could take for a formula or a command.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Imports (frameworks, unit lists) are a few hundred rows: these limits leave a wide margin and keep a
# hostile file from costing more than a fraction of a second.
MAX_MEMBERS = 200
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for members above RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_ROWS = 10_000
MAX_CELLS = 200_000
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")


def workbook() -> Workbook:
    """A new, empty workbook (sheets are added with sheet())."""
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    return wb


def sheet(wb: Workbook, title: str) -> Worksheet:
    """A new sheet named title (sheet names are ours, never a user's)."""
    return wb.create_sheet(title)


def cell_value(value: Any) -> tuple[Any, bool]:
    """The rule every value of every .xlsx the service writes passes (put, and StreamedSheet's rows): what the cell
    holds, and whether it carries the quote prefix.

    Text is always stored as text, never as a formula or an error value: a title a unit or an office typed
    ("=HYPERLINK(...)", "+1", "-2", "@SUM(...)", a leading tab or CR) stays exactly what was typed, marked
    with a quote prefix so Excel and WPS keep it as text even after the cell is edited. Characters XML
    cannot hold (C0 controls) are dropped rather than breaking the file."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return value, value.startswith(FORMULA_START)
    return value, False


def put(cell: Any, value: Any) -> None:
    """Write one value into one openpyxl cell, by cell_value's rule: text as text (quote-prefixed where it could
    be taken for a formula), dates with a date format."""
    value, quoted = cell_value(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if quoted:
            cell.quotePrefix = True
    elif isinstance(value, date | datetime):
        cell.number_format = "yyyy-mm-dd"


def header(ws: Worksheet, title: str, columns: Columns) -> None:
    """Row 1: the title across all columns; row 2: the column headers, frozen with the title above."""
    put(ws.cell(row=1, column=1), title)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    for i, (name, width) in enumerate(columns, start=1):
        cell = ws.cell(row=2, column=i)
        put(cell, name)
        cell.font, cell.fill, cell.border = Font(bold=True), _HEAD, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"


def row(ws: Worksheet, values: Sequence[Any], *, fill: PatternFill | None = None, bold: bool = False) -> None:
    """Append one data row (through put), with borders and wrapping (a fill and bold for subtotal rows)."""
    number = ws.max_row + 1
    for column, value in enumerate(values, start=1):
        cell = ws.cell(row=number, column=column)
        put(cell, value)
        cell.border, cell.alignment = _BORDER, _WRAP
        if fill is not None:
            cell.fill = fill
        if bold:
            cell.font = Font(bold=True)


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes."""
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


_EPOCH = date(1899, 12, 30)  # day 0 of a spreadsheet's date serials (1900 date system)
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_DIMENSION = re.compile(r'<dimension ref="[^"]*"\s*/>')


class StreamedSheet:
    """A one-sheet workbook for exports of thousands of rows (the assignment ledger): the title and header rows
    are openpyxl's, as in every other file, but data rows become sheet XML text as they come, never cell objects,
    and are written into the saved file's sheet in one piece. openpyxl's cells cost about 40 µs each, so a
    13,740-row ledger took many seconds; this is the same file (the same styles, values and text rule, cell_value)
    in a fraction of that. Rows are plain values: text, numbers, dates, or None for an empty cell."""

    def __init__(self, sheet_title: str, title: str, columns: Columns) -> None:
        self._wb = workbook()
        ws = sheet(self._wb, sheet_title)
        header(ws, title, columns)
        self._letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
        self._style = {kind: self._register(kind) for kind in ("text", "quoted", "date")}
        self._rows: list[str] = []
        self._next = 3  # the first data row, under the title and the header

    def _register(self, kind: str) -> int:
        """The workbook's style index of a data cell (thin borders, wrapped text) that is plain, quote-prefixed
        text, or a date: a cell outside the sheet is styled, so the workbook lists the style when it saves."""
        cell = Cell(self._wb.worksheets[0])
        cell.border, cell.alignment = _BORDER, _WRAP
        if kind == "quoted":
            cell.quotePrefix = True
        elif kind == "date":
            cell.number_format = "yyyy-mm-dd"
        return cell.style_id

    def row(self, values: Sequence[Any]) -> None:
        """Append one data row (each value by cell_value's rule), with borders and wrapping."""
        self._rows.append(self._row_xml(values))

    def _row_xml(self, values: Sequence[Any]) -> str:
        n = self._next
        self._next += 1
        cells = []
        for letter, raw in zip(self._letters, values, strict=False):
            value, quoted = cell_value(raw)
            ref = f"{letter}{n}"
            if value is None or value == "":
                cells.append(f'<c r="{ref}" s="{self._style["text"]}"/>')
            elif isinstance(value, str):
                style = self._style["quoted" if quoted else "text"]
                text = value.translate(_XML_ESCAPES)
                cells.append(f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}" s="{self._style["text"]}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, datetime | date):
                day = local_date(value) if isinstance(value, datetime) else value
                cells.append(f'<c r="{ref}" s="{self._style["date"]}"><v>{(day - _EPOCH).days}</v></c>')
            else:
                cells.append(f'<c r="{ref}" s="{self._style["text"]}"><v>{value}</v></c>')
        return f'<row r="{n}">{"".join(cells)}</row>'

    def to_bytes(self) -> bytes:
        """The .xlsx: openpyxl's file with the data rows spliced into its sheet (and its dimension widened)."""
        skeleton = zipfile.ZipFile(BytesIO(to_bytes(self._wb)))
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
            for info in skeleton.infolist():
                data = skeleton.read(info)
                if _WORKSHEET.match(info.filename):
                    last = f"{self._letters[-1]}{max(self._next - 1, 2)}"
                    text = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>', data.decode(), count=1)
                    head, tail = text.rsplit("</sheetData>", 1)
                    data = "".join([head, *self._rows, "</sheetData>", tail]).encode()
                book.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        return out.getvalue()

    def stream(self, rows: Iterable[Sequence[Any]], *, flush_every: int = 500) -> Iterator[bytes]:
        """The .xlsx as it is written, for exports of any length (the audit trail): the same file as to_bytes
        (without the optional dimension, unknown until the end), rows taken from rows as they come and the
        compressed bytes handed on every flush_every rows, so neither the rows nor the file are ever whole
        in memory (the ZIP is written with data descriptors, as for a stream that cannot seek)."""
        skeleton = zipfile.ZipFile(BytesIO(to_bytes(self._wb)))
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as book:
            for info in skeleton.infolist():
                data = skeleton.read(info)
                if not _WORKSHEET.match(info.filename):
                    book.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                    continue
                head, tail = _DIMENSION.sub("", data.decode(), count=1).rsplit("</sheetData>", 1)
                member = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                member.compress_type = zipfile.ZIP_DEFLATED
                with book.open(member, "w") as out:
                    out.write(head.encode())
                    for n, values in enumerate(rows, start=1):
                        out.write(self._row_xml(values).encode())
                        if n % flush_every == 0:
                            yield sink.take()
                    out.write(f"</sheetData>{tail}".encode())
                yield sink.take()
        yield sink.take()


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken away as they come (zipfile then writes a stream)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        """What was written since the last take."""
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


def open_workbook(raw: bytes, *, code: str) -> Any:
    """The workbook in raw .xlsx bytes (formulas read as their cached values), or Invalid with code.

    What the file would inflate to is checked from the ZIP's central directory first, and its rows and
    cells counted in a stream, before openpyxl parses anything: a small file that expands to hundreds of
    megabytes of XML (a "zip bomb") is refused in milliseconds instead of taking minutes and gigabytes."""
    try:
        with zipfile.ZipFile(BytesIO(raw)) as archive:
            _check_archive(archive, code=code)
        return load_workbook(BytesIO(raw), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as exc:
        raise Invalid("无法读取该 Excel 文件，请另存为 .xlsx 后重试", code=code) from exc


def _too_big(code: str, what: str) -> Invalid:
    return Invalid(
        f"该 Excel 文件{what}，超出导入上限，疑似异常文件，未读取；请删去多余内容后重试", code=f"{code}_too_big"
    )


def _check_archive(archive: zipfile.ZipFile, *, code: str) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise _too_big(code, f"包含 {len(members)} 个部件")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise _too_big(code, f"解压后超过 {MAX_UNPACKED_BYTES // (1024 * 1024)} MB")
    for m in members:
        if m.file_size > RATIO_FLOOR_BYTES and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise _too_big(code, f"的部件 {m.filename} 压缩比异常（{m.file_size // max(m.compress_size, 1)} 倍）")
    rows = cells = 0
    for m in members:
        if not _WORKSHEET.match(m.filename):
            continue
        tail = b""
        # zipfile never yields more than the size the directory declares (and checks the CRC at the end).
        with archive.open(m) as stream:
            while chunk := stream.read(1 << 20):
                text = tail + chunk
                # A tag wholly inside the carried-over tail was counted with the previous chunk.
                rows += sum(1 for t in _ROW_TAG.finditer(text) if t.end() > len(tail))
                cells += sum(1 for t in _CELL_TAG.finditer(text) if t.end() > len(tail))
                tail = text[-16:]
                if rows > MAX_ROWS:
                    raise _too_big(code, f"的工作表行数超过 {MAX_ROWS} 行")
                if cells > MAX_CELLS:
                    raise _too_big(code, f"的单元格超过 {MAX_CELLS} 个")


class SheetReader:
    """Reads data rows under a frozen header (row 2), collecting every problem with its sheet and cell."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.errors: list[dict[str, str]] = []

    def problem(self, loc: str, msg: str) -> None:
        self.errors.append({"loc": loc, "msg": msg})

    def rows(self, title: str, columns: Columns, *, required: bool = True) -> list[tuple[int, dict[str, str]]]:
        """(row number, {header: text}) of a sheet's data rows; a missing sheet or header is a problem."""
        if title not in self.wb.sheetnames:
            if required:
                self.problem(title, f"缺少工作表“{title}”")
            return []
        ws: Worksheet = self.wb[title]
        header = [str(c.value).strip() if c.value is not None else "" for c in ws[2]]
        missing = [name for name, _ in columns if name not in header]
        if missing:
            self.problem(f"{title}!2", f"第2行缺少列：{'、'.join(missing)}")
            return []
        out = []
        for number, row in enumerate(ws.iter_rows(min_row=3, values_only=True), start=3):
            values = {h: ("" if v is None else str(v).strip()) for h, v in zip(header, row, strict=False) if h}
            if any(values.values()):
                out.append((number, values))
        return out

    def number(self, loc: str, text: str) -> int | None:
        try:
            value = float(text)
            if value == int(value) and value >= 1:
                return int(value)
        except ValueError:
            pass
        self.problem(loc, f"序号“{text}”应为正整数")
        return None
