"""Frameworks and their item tree: sections, level-1/level-2 headings, items; an item within a campaign."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.graphql.pagination import Connection, connection, page
from app.api.graphql.types._base import Info, from_obj
from app.models.framework import FrameworkPublic, ItemPublic, LeadRule, SectionKind
from app.services.indicators import frameworks

if TYPE_CHECKING:
    from app.api.graphql.types.assignments import AssignmentType


@strawberry.type(name="Section", description="指标体系的一个清单（如 罗平 的四张清单）")
class SectionType:
    id: int
    code: str
    name: str
    kind: SectionKind


@strawberry.type(name="Heading", description="一级或二级指标")
class HeadingType:
    id: int
    level: int
    parent_id: int | None
    title: str


@strawberry.type(name="Item", description="三级指标（或清单中的一项）")
class ItemType:
    id: int
    key: str
    section: str
    number: int
    level1_id: int | None
    level2_id: int | None
    text: str
    lead_units: list[str]
    units: list[str]
    material_keys: list[str]


@strawberry.type(name="CampaignItem", description="一个创建活动中的指标，及其分到各单位的任务")
class CampaignItemType(ItemType):
    campaign_id: int

    @staticmethod
    def of(campaign_id: int, item: ItemPublic) -> CampaignItemType:
        return from_obj(CampaignItemType, item, campaign_id=campaign_id)

    @strawberry.field(description="该指标在本活动中的任务分工（联络员只看本单位）")
    async def assignments(
        self, info: Info
    ) -> list[Annotated[AssignmentType, strawberry.lazy("app.api.graphql.types.assignments")]]:
        return await info.context.loaders.assignments_by_item.load((self.campaign_id, self.id))


@strawberry.type(name="Framework", description="指标体系（某一版本）")
class FrameworkType:
    id: int
    code: str
    version: int
    name: str
    source: str
    lead_rule: LeadRule
    notes: list[str]
    created_at: datetime
    in_use: bool

    @staticmethod
    def of(f: FrameworkPublic) -> FrameworkType:
        return from_obj(FrameworkType, f)

    @strawberry.field(description="清单")
    async def sections(self, info: Info) -> list[SectionType]:
        rows = await info.context.fetch(frameworks.list_sections, framework_id=self.id)
        return [from_obj(SectionType, s) for s in rows]

    @strawberry.field(description="一级、二级指标（按印发顺序）")
    async def headings(self, info: Info) -> list[HeadingType]:
        rows = await info.context.fetch(frameworks.list_headings, framework_id=self.id)
        return [from_obj(HeadingType, h) for h in rows]

    @strawberry.field(description="指标（按印发顺序）")
    async def items(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        section: str | None = None,
        level1_id: int | None = None,
    ) -> Connection[ItemType]:
        at = page(first, after)
        rows, total = await info.context.fetch(
            frameworks.list_items,
            framework_id=self.id,
            section=section,
            level1_id=level1_id,
            limit=at.limit,
            offset=at.offset,
        )
        return connection([from_obj(ItemType, i) for i in rows], at=at, total=total)
