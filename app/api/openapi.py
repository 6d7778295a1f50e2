"""The OpenAPI document as code generators need it: short operationIds, readable schema names, binary
downloads, the headers the API reads and sends, and `security: []` on the public operations."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.routing import APIRoute

from app.api.idempotency import honours_key

REQUEST_ID = "X-Request-ID"
_HEADERS: dict[str, dict[str, Any]] = {
    REQUEST_ID: {
        "description": "本次请求的编号（请求中带来的合规编号原样返回，否则新生成），日志与审计记录中可查",
        "schema": {"type": "string"},
    },
    "ETag": {"description": "资源当前版本；修改时放入 If-Match，已被他人修改则返回 412", "schema": {"type": "string"}},
    "Retry-After": {"description": "建议等待的秒数", "schema": {"type": "integer"}},
    "Location": {
        "description": "新建资源的地址（其 GET 路径）",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Content-Disposition": {
        "description": "下载时的文件名（RFC 6266：attachment; filename=…; filename*=UTF-8''…，中文名在 filename* 中）",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "true：这是同一 Idempotency-Key 首次请求的应答重放",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_PARAMETERS: dict[str, dict[str, Any]] = {
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "重试安全：同一密钥的重复请求返回首次的应答（不重复执行），用于不同请求则 422",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
    },
    "RequestId": {
        "name": REQUEST_ID,
        "in": "header",
        "required": False,
        "description": "调用方自带的请求编号（1–64 个字母、数字、._-），原样返回并写入日志",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    },
}
_SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def operation_id(route: APIRoute) -> str:
    """camelCase of the route function's name (`list_my_assignments` → `listMyAssignments`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def binary(
    media_type: str, description: str, *, headers: dict[str, Any] | None = None, named: bool = True
) -> dict[int | str, Any]:
    """The `responses` of an operation answering with a file: bytes of media_type, not JSON, with the file's name
    in Content-Disposition (named=False: a feed or an image shown inline, which carry none)."""
    response: dict[str, Any] = {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
    }
    headers = {**({"Content-Disposition": header("Content-Disposition")} if named else {}), **(headers or {})}
    if headers:
        response["headers"] = headers
    return {200: response}


# Bodies a route reads itself (a streamed upload, a login in either form encoding): their schemas, by name, go into
# components/schemas like FastAPI's own, so every request body has a name a generator makes a class of.
_BODIES: dict[str, dict[str, Any]] = {}


def request_body(name: str, schema: dict[str, Any], *media_types: str) -> dict[str, Any]:
    """The `openapi_extra` of a route that reads its body itself: the schema under name, for each media type."""
    if _BODIES.setdefault(name, schema) != schema:
        raise RuntimeError(f"two request bodies named {name}")
    ref = {"schema": {"$ref": f"#/components/schemas/{name}"}}
    return {"requestBody": {"required": True, "content": {media: ref for media in media_types}}}


def header(name: str) -> dict[str, str]:
    """A reference to one of the response headers declared once under components/headers."""
    return {"$ref": f"#/components/headers/{name}"}


ETAG: dict[int | str, Any] = {200: {"headers": {"ETag": header("ETag")}}}


def document(schema: dict[str, Any], *, servers: list[dict[str, str]]) -> dict[str, Any]:
    """Add what generators need to FastAPI's document (after errors.document has set the error bodies)."""
    schema["servers"] = servers
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(_BODIES)
    components.setdefault("headers", {}).update(_HEADERS)
    components.setdefault("parameters", {}).update(_PARAMETERS)
    _readable_schema_names(schema)
    _request_defaults_stay_optional(schema)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            operation.setdefault("security", [])  # no auth dependency: a public operation
            parameters = operation.setdefault("parameters", [])
            parameters.append({"$ref": "#/components/parameters/RequestId"})
            replayable = honours_key(method.upper(), path)
            if replayable:
                parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers[REQUEST_ID] = header(REQUEST_ID)
                if status == "429":
                    headers["Retry-After"] = header("Retry-After")
                if replayable and status != "default":
                    headers["Idempotent-Replayed"] = header("Idempotent-Replayed")
    return schema


def _readable_schema_names(schema: dict[str, Any]) -> None:
    """Generic models are named after their parameters by pydantic (`Page_AssignmentPublic_`) and form bodies
    `Body_<operationId>` by FastAPI: use the model's own title (`AssignmentPage`, see Page) or `<OperationId>Form`,
    everywhere they are referred to."""
    schemas = schema.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name, body in schemas.items():
        if _SCHEMA_NAME.match(name):
            continue
        title = str(body.get("title", ""))
        if name.startswith("Body_"):
            op = name.removeprefix("Body_")
            renames[name] = op[:1].upper() + op[1:] + "Form"
        elif _SCHEMA_NAME.match(title) and title not in schemas:
            renames[name] = title
    if len(set(renames.values())) != len(renames):
        raise RuntimeError(f"two schemas would get the same name: {renames}")
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    _rewrite_refs(schema, {f"#/components/schemas/{o}": f"#/components/schemas/{n}" for o, n in renames.items()})
    bad = [name for name in schemas if not _SCHEMA_NAME.match(name)]
    if bad:  # a generic or a duplicate got a name no generator turns into a good class name
        raise RuntimeError(f"schema names not in PascalCase: {bad}")


def _refs(node: Any) -> set[str]:
    """The schema names node refers to (directly)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.rsplit("/", 1)[1]} if isinstance(ref, str) and ref.startswith("#/components/schemas/") else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _reachable(schemas: dict[str, Any], start: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo += _refs(schemas[name])
    return seen


def _request_defaults_stay_optional(schema: dict[str, Any]) -> None:
    """A property with a default in a schema only requests use is one the client may leave out, but
    openapi-typescript types every defaulted property of a component as always present (right for answers, where
    the server fills it in): it made LoginForm.scope required. So in request-only schemas the default moves into
    the description, and the property stays optional for every generator."""
    schemas = schema.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    answers: set[str] = set()
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            requests |= _refs(operation.get("requestBody", {}))
            answers |= _refs(operation.get("responses", {})) | _refs(operation.get("parameters", []))
    for name in _reachable(schemas, requests) - _reachable(schemas, answers):
        for prop in schemas[name].get("properties", {}).values():
            if "default" not in prop:
                continue
            default = prop.pop("default")
            if default not in (None, "", [], {}):
                said = f"不填时为 {json.dumps(default, ensure_ascii=False)}"
                prop["description"] = f"{prop['description']}（{said}）" if prop.get("description") else said


def _rewrite_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _rewrite_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, refs)
