"""Login (OAuth2 password flow: the form /docs and OAuth2 clients send, or the same fields as JSON), the refresh of
a login session's tokens, and logout."""

from __future__ import annotations

import json
from typing import Annotated, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field, ValidationError

from app.api.deps import CurrentPrincipal, SessionDep
from app.api.openapi import request_body
from app.models.login_session import TokenPublic
from app.models.text import Line
from app.services import messages
from app.services.accounts import sessions, users
from app.services.errors import Invalid, TooLarge

router = APIRouter(prefix="/auth", tags=["auth"])

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
MAX_BYTES = 16 * 1024  # a name and a password: anything bigger is not a login
Form = TypeVar("Form", bound=BaseModel)
FIELDS_HINT = "登录请提交 username 和 password：表单（application/x-www-form-urlencoded）或 JSON 对象均可"


class LoginForm(BaseModel):
    """A login: OAuth2's password grant fields, as a form or as a JSON object."""

    username: Line = Field(max_length=200, description="账号")
    password: str = Field(max_length=1000, description="密码", json_schema_extra={"format": "password"})
    grant_type: str | None = Field(default=None, pattern="^password$", description="OAuth2：固定为 password，可不填")
    scope: str = Field(default="", max_length=1000, description="OAuth2 的 scope，本服务不使用，可不填")
    client_id: str | None = Field(default=None, max_length=200, description="OAuth2 客户端，本服务不使用")
    client_secret: str | None = Field(default=None, max_length=200, description="OAuth2 客户端，本服务不使用")


class RefreshForm(BaseModel):
    """A refresh: OAuth2's refresh_token grant fields, as a form or as a JSON object."""

    refresh_token: str = Field(max_length=200, description="上次登录或刷新时得到的 refresh_token（只能用一次）")
    grant_type: str | None = Field(
        default=None, pattern="^refresh_token$", description="OAuth2：固定为 refresh_token，可不填"
    )


REFRESH_HINT = "刷新登录请提交 refresh_token：表单（application/x-www-form-urlencoded）或 JSON 对象均可"


async def login_fields(request: Request) -> LoginForm:
    """The login's fields from a form (urlencoded or multipart) or a JSON object; what is missing is named with
    the ways to send it."""
    return await _fields(request, LoginForm, FIELDS_HINT)


async def refresh_fields(request: Request) -> RefreshForm:
    """The refresh's field, sent as a login's are."""
    return await _fields(request, RefreshForm, REFRESH_HINT)


async def _fields(request: Request, model: type[Form], hint: str) -> Form:
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
            raise Invalid(hint, code="validation_failed", errors=[error]) from exc
    elif kind == MULTIPART:
        raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    else:  # urlencoded, or nothing said: read as the form OAuth2 defines
        raw = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = messages.errors_of([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        raise Invalid(hint, code="validation_failed", errors=errors) from exc


@router.post(
    "/token",
    response_model=TokenPublic,
    responses={429: {"description": "登录失败次数过多，稍后再试"}},
    # described as the form only: generators given two media types of one schema make a client that sends both
    openapi_extra=request_body("LoginForm", LoginForm.model_json_schema(), FORM),
)
def login(request: Request, session: SessionDep, form: Annotated[LoginForm, Depends(login_fields)]) -> TokenPublic:
    """Exchange a username and password for a login session's tokens (OAuth2 password flow: a form, or the same
    fields as a JSON object): a short-lived access token and a refresh token; repeated failures wait (429)."""
    return users.login(
        session, username=form.username, password=form.password, client=_client(request), user_agent=_agent(request)
    )


@router.post(
    "/refresh",
    response_model=TokenPublic,
    responses={401: {"description": "刷新令牌无效、已用过（本次登录随即结束）或登录已超时"}},
    openapi_extra=request_body("RefreshForm", RefreshForm.model_json_schema(), FORM),
)
def refresh(request: Request, form: Annotated[RefreshForm, Depends(refresh_fields)]) -> TokenPublic:
    """Exchange a refresh token for new tokens (OAuth2 refresh_token grant); the refresh token given is used up,
    and presenting it again ends the whole login session."""
    return sessions.refresh(refresh_token=form.refresh_token, client=_client(request))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, who: CurrentPrincipal) -> None:
    """End this login session at once: its access and refresh tokens stop working."""
    sessions.logout(session, principal=who)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")
