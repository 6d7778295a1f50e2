"""The words inside a stored file: PDF (pypdf), DOCX, XLSX and OFD (their XML, read from the ZIP).

Every reader is bounded (pages, bytes unpacked, characters kept): a file is evidence for people to read,
and a hostile or huge one must cost the worker a moment, never its memory.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

from app.models.evidence import TextStatus
from app.services.search import words

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


class _Unreadable(Exception):
    """The file could not be read as the type it was accepted as."""


def extract(raw: bytes, *, extension: str | None) -> Extracted:
    """The text of a file of the given (detected) extension."""
    ext = (extension or "").lower()
    readers = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "ofd": _ofd}
    if ext not in readers:
        return Extracted(TextStatus.no_text)
    try:
        text = readers[ext](raw)[:MAX_CHARS]
    except Exception as exc:  # noqa: BLE001 - damaged, or a reader library's own error: marked, the worker goes on
        return Extracted(TextStatus.failed, error=f"{type(exc).__name__}: {exc}"[:500])
    if text.strip():
        return Extracted(TextStatus.done, text)
    # pages with no text are a scan (无文本层); an office document without words simply has none
    return Extracted(TextStatus.no_text_layer if ext in ("pdf", "ofd") else TextStatus.no_text)


def _pdf(raw: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("encrypted")
        parts: list[str] = []
        size = 0
        for page in reader.pages[:MAX_PAGES]:
            part = page.extract_text() or ""
            parts.append(part)
            size += len(part)
            if size >= MAX_CHARS:
                break
    except PdfReadError as exc:
        raise _Unreadable(str(exc)) from exc
    return words.unspace("\n".join(parts))


def _archive(raw: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(raw))
    if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED_BYTES:
        raise _Unreadable("too large unpacked")
    return archive


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    if archive.getinfo(name).file_size > MAX_MEMBER_BYTES:
        raise _Unreadable(f"{name} too large")
    # expat (2.4+, bundled with Python 3.11) resolves no external entities and stops entity amplification
    return ElementTree.fromstring(archive.read(name))  # noqa: S314


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _docx(raw: bytes) -> str:
    archive = _archive(raw)
    names = ["word/document.xml"] + sorted(
        n for n in archive.namelist() if re.fullmatch(r"word/(header|footer|footnotes|endnotes)\d*\.xml", n)
    )
    lines: list[str] = []
    for name in names:
        if name not in archive.namelist():
            continue
        for paragraph in _xml(archive, name).iter():
            if _local(paragraph.tag) == "p":
                line = "".join(n.text or "" for n in paragraph.iter() if _local(n.tag) == "t")
                if line.strip():
                    lines.append(line)
    return "\n".join(lines)


def _xlsx(raw: bytes) -> str:
    archive = _archive(raw)
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        for si in _xml(archive, "xl/sharedStrings.xml"):
            shared.append("".join(n.text or "" for n in si.iter() if _local(n.tag) == "t"))
    lines: list[str] = []
    for name in sorted(n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)):
        for row in _xml(archive, name).iter():
            if _local(row.tag) == "row":
                cells = list(_cells(row, shared))
                if cells:
                    lines.append(" | ".join(cells))
    return "\n".join(lines)


def _cells(row: ElementTree.Element, shared: list[str]) -> Iterator[str]:
    for cell in row:
        if _local(cell.tag) != "c":
            continue
        kind = cell.get("t")
        if kind == "inlineStr":
            value = "".join(n.text or "" for n in cell.iter() if _local(n.tag) == "t")
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
    lines: list[str] = []
    for name in pages[:MAX_PAGES]:
        for obj in _xml(archive, name).iter():
            if _local(obj.tag) == "TextObject":
                line = "".join(c.text or "" for c in obj.iter() if _local(c.tag) == "TextCode")
                if line.strip():
                    lines.append(line)
    return "\n".join(lines)
