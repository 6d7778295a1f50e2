"""GraphQL at /graphql: the same JWT and the same service-level rules as REST, and GraphiQL served
from the app's own static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends
from strawberry.fastapi import GraphQLRouter

from app.api.deps import ApiBase, StorageDep, Today, bearer_token
from app.api.graphql.context import Context, Transaction, transaction
from app.api.graphql.http import GraphQLOverHTTPRouter
from app.api.graphql.loaders import Loaders
from app.api.graphql.schema import schema

STATIC = Path(__file__).resolve().parents[2] / "static"
PATH = "/graphql"


def get_context(
    tx: Annotated[Transaction, Depends(transaction, scope="function")],
    token: Annotated[str | None, Depends(bearer_token)],
    today: Today,
    store: StorageDep,
    api_base: ApiBase,
) -> Context:
    """FastAPI dependency building the context (the transaction commits when the operation returns)."""
    ctx = Context(tx=tx, token=token, today=today, store=store, api_base=api_base)
    ctx.loaders = Loaders(ctx)
    return ctx


def router() -> GraphQLRouter[Context, None]:
    """The GraphQL endpoint: POST (and GET for queries) with a bearer token, GraphQL over HTTP's media types and
    status codes (see http.py); GraphiQL for browsers."""
    return GraphQLOverHTTPRouter(
        schema,
        path=PATH,
        context_getter=get_context,
        multipart_uploads_enabled=False,
        ide_page=STATIC / "graphiql" / "index.html",
    )


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in openapi/schema.graphql."""
    return schema.as_str() + "\n"
