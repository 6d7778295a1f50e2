"""Accounts."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.common import Page
from app.models.user import User, UserCreate, UserPublic
from app.services.accounts import passwords, users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[User]:
    """Accounts: all for the system administrator, the own county's for an office."""
    return page.of_all(users.list_visible(session, principal=who))


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, who: CurrentPrincipal) -> User:
    """Create an account (system administrator: any but an administrator; office: liaisons of its own county's
    units); its holder must change the password at the first login."""
    return users.create(session, data=data, principal=who)


class PasswordReset(BaseModel):
    """Body of POST /users/{id}/password."""

    new_password: str = Field(max_length=128, json_schema_extra={"format": "password"})


@router.post("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(user_id: int, data: PasswordReset, session: SessionDep, who: CurrentPrincipal) -> Response:
    """Set an account's password (system administrator; not an administrator's): changed at its next login."""
    passwords.reset(session, user_id=user_id, new_password=data.new_password, principal=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
