"""Hostile evidence files, made small: each is accepted by the upload checks, and each makes a parser spend
far more than its size on reading it (found from outside: the worker stalled for every county)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (1-based numbers), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def stalling_pdf(pages: int = 500, operations: int = 400_000) -> bytes:
    """pages pages that all draw one shared, hugely repetitive content stream (a few MB of text operators,
    compressed to tens of KB): a text extractor that reads every page's stream spends minutes on it."""
    op = b"BT /F1 9 Tf 72 700 Td (x) Tj ET\n"
    stream = zlib.compress(op * operations, 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
        b" /Contents 4 0 R >>"
    )
    objects += [page] * pages
    return _pdf(objects)


def busy_pdf(operations: int = 2_000_000, tag: bytes = b"") -> bytes:
    """One page whose content stream holds millions of text operators (compressed to a few tens of KB): reading
    its words costs minutes of CPU whatever the page count. tag makes each file's bytes distinct."""
    op = b"BT /F1 9 Tf 72 700 Td (x) Tj ET\n"
    stream = zlib.compress(b"%" + tag + b"\n" + op * operations, 9)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents 4 0 R >>",
        ]
    )


def huge_png(width: int = 10_000, height: int = 10_000, color_type: int = 6) -> bytes:
    """A PNG of width × height pixels, all zero (RGBA by default: 400 MB decoded), a few hundred KB on disk."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row = b"\x00" * (1 + width * channels)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def xml_heavy_docx(paragraphs: int = 400_000) -> bytes:
    """A DOCX whose document.xml holds hundreds of thousands of paragraphs (~20 MB of XML, ~60 KB zipped):
    building its whole tree takes hundreds of MB."""
    body = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * paragraphs
    ns = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document ' + ns + b"><w:body>" + body + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        z.writestr("word/document.xml", document)
    return out.getvalue()
