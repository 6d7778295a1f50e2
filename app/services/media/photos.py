"""Phone photos: HEIC/HEIF read through pillow-heif (libheif), and what a photo's EXIF says about where and when
it was taken (拍摄时间/拍摄地点).

Importing this module registers the HEIF opener with Pillow, so Image.open reads an iPhone's HEIC like a JPEG:
the structure check, the preview renderer and the JPEG copy all go through it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pillow_heif
from PIL import ExifTags, Image

log = logging.getLogger("shifan.photos")
pillow_heif.register_heif_opener()

_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class PhotoFacts:
    """What a photo's EXIF says: the camera clock's local time (EXIF keeps no time zone) and GPS position."""

    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


def facts(image: Image.Image) -> PhotoFacts:
    """The capture time and place in an opened image's EXIF (nothing when it has none or it is unreadable)."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        raw = sub.get(ExifTags.Base.DateTimeOriginal) or sub.get(ExifTags.Base.DateTimeDigitized)
        taken = _time(raw or exif.get(ExifTags.Base.DateTime))
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _coordinate(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), 90)
        lon = _coordinate(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), 180)
    except Exception as exc:  # noqa: BLE001 - a damaged EXIF block is no reason to refuse a photo
        log.info("unreadable EXIF: %r", exc)
        return PhotoFacts()
    if lat is None or lon is None:
        lat = lon = None
    return PhotoFacts(taken, lat, lon)


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        taken = datetime.strptime(raw.strip("\x00 ")[:19], _EXIF_TIME)
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other placeholders cameras write
    return taken if 1990 <= taken.year <= 2100 else None


def _coordinate(value: object, ref: object, bound: int) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals; negative south of the equator or west."""
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    try:
        degrees = float(value[0]) + float(value[1]) / 60 + float(value[2]) / 3600
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if str(ref or "").strip().upper() in ("S", "W"):
        degrees = -degrees
    return round(degrees, 6) if abs(degrees) <= bound else None
