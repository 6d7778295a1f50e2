"""Login (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.api.deps import SessionDep
from app.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenPublic(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_at: str


@router.post("/token", response_model=TokenPublic)
def login(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenPublic:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    token, expires = users.login(session, username=form.username, password=form.password)
    return TokenPublic(access_token=token, expires_at=expires.isoformat())
