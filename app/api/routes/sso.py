"""Unified login beside passwords: 统一身份认证 (OpenID Connect) and 钉钉免登. Each ends in the same login answer as
/auth/token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import SessionDep
from app.models.login_session import TokenPublic
from app.services.accounts.sso import dingtalk, oidc

router = APIRouter(prefix="/auth", tags=["auth"])

NOT_CONFIGURED = {404: {"description": "未配置统一身份认证（sso_not_configured）"}}


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get(
    "/oidc/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "转到统一身份认证的登录页"}, **NOT_CONFIGURED},
)
def oidc_login(
    session: SessionDep,
    redirect: Annotated[
        str | None, Query(max_length=500, description="认证后回到的地址，须是已登记的回调地址；不填用第一个")
    ] = None,
) -> RedirectResponse:
    """Start a 统一身份认证 login: 302 to the provider (state, nonce and PKCE kept on the server for a few minutes)."""
    return RedirectResponse(oidc.begin_login(session, redirect=redirect), status_code=302)


@router.get("/oidc/callback", response_model=TokenPublic, responses=NOT_CONFIGURED)
def oidc_callback(
    request: Request,
    session: SessionDep,
    code: Annotated[str | None, Query(max_length=2000, description="统一身份认证返回的授权码")] = None,
    state: Annotated[str | None, Query(max_length=200, description="登录时的 state，原样带回")] = None,
    iss: Annotated[str | None, Query(max_length=500, description="签发方（RFC 9207），有则核对")] = None,
    error: Annotated[str | None, Query(max_length=200, description="统一身份认证返回的错误")] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> TokenPublic:
    """Finish a 统一身份认证 login with the code and state the provider sent back: the same token as /auth/token."""
    params = oidc.CallbackParams(code=code, state=state, iss=iss, error=error, error_description=error_description)
    return oidc.complete_login(session, params=params, client=_client(request))


class DingTalkLogin(BaseModel):
    """A 钉钉 / 浙政钉 免登 code from dd.getAuthCode (or requestAuthCode)."""

    model_config = ConfigDict(extra="forbid")
    authCode: str = Field(min_length=1, max_length=200, description="钉钉免登授权码（5 分钟内有效，只能用一次）")  # noqa: N815


@router.post("/dingtalk", response_model=TokenPublic, responses={404: {"description": "未配置钉钉免登"}})
def dingtalk_login(request: Request, session: SessionDep, body: DingTalkLogin) -> TokenPublic:
    """Log in with a 钉钉免登 authCode: the same token as /auth/token."""
    return dingtalk.login(session, auth_code=body.authCode, client=_client(request))
