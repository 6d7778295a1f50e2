"""What a file job does inside its limited child process: read the file, answer in plain values.

Imported by the forkserver before any child is forked (so each child starts with the parsers loaded); it must
not open the database or the object store: the parent hands the file over as a path and records the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.services.search import extract
from app.services.submission import rendering

PREVIEW = "preview"
TEXT = "text"
JPEG = "jpeg"


def run(job: str, path: str, extension: str) -> Any:
    """("png", bytes) or ("unrenderable", reason) for a preview, ("jpeg", bytes) or ("unrenderable", reason) for a
    JPEG copy; (status, text, error, suggested date, its source) for the search text."""
    data = Path(path).read_bytes()
    if job == PREVIEW:
        try:
            return ("png", rendering.render(data, extension))
        except rendering.Unrenderable as exc:
            return ("unrenderable", str(exc)[:300])
    if job == JPEG:
        try:
            return ("jpeg", rendering.to_jpeg(data))
        except rendering.Unrenderable as exc:
            return ("unrenderable", str(exc)[:300])
    if job == TEXT:
        found = extract.extract(data, extension=extension)
        when = found.suggested_date.isoformat() if found.suggested_date else None
        return (str(found.status), found.text, found.error, when, found.suggested_from)
    raise ValueError(f"unknown file job {job!r}")
