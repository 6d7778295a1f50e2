"""The house style of every Word document the service writes, after GB/T 9704-2012 (党政机关公文格式): A4 with a
156 × 225 mm type area (top 37 mm, left 28 mm), the title in 方正小标宋简体 二号, level-1 headings in 黑体 and
level-2 headings in 楷体 三号, body text in 仿宋 三号 on a fixed 29 pt line (22 lines a page), page numbers
"— 1 —" in 宋体 四号 under the type area (odd pages right, even pages left, one character in), and zh-CN as the
language of East Asian text.

Each face is named as GB/T 9704 names it, for the offices' Word and WPS, with a fallback that servers carry
(fonts-noto-cjk): the font table says it (w:altName, which Word and WPS read), and deploy/fontconfig/
64-shifan-gbt9704.conf tells fontconfig, hence LibreOffice on a server, to draw 方正小标宋简体 with Noto Serif
CJK SC Bold, 仿宋/楷体/宋体 with Noto Serif CJK SC and 黑体 with Noto Sans CJK SC. Latin letters and digits take
the same face as the Chinese around them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from lxml import etree

LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class Face:
    """A typeface as GB/T 9704 names it, and the one drawn where it is not installed."""

    name: str
    fallback: str
    family: str  # the font table's w:family: roman (with serifs) or swiss (without)


TITLE_FACE = Face("方正小标宋简体", "Noto Serif CJK SC", "roman")
HEADING_FACE = Face("黑体", "Noto Sans CJK SC", "swiss")
SUBHEADING_FACE = Face("楷体", "Noto Serif CJK SC", "roman")
BODY_FACE = Face("仿宋", "Noto Serif CJK SC", "roman")
NUMBER_FACE = Face("宋体", "Noto Serif CJK SC", "roman")  # page numbers
FACES = (TITLE_FACE, HEADING_FACE, SUBHEADING_FACE, BODY_FACE, NUMBER_FACE)

CELL_STYLE = "表格文字"  # the paragraph style of table cells (a Word template may bring its own)


@dataclass(frozen=True)
class Look:
    """What one paragraph style sets: face, size, bold, alignment, first-line indent, line spacing."""

    face: Face
    size: float  # points: 二号 22, 三号 16, 四号 14, 五号 10.5
    bold: bool = False
    centred: bool = False
    indent: bool = True  # two characters, as Chinese official writing indents
    line: float | None = 29.0  # exact line spacing in points; None: single
    keep_with_next: bool = False
    outline: int | None = None


STYLES: dict[str, Look] = {
    "Normal": Look(BODY_FACE, 16),
    "Title": Look(TITLE_FACE, 22, centred=True, indent=False, line=None),
    "Heading 1": Look(HEADING_FACE, 16, keep_with_next=True, outline=0),
    "Heading 2": Look(SUBHEADING_FACE, 16, keep_with_next=True, outline=1),
    CELL_STYLE: Look(BODY_FACE, 10.5, indent=False, line=None),
    "Footer": Look(NUMBER_FACE, 14, indent=False, line=None),
}


def house(doc: DocumentObject) -> None:
    """Give a new document (python-docx's own template) the house style: page, styles, page numbers."""
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.footer_distance = Cm(2.2)
    _defaults(doc, BODY_FACE)
    for name, look in STYLES.items():
        _apply(_style(doc, name), look)
    page_numbers(doc)


def complete(doc: DocumentObject) -> None:
    """An office's template: its own styles stay; the ones it lacks are added in the house style, and page
    numbers when its footer is empty."""
    for name, look in STYLES.items():
        if not _has(doc, name):
            _apply(_style(doc, name), look)
    footer = doc.sections[0].footer
    if footer.is_linked_to_previous or not any(p.text.strip() for p in footer.paragraphs):
        # Odd and even footers only where the template already tells odd from even pages: switching it on would
        # leave its header off the even pages.
        page_numbers(doc, odd_and_even=bool(doc.settings.odd_and_even_pages_header_footer))


def language(doc: DocumentObject) -> None:
    """zh-CN for East Asian (and Latin) text in the document defaults and the theme-font setting, and the
    fallback of every face in the font table."""
    r_pr = _default_run_properties(doc)
    lang = _child(r_pr, "w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    theme = doc.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:eastAsia"), LANGUAGE)
    _font_table(doc)


def _has(doc: DocumentObject, name: str) -> bool:
    try:
        doc.styles[name]
    except KeyError:
        return False
    return True


def _style(doc: DocumentObject, name: str) -> BaseStyle:
    if _has(doc, name):
        return doc.styles[name]
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"] if _has(doc, "Normal") and name != "Normal" else None  # type: ignore[attr-defined]
    style.quick_style = True  # type: ignore[attr-defined]
    return style


def _apply(style: BaseStyle, look: Look) -> None:
    """Set a paragraph style to look (replacing the theme fonts, colour and borders python-docx's template has)."""
    _name_face(style.element.get_or_add_rPr(), look.face)
    font = style.font  # type: ignore[attr-defined]
    font.size, font.bold, font.color.rgb = Pt(look.size), look.bold, RGBColor(0, 0, 0)
    fmt = style.paragraph_format  # type: ignore[attr-defined]
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if look.centred else WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Pt(2 * look.size) if look.indent else Pt(0)
    fmt.space_before = fmt.space_after = Pt(0)
    if look.line is None:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(look.line)
    fmt.keep_with_next = look.keep_with_next
    p_pr = style.element.get_or_add_pPr()
    for unwanted in ("w:pBdr", "w:contextualSpacing"):
        found = p_pr.find(qn(unwanted))
        if found is not None:
            p_pr.remove(found)
    if look.outline is not None:
        _child(p_pr, "w:outlineLvl").set(qn("w:val"), str(look.outline))
    if style.name == "Title":  # a title line of its own, one blank line below (GB/T 9704: 空一行)
        fmt.space_after = Pt(29)


def _name_face(r_pr: Any, face: Face) -> None:
    """Name the face for Latin, East Asian and complex text alike (python-docx's font.name sets Latin only);
    a theme font would win over the names, so those go."""
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), face.name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _child(parent: Any, tag: str) -> Any:
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        parent.append(found)
    return found


def _default_run_properties(doc: DocumentObject) -> Any:
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    return _child(_child(defaults, "w:rPrDefault"), "w:rPr")


def _defaults(doc: DocumentObject, face: Face) -> None:
    _name_face(_default_run_properties(doc), face)


def _font_table(doc: DocumentObject) -> None:
    """Each face in word/fontTable.xml with its fallback (w:altName), the GB 2312 character set and its family:
    what Word and WPS use to pick a substitute when the face is not installed."""
    part = next((r.target_part for r in doc.part.rels.values() if r.reltype == RELATIONSHIP_TYPE.FONT_TABLE), None)
    if part is None:
        return
    root = etree.fromstring(part.blob)
    named = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for face in FACES:
        if face.name in named:
            continue
        root.append(
            parse_xml(
                f'<w:font {nsdecls("w")} w:name="{face.name}"><w:altName w:val="{face.fallback}"/>'
                f'<w:charset w:val="86"/><w:family w:val="{face.family}"/><w:pitch w:val="variable"/></w:font>'
            )
        )
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)  # noqa: SLF001


def page_numbers(doc: DocumentObject, *, odd_and_even: bool = True) -> None:
    """ "— 7 —" under the type area: odd pages on the right, even pages on the left, one character in; or, where
    odd_and_even is False (a template whose even pages share its one header), centred on every page."""
    doc.settings.odd_and_even_pages_header_footer = odd_and_even
    section = doc.sections[0]
    footers = (
        ((section.footer, "right"), (section.even_page_footer, "left"))
        if odd_and_even
        else ((section.footer, "centre"),)
    )
    for footer, side in footers:
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        for child in list(paragraph._p):  # noqa: SLF001 - python-docx has no API to empty a paragraph
            if child.tag != qn("w:pPr"):
                paragraph._p.remove(child)  # noqa: SLF001
        _page_number(doc, paragraph, side=side)


def _page_number(doc: DocumentObject, paragraph: Paragraph, *, side: str) -> None:
    paragraph.style = doc.styles["Footer"]
    fmt = paragraph.paragraph_format
    fmt.alignment = {"right": WD_ALIGN_PARAGRAPH.RIGHT, "left": WD_ALIGN_PARAGRAPH.LEFT}.get(
        side, WD_ALIGN_PARAGRAPH.CENTER
    )
    fmt.first_line_indent = Pt(0)
    fmt.right_indent = Pt(14) if side == "right" else Pt(0)
    fmt.left_indent = Pt(14) if side == "left" else Pt(0)
    paragraph.add_run("— ")
    paragraph._p.append(  # noqa: SLF001 - a PAGE field: python-docx writes none
        parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>')
    )
    paragraph.add_run(" —")
