"""Accounts."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.common import Page
from app.models.user import User, UserCreate, UserPublic
from app.services.accounts import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[User]:
    """Accounts: all for an admin, the own county's for an office."""
    return page.of_all(users.list_visible(session, principal=who))


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, who: CurrentPrincipal) -> User:
    """Create an account (admin: any role; office: liaisons of its own county's units)."""
    return users.create(session, data=data, principal=who)
