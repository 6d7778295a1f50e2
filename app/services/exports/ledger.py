"""The assignment ledger (任务分工台账) as an .xlsx: every assignment the caller may see in a campaign
(or one unit's), with its due date, status, evidence count, last review (the one the to-do list shows) and how
many of its evidence fall outside the assessment period, in a few statements, written as a streamed sheet
(13,740 rows in about a second)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, FrameworkSection, Heading, Item, MaterialRequestItem, Unit
from app.models._base import local_date
from app.models.campaign import AssignmentRole, AssignmentStatus, status_label
from app.models.evidence import EvidenceStatus, ReviewDecision
from app.models.supervision import LIGHT_LABEL, Light
from app.services.access import Principal, unit_scope
from app.services.campaign import assignments, campaigns, last_review
from app.services.campaign.assignments import OPEN
from app.services.documents import sheets
from app.services.media import dating

COLUMNS: sheets.Columns = (
    ("一级指标", 24),
    ("序号", 8),
    ("指标内容", 50),
    ("责任单位", 20),
    ("牵头/配合", 10),
    ("截止日期", 12),
    ("状态", 10),
    ("预警", 8),
    ("资料份数", 10),
    ("最近审核", 12),
    ("审核日期", 12),
    ("审核意见", 30),
    ("考核期外资料", 12),  # of the evidence counted, how many speak for a date outside the assessment period
)
ROLE_LABEL = {AssignmentRole.lead: "牵头", AssignmentRole.co: "配合"}
DECISION_LABEL = {ReviewDecision.approve: "通过", ReviewDecision.return_: "退回补充", ReviewDecision.reopen: "撤回通过"}
_LIVE = (EvidenceStatus.submitted, EvidenceStatus.returned, EvidenceStatus.approved)


def render(
    session: Session, *, campaign_id: int, principal: Principal, today: date, unit_id: int | None = None
) -> tuple[str, bytes]:
    """(file name, .xlsx bytes) of the ledger of a campaign the caller may see (a liaison: its unit's): one
    statement for the rows, one for the evidence counts and one for the last reviews, the sheet streamed."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    query = (
        select(
            Assignment.id,
            Assignment.unit_id,
            Assignment.role,
            Assignment.due_on,
            Assignment.status,
            Item.id,
            Item.number,
            Item.text,
            Item.level1_id,
            FrameworkSection.name,
            Unit.name,
            assignments.light_of(assignments.lights_for(session, principal, today)),
        )
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
    outside = dating.outside_evidence(session, campaign=campaign)
    has_period = campaign.assessment_start is not None and campaign.assessment_end is not None
    reviews = last_review.for_assignments(session, campaign_id=campaign_id)

    unit_label = rows[0][10] if unit_id is not None and rows else "全部单位"
    sheet = sheets.StreamedSheet(
        "任务分工台账", f"{campaign.name} 任务分工台账（{unit_label}，截至 {today.isoformat()}）", COLUMNS
    )
    for assignment_id, unit, role, due_on, status, item_id, number, text, level1_id, section, unit_name, light in rows:
        overdue = AssignmentStatus(status) in OPEN and due_on < today
        review = reviews.get(assignment_id)
        sheet.row(
            [
                headings.get(level1_id, section) if level1_id else section,
                number,
                text,
                unit_name,
                ROLE_LABEL[AssignmentRole(role)],
                due_on,
                status_label(status, overdue=overdue),
                LIGHT_LABEL[Light(light)],
                len(counting.get((unit, item_id), [])),
                DECISION_LABEL[ReviewDecision(review.decision)] if review else "",
                local_date(review.reviewed_at) if review else None,
                review.comment if review else "",
                sum(e in outside for e in counting.get((unit, item_id), [])) if has_period else None,
            ]
        )
    name = f"{campaign.name}-任务分工台账{'-' + unit_label if unit_id is not None else ''}.xlsx"
    return name, sheet.to_bytes()


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
