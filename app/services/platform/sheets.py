"""What every .xlsx the service writes shares: a title row, Chinese headers on a frozen row, column
widths, thin borders and wrapped text, so files look the same in Excel, WPS and LibreOffice."""

from __future__ import annotations

import zipfile
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from app.services.errors import Invalid

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
SUBTOTAL = PatternFill("solid", fgColor="F2F2F2")

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Columns = tuple[tuple[str, int], ...]  # (header, width in characters)


def header(ws: Worksheet, title: str, columns: Columns) -> None:
    """Row 1: the title across all columns; row 2: the column headers, frozen with the title above."""
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([name for name, _ in columns])
    for i, (_, width) in enumerate(columns, start=1):
        cell = ws.cell(row=2, column=i)
        cell.font, cell.fill, cell.border = Font(bold=True), _HEAD, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"


def style_row(ws: Worksheet, fill: PatternFill | None = None, bold: bool = False) -> None:
    """Borders and wrapping on the last row appended (a fill and bold for subtotal rows). Text that starts
    with "=" stays text: a title a unit typed must never become a formula in the office's spreadsheet."""
    for cell in ws[ws.max_row]:
        cell.border, cell.alignment = _BORDER, _WRAP
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"
        if fill is not None:
            cell.fill = fill
        if bold:
            cell.font = Font(bold=True)


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes."""
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def open_workbook(raw: bytes, *, code: str) -> Any:
    """The workbook in raw .xlsx bytes (formulas read as their cached values), or Invalid with code."""
    try:
        return load_workbook(BytesIO(raw), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise Invalid("无法读取该 Excel 文件，请另存为 .xlsx 后重试", code=code) from exc


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
