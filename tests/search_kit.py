"""Sample files with Chinese words for the search tests: a PDF written with an embedded CJK font, a scan
(a PDF of one image, no text), DOCX, XLSX and OFD, and the worker's search job run until nothing waits."""

from __future__ import annotations

import glob
import io
import os
import zipfile

import pytest

from tests.evidence_kit import png

_FONT_GLOBS = ("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", "/usr/share/fonts/**/*CJK*.tt[cf]")


def cjk_font() -> tuple[str, int]:
    """A CJK font on this machine (Debian's fonts-noto-cjk, installed by .ci/run) and its face in the collection."""
    for pattern in _FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0], 2 if found[0].endswith(".ttc") else 0  # face 2 of Noto Sans CJK: SC
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("a CJK font is required in CI (apt-get install fonts-noto-cjk; .ci/run does it)")
    pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")


def chinese_pdf(*lines: str) -> bytes:
    """A PDF whose pages carry the lines as text, in an embedded (subset) CJK font."""
    from fpdf import FPDF

    path, face = cjk_font()
    doc = FPDF()
    doc.add_page()
    doc.add_font("cjk", fname=path, collection_font_number=face)
    doc.set_font("cjk", size=14)
    for line in lines:
        doc.multi_cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def scanned_pdf() -> bytes:
    """A PDF of one page holding only an image, as a scanner makes it: no text layer."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.image(io.BytesIO(png(60, 80)), x=10, y=10, w=180)
    return bytes(doc.output())


def docx(*paragraphs: str) -> bytes:
    """A minimal Word document with the paragraphs."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
            'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
            'main+xml"/></Types>',
        )
        z.writestr("word/document.xml", f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}">'
                   f"<w:body>{body}</w:body></w:document>")  # fmt: skip
    return out.getvalue()


def xlsx(rows: list[list[object]]) -> bytes:
    """A workbook (openpyxl) with the rows on its one sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)  # type: ignore[union-attr]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def ofd(*lines: str) -> bytes:
    """A minimal OFD (GB/T 33190) with one page whose text objects hold the lines."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    texts = "".join(
        f'<ofd:TextObject ID="{n + 10}" Boundary="0 {n * 10} 200 10" Font="1" Size="5">'
        f'<ofd:TextCode X="0" Y="5">{line}</ofd:TextCode></ofd:TextObject>'
        for n, line in enumerate(lines)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0"><ofd:DocBody>'
                   "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")  # fmt: skip
        z.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:Pages>'
                   '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')  # fmt: skip
        z.writestr("Doc_0/Pages/Page_0/Content.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}>'
                   f'<ofd:Content><ofd:Layer ID="2">{texts}</ofd:Layer></ofd:Content></ofd:Page>')  # fmt: skip
    return out.getvalue()


def read_everything() -> dict[str, int]:
    """Run the worker's search job until no version waits; the summed counts."""
    from app.services.storage import get_store
    from app.services.worker import texts

    total: dict[str, int] = {}
    while True:
        counts = texts.run_once(get_store(), limit=50)
        if not counts["read"]:
            return total
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
