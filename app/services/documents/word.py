"""What every Word document the service writes shares: the house style of word_style (GB/T 9704 page, faces and
page numbers) or an office's own template, and tables fit to sign — column widths chosen per table, a header
row repeated on every page, rows that never break across a page, and 无 in a table with nothing to list."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.services.documents import word_style
from app.services.errors import Invalid

# Characters XML 1.0 cannot hold (the same set openpyxl refuses in a cell): Word would not open the file.
ILLEGAL = {c: None for c in (*range(0, 9), 11, 12, *range(14, 32))}

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EMPTY = "无"
# An office's template: a letterhead, a logo, its styles. Far above any real one, far below harm.
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
_MAX_MEMBERS = 300
_MAX_UNPACKED_BYTES = 50 * 1024 * 1024
_HEAD_FILL = "D9D9D9"


@dataclass(frozen=True)
class Column:
    """A table column: its header, its share of the type area's width, and whether its cells are centred
    (short figures) or flow from the left (names and sentences)."""

    title: str
    width: float
    centred: bool = True


def document(template: bytes | None = None) -> DocumentObject:
    """An empty document in the house style, or on an office's template (its body left out; its styles, page
    setup, headers and footers used, the styles it lacks added)."""
    if template is None:
        doc = Document()
        word_style.house(doc)
    else:
        doc = open_template(template)
        body = doc.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):  # the last section's page setup, headers and footers stay
                body.remove(child)
        word_style.complete(doc)
    word_style.language(doc)
    return doc


def open_template(raw: bytes) -> DocumentObject:
    """The .docx an office handed in as its template, or Invalid (report_template_invalid) saying why not."""
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise _refused(f"模板文件超过 {MAX_TEMPLATE_BYTES // (1024 * 1024)} MB")
    try:
        with zipfile.ZipFile(BytesIO(raw)) as archive:
            members = archive.infolist()
            # What the file would inflate to, read from the ZIP's directory before anything is parsed.
            if len(members) > _MAX_MEMBERS or sum(m.file_size for m in members) > _MAX_UNPACKED_BYTES:
                raise _refused("模板文件解压后过大，疑似异常文件")
        return Document(BytesIO(raw))
    except Invalid:
        raise
    except Exception as exc:  # noqa: BLE001 - python-docx and zipfile raise many kinds for a file that is not a .docx
        raise _refused("无法作为 Word 文档（.docx）打开；.doc、.wps、.dotx 请先在 Word 或 WPS 中另存为 .docx") from exc


def _refused(why: str) -> Invalid:
    return Invalid(f"自评报告模板不可用：{why}", code="report_template_invalid")


def clean(value: object) -> str:
    """Text a .docx can hold: control characters (other than tab and newline) dropped."""
    return "" if value is None else str(value).translate(ILLEGAL)


def title(doc: DocumentObject, text: str) -> Paragraph:
    """The title of the document, centred."""
    return doc.add_paragraph(clean(text), style="Title")


def heading(doc: DocumentObject, text: str, level: int = 1) -> Paragraph:
    """A numbered section heading (the number is part of the text, as county reports write it)."""
    return doc.add_paragraph(clean(text), style=f"Heading {level}")


def paragraph(doc: DocumentObject, text: str, *, bold: bool = False, centred: bool = False) -> Paragraph:
    """A body paragraph, first line indented two characters as Chinese official writing does (or centred)."""
    found = doc.add_paragraph(style="Normal")
    if centred:
        found.alignment = WD_ALIGN_PARAGRAPH.CENTER
        found.paragraph_format.first_line_indent = Pt(0)
    found.add_run(clean(text)).bold = bold
    return found


def table(doc: DocumentObject, columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> Table:
    """A bordered table across the type area: widths in the columns' proportions, the header row shaded and
    repeated on each page, no row broken across pages, one row reading 无 when there is nothing to list."""
    section = doc.sections[-1]
    width = section.page_width - section.left_margin - section.right_margin  # type: ignore[operator]
    share = sum(c.width for c in columns)
    widths = [Emu(int(width * c.width / share)) for c in columns]
    found = doc.add_table(rows=1, cols=len(columns))
    found.alignment = WD_TABLE_ALIGNMENT.CENTER
    found.autofit = False
    _fixed_layout(found, sum(widths), widths)
    head = found.rows[0]
    _keep_row(head, header=True)
    for cell, column in zip(head.cells, columns, strict=True):
        _fill(cell, column.title, centred=True, bold=True)
        _shade(cell)
    _size_cells(head, widths)
    if rows:
        _add_rows(found, columns, widths, rows)
    else:
        row = found.add_row()
        _keep_row(row)
        merged = row.cells[0].merge(row.cells[-1]) if len(columns) > 1 else row.cells[0]
        _fill(merged, EMPTY, centred=True)
        _size_cells(row, widths)
    return found


def _add_rows(found: Table, columns: Sequence[Column], widths: list[Emu], rows: Sequence[Sequence[object]]) -> None:
    """The body rows: one row is built through python-docx (properties, widths, an empty run per cell), and each
    row is a copy of its XML with the cells' text set — python-docx's per-cell calls (the style looked up by name,
    the grid walked for every row's cells) took seconds for a report's few hundred rows; the XML is the same."""
    model = found.add_row()
    _keep_row(model)
    for cell, column in zip(model.cells, columns, strict=True):
        _fill(cell, "", centred=column.centred)
    _size_cells(model, widths)
    pattern = model._tr  # noqa: SLF001
    table_xml = found._tbl  # noqa: SLF001
    table_xml.remove(pattern)
    for values in rows:
        tr = deepcopy(pattern)
        for tc, value in zip(tr.tc_lst, values, strict=True):
            tc.p_lst[0].r_lst[0].text = clean(value)
        table_xml.append(tr)


def _size_cells(row: Any, widths: list[Emu]) -> None:
    for cell, w in zip(row.cells, widths, strict=False):
        cell.width = w
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _fill(cell: Any, value: object, *, centred: bool, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    for extra in cell.paragraphs[1:]:  # a merged cell keeps every merged cell's paragraph
        extra._p.getparent().remove(extra._p)  # noqa: SLF001
    paragraph.style = word_style.CELL_STYLE
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.add_run(clean(value)).bold = bold


def _fixed_layout(found: Table, total: int, widths: list[Emu]) -> None:
    """Column widths as given (with autofit off: w:tblLayout fixed), so Word, WPS and LibreOffice neither share
    the width out evenly nor by content; borders on the table itself, so a template needs no table style."""
    tbl_pr = found._tbl.tblPr  # noqa: SLF001
    width = tbl_pr.find(qn("w:tblW"))
    if width is None:
        width = OxmlElement("w:tblW")
        tbl_pr.insert_element_before(width, "w:jc", "w:tblInd", "w:tblBorders", "w:tblLayout", "w:tblLook")
    width.set(qn("w:w"), str(_twips(total)))
    width.set(qn("w:type"), "dxa")
    edges = "".join(
        f'<w:{edge} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    borders = parse_xml(f"<w:tblBorders {nsdecls('w')}>{edges}</w:tblBorders>")
    tbl_pr.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption")
    # 1 mm either side of a cell's text (Word's default is 1.9 mm): three characters fit a 1.35 cm column.
    sides = "".join(f'<w:{side} w:w="57" w:type="dxa"/>' for side in ("left", "right"))
    margins = parse_xml(f"<w:tblCellMar {nsdecls('w')}>{sides}</w:tblCellMar>")
    tbl_pr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription")
    for col, w in zip(found._tbl.tblGrid.gridCol_lst, widths, strict=True):  # noqa: SLF001
        col.w = w


def _twips(length: int) -> int:
    return round(length / 635)  # 1 twip = 635 EMU


def _keep_row(row: Any, *, header: bool = False) -> None:
    """w:cantSplit: the row moves to the next page whole; w:tblHeader: repeated at the top of each page."""
    properties = row._tr.get_or_add_trPr()  # noqa: SLF001
    properties.append(OxmlElement("w:cantSplit"))
    if header:
        properties.append(OxmlElement("w:tblHeader"))


def _shade(cell: Any) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), _HEAD_FILL)
    cell._tc.get_or_add_tcPr().append(shading)  # noqa: SLF001


def to_bytes(doc: DocumentObject) -> bytes:
    """The finished .docx."""
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def reproducible(docx: bytes) -> bytes:
    """The same .docx with every ZIP entry dated 1980-01-01: equal documents, equal bytes (zipfile dates each entry
    with the clock, so a file built twice a second apart would otherwise differ — and so would its SHA-256)."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(docx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, entry.external_attr
            target.writestr(fixed, source.read(entry.filename))
    return out.getvalue()
