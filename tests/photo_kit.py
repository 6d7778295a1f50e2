"""Phone photos for the tests: a HEIC (pillow-heif's encoder) and a JPEG with EXIF capture time, GPS position and
an orientation, left half blue and right half red so a test can tell which way the picture stands."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

from app.services.media import photos  # noqa: F401 - registers the HEIF opener (and its encoder) with Pillow

TAKEN = "2023:03:05 10:20:30"
LATITUDE, LONGITUDE = 35.78, 113.26  # 35°46'48" N, 113°15'36" E: 陵川


def _picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, width // 2, height))
    return image


def exif(orientation: int = 1) -> bytes:
    """An EXIF block with the capture time, the GPS position of 陵川 and the orientation."""
    found = Image.Exif()
    found[ExifTags.Base.Orientation] = orientation
    found.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = TAKEN
    gps = found.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (35.0, 46.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (113.0, 15.0, 36.0)
    return found.tobytes()


def heic(width: int = 64, height: int = 32, *, orientation: int = 6) -> bytes:
    """A HEIC photo stored landscape whose EXIF says to turn it a quarter clockwise (6): it stands portrait."""
    out = io.BytesIO()
    _picture(width, height).save(out, format="HEIF", exif=exif(orientation), quality=90)
    return out.getvalue()


def jpeg(width: int = 64, height: int = 32, *, orientation: int = 6) -> bytes:
    """A JPEG photo like heic(): stored landscape, EXIF orientation 6 (it stands portrait)."""
    out = io.BytesIO()
    _picture(width, height).save(out, format="JPEG", exif=exif(orientation), quality=95)
    return out.getvalue()
