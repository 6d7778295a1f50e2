"""Permission classes: tiny, and they call the same authentication REST uses; what a caller may see of
an object is decided by the service that loads it, as for REST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import ASTValidationRule, DocumentNode, FieldNode, GraphQLError, ValidationContext, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from app.api.graphql.types._base import Info
from app.services.errors import DomainError

ASKS_SCHEMA = (
    '查看 GraphQL 架构（文档、自动补全）需要先登录：在 Headers 中填写 {"Authorization": "Bearer <令牌>"}，'
    "再点左侧刷新按钮重新获取架构；架构全文也在 openapi/schema.graphql"
)


class IsAuthenticated(BasePermission):
    """A valid bearer token of an active account (the same check as REST's CurrentPrincipal)."""

    message = "请先登录"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.principal()  # raises Unauthorized with its own code when the token is bad
        return True


class _FindsIntrospection(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.found = True


def asks_schema(document: DocumentNode) -> bool:
    """Whether the document introspects the schema (__schema or __type; __typename is part of any answer)."""
    finder = _FindsIntrospection()
    visit(document, finder)
    return finder.found


def _refusal(error: DomainError) -> type[ASTValidationRule]:
    class IntrospectionRefused(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            extensions = {"code": error.code, "status": error.status}
            self.report_error(GraphQLError(f"{ASKS_SCHEMA}（{error.message}）", extensions=extensions))

    return IntrospectionRefused


class IntrospectionNeedsLogin(SchemaExtension):
    """The schema is described to a logged-in caller only (the same token check as every field): an anonymous
    introspection is refused before it runs, as a request error, so nobody without an account can spend the
    server's time on it. The schema is no secret (openapi/schema.graphql publishes it); the time is."""

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and asks_schema(ctx.graphql_document):
            try:
                await ctx.context.principal()
            except DomainError as exc:  # not logged in, a bad or expired token, a disabled account
                ctx.validation_rules = (*ctx.validation_rules, _refusal(exc))
        yield
