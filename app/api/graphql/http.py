"""GraphQL over HTTP (the GraphQL-over-HTTP specification): a client that accepts
`application/graphql-response+json` gets that media type, and a request that could not be executed at all
(the document does not parse, does not validate, or its variables do not fit) gets 400 without a `data`
entry. Clients asking for `application/json` (or nothing) keep the classic answer: 200 with `data: null`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from graphql import ExecutionResult
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types.unset import UNSET

from app.api.graphql.context import Context

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_REQUEST_ERROR = "graphql_request_error"


def _quality(accept: str) -> dict[str, float]:
    """Media type → q of an Accept header (`*/*` and `application/*` included as written)."""
    found: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            found[media.lower()] = max(q, found.get(media.lower(), 0.0))
    return found


def wants_graphql_response(accept: str | None) -> bool:
    """Whether the client prefers application/graphql-response+json to application/json."""
    quality = _quality(accept or "")
    ours = quality.get(GRAPHQL_RESPONSE, 0.0)
    return ours > 0 and ours >= quality.get(JSON, 0.0)


def is_request_error(result: ExecutionResult) -> bool:
    """No execution happened: parse, validation or variable errors carry no path and there is no data."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or [])


class GraphQLOverHTTPRouter(GraphQLRouter[Context, None]):
    """Strawberry's router answering in the media type the client accepts, with the spec's status codes;
    GraphiQL from the app's own files."""

    def __init__(self, *args: Any, ide_page: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ide_page = ide_page

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self._ide_page.read_text(encoding="utf-8"))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if wants_graphql_response(request.headers.get("accept")) and is_request_error(result):
            response.pop("data", None)  # the spec: a request error has no data entry
            setattr(request.state, _REQUEST_ERROR, True)
        return response

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        response = await super().run(request, context=context, root_value=root_value)
        if not isinstance(response, Response) or not isinstance(request, Request):
            return response  # a websocket
        content_type = response.headers.get("content-type", "")
        if content_type.startswith(JSON) and wants_graphql_response(request.headers.get("accept")):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if getattr(request.state, _REQUEST_ERROR, False):
                response.status_code = 400
        return response
