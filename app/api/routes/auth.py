"""Login (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.api.deps import SessionDep
from app.services.accounts import users

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenPublic(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_at: str


@router.post("/token", response_model=TokenPublic, responses={429: {"description": "登录失败次数过多，稍后再试"}})
def login(request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenPublic:
    """Exchange a username and password for a bearer token (OAuth2 password flow); repeated failures wait (429)."""
    client = request.client.host if request.client else ""
    token, expires = users.login(session, username=form.username, password=form.password, client=client)
    return TokenPublic(access_token=token, expires_at=expires.isoformat())
