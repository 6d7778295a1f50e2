"""GraphQL errors as clients see them: the service's domain errors keep their message and gain the
same code and status as REST (extensions.code / extensions.status); anything unexpected is masked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import SchemaExtension

from app.api.errors import INTERNAL, database_problem
from app.api.graphql.context import TransactionBroken
from app.services.errors import DomainError

log = logging.getLogger("shifan.graphql")


# graphql-core's messages about a wrong query, said in Chinese (the original stays in extensions.detail
# for the developer); the first pattern that matches wins, anything else gets the general sentence.
_SUGGEST = r"(?: Did you mean (?P<hint>.+?)\?)?"
_QUERY_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"Cannot query field '(?P<a>[^']+)' on type '(?P<b>[^']+)'\.{_SUGGEST}$"), "类型 {b} 没有字段 {a}"),
    (
        re.compile(rf"Field '(?P<a>[^']+)' of type '(?P<b>[^']+)' must have a selection of subfields\.{_SUGGEST}$"),
        "字段 {a}（{b}）需要列出要取的子字段",
    ),
    (
        re.compile(r"Field '(?P<a>[^']+)' must not have a selection since type '(?P<b>[^']+)' has no subfields\.$"),
        "字段 {a}（{b}）没有子字段，不能再选择",
    ),
    (
        re.compile(r"Argument '(?P<a>[^']+)' of type '(?P<b>[^']+)' is required, but it was not provided\.$"),
        "缺少必填参数 {a}（类型 {b}）",
    ),
    (
        re.compile(r"Field '(?P<a>[^']+)' argument '(?P<c>[^']+)' of type '(?P<b>[^']+)' is required.*$"),
        "字段 {a} 缺少必填参数 {c}（类型 {b}）",
    ),
    (re.compile(rf"Unknown argument '(?P<a>[^']+)' on field '(?P<b>[^']+)'\.{_SUGGEST}$"), "字段 {b} 没有参数 {a}"),
    (re.compile(rf"Unknown type '(?P<a>[^']+)'\.{_SUGGEST}$"), "没有名为 {a} 的类型"),
    (
        re.compile(r"Variable '(?P<a>[^']+)' of required type '(?P<b>[^']+)' was not provided\.$"),
        "缺少必填变量 {a}（类型 {b}）",
    ),
    (
        re.compile(r"Variable '(?P<a>[^']+)' has invalid value: Expected a value of non-null type '(?P<b>[^']+)'.*$"),
        "缺少必填变量 {a}（类型 {b}）",
    ),
    (re.compile(r"Variable '(?P<a>[^']+)' (?:has|got) invalid value.*$"), "变量 {a} 的值无效"),
    (re.compile(r"Variable '(?P<a>[^']+)' is never used.*$"), "变量 {a} 定义了但没有使用"),
    (re.compile(r"Variable '(?P<a>[^']+)' is not defined.*$"), "变量 {a} 未定义"),
    (re.compile(r"Int cannot represent non 32-bit signed integer value.*$"), "整数超出范围（最大 2147483647）"),
    (re.compile(r"(?P<a>Int|Float|Boolean|String|ID) cannot represent .*$"), "参数值不是有效的 {a}"),
    (re.compile(r"Enum '(?P<a>[^']+)' cannot represent .*$"), "参数值不是 {a} 的可选值"),
    (re.compile(r"(?P<a>\d+) aliases found\. Allowed: (?P<b>\d+)$"), "查询用了 {a} 个别名，最多 {b} 个"),
    (re.compile(r"Syntax Error: Document contains more than (?P<a>\d+) tokens.*$"), "查询语句过长（超过 {a} 个记号）"),
    (re.compile(r"Syntax Error: .*$"), "查询语句有语法错误（检查括号、引号和字段名）"),
    (re.compile(r"This anonymous operation must be the only defined operation\.$"), "一次请求只能有一个匿名操作"),
    (re.compile(r"Unknown operation named '(?P<a>[^']+)'\.$"), "没有名为 {a} 的操作"),
    (
        re.compile(r"Must provide operation name if query contains multiple operations\.$"),
        "请求含多个操作时须指定 operationName",
    ),
    (re.compile(r"Must provide query string\.$"), "请求中没有查询语句"),
    (re.compile(r"Cannot query field .*$"), "查询了不存在的字段"),
]


def query_message(message: str) -> str:
    """A wrong query's graphql-core message in Chinese (a general sentence when no pattern knows it)."""
    for pattern, template in _QUERY_MESSAGES:
        found = pattern.match(message)
        if found:
            return template.format(**{k: v for k, v in found.groupdict().items() if v is not None})
    return "查询语句有误，请对照 GraphQL 架构（/graphql 或 openapi/schema.graphql）检查"


def present(error: GraphQLError) -> GraphQLError:
    """The error a client may see."""
    original = error.original_error
    if isinstance(original, TransactionBroken):  # a field after the request's first database error: answer as it
        original = original.cause
    if isinstance(original, DomainError):
        extensions = {"code": original.code, "status": original.status}
        if original.errors:
            extensions["errors"] = original.errors
        return GraphQLError(original.message, error.nodes, path=error.path, extensions=extensions)
    if original is None or isinstance(original, GraphQLError):
        # the query itself is wrong (syntax, unknown field, bad variable, a limit): ours speak Chinese
        # already (the limits), graphql-core's are said in Chinese with its own words kept as detail
        extensions = {"code": "graphql_invalid", "status": 400, **(error.extensions or {})}
        if "code" in (error.extensions or {}):
            return GraphQLError(error.message, error.nodes, path=error.path, extensions=extensions)
        extensions["detail"] = error.message
        return GraphQLError(query_message(error.message), error.nodes, path=error.path, extensions=extensions)
    passing = database_problem(original) if isinstance(original, DBAPIError) else None
    if passing is not None:
        # the database restarting, or a collision it rolled back: the same answer REST gives, not a fault of ours
        status, code, message = passing
        log.warning("%s in GraphQL resolver at %s: %s", code, error.path, original.orig)  # type: ignore[union-attr]
        return GraphQLError(message, error.nodes, path=error.path, extensions={"code": code, "status": status})
    log.error("unexpected error in GraphQL resolver at %s", error.path, exc_info=original)
    return GraphQLError(INTERNAL, error.nodes, path=error.path, extensions={"code": "internal_error", "status": 500})


class DomainErrors(SchemaExtension):
    """Rewrites every error of the result once the operation is done."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [present(e) for e in result.errors]
