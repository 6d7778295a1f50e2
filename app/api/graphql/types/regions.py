"""Regions (province → city → county), a county's units and unit groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.graphql.types._base import Info, from_obj
from app.models.region import RegionLevel
from app.models.unit import UnitKind
from app.services.campaign import units

if TYPE_CHECKING:
    from app.api.graphql.types.campaigns import CampaignType


@strawberry.type(name="Unit", description="责任单位")
class UnitType:
    id: int
    county_id: int
    name: str
    kind: UnitKind
    aliases: list[str]


@strawberry.type(name="UnitGroup", description="单位组（如“各乡镇”）")
class UnitGroupType:
    id: int
    name: str
    aliases: list[str]
    member_ids: list[int]


@strawberry.type(name="Region", description="行政区划：省、市、县")
class RegionType:
    id: int
    name: str
    level: RegionLevel
    parent_id: int | None

    @strawberry.field(description="本县中调用者可见的创建活动")
    async def campaigns(
        self, info: Info
    ) -> list[Annotated[CampaignType, strawberry.lazy("app.api.graphql.types.campaigns")]]:
        return await info.context.loaders.campaigns_by_county.load(self.id)

    @strawberry.field(description="本县的责任单位")
    async def units(self, info: Info) -> list[UnitType]:
        rows = await info.context.call(units.list_units, county_id=self.id)
        return [from_obj(UnitType, u) for u in rows]

    @strawberry.field(description="本县的单位组")
    async def unit_groups(self, info: Info) -> list[UnitGroupType]:
        rows = await info.context.call(units.list_groups, county_id=self.id)
        return [from_obj(UnitGroupType, g, member_ids=members) for g, members in rows]
