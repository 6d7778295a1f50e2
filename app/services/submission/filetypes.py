"""What a file really is, decided from its first bytes, and a safe form of its original name."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from app.services.errors import Invalid

HEAD_BYTES = 64 * 1024  # what sniff() needs: ZIP local headers name their entries in plain text
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_TYPES = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "wps": "application/vnd.ms-works",  # WPS 文字
    "et": "application/vnd.ms-excel",  # WPS 表格
}
ALLOWED = "PDF、OFD、JPEG、PNG、DOC/DOCX、XLS/XLSX、WPS/ET、MP4、ZIP"


@dataclass(frozen=True)
class FileType:
    """The detected kind, its media type and the extension it is stored and served under."""

    kind: str
    content_type: str
    extension: str


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff(head: bytes, filename: str) -> FileType:
    """The type of a file from its first bytes; the name only picks among look-alike OLE formats."""
    if not head:
        raise Invalid("文件为空，请重新选择文件", code="file_empty")
    if head.startswith(b"%PDF-"):
        return FileType("pdf", "application/pdf", "pdf")
    if head.startswith(b"\xff\xd8\xff"):
        return FileType("jpeg", "image/jpeg", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType("png", "image/png", "png")
    if head[4:8] == b"ftyp":
        return FileType("mp4", "video/mp4", "mp4")
    if head.startswith(_OLE):
        ext = _extension(filename)
        if ext in _OLE_TYPES:
            return FileType(ext, _OLE_TYPES[ext], ext)
        raise Invalid(
            "文件内容是旧版 Office/WPS 格式，但扩展名不是 .doc/.xls/.wps/.et，请核对文件", code="file_type_mismatch"
        )
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if b"OFD.xml" in head:
            return FileType("ofd", "application/ofd", "ofd")
        if b"[Content_Types].xml" in head and b"word/" in head:
            return FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
        if b"[Content_Types].xml" in head and b"xl/" in head:
            return FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
        return FileType("zip", "application/zip", "zip")
    raise Invalid(f"不支持的文件类型：只接受 {ALLOWED}（按文件内容判断，不看扩展名）", code="file_type_not_allowed")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_filename(name: str, *, max_chars: int = 200) -> str:
    """The original name as a user would recognise it, without directories or control characters.

    It is kept for display and downloads only; object keys never contain it.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".")
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = (stem if keep else name)[: max_chars - len(keep) - 1] + ("." + keep if keep else "")
    return name or "file"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition value (RFC 6266) keeping a Chinese name in filename* (RFC 5987), with an
    ASCII fallback for old clients; used by API downloads and presigned download links alike."""
    name = safe_filename(filename)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    quoted = urllib.parse.quote(name, safe="")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
