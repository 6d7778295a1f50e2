"""Carry-over (结转): a new campaign starts from an earlier one's approved evidence and open rectifications.

No table of its own: a carried version names its origin (EvidenceVersion.origin_version_id/origin_campaign_id),
a carried rectification has source "carried" and the origin item as source_id, and the commit is audited."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel
from pydantic import Field as PydanticField

from app.models.text import Line

ItemKey = Annotated[Line, PydanticField(min_length=1, max_length=64)]


class CarryOverRequest(BaseModel):
    """Body of POST /campaigns/{id}/carry-over/preview and …/carry-over: what to carry from which campaign."""

    from_campaign_id: int = PydanticField(description="结转来源：本县此前（已结束）的创建活动")
    evidence: bool = PydanticField(default=True, description="是否结转已通过审核的资料")
    item_keys: list[ItemKey] | None = PydanticField(
        default=None, max_length=1000, description="只结转这些指标（按指标键）的资料；不填为全部"
    )
    unit_ids: list[int] | None = PydanticField(
        default=None, max_length=1000, description="只结转这些单位的资料和整改事项；不填为全部"
    )
    rectifications: bool = PydanticField(default=True, description="是否结转尚未核验销号的整改事项")
    rectification_due_on: date | None = PydanticField(
        default=None, description="结转的整改事项的新整改期限；不填沿用原期限"
    )
    approve: bool = PydanticField(
        default=True,
        description="结转的资料直接计为已通过（记一条由本次操作人作出的审核通过记录）；false 则待本次活动审核",
    )


class SkipReason(StrEnum):
    item_unmatched = "item_unmatched"  # the item's key is not in the new framework version
    material_unmatched = "material_unmatched"  # the material request's key is not in the new framework version
    not_assigned = "not_assigned"  # the unit has no assignment of the matched item in the new campaign
    not_chosen = "not_chosen"  # left out by the office's choice (items, units, or evidence: false)
    already_carried = "already_carried"  # carried by an earlier commit
    origin_missing = "origin_missing"  # the origin's file is not in the store (or not at its recorded size)


class UnmatchedItem(BaseModel):
    """An item of the earlier framework version with no item of the same key in the new one."""

    item_key: str
    number: int
    text: str


class EvidenceCarry(BaseModel):
    """One piece of approved evidence of the earlier campaign: whether it carries, and where to."""

    evidence_id: int
    title: str
    unit_id: int
    unit_name: str
    version: int = PydanticField(description="所结转的（已通过的）版本号")
    version_id: int
    kind: str
    size: int | None
    sha256: str | None
    item_keys: list[str] = PydanticField(description="资料计入的指标键（原指标体系）")
    carries: bool
    reason: SkipReason | None = PydanticField(default=None, description="不结转的原因")
    target_assignment_id: int | None = None
    target_material_request_id: int | None = None
    carried_evidence_id: int | None = PydanticField(default=None, description="结转后的资料（提交后，或已结转过）")


class RectificationCarry(BaseModel):
    """One rectification item of the earlier campaign not yet verified (销号)."""

    rectification_id: int
    unit_id: int
    unit_name: str
    item_key: str | None
    status: str
    problem: str
    carries: bool
    reason: SkipReason | None = None
    item_unmatched: bool = PydanticField(
        default=False, description="原指标在新指标体系中没有同键指标：结转后不关联指标"
    )
    carried_rectification_id: int | None = None


class CarryOverReport(BaseModel):
    """What carries (preview) or what was carried (commit) from one campaign into another."""

    campaign_id: int
    from_campaign_id: int
    from_framework_id: int
    framework_id: int
    committed: bool = PydanticField(description="false 为预览（未写入任何内容）")
    matched_items: int = PydanticField(description="按指标键对应上的指标数")
    unmatched_items: list[UnmatchedItem] = PydanticField(description="原指标体系中在新版本找不到同键指标的（不猜测）")
    evidence: list[EvidenceCarry]
    evidence_carried: int = PydanticField(description="结转（或将结转）的资料件数")
    bytes_carried: int = PydanticField(description="结转（或将结转）的文件总字节数")
    rectifications: list[RectificationCarry]
    rectifications_carried: int
