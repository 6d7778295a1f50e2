"""Location on 201 Created: the path of the new resource's own GET route, so a client (or a browser page,
CORS exposes the header) can follow it without building URLs itself."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.api.openapi import header

# The `responses` of a create that answers with Location.
CREATED: dict[int | str, Any] = {201: {"headers": {"Location": header("Location")}}}


def created_at(request: Request, response: Response, route: str, **path: Any) -> None:
    """Point Location at the GET route named route (its function's name) with these path parameters."""
    response.headers["Location"] = str(request.app.url_path_for(route, **path))
