"""Permission classes: tiny, and they call the same authentication REST uses; what a caller may see of
an object is decided by the service that loads it, as for REST."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.api.graphql.types._base import Info


class IsAuthenticated(BasePermission):
    """A valid bearer token of an active account (the same check as REST's CurrentPrincipal)."""

    message = "请先登录"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.principal()  # raises Unauthorized with its own code when the token is bad
        return True
