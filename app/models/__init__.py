"""All tables, imported here so SQLModel.metadata (and Alembic) sees every one."""

from app.models.campaign import Assignment, Campaign, Engagement, Phase
from app.models.framework import (
    Framework,
    FrameworkSection,
    Heading,
    Item,
    MaterialRequest,
    MaterialRequestItem,
)
from app.models.region import Region
from app.models.unit import Unit, UnitGroup, UnitGroupMember
from app.models.user import ScriptToken, User

__all__ = [
    "Assignment",
    "Campaign",
    "Engagement",
    "Framework",
    "FrameworkSection",
    "Heading",
    "Item",
    "MaterialRequest",
    "MaterialRequestItem",
    "Phase",
    "Region",
    "ScriptToken",
    "Unit",
    "UnitGroup",
    "UnitGroupMember",
    "User",
]
