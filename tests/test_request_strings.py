"""Every string a request can carry goes through the shared text types (issue 23, point 8, at its mechanism): a
field of a request body (JSON, form or multipart, and what the GraphQL mutations validate into the same models),
a form field and a query parameter is a `Line` (names, titles), a `Text` (comments, statements), a `WebUrl`
(http(s) only), or is closed by a pattern, an enum or a literal — or is a secret that is never shown (named
below with why). A new plain `str` anywhere fails here, naming it; one case is then sent through HTTP to show
the cleaning is real."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
import typing
from enum import Enum
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo

import app.api
import app.models
import app.services
from app.models import text

# Strings never shown to anyone and never stored as text: what a person types to prove who they are, tokens a
# client hands back, and the login form's OAuth2 fields this service ignores.
SECRETS = {
    ("LoginForm", "password"),
    ("LoginForm", "client_id"),
    ("LoginForm", "client_secret"),
    ("LoginForm", "scope"),
    ("RefreshForm", "refresh_token"),
    ("PasswordChange", "current_password"),
    ("PasswordChange", "new_password"),
    ("PasswordReset", "password"),
    ("PasswordReset", "new_password"),
    ("WebhookCreate", "robot_secret"),  # DingTalk's 加签 secret: sent on to DingTalk, never shown
    ("UserCreate", "password"),
    ("DingTalkLogin", "authCode"),
    ("DingTalkLogin", "auth_code"),
}
# Query parameters that are secrets or opaque tokens the service itself issued (checked by signature).
SECRET_QUERY = {"token", "sig", "signature", "expires", "code", "state", "iss", "error", "error_description"}
# Multipart bodies a route reads itself (app/api/multipart.py): their text fields are the route's query
# parameters too and are validated as those (checked below with every query parameter).
FORM_SCHEMAS = {
    "EvidenceFileForm", "VersionFileForm", "UploadContent", "UploadPartContent", "ImportUnitsForm",
    "UploadFrameworkForm", "ReplaceReportTemplateForm", "ReplaceNoticeTemplateForm",
}  # fmt: skip
CLEANERS = {text._line, text._text, text._url}  # noqa: SLF001 - the types' own cleaning steps


def _closed(info: FieldInfo | Any, annotation: Any) -> bool:
    """Whether the string is cleaned (Line/Text/WebUrl) or cannot hold free text (pattern, enum, literal)."""
    metadata = list(getattr(info, "metadata", []) or [])
    for meta in metadata:
        if getattr(meta, "func", None) in CLEANERS or getattr(meta, "pattern", None):
            return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        if any(getattr(m, "func", None) in CLEANERS or getattr(m, "pattern", None) for m in extra):
            return True
        return _closed(None, base)
    return origin is typing.Literal or (inspect.isclass(annotation) and issubclass(annotation, Enum))


def _strings(annotation: Any) -> bool:
    """Whether annotation is (or holds, through Optional/list/Annotated) a str."""
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _strings(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, set, tuple, frozenset):
        return any(_strings(a) for a in typing.get_args(annotation))
    return False


def _inner(annotation: Any) -> list[Any]:
    """The types inside Optional/list/Annotated (for nested models and str items)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, set, tuple, frozenset):
        return [t for a in typing.get_args(annotation) for t in _inner(a)]
    return [annotation]


def _field_closed(info: FieldInfo | None, annotation: Any) -> bool:
    """_closed for a field whose type may be Optional or a list: every string in it closed."""
    if _closed(info, annotation):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, set, tuple, frozenset):
        return all(_field_closed(None, a) for a in typing.get_args(annotation) if _strings(a))
    return False


def _unclean_fields(model: type[BaseModel], seen: set[type]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    found = []
    for name, info in model.model_fields.items():
        for inner in _inner(info.annotation):
            if inspect.isclass(inner) and issubclass(inner, BaseModel):
                found += _unclean_fields(inner, seen)
        secret = (model.__name__, name) in SECRETS or (model.__name__, info.alias) in SECRETS
        if _strings(info.annotation) and not secret and not _field_closed(info, info.annotation):
            found.append(f"{model.__name__}.{name}")
    return found


def _models_by_name() -> dict[str, type]:
    """Every pydantic model and enum of app.models, app.api and app.services, by class name."""
    found: dict[str, type] = {}
    for package in (app.models, app.api, app.services):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            loaded = importlib.import_module(module.name)
            for _, obj in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(obj, BaseModel | Enum) and obj.__module__ == loaded.__name__:
                    found.setdefault(obj.__name__, obj)
    return found


def _request_schema_names(spec: dict) -> set[str]:
    """The component schemas a request body refers to, directly or through other schemas."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in names:
                    names.add(name)
                    walk(spec["components"]["schemas"][name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                walk(op.get("requestBody", {}))
    return names


def test_every_request_string_is_cleaned_or_closed(app) -> None:
    spec = app.openapi()
    models = _models_by_name()
    unclean: list[str] = []
    names = _request_schema_names(spec)
    missing = sorted(n for n in names if n not in models and n not in FORM_SCHEMAS)
    assert not missing, f"request schemas without a model class of that name: {missing}"
    seen: set[type] = set()
    for name in sorted(names):
        if name in models and issubclass(models[name], BaseModel):
            unclean += _unclean_fields(models[name], seen)
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        params = [*route.dependant.query_params, *route.dependant.body_params]
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            params += [*dep.query_params, *dep.body_params]
            stack += dep.dependencies
        for param in params:
            annotation = param.field_info.annotation
            if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
                unclean += _unclean_fields(annotation, seen)
                continue
            if not _strings(annotation) or param.name in SECRET_QUERY or param.alias in SECRET_QUERY:
                continue
            if not _field_closed(param.field_info, annotation):
                unclean.append(f"{route.path} {param.alias}")
    assert not unclean, f"plain strings a request can carry (use Line, Text or WebUrl): {sorted(set(unclean))}"


def test_the_checker_finds_a_plain_string_and_an_unenforced_pattern() -> None:
    from pydantic import Field
    from sqlmodel import Field as SqlField
    from sqlmodel import SQLModel

    class Planted(BaseModel):
        name: str
        title: text.Line
        note: text.Text | None = None
        code: str = Field(pattern=r"^[a-z]+$")
        tags: list[text.Line] = []

    class Unenforced(SQLModel):
        username: str = SqlField(regex=r"^[a-z]+$")  # sqlmodel passes it to the schema, never checks it

    assert _unclean_fields(Planted, set()) == ["Planted.name"]
    assert _unclean_fields(Unenforced, set()) == ["Unenforced.username"]


def test_a_username_outside_its_pattern_is_refused(client, world) -> None:
    body = {"display_name": "测试", "role": "liaison", "unit_id": world.ids["lc_sfj"], "password": "Abcdef-12"}
    for bad in ("有 空格", "bell\x07", "a b"):
        r = client.post("/api/v1/users", json={**body, "username": bad}, headers=world.auth("sysadmin"))
        assert r.status_code == 422 and "username" in r.text, (bad, r.text)
