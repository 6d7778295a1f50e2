"""A file's structure, checked on the stored object (not a magic string somewhere in its first bytes):
MP4 box sizes and brand, the central directory of ZIP/DOCX/XLSX/OFD, a PDF opened with pypdf, a HEIC photo's
boxes parsed by libheif (its pixel count checked, nothing decoded); a JPEG's or HEIC's EXIF is read on the way.

The checks read the object where it is stored through StoredFile, a seekable reader of ranged reads
with a small block cache: a ZIP's central directory sits at its end and a PDF's cross-reference table
too, so only those parts travel, and memory stays bounded whatever the file's size. Nothing is spooled.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image

from app.services.errors import DomainError, Invalid
from app.services.media import photos
from app.services.storage import ObjectStore
from app.services.submission import rendering
from app.services.submission.filetypes import HEIC, FileType, not_heif, zip_type

log = logging.getLogger("shifan.structure")

BLOCK = 256 * 1024
MAX_BLOCKS = 16  # 4 MiB of cache per check
MAX_READ = 64 * 1024 * 1024  # a single read beyond this (pypdf rebuilding a broken PDF reads it all) is refused
MAX_BOXES = 10_000
# ISO-BMFF brands of MP4 video as phones, cameras and editors write them.
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71",
    b"avc1", b"hvc1", b"hev1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"f4v ", b"3gp4", b"3gp5", b"3gp6", b"3g2a",
    b"MSNV", b"XAVC", b"mmp4", b"NDAS",
}  # fmt: skip


class _TooLarge(Exception):
    """A read larger than a structure check may make."""


class StoredFile(io.RawIOBase):
    """A read-only, seekable view of a stored object made of ranged reads (blocks kept in a small LRU)."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self._store, self._key, self._size = store, key, size
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _range(self, start: int, length: int) -> bytes:
        return b"".join(self._store.iter_bytes(self._key, start=start, length=length)) if length > 0 else b""

    def _block(self, n: int) -> bytes:
        if n in self._blocks:
            self._blocks.move_to_end(n)
            return self._blocks[n]
        data = self._range(n * BLOCK, min(BLOCK, self._size - n * BLOCK))
        self._blocks[n] = data
        if len(self._blocks) > MAX_BLOCKS:
            self._blocks.popitem(last=False)
        return data

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        if end <= self._pos:
            return b""
        if end - self._pos > MAX_READ:
            raise _TooLarge
        if end - self._pos > BLOCK * 2:  # a long read goes straight to the store, past the cache
            data = self._range(self._pos, end - self._pos)
        else:
            first, last = self._pos // BLOCK, (end - 1) // BLOCK
            joined = b"".join(self._block(b) for b in range(first, last + 1))
            data = joined[self._pos - first * BLOCK : end - first * BLOCK]
        self._pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class Inspected:
    """The type a file's structure confirms, and what was counted on the way."""

    filetype: FileType
    page_count: int | None = None
    photo: photos.PhotoFacts | None = None  # a JPEG's or HEIC's EXIF capture time and place


def _broken(what: str) -> Invalid:
    return Invalid(f"{what}，请核对文件后重新上传（按文件内容判断，不看扩展名）", code="file_structure_invalid")


def check_mp4(file: io.RawIOBase, size: int) -> None:
    """Top-level ISO-BMFF boxes that tile the file exactly, ftyp first with a known brand, a moov box."""
    broken = _broken("视频文件结构不完整或不是 MP4（盒子长度不符）")
    pos, seen = 0, set()
    while pos < size:
        if len(seen) >= MAX_BOXES:
            raise broken
        file.seek(pos)
        header = file.read(8)
        if len(header) < 8:
            raise broken
        length, kind = struct.unpack(">I4s", header)
        if not all(32 <= c < 127 for c in kind):
            raise broken
        header_size = 8
        if length == 1:  # 64-bit size follows
            large = file.read(8)
            if len(large) < 8:
                raise broken
            length, header_size = struct.unpack(">Q", large)[0], 16
        elif length == 0:  # to the end of the file
            length = size - pos
        if length < header_size or pos + length > size:
            raise broken
        if pos == 0:
            if kind != b"ftyp" or length < 16:
                raise broken
            body = file.read(min(length - header_size, 256))
            brands = {body[i : i + 4] for i in range(0, len(body) - 3, 4) if i != 4}  # skip minor_version
            if not brands & MP4_BRANDS:
                raise _broken("视频文件的品牌（brand）不是可接受的 MP4 格式")
        seen.add(kind)
        pos += length
    if b"moov" not in seen:
        raise _broken("视频文件缺少索引（moov），可能未录制完整")


def check_zip(file: io.RawIOBase) -> FileType:
    """The archive's central directory must be readable; what it lists decides OFD, DOCX, XLSX or ZIP."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error, _TooLarge) as exc:
        log.info("refused ZIP: %s", exc)
        raise _broken("压缩文件结构损坏（读不到中央目录），不是完整的 ZIP/DOCX/XLSX/OFD 文件") from exc
    if not names:
        raise _broken("压缩文件是空的")
    if "OFD.xml" in names:
        return zip_type("ofd")
    if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
        return zip_type("docx")
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return zip_type("xlsx")
    return zip_type("zip")


def count_pdf_pages(file: io.RawIOBase) -> int:
    """The pages of a PDF opened with pypdf: one that needs a password, is corrupt or has no page is refused.

    A PDF encrypted only with an owner password (print or copy restrictions, common in documents exported
    from office systems) opens for everyone with an empty password, so evaluators can read it: accepted."""
    from pypdf import PdfReader  # here: pypdf's import (~0.1 s) is paid by the first PDF, not by every process
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Invalid("PDF 文件设置了打开密码，评审时无法打开，请上传未加密的版本", code="pdf_encrypted")
        pages = len(reader.pages)
    except DomainError:  # refused above, or the store away while pypdf read (503, not the file's fault)
        raise
    except FileNotDecryptedError as exc:
        raise Invalid("PDF 文件设置了打开密码，评审时无法打开，请上传未加密的版本", code="pdf_encrypted") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a broken file
        log.info("refused PDF: %r", exc)
        raise Invalid("PDF 文件已损坏，无法打开，请重新导出后上传", code="pdf_corrupt") from exc
    if pages == 0:
        raise Invalid("PDF 文件没有任何页面，请核对后重新上传", code="pdf_no_pages")
    return pages


def check_heic(file: io.RawIOBase, size: int) -> photos.PhotoFacts:
    """A HEIF image libheif can open, whose decoded size is within the renderer's limits (read from its header,
    nothing is decoded here); its EXIF capture time and place."""
    if size > MAX_READ:
        raise Invalid(f"照片文件超过 {MAX_READ >> 20} MB，请在手机上导出为较小的照片后上传", code="heic_too_large")
    try:
        with Image.open(io.BytesIO(file.read())) as image:  # libheif parses the boxes; no pixel is decoded
            width, height = image.size
            found = photos.facts(image)
    except (DomainError, _TooLarge):
        raise
    except Exception as exc:  # noqa: BLE001 - libheif and Pillow raise many kinds on a broken file
        log.info("refused HEIC: %r", exc)
        raise not_heif() from exc
    if width * height > rendering.MAX_PIXELS:
        raise Invalid(f"照片像素过多（{width}×{height}），请导出为较小的照片后上传", code="image_too_large")
    return found


def _jpeg_facts(file: io.RawIOBase) -> photos.PhotoFacts | None:
    """A JPEG's EXIF (Pillow reads the markers before the image data only); None when it is not readable."""
    try:
        with Image.open(io.BufferedReader(file, buffer_size=64 * 1024)) as image:
            return photos.facts(image)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - a JPEG was always accepted by its first bytes; EXIF is a bonus
        log.info("no EXIF read from a JPEG: %r", exc)
        return None


def inspect(store: ObjectStore, *, key: str, size: int, filetype: FileType) -> Inspected:
    """Check the structure of the object under key, as sniffed; the confirmed type and the page count."""
    file = StoredFile(store, key, size)
    if filetype.kind == "mp4":
        check_mp4(file, size)
    elif filetype.kind in ("zip", "ofd", "docx", "xlsx"):
        return Inspected(check_zip(file))
    elif filetype.kind == "pdf":
        return Inspected(filetype, page_count=count_pdf_pages(file))
    elif filetype.kind == HEIC:
        return Inspected(filetype, photo=check_heic(file, size))
    elif filetype.kind == "jpeg":
        return Inspected(filetype, photo=_jpeg_facts(file))
    return Inspected(filetype)
