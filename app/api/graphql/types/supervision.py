"""督办 (supervision) in the graph: a campaign's light counts (the region overview) and its units' ranking."""

from __future__ import annotations

from datetime import date

import strawberry

from app.api.graphql.types._base import from_obj
from app.models.supervision import Light, Subject, UnitRank


@strawberry.type(name="LightCounts", description="亮灯的任务分工和整改事项数（今天，按本活动督办规则）")
class LightCountsType:
    blue: int
    yellow: int
    red: int

    @staticmethod
    def of(found: dict[Light, int] | None) -> LightCountsType:
        found = found or {}
        return LightCountsType(
            blue=found.get(Light.blue, 0), yellow=found.get(Light.yellow, 0), red=found.get(Light.red, 0)
        )


@strawberry.type(name="SupervisionCard", description="黄牌或红牌：哪项任务、为何亮灯、何时、扣几分")
class CardType:
    id: int
    subject: Subject
    subject_id: int
    item_id: int | None
    item_label: str
    light: Light
    points: float
    due_on: date
    returned_count: int
    issued_on: date


@strawberry.type(name="UnitRank", description="责任单位督办考核排名：扣分越少越靠前，并列同名次")
class UnitRankType:
    rank: int
    unit_id: int
    unit_name: str
    yellow_cards: int
    red_cards: int
    deducted: float
    deductions: list[CardType]

    @staticmethod
    def of(row: UnitRank) -> UnitRankType:
        return from_obj(UnitRankType, row, deductions=[from_obj(CardType, c) for c in row.deductions])
