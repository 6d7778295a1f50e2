"""Login (OAuth2 password flow): the form /docs and OAuth2 clients send, or the same fields as JSON."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from app.api.deps import SessionDep
from app.api.openapi import request_body
from app.models.user import TokenPublic
from app.services import messages
from app.services.accounts import users
from app.services.errors import Invalid, TooLarge

router = APIRouter(prefix="/auth", tags=["auth"])

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
MAX_BYTES = 16 * 1024  # a name and a password: anything bigger is not a login
FIELDS_HINT = "登录请提交 username 和 password：表单（application/x-www-form-urlencoded）或 JSON 对象均可"


class LoginForm(BaseModel):
    """A login: OAuth2's password grant fields, as a form or as a JSON object."""

    username: str = Field(max_length=200, description="账号")
    password: str = Field(max_length=1000, description="密码", json_schema_extra={"format": "password"})
    grant_type: str | None = Field(default=None, pattern="^password$", description="OAuth2：固定为 password，可不填")
    scope: str = Field(default="", max_length=1000, description="OAuth2 的 scope，本服务不使用，可不填")
    client_id: str | None = Field(default=None, max_length=200, description="OAuth2 客户端，本服务不使用")
    client_secret: str | None = Field(default=None, max_length=200, description="OAuth2 客户端，本服务不使用")


async def login_fields(request: Request) -> LoginForm:
    """The login's fields from a form (urlencoded or multipart) or a JSON object; what is missing is named with
    the ways to send it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise TooLarge("登录请求过大", code="login_too_large")
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise TooLarge("登录请求过大", code="login_too_large")
    raw: object
    if kind == JSON:
        try:
            raw = json.loads(body)
        except ValueError as exc:
            error = {"loc": "body", "msg": messages.TEMPLATES["json_invalid"], "type": "json_invalid"}
            raise Invalid(FIELDS_HINT, code="validation_failed", errors=[error]) from exc
    elif kind == MULTIPART:
        raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    else:  # urlencoded, or nothing said: read as the form OAuth2 defines
        raw = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        return LoginForm.model_validate(raw)
    except ValidationError as exc:
        errors = messages.errors_of([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        raise Invalid(FIELDS_HINT, code="validation_failed", errors=errors) from exc


@router.post(
    "/token",
    response_model=TokenPublic,
    responses={429: {"description": "登录失败次数过多，稍后再试"}},
    # described as the form only: generators given two media types of one schema make a client that sends both
    openapi_extra=request_body("LoginForm", LoginForm.model_json_schema(), FORM),
)
def login(request: Request, session: SessionDep, form: Annotated[LoginForm, Depends(login_fields)]) -> TokenPublic:
    """Exchange a username and password for a bearer token (OAuth2 password flow: a form, or the same fields as a
    JSON object); repeated failures wait (429)."""
    client = request.client.host if request.client else ""
    return users.login(session, username=form.username, password=form.password, client=client)
