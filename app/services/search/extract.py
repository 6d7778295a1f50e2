"""The words inside a stored file: PDF (pypdf), DOCX, XLSX and OFD (their XML, streamed from the ZIP); a PDF
without a text layer (a scan) and a photo or picture are read by OCR (search.ocr); and the date the file
suggests (search.dates: the first date in its words, else a PDF's CreationDate or a photo's EXIF capture time).

Every reader is bounded (pages, bytes unpacked, characters kept): a file is evidence for people to read,
and a hostile or huge one must cost the worker a moment, never its memory.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from xml.etree import ElementTree

from PIL import Image

from app.models.evidence import DateSource, TextStatus
from app.services.media import photos
from app.services.search import dates, ocr, words
from app.services.submission.filetypes import IMAGES

log = logging.getLogger("shifan.extract")
MAX_CHARS = 200_000  # kept per version: far more than any snippet or word needs
MAX_PAGES = 500
MAX_MEMBER_BYTES = 20 * 1024 * 1024  # one XML part, unpacked
MAX_UNPACKED_BYTES = 60 * 1024 * 1024


@dataclass(frozen=True)
class Extracted:
    """What reading a file gave: its text (maybe empty) and what that means."""

    status: TextStatus
    text: str = ""
    error: str | None = None
    suggested_date: date | None = None
    suggested_from: DateSource | None = None


class _Unreadable(Exception):
    """The file could not be read as the type it was accepted as."""


def extract(raw: bytes, *, extension: str | None) -> Extracted:
    """The text of a file of the given (detected) extension, and the document date it suggests."""
    ext = (extension or "").lower()
    found = _read(raw, ext)
    if found.status in (TextStatus.failed, TextStatus.no_text) and ext not in IMAGES:
        return found
    written = dates.first_date(found.text)
    if written is not None:
        return _with_date(found, written, DateSource.text)
    if ext == "pdf":
        created = _pdf_created(raw)
        return _with_date(found, created, DateSource.pdf_metadata) if created else found
    if ext in IMAGES:
        taken = _photo_taken(raw)
        return _with_date(found, taken, DateSource.exif) if taken else found
    return found


def _with_date(found: Extracted, when: date, source: DateSource) -> Extracted:
    return Extracted(found.status, found.text, found.error, when, source)


def _read(raw: bytes, ext: str) -> Extracted:
    readers = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "ofd": _ofd}
    if ext in IMAGES:
        return _ocr(lambda: iter([Image.open(io.BytesIO(raw))]), TextStatus.no_text)
    if ext not in readers:
        return Extracted(TextStatus.no_text)
    try:
        text = readers[ext](raw)[:MAX_CHARS]
    except MemoryError:  # the sandbox's memory limit: reported as such by the worker, not as a damaged file
        raise
    except Exception as exc:  # noqa: BLE001 - damaged, or a reader library's own error: marked, the worker goes on
        return Extracted(TextStatus.failed, error=f"{type(exc).__name__}: {exc}"[:500])
    if text.strip():
        return Extracted(TextStatus.done, text)
    if ext == "pdf":  # pages with no text are a scan (无文本层): OCR reads them where it can
        return _ocr(lambda: _pdf_pages(raw), TextStatus.no_text_layer)
    # an OFD scan has no renderer here; an office document without words simply has none
    return Extracted(TextStatus.no_text_layer if ext == "ofd" else TextStatus.no_text)


def _ocr(images: Callable[[], Iterator[Image.Image]], otherwise: TextStatus) -> Extracted:
    """The words OCR reads in the images; `otherwise` when it reads none or cannot run here."""
    try:
        text = words.unspace(ocr.read_images(images()))[:MAX_CHARS]
    except ocr.Unavailable:
        return Extracted(otherwise)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - an image PDFium or Pillow cannot open: no words, not a failure
        log.info("OCR could not read the file: %r", exc)
        return Extracted(otherwise)
    return Extracted(TextStatus.ocr, text) if text.strip() else Extracted(otherwise)


def _pdf_pages(raw: bytes) -> Iterator[Image.Image]:
    """Each page drawn at ocr.DPI, one at a time (the page cap stops the iteration)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(raw)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                yield page.render(scale=ocr.DPI / 72, grayscale=True).to_pil()
            finally:
                page.close()
    finally:
        pdf.close()


def _pdf_created(raw: bytes) -> date | None:
    from pypdf import PdfReader

    try:
        info = PdfReader(io.BytesIO(raw)).metadata
        return dates.pdf_date(info.get("/CreationDate")) if info else None
    except Exception:  # noqa: BLE001 - metadata is a hint; a PDF without readable metadata suggests nothing
        return None


def _photo_taken(raw: bytes) -> date | None:
    try:
        with Image.open(io.BytesIO(raw)) as image:
            taken = photos.facts(image).taken_at
    except Exception:  # noqa: BLE001 - as above
        return None
    return taken.date() if taken else None


def _pdf(raw: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("encrypted")
        parts: list[str] = []
        size = 0
        seen: set[object] = set()
        for page in reader.pages[:MAX_PAGES]:
            # Pages that share one content stream say the same words: read it once (a hostile file makes 500
            # pages of one huge stream, costing 500 times the reading for nothing new).
            contents = _contents_key(page.raw_get("/Contents") if "/Contents" in page else None)
            if contents is not None and contents in seen:
                continue
            seen.add(contents)
            part = page.extract_text() or ""
            parts.append(part)
            size += len(part)
            if size >= MAX_CHARS:
                break
    except PdfReadError as exc:
        raise _Unreadable(str(exc)) from exc
    return words.unspace("\n".join(parts))


def _contents_key(ref: object) -> object:
    """An indirect content stream's (or array of streams') object numbers; None for direct contents."""
    if hasattr(ref, "idnum"):
        return (ref.idnum, ref.generation)  # type: ignore[attr-defined]
    if isinstance(ref, list) and ref and all(hasattr(r, "idnum") for r in ref):
        return tuple((r.idnum, r.generation) for r in ref)
    return None


def _archive(raw: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(raw))
    if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED_BYTES:
        raise _Unreadable("too large unpacked")
    return archive


def _each(archive: zipfile.ZipFile, name: str, wanted: str) -> Iterator[ElementTree.Element]:
    """Each `wanted` element of an XML part once it is parsed whole, from a streamed parse: an element is
    dropped as soon as it is read, and nothing outside a wanted element is kept, so memory holds about one
    element at a time whatever the part's size (a whole tree of a 20 MB part takes ~20 times that)."""
    if archive.getinfo(name).file_size > MAX_MEMBER_BYTES:
        raise _Unreadable(f"{name} too large")
    stack: list[ElementTree.Element] = []
    open_wanted = 0
    # expat (2.4+, bundled with Python 3.11) resolves no external entities and stops entity amplification
    with archive.open(name) as stream:
        for event, elem in ElementTree.iterparse(stream, events=("start", "end")):  # noqa: S314
            is_wanted = _local(elem.tag) == wanted
            if event == "start":
                stack.append(elem)
                open_wanted += is_wanted
                continue
            stack.pop()
            if is_wanted:
                open_wanted -= 1
                yield elem
            if is_wanted or open_wanted == 0:
                elem.clear()
                if stack:
                    stack[-1].remove(elem)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text_of(elem: ElementTree.Element, tag: str) -> str:
    return "".join(n.text or "" for n in elem.iter() if _local(n.tag) == tag)


def _docx(raw: bytes) -> str:
    archive = _archive(raw)
    names = ["word/document.xml"] + sorted(
        n for n in archive.namelist() if re.fullmatch(r"word/(header|footer|footnotes|endnotes)\d*\.xml", n)
    )
    lines = _Lines()
    for name in names:
        if name not in archive.namelist():
            continue
        for paragraph in _each(archive, name, "p"):
            if lines.add(_text_of(paragraph, "t")):
                return lines.text()
    return lines.text()


class _Lines:
    """The lines read so far; add() says when they hold MAX_CHARS (more would be cut anyway: stop reading)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0

    def add(self, line: str) -> bool:
        if line.strip():
            self.lines.append(line)
            self.size += len(line) + 1
        return self.size >= MAX_CHARS

    def text(self) -> str:
        return "\n".join(self.lines)


def _xlsx(raw: bytes) -> str:
    archive = _archive(raw)
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        shared = [_text_of(si, "t") for si in _each(archive, "xl/sharedStrings.xml", "si")]
    lines = _Lines()
    for name in sorted(n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)):
        for row in _each(archive, name, "row"):
            if lines.add(" | ".join(_cells(row, shared))):
                return lines.text()
    return lines.text()


def _cells(row: ElementTree.Element, shared: list[str]) -> Iterator[str]:
    for cell in row:
        if _local(cell.tag) != "c":
            continue
        kind = cell.get("t")
        if kind == "inlineStr":
            value = _text_of(cell, "t")
        else:
            v = next((n.text for n in cell if _local(n.tag) == "v"), None)
            if v is None:
                continue
            value = shared[int(v)] if kind == "s" and v.isdigit() and int(v) < len(shared) else v
        if value.strip():
            yield value.strip()


def _ofd(raw: bytes) -> str:
    archive = _archive(raw)
    pages = sorted(
        (n for n in archive.namelist() if re.fullmatch(r"Doc_\d+/Pages/Page_\d+/Content\.xml", n)),
        key=lambda n: [int(d) for d in re.findall(r"\d+", n)],
    )
    lines = _Lines()
    for name in pages[:MAX_PAGES]:
        for obj in _each(archive, name, "TextObject"):
            if lines.add(_text_of(obj, "TextCode")):
                return lines.text()
    return lines.text()
