"""The security administrator's routes (三员分立, issue 23): password policy, accounts' lockouts, role grants,
script token revocation."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.common import Page
from app.models.password import PasswordPolicy, PasswordPolicyBase, PasswordPolicyPublic
from app.models.user import ScriptToken, ScriptTokenPublic, User, UserPublic
from app.services.accounts import duties, passwords, users
from app.services.accounts.duties import AccountSecurity, RoleGrant

router = APIRouter(prefix="/security", tags=["security"])


@router.get("/password-policy", response_model=PasswordPolicyPublic)
def read_password_policy(session: SessionDep, who: CurrentPrincipal) -> PasswordPolicy:
    """The password and lockout rules in force."""
    return passwords.read_policy(session, principal=who)


@router.put("/password-policy", response_model=PasswordPolicyPublic)
def update_password_policy(data: PasswordPolicyBase, session: SessionDep, who: CurrentPrincipal) -> PasswordPolicy:
    """Change the rules, never below the defaults (8 characters of 3 classes, 5 remembered, 90 days, 5 failures
    in 15 minutes lock for 30); audited."""
    return passwords.update_policy(session, data=data, principal=who)


@router.get("/accounts", response_model=Page[AccountSecurity])
def list_accounts(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[AccountSecurity]:
    """Every account with its role, password expiry, forced change and lockout."""
    return page.of_all(duties.accounts(session, principal=who))


@router.post("/accounts/{user_id}/unlock", response_model=AccountSecurity)
def unlock_account(user_id: int, session: SessionDep, who: CurrentPrincipal) -> AccountSecurity:
    """Lift an account's lockout now; audited."""
    return duties.unlock(session, user_id=user_id, principal=who)


@router.put("/accounts/{user_id}/role", response_model=UserPublic)
def grant_role(user_id: int, data: RoleGrant, session: SessionDep, who: CurrentPrincipal) -> User:
    """Give an account a role (an administrator's duty never changes: one duty per account); audited."""
    return duties.grant_role(session, user_id=user_id, grant=data, principal=who)


@router.post("/script-tokens/{token_id}/revoke", response_model=ScriptTokenPublic)
def revoke_script_token(token_id: int, session: SessionDep, who: CurrentPrincipal) -> ScriptToken:
    """Revoke an integration script's token at once (idempotent); audited."""
    return users.revoke_script_token(session, token_id=token_id, principal=who)
