"""Every error a person can meet is said in Chinese: a sweep over every route of the OpenAPI document
with broken bodies, bad query and path values, no token, unknown routes and wrong methods, checking
each problem's title, detail and errors[].msg; and the validation messages type by type."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from app.api.errors import TITLES, title_of
from app.services import errors as domain_errors
from app.services import messages

API = "/api/v1"
_CJK = re.compile(r"[\u3400-\u9fff]")
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")  # three English words in a row


def english(text: str) -> bool:
    """True when text reads as English: no Chinese at all, or an English phrase inside it."""
    return not _CJK.search(text) or bool(_ENGLISH.search(text))


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            concrete = [s for s in schema[key] if s.get("type") != "null"]
            if concrete:
                return _resolve(spec, concrete[0])
    return schema


def _wrong(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value this schema refuses."""
    schema = _resolve(spec, schema)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return "no-such-choice"
    if kind in ("integer", "number"):
        return "abc"
    if kind == "boolean":
        return "maybe"
    if kind == "array":
        return "not-a-list"
    if kind == "object" or "properties" in schema:
        return 7
    if schema.get("format") in ("uri", "url"):
        return "not a url"
    if schema.get("format") in ("date", "date-time"):
        return "2023-13-45"
    if "maxLength" in schema:
        return "长" * (schema["maxLength"] + 1)
    if "pattern" in schema:
        return "\u0000!"
    return ["not", "text"]


def _broken_bodies(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = _resolve(spec, content["application/json"]["schema"])
        wrong = {name: _wrong(spec, prop) for name, prop in schema.get("properties", {}).items()}
        return [
            {"content": b'{"name": "x",', "headers": {"Content-Type": "application/json"}},  # cut-off JSON
            {"json": {}},  # every required field missing
            {"json": wrong},  # every field of the wrong type or too long
            {"json": [1, 2]},  # not an object at all
        ]
    if "multipart/form-data" in content:
        return [
            {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},  # no boundary
            {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
            {"data": {"title": "无文件"}},
        ]
    if "application/x-www-form-urlencoded" in content:
        return [{"data": {}}, {"content": b"%%%", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}]
    return [{}]


def _bad_path(spec: dict[str, Any], path: str, operation: dict[str, Any]) -> str:
    values = {}
    for p in operation.get("parameters", []):
        if p.get("in") == "path":
            values[p["name"]] = "abc" if _resolve(spec, p["schema"]).get("type") == "integer" else "no-such-id"
    return path.format(**values)


def _bad_query(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    query = {}
    for p in operation.get("parameters", []):
        if p.get("in") == "query":
            wrong = _wrong(spec, p["schema"])
            query[p["name"]] = wrong if not isinstance(wrong, list) else "x" * 3000
    return query


_PLACES = ("body", "query", "path", "header", "cookie")


def loc_agrees(error: dict[str, Any], where: str = "") -> None:
    """An error's loc is the real path (0-based, body./query./path. first for a request's input) and its message
    says each position 1-based in words: loc body.scores.2.points, msg 'scores 第 3 条的 points …'."""
    loc, msg = error["loc"], error["msg"]
    assert not re.search(r"\[\d+\]", msg), f"{where}: {msg!r} counts like an index"
    if error.get("type") == "json_invalid":  # its loc ends in a character offset, not a position
        return
    parts = loc.split(".") if loc else []
    if error.get("type") and parts:  # a validation error of a request: it says where in the request
        assert parts[0] in _PLACES, f"{where}: loc {loc!r} does not say body, query or path"
    for part in parts:
        if part.isdigit():
            assert f"第 {int(part) + 1} 条" in msg, f"{where}: loc {loc!r} but msg {msg!r}"


def _check(response, seen: list[str], where: str) -> None:
    if response.status_code < 400:
        return
    assert response.headers["content-type"].startswith("application/problem+json"), (where, response.text[:200])
    problem = response.json()
    texts = [("title", problem["title"]), ("detail", problem["detail"])]
    texts += [(f"errors[{e['loc']}]", e["msg"]) for e in problem.get("errors") or []]
    for name, text in texts:
        assert not english(text), f"{where} {response.status_code} {name}: {text!r}"
    for error in problem.get("errors") or []:
        loc_agrees(error, where)
    seen.append(f"{response.status_code} {problem['code']}")


def test_every_error_of_every_route_is_in_chinese(app, client, world) -> None:
    spec = app.openapi()
    seen: list[str] = []
    operations = [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        # logout takes no body to break and would end the shared world's login session
        if path.startswith(API) and path != f"{API}/auth/logout"
    ]
    assert len(operations) > 60
    for method, path, op in operations:
        url = _bad_path(spec, path, op)
        for body in _broken_bodies(spec, op):
            # as admin: bad path values make every write a 422, so nothing in the shared world changes
            sent = {**body, "headers": {**world.auth("sysadmin"), **body.get("headers", {})}}
            r = client.request(method.upper(), url, params=_bad_query(spec, op), **sent)
            _check(r, seen, f"{method.upper()} {path}")
        r = client.request(method.upper(), url)  # no token
        _check(r, seen, f"{method.upper()} {path} anonymous")
        unused = next(m for m in ("put", "patch", "delete", "get", "post") if m not in spec["paths"][path])
        r = client.request(unused.upper(), url, headers=world.auth("sysadmin"))
        _check(r, seen, f"{unused.upper()} {path}")
    for url in (f"{API}/no-such-thing", "/no-such-thing", f"{API}/campaigns/1/no-such-list"):
        _check(client.get(url, headers=world.auth("sysadmin")), seen, url)
    r = client.get(f"{API}/campaigns", headers={"Authorization": "Bearer not-a-token"})
    _check(r, seen, "bad token")
    kinds = {s.split()[0] for s in seen}
    assert {"400", "401", "404", "405", "422"} <= kinds, sorted(set(seen))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "missing", "loc": ("body", "name")}, "name 为必填项"),
        (
            {"type": "string_too_long", "loc": ("body", "title"), "ctx": {"max_length": 200}},
            "title 不能超过 200 个字符",
        ),
        ({"type": "url_parsing", "loc": ("body", "url"), "ctx": {"error": "relative URL"}}, "url 不是有效的网址"),
        ({"type": "int_parsing", "loc": ("query", "limit")}, "查询参数 limit 必须是整数"),
        ({"type": "greater_than_equal", "loc": ("query", "offset"), "ctx": {"ge": 0}}, "查询参数 offset 不能小于 0"),
        ({"type": "less_than_equal", "loc": ("query", "limit"), "ctx": {"le": 500}}, "查询参数 limit 不能大于 500"),
        (
            {"type": "greater_than", "loc": ("body", "scores", 2, "points"), "ctx": {"gt": 0}},
            "scores 第 3 条的 points 必须大于 0",
        ),
        ({"type": "enum", "loc": ("body", "kind"), "ctx": {"expected": "'url' or 'statement'"}}, "'url'、'statement'"),
        ({"type": "json_invalid", "loc": ("body", 12), "ctx": {"error": "Expecting value"}}, "不是有效的 JSON"),
        (
            {"type": "value_error", "loc": ("body",), "ctx": {"error": ValueError("网址资料只需填写 url")}},
            "网址资料只需填写 url",
        ),
        (
            {"type": "value_error", "loc": ("body", "x"), "ctx": {"error": ValueError("bad thing here")}},
            "x 的值不符合要求",
        ),
        ({"type": "some_future_type", "loc": ("path", "campaign_id")}, "路径参数 campaign_id 的值不符合要求"),
    ],
)
def test_validation_messages_by_type(error: dict[str, Any], expected: str) -> None:
    text = messages.describe(error)
    assert expected in text and not english(text)


def test_a_422_names_the_field_in_chinese(client, world) -> None:
    r = client.post(
        f"{API}/campaigns/{world.ids['lc_campaign']}/rectifications",
        json={"unit_id": "abc", "due_on": "2023-02-30", "problem": ""},
        headers=world.auth("lc-office"),
    )
    assert (
        r.status_code == 422 and r.json()["code"] == "validation_failed" and r.json()["title"] == "提交的数据不符合要求"
    )
    by_loc = {e["loc"]: e["msg"] for e in r.json()["errors"]}
    assert by_loc["body.unit_id"] == "unit_id 必须是整数"
    assert by_loc["body.due_on"].startswith("due_on 必须是日期")
    r = client.get(f"{API}/no-such-thing", headers=world.auth("lc-office"))
    assert (r.status_code, r.json()["code"], r.json()["title"]) == (404, "not_found", "未找到")
    r = client.delete(f"{API}/campaigns", headers=world.auth("lc-office"))
    assert (r.status_code, r.json()["code"], r.json()["title"]) == (405, "method_not_allowed", "不支持的请求方法")


def test_every_domain_error_and_title_is_in_chinese() -> None:
    """The errors no sweep reaches (a conflict, a lock …): every DomainError raised in app/ with a
    literal message, every default message and every title, read from the source."""
    names = {
        n for n, c in vars(domain_errors).items() if isinstance(c, type) and issubclass(c, domain_errors.DomainError)
    }
    names |= {"file_too_large", "invalid_from"}
    found = 0
    for path in (Path(__file__).resolve().parents[1] / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0] if called != "invalid_from" else node.args[1]
            if called in names and isinstance(first, ast.Constant | ast.JoinedStr):
                literal = "".join(
                    v.value for v in (first.values if isinstance(first, ast.JoinedStr) else [first])
                    if isinstance(v, ast.Constant)
                )  # fmt: skip
                assert not english(literal), f"{path.name}:{node.lineno}: {literal!r}"
                found += 1
    assert found > 100
    for cls in vars(domain_errors).values():
        if isinstance(cls, type) and issubclass(cls, domain_errors.DomainError):
            assert not english(cls.message), cls
    for status in [*TITLES, 418, 499, 507]:
        assert not english(title_of(status))


def test_graphql_query_mistakes_are_said_in_chinese(client, world) -> None:
    """graphql-core's English about a wrong query becomes Chinese; its words stay in extensions.detail."""
    h = world.auth("lc-office")
    aliases = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(40)) + " }"
    cases = [
        ("{ nope }", {}, "没有字段 nope"),
        ("{ viewer }", {}, "子字段"),
        ("{ campaign { id } }", {}, "缺少必填参数"),
        ("query($id: Int!) { campaign(id: $id) { id } }", {"id": "abc"}, "变量 $id 的值无效"),
        ("query($id: Int!) { campaign(id: $id) { id } }", {}, "缺少必填变量 $id"),
        ('{ campaign(id: "x") { id } }', {}, "不是有效的 Int"),
        ("{ campaign(id: 1, foo: 2) { id } }", {}, "没有参数 foo"),
        ("{ campaign(id: 1) { id ", {}, "语法错误"),
        ("{ campaign(id: 99999999999) { id } }", {}, "超出范围"),
        (aliases, {}, "最多 30 个"),
    ]
    for query, variables, words in cases:
        r = client.post("/graphql", json={"query": query, "variables": variables}, headers=h)
        errors = r.json()["errors"]
        assert errors, query
        for error in errors:
            assert not english(error["message"]), (query, error)
            assert error["extensions"]["code"] == "graphql_invalid" and error["extensions"]["detail"]
        assert any(words in e["message"] for e in errors), (query, errors)
