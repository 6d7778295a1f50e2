"""Login sessions: what a password (or any other) login starts, and the token pair it hands out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class LoginSession(SQLModel, table=True):
    """One login: every access token carries its id and is refused once it ends; its refresh token is rotated on
    every use (generation counts the rotations, so a rotated one presented again is recognised as reuse)."""

    __tablename__ = "login_session"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    method: str = Field(max_length=16)  # how the user logged in: password, oidc …
    client: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=200)
    # the refresh token is derived from (id, generation, nonce) with the server's secret: never stored itself
    nonce: str = Field(max_length=64)
    generation: int = 0
    started_at: datetime = created_at_field()
    refreshed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    end_reason: str | None = Field(default=None, max_length=32)  # logout, refresh_reused, user, admin


class LoginSessionPublic(BaseModel):
    """A live login session as its owner (or the security administrator) sees it."""

    id: int
    user_id: int
    username: str
    method: str = PydanticField(description="登录方式：password（密码）、oidc（统一身份认证）、dingtalk（钉钉免登）")
    client: str = PydanticField(description="登录时的客户端地址")
    user_agent: str = PydanticField(description="登录时的浏览器或客户端标识")
    started_at: datetime
    refreshed_at: datetime = PydanticField(description="最近一次刷新令牌的时间")
    idle_expires_at: datetime = PydanticField(description="到此时仍未刷新则登录失效")
    expires_at: datetime = PydanticField(description="登录的最长期限，到时必须重新登录")
    current: bool = PydanticField(description="是否为本次请求所用的登录")


class TokenPublic(BaseModel):
    """An OAuth2 token answer: a short-lived access token and the refresh token that renews it (once)."""

    access_token: str
    token_type: str = "bearer"
    expires_at: str = PydanticField(description="访问令牌的到期时间")
    expires_in: int = PydanticField(description="访问令牌的有效秒数")
    refresh_token: str = PydanticField(description="刷新令牌：每次使用后作废并换发新的，重复使用会结束本次登录")
    session_id: int = PydanticField(description="本次登录的编号（GET /me/sessions 中的 id）")
    session_expires_at: str = PydanticField(description="本次登录的最长期限，到时必须重新登录")
