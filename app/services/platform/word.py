"""What every Word document the service writes shares: A4 pages, Chinese fonts named for East Asian text
(宋体 for the body, 黑体 for headings, set through w:eastAsia so WPS and Word pick them and do not fall
back to a Latin font), tables with a shaded header row, and the bytes of the finished file."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.table import Table
from docx.text.paragraph import Paragraph
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BODY_FONT = ("SimSun", "宋体")  # (the Latin-side name, the East Asian name)
HEADING_FONT = ("SimHei", "黑体")
_HEADINGS = {0: Pt(22), 1: Pt(16), 2: Pt(14), 3: Pt(12)}


def _fonts(style: BaseStyle, names: tuple[str, str], size: Any = None, *, bold: bool | None = None) -> None:
    """Name the font for Latin and East Asian text (python-docx's font.name sets only the Latin one)."""
    font = style.font  # type: ignore[attr-defined]
    font.name = names[0]
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    font.color.rgb = RGBColor(0, 0, 0)
    r_pr = style.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), names[0])
    fonts.set(qn("w:eastAsia"), names[1])
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would win over the names above


def document() -> DocumentObject:
    """An empty A4 document whose styles name Chinese fonts."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    _fonts(doc.styles["Normal"], BODY_FONT, Pt(12))
    for level, size in _HEADINGS.items():
        _fonts(doc.styles["Title" if level == 0 else f"Heading {level}"], HEADING_FONT, size, bold=level != 3)
    _fonts(doc.styles["Table Grid"], BODY_FONT, Pt(10.5))
    return doc


def clean(value: object) -> str:
    """Text a .docx can hold: control characters (other than tab and newline) dropped."""
    if value is None:
        return ""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def title(doc: DocumentObject, text: str) -> Paragraph:
    """The centred title of the document."""
    paragraph = doc.add_heading(clean(text), level=0)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return paragraph


def heading(doc: DocumentObject, text: str, level: int = 1) -> Paragraph:
    """A numbered section heading (the number is part of the text, as county reports write it)."""
    return doc.add_heading(clean(text), level=level)


def paragraph(doc: DocumentObject, text: str, *, bold: bool = False, centred: bool = False) -> Paragraph:
    """A body paragraph, first line indented two characters as Chinese official writing does (or centred)."""
    found = doc.add_paragraph()
    if centred:
        found.alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        found.paragraph_format.first_line_indent = Pt(24)
    found.add_run(clean(text)).bold = bold
    return found


def table(doc: DocumentObject, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A bordered table with a shaded, repeated header row."""
    found = doc.add_table(rows=1, cols=len(headers))
    found.style = doc.styles["Table Grid"]
    found.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = found.rows[0]
    _repeat_header(head)
    for cell, text in zip(head.cells, headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(clean(text)).bold = True
        _shade(cell, "DDEBF7")
    for values in rows:
        cells = found.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = clean(value)
    return found


def _repeat_header(row: Any) -> None:
    properties = row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


def _shade(cell: Any, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def to_bytes(doc: DocumentObject) -> bytes:
    """The finished .docx."""
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
