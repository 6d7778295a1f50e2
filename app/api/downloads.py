"""HTTP details of handing files back: Content-Disposition per RFC 6266 / RFC 5987."""

from __future__ import annotations

import urllib.parse

from app.services.filetypes import safe_filename


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A header value that keeps a Chinese file name (filename*) with an ASCII fallback for old clients."""
    name = safe_filename(filename)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    quoted = urllib.parse.quote(name, safe="")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
