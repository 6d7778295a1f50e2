"""The assignment ledger (任务分工台账) as an .xlsx: every assignment the caller may see in a campaign
(or one unit's), with its due date, status, evidence count and last review, in a few statements."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, FrameworkSection, Heading, Item, MaterialRequestItem, Review, Unit
from app.models.campaign import AssignmentRole, AssignmentStatus, status_label
from app.models.evidence import EvidenceStatus, ReviewDecision
from app.services.access import Principal, unit_scope
from app.services.campaign import campaigns
from app.services.campaign.assignments import OPEN
from app.services.platform import sheets

COLUMNS: sheets.Columns = (
    ("一级指标", 24),
    ("序号", 8),
    ("指标内容", 50),
    ("责任单位", 20),
    ("牵头/配合", 10),
    ("截止日期", 12),
    ("状态", 10),
    ("资料份数", 10),
    ("最近审核", 12),
    ("审核日期", 12),
    ("审核意见", 30),
)
ROLE_LABEL = {AssignmentRole.lead: "牵头", AssignmentRole.co: "配合"}
DECISION_LABEL = {ReviewDecision.approve: "通过", ReviewDecision.return_: "退回补充", ReviewDecision.reopen: "撤回通过"}
_LIVE = (EvidenceStatus.submitted, EvidenceStatus.returned, EvidenceStatus.approved)


def render(
    session: Session, *, campaign_id: int, principal: Principal, today: date, unit_id: int | None = None
) -> tuple[str, bytes]:
    """(file name, .xlsx bytes) of the ledger of a campaign the caller may see (a liaison: its unit's)."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    query = (
        select(Assignment, Item, FrameworkSection.name, Unit.name)
        .join(Item, col(Item.id) == Assignment.item_id)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(Assignment.campaign_id == campaign_id, unit_scope(principal, col(Assignment.unit_id)))
        .order_by(FrameworkSection.position, Item.position, Unit.name)
    )
    if unit_id is not None:
        query = query.where(Assignment.unit_id == unit_id)
    rows = session.exec(query).all()
    headings = {
        h: t
        for h, t in session.exec(
            select(Heading.id, Heading.title).where(Heading.framework_id == campaign.framework_id)
        ).all()
    }
    counting = covered(session, campaign_id)
    last = _last_reviews(session, campaign_id, counting)

    wb = sheets.workbook()
    ws = sheets.sheet(wb, "任务分工台账")
    unit_label = rows[0][3] if unit_id is not None and rows else "全部单位"
    sheets.header(ws, f"{campaign.name} 任务分工台账（{unit_label}，截至 {today.isoformat()}）", COLUMNS)
    for assignment, item, section, unit_name in rows:
        overdue = AssignmentStatus(assignment.status) in OPEN and assignment.due_on < today
        review = last.get((assignment.unit_id, item.id))
        sheets.row(
            ws,
            [
                headings.get(item.level1_id, section) if item.level1_id else section,  # type: ignore[arg-type]
                item.number,
                item.text,
                unit_name,
                ROLE_LABEL[AssignmentRole(assignment.role)],
                assignment.due_on,
                status_label(assignment.status, overdue=overdue),
                len(counting.get((assignment.unit_id, item.id), [])),
                DECISION_LABEL[ReviewDecision(review.decision)] if review else "",
                review.created_at.date() if review else None,
                review.comment if review else "",
            ],
        )
    name = f"{campaign.name}-任务分工台账{'-' + unit_label if unit_id is not None else ''}.xlsx"
    return name, sheets.to_bytes(wb)


def covered(session: Session, campaign_id: int) -> dict[tuple[int, int], list[int]]:
    """Per (unit, item), the live evidence that counts for it: its assignment's, or its material request's."""
    item_of = (
        (Assignment.item_id, col(Assignment.id) == Evidence.assignment_id),
        (MaterialRequestItem.item_id, col(MaterialRequestItem.material_request_id) == Evidence.material_request_id),
    )
    by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    for item_column, link in item_of:
        for evidence_id, unit_id, item_id in session.exec(
            select(Evidence.id, Evidence.unit_id, item_column)
            .join(item_column.class_, link)  # type: ignore[attr-defined]
            .where(Evidence.campaign_id == campaign_id, col(Evidence.status).in_(_LIVE))
        ).all():
            by_pair[(unit_id, item_id)].append(evidence_id)  # type: ignore[arg-type]
    return by_pair


def _last_reviews(
    session: Session, campaign_id: int, covered: dict[tuple[int, int], list[int]]
) -> dict[tuple[int, int], Review]:
    """The latest review of any evidence counting for each (unit, item)."""
    latest = dict(
        session.exec(
            select(Review.evidence_id, func.max(Review.id))
            .join(Evidence, col(Evidence.id) == Review.evidence_id)
            .where(Evidence.campaign_id == campaign_id)
            .group_by(Review.evidence_id)
        ).all()
    )
    reviews = {r.id: r for r in session.exec(select(Review).where(col(Review.id).in_(list(latest.values())))).all()}
    out: dict[tuple[int, int], Review] = {}
    for pair, evidence_ids in covered.items():
        found = [reviews[latest[e]] for e in evidence_ids if e in latest]
        if found:
            out[pair] = max(found, key=lambda r: r.id)  # type: ignore[arg-type, return-value]
    return out
