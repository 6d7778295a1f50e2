"""The change feed for systems that sync, and the caller's own account."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.models.user import Role


@strawberry.type(name="Change", description="一次变更（同步后按 objectType/objectId 重新读取该对象）")
class ChangeType:
    id: int
    at: datetime
    action: str
    object_type: str
    object_id: str
    county_id: int | None
    campaign_id: int | None
    role: str


@strawberry.type(name="Viewer", description="当前登录的账号")
class ViewerType:
    username: str
    role: Role
    county_id: int | None
    unit_id: int | None
    region_path: str | None
