"""A file's first-page picture, from its bytes alone: PDFium for PDFs, Pillow for images.

Pure and database-free: the worker runs it in a limited child process (app.services.worker.sandbox), since a
hostile file can make PDFium or Pillow spin or allocate without end. Images are refused before decoding when
their decoded size would pass MAX_DECODED_BYTES (the header says how large they are), so a small PNG claiming
100 megapixels costs nothing; JPEGs are decoded at a reduced size straight away (draft mode). Photos stand the
way their EXIF orientation says (a HEIC's rotation is applied by libheif as it decodes).
"""

from __future__ import annotations

import io

import pypdfium2
from PIL import Image, ImageOps

from app.services.media import photos  # noqa: F401 - registers the HEIC/HEIF opener with Pillow

MAX_SIDE = 320  # pixels on the longer side: a list thumbnail, a few tens of kilobytes
MAX_PIXELS = 100_000_000  # an image claiming more is refused before it is decoded
MAX_DECODED_BYTES = 192 * 1024 * 1024  # what decoding may allocate for the pixels (after JPEG draft reduction)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check agrees with ours


class Unrenderable(Exception):
    """This file will not give a preview, however often it is tried."""


def render(data: bytes, extension: str) -> bytes:
    """The PNG preview of a PDF's first page or of an image, at most MAX_SIDE pixels on its longer side."""
    try:
        image = _pdf_page(data) if extension == "pdf" else _image(data)
    except Unrenderable:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - PDFium and Pillow raise many kinds for a broken file
        raise Unrenderable(f"{type(exc).__name__}: {exc}") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _pdf_page(data: bytes) -> Image.Image:
    pdf = pypdfium2.PdfDocument(data)
    try:
        if len(pdf) == 0:
            raise Unrenderable("PDF without pages")
        page = pdf[0]
        try:
            width, height = page.get_size()  # points
            scale = MAX_SIDE / max(width, height, 1.0)
            return page.render(scale=scale, draw_annots=True).to_pil()
        finally:
            page.close()
    finally:
        pdf.close()


def to_jpeg(data: bytes) -> bytes:
    """A full-size JPEG copy of an image (a HEIC photo for a computer that cannot open HEIC), turned the way its
    EXIF says, with its EXIF kept (the orientation then says "as stored")."""
    try:
        image = _image(data, side=None)
        exif = image.getexif()
        exif[0x0112] = 1  # Orientation: the pixels are turned already
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=90, exif=exif.tobytes())
    except Unrenderable:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow and libheif raise many kinds for a broken file
        raise Unrenderable(f"{type(exc).__name__}: {exc}") from exc
    return out.getvalue()


def _image(data: bytes, side: int | None = MAX_SIDE) -> Image.Image:
    image = Image.open(io.BytesIO(data))  # reads the header only
    if image.width * image.height > MAX_PIXELS:
        raise Unrenderable(f"image of {image.width}×{image.height} pixels")
    if side is not None:
        image.draft("RGB", (side, side))  # JPEG: decode at a reduced size straight away
    decoded = image.width * image.height * max(len(image.getbands()), 1)
    if decoded > MAX_DECODED_BYTES:
        raise Unrenderable(f"image of {image.width}×{image.height} pixels would take {decoded >> 20} MiB to decode")
    return ImageOps.exif_transpose(image)  # phone photos stand the right way up
