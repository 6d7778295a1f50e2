"""Small, well-formed sample files written from scratch: the demo's evidence (in Chinese, as a county's files are),
and the test suite's."""

from __future__ import annotations

import struct
import zlib


def one_page_pdf(content: bytes, *, width: int = 595, height: int = 842) -> bytes:
    """A one-page PDF (A4 unless told) drawing the PDF content stream `content` with Helvetica as /F1."""
    return _pdf(content, font=b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>", width=width, height=height)


def _pdf(content: bytes, *, font: bytes, extra: tuple[bytes, ...] = (), width: int = 595, height: int = 842) -> bytes:
    """One page drawing content with font as /F1 (objects 1–5), then the extra objects (6, 7 …) the font names."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 %d %d]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>"
        % (width, height),
        b"<</Length " + str(len(content)).encode() + b">>stream\n" + content + b"\nendstream",
        font,
        *extra,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj".encode() + body + b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def chinese_pdf(lines: list[str], *, size: int = 16) -> bytes:
    """A one-page A4 PDF saying lines in Chinese, in Adobe's STSong-Light (one of the fonts every PDF reader
    provides, so nothing is embedded) with the UniGB-UTF16-H encoding: readers draw it with their Song font, and
    text extraction (search) reads the characters back as UTF-16."""
    shown = b"".join(
        b"BT /F1 %d Tf 72 %d Td <%s> Tj ET\n" % (size, 760 - n * (size * 2), line.encode("utf-16-be").hex().encode())
        for n, line in enumerate(lines)
    )
    return _pdf(
        shown,
        font=b"<</Type/Font/Subtype/Type0/BaseFont/STSong-Light/Encoding/UniGB-UTF16-H/DescendantFonts[6 0 R]>>",
        extra=(
            b"<</Type/Font/Subtype/CIDFontType0/BaseFont/STSong-Light/CIDSystemInfo<</Registry(Adobe)/Ordering(GB1)"
            b"/Supplement 4>>/FontDescriptor 7 0 R/DW 1000>>",
            b"<</Type/FontDescriptor/FontName/STSong-Light/Flags 6/FontBBox[-25 -254 1000 880]/ItalicAngle 0"
            b"/Ascent 880/Descent -120/CapHeight 880/StemV 93>>",
        ),
    )


def solid_png(width: int, height: int, rgb: bytes) -> bytes:
    """A valid RGB PNG of one colour (rgb: three bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + rgb * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
