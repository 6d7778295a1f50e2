"""File types from magic bytes, safe original names and Content-Disposition."""

from __future__ import annotations

import io
import urllib.parse
import zipfile

import pytest

from app.services.errors import Invalid
from app.services.submission.filetypes import content_disposition, safe_filename, sniff
from tests.test_storage import PDF


def _zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in names:
            z.writestr(n, "<x/>")
    return buf.getvalue()


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (PDF, "报告.pdf", "pdf"),
        (PDF, "报告.jpg", "pdf"),  # the name does not decide
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "现场.jpeg", "jpeg"),
        (_png(), "截图.png", "png"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20, "录像.mp4", "mp4"),
        (_zip("[Content_Types].xml", "word/document.xml"), "方案.docx", "docx"),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), "台账.xlsx", "xlsx"),
        (_zip("OFD.xml", "Doc_0/Document.xml"), "公文.ofd", "ofd"),
        (_zip("a.txt"), "材料.zip", "zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "旧台账.xls", "xls"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "说明.wps", "wps"),
    ],
)
def test_sniff_accepts(head, name, kind) -> None:
    assert sniff(head, name).kind == kind


@pytest.mark.parametrize(
    ("head", "name", "code"),
    [
        (b"", "空.pdf", "file_empty"),
        (b"MZ\x90\x00 this is an exe", "报告.pdf", "file_type_not_allowed"),
        (b"<html><script>", "page.html", "file_type_not_allowed"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "macro.exe", "file_type_mismatch"),
    ],
)
def test_sniff_refuses(head, name, code) -> None:
    with pytest.raises(Invalid) as exc:
        sniff(head, name)
    assert exc.value.code == code and exc.value.message


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\台账.xlsx") == "台账.xlsx"
    assert safe_filename("a\x00b\r\nc.pdf") == "abc.pdf"
    assert safe_filename("..") == "file"
    long = "法治政府建设示范创建" * 30 + ".pdf"
    assert len(long) == 304
    short = safe_filename(long)
    assert len(short) == 200 and short.endswith(".pdf") and short.startswith("法治政府")


def test_content_disposition_keeps_chinese_name() -> None:
    value = content_disposition("第26-29项 合法性审核意见书.pdf")
    assert value.startswith('attachment; filename="')
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert urllib.parse.unquote(encoded) == "第26-29项 合法性审核意见书.pdf"
    assert "\n" not in content_disposition("a\nb.pdf") and '"' not in value.split('"')[1]


@pytest.mark.parametrize(
    ("original", "extension", "expected"),
    [
        ("会议纪要.pdf", "png", "会议纪要.png"),  # a known extension is replaced by the detected one
        ("现场.JPEG", "jpg", "现场.JPEG"),  # the same type under another spelling is left alone
        ("扫描件", "pdf", "扫描件.pdf"),
        ("方案.v2", "docx", "方案.v2.docx"),  # not an extension we know: kept, the real one appended
        ("台账.xls", "et", "台账.et"),
        ("报告\u202efdp.exe", "pdf", "报告fdp.exe.pdf"),  # the override is gone, so is the disguise
        (None, "zip", "file.zip"),
    ],
)
def test_download_name_carries_the_detected_extension(original, extension, expected) -> None:
    from app.services.submission.filetypes import download_name

    assert download_name(original, extension) == expected


def test_clean_text_keeps_line_breaks_only_where_text_has_lines() -> None:
    from app.models.text import clean_line, clean_text

    dirty = "甲\x00乙\r\n丙\u2028丁\x85戊\u202e己\u2066庚\u2069\t辛\x1b"
    assert clean_line(dirty) == "甲乙丙丁戊己庚辛"
    assert clean_text(dirty) == "甲乙\n丙\n丁戊己庚\t辛"
