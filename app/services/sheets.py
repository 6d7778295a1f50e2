"""What every .xlsx the service writes shares: a title row, Chinese headers on a frozen row, column
widths, thin borders and wrapped text, so files look the same in Excel, WPS and LibreOffice."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

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
    """Borders and wrapping on the last row appended (a fill and bold for subtotal rows)."""
    for cell in ws[ws.max_row]:
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
