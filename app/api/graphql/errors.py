"""GraphQL errors as clients see them: the service's domain errors keep their message and gain the
same code and status as REST (extensions.code / extensions.status); anything unexpected is masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.services.errors import DomainError

log = logging.getLogger("shifan.graphql")

INTERNAL = "服务器内部错误，请稍后重试或联系管理员"


def present(error: GraphQLError) -> GraphQLError:
    """The error a client may see."""
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code, "status": original.status}
        if original.errors:
            extensions["errors"] = original.errors
        return GraphQLError(original.message, error.nodes, path=error.path, extensions=extensions)
    if original is None or isinstance(original, GraphQLError):
        # the query itself is wrong (syntax, unknown field, bad variable, a limit): graphql-core's words
        extensions = {"code": "graphql_invalid", "status": 400, **(error.extensions or {})}
        return GraphQLError(error.message, error.nodes, path=error.path, extensions=extensions)
    log.error("unexpected error in GraphQL resolver at %s", error.path, exc_info=original)
    return GraphQLError(INTERNAL, error.nodes, path=error.path, extensions={"code": "internal_error", "status": 500})


class DomainErrors(SchemaExtension):
    """Rewrites every error of the result once the operation is done."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [present(e) for e in result.errors]
