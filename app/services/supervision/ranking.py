"""The units' ranking in the county's own assessment of its departments: every yellow and red card a unit earned
in the campaign costs the points the campaign's rules gave at the time; units with fewer points lost rank higher
(equal losses share a place), and every deduction names its card, item and day."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from app.models import Assignment, FrameworkSection, Item, SupervisionCard, Unit
from app.models.supervision import CardPublic, Light, UnitRank
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.documents import sheets
from app.services.supervision.notices import card_public

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS: sheets.Columns = (("名次", 8), ("责任单位", 24), ("黄牌", 8), ("红牌", 8), ("扣分", 10))
DETAIL_COLUMNS: sheets.Columns = (
    ("责任单位", 24),
    ("预警", 8),
    ("事项", 30),
    ("截止日期", 12),
    ("退回次数", 10),
    ("亮牌日期", 12),
    ("扣分", 8),
)
_LIGHT_NAMES = {Light.yellow: "黄牌", Light.red: "红牌"}


def ranking(session: Session, *, campaign_id: int, principal: Principal) -> list[UnitRank]:
    """Every unit with tasks (or cards) in the campaign, ranked by points lost (the office or an admin), in three
    statements."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    cards: dict[int, list[CardPublic]] = defaultdict(list)
    for card, number, section, position in session.execute(
        select(SupervisionCard, Item.number, FrameworkSection.name, FrameworkSection.position)
        .outerjoin(Item, col(Item.id) == SupervisionCard.item_id)
        .outerjoin(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(SupervisionCard.campaign_id == campaign_id)
        .order_by(SupervisionCard.issued_on, SupervisionCard.id)
    ).all():
        cards[card.unit_id].append(card_public(card, number, section, position))
    tasked = select(Assignment.unit_id).where(Assignment.campaign_id == campaign_id).distinct()
    names = dict(
        session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(tasked) | col(Unit.id).in_(list(cards)))).all()
    )
    rows = sorted(
        ((round(sum(c.points for c in cards[u]), 2), name, u) for u, name in names.items()),
        key=lambda r: (r[0], r[1]),
    )
    ranked: list[UnitRank] = []
    for position, (lost, name, unit_id) in enumerate(rows, start=1):
        rank = ranked[-1].rank if ranked and ranked[-1].deducted == lost else position
        own = cards[unit_id]
        ranked.append(
            UnitRank(
                rank=rank,
                unit_id=unit_id,
                unit_name=name,
                yellow_cards=sum(c.light == Light.yellow for c in own),
                red_cards=sum(c.light == Light.red for c in own),
                deducted=lost,
                deductions=own,
            )
        )
    return ranked


def render(session: Session, *, campaign_id: int, principal: Principal) -> tuple[str, bytes]:
    """(file name, .xlsx bytes): the ranking, and on a second sheet every deduction with its reason."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    ranked = ranking(session, campaign_id=campaign_id, principal=principal)
    wb = sheets.workbook()
    ws = sheets.sheet(wb, "单位排名")
    sheets.header(ws, f"{campaign.name} 责任单位督办考核排名", COLUMNS)
    for r in ranked:
        sheets.row(ws, [r.rank, r.unit_name, r.yellow_cards, r.red_cards, -r.deducted if r.deducted else 0])
    detail = sheets.sheet(wb, "扣分明细")
    sheets.header(detail, f"{campaign.name} 督办扣分明细", DETAIL_COLUMNS)
    for r in ranked:
        for c in r.deductions:
            sheets.row(
                detail,
                [r.unit_name, _LIGHT_NAMES[c.light], c.item_label, c.due_on, c.returned_count, c.issued_on, -c.points],
            )
    return f"{campaign.name}-责任单位督办考核排名.xlsx", sheets.to_bytes(wb)
