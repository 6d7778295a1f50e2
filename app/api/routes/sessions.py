"""Login sessions: the caller's own (list, end one) and, for the security administrator, everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CurrentPrincipal, PageDep, SecurityAdministrator, SessionDep
from app.models.common import Page
from app.models.login_session import LoginSessionPublic
from app.services.accounts import sessions

router = APIRouter(tags=["sessions"])


@router.get("/me/sessions", response_model=Page[LoginSessionPublic])
def list_my_sessions(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[LoginSessionPublic]:
    """The caller's live login sessions, newest first (the one of this request is marked current)."""
    return page.of_all(sessions.list_own(session, principal=who))


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_my_session(session_id: int, session: SessionDep, who: CurrentPrincipal) -> None:
    """End one of the caller's own login sessions at once (e.g. on a device left logged in)."""
    sessions.end_own(session, principal=who, session_id=session_id)


@router.get("/sessions", response_model=Page[LoginSessionPublic])
def list_sessions(
    session: SessionDep,
    who: SecurityAdministrator,
    page: PageDep,
    user_id: Annotated[int | None, Query(description="只看该账号的登录")] = None,
) -> Page[LoginSessionPublic]:
    """Everyone's live login sessions, newest first (security administrator)."""
    return page.of_all(sessions.list_any(session, principal=who, user_id=user_id))


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_session(session_id: int, session: SessionDep, who: SecurityAdministrator) -> None:
    """End anyone's login session at once (security administrator)."""
    sessions.end_any(session, principal=who, session_id=session_id)
