"""What a file is, first from its first bytes (sniff; structure.py then checks its structure), and the
names it is shown and downloaded under."""

from __future__ import annotations

import unicodedata
import urllib.parse
from dataclasses import dataclass

from app.models.text import clean_line
from app.services.errors import Invalid

HEAD_BYTES = 64 * 1024  # what sniff() needs: ZIP local headers name their entries in plain text
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_TYPES = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "wps": "application/vnd.ms-works",  # WPS 文字
    "et": "application/vnd.ms-excel",  # WPS 表格
}
ALLOWED = "PDF、OFD、JPEG、PNG、HEIC/HEIF、DOC/DOCX、XLS/XLSX、WPS/ET、MP4、ZIP"
ZIP_TYPES = {
    "zip": "application/zip",
    "ofd": "application/ofd",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Every extension a stored file can carry, with the spellings users give them.
EXTENSIONS = {"pdf", "ofd", "jpg", "jpeg", "png", "heic", "heif", "mp4", *ZIP_TYPES, *_OLE_TYPES}
_SAME = {"jpeg": "jpg", "heif": "heic"}
# ISO-BMFF major brands of HEIF still images (an iPhone's HEIC, and the generic image brands); AVIF is not one.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
HEIF_EXTENSIONS = frozenset({"heic", "heif"})
HEIC = "heic"
# The extensions whose first page the worker renders as a PNG preview (PDFium for PDF, Pillow for images, HEIC
# through pillow-heif); Word, WPS, OFD and video files have no renderer here and show their type icon instead.
PREVIEWABLE = frozenset({"pdf", "png", "jpg", HEIC})
IMAGES = frozenset({"png", "jpg", HEIC})  # photos and pictures: a JPEG copy can be downloaded, OCR reads them


@dataclass(frozen=True)
class FileType:
    """The detected kind, its media type and the extension it is stored and served under."""

    kind: str
    content_type: str
    extension: str


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def not_heif() -> Invalid:
    """The refusal of a file named .heic/.heif that is not a readable HEIF image."""
    return Invalid(
        "文件扩展名是 .heic/.heif，但内容不是可读取的 HEIC/HEIF 照片，请从手机重新导出后上传", code="heic_invalid"
    )


def sniff(head: bytes, filename: str) -> FileType:
    """The type of a file from its first bytes; the name only picks among look-alike OLE formats (and says
    which refusal a file claiming to be a phone photo gets)."""
    try:
        return _sniff(head, filename)
    except Invalid as exc:
        if exc.code == "file_type_not_allowed" and _extension(filename) in HEIF_EXTENSIONS:
            raise not_heif() from exc
        raise


def _sniff(head: bytes, filename: str) -> FileType:
    if not head:
        raise Invalid("文件为空，请重新选择文件", code="file_empty")
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return FileType(HEIC, "image/heic", HEIC)
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
        # A first guess from the local headers; structure.py decides from the central directory.
        if b"OFD.xml" in head:
            return zip_type("ofd")
        if b"[Content_Types].xml" in head and b"word/" in head:
            return zip_type("docx")
        if b"[Content_Types].xml" in head and b"xl/" in head:
            return zip_type("xlsx")
        return zip_type("zip")
    raise Invalid(f"不支持的文件类型：只接受 {ALLOWED}（按文件内容判断，不看扩展名）", code="file_type_not_allowed")


def zip_type(kind: str) -> FileType:
    """The FileType of a ZIP-based format."""
    return FileType(kind, ZIP_TYPES[kind], kind)


def download_name(original: str | None, extension: str | None) -> str:
    """The name a file is downloaded under: the original name with the extension of the detected type
    (a PNG sent as 会议纪要.pdf downloads as 会议纪要.png); the original name stays on record as data."""
    name = safe_filename(original or "file")
    if not extension:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if dot and _SAME.get(ext, ext) == _SAME.get(extension, extension):
        return name
    return f"{stem if dot and ext in EXTENSIONS else name}.{extension}"


def safe_filename(name: str, *, max_chars: int = 200) -> str:
    """The original name as a user would recognise it, without directories or control characters.

    It is kept for display and downloads only; object keys never contain it.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = clean_line(name).strip().lstrip(".")
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
