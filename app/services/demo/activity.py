"""The demo campaign brought to life through the services (so the audit trail shows every step): files (in
Chinese) uploaded and statements written by liaisons, returned with a comment, approved, a few assignments past
their due date, a scoring round with the office's scores, released so provinces and evaluators read them, a
rectification."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Item
from app.models.campaign import AssignmentUpdate
from app.models.evidence import EvidenceKind, ReviewCreate, ReviewDecision
from app.models.rectification import RectificationCreate
from app.models.scoring import RoundCreate, ScoreBatch, ScoreCreate
from app.services.access import Principal
from app.services.assessment import release, scoring, scoring_config
from app.services.campaign import assignments
from app.services.demo import samples
from app.services.review import rectification, reviews
from app.services.storage import ObjectStore
from app.services.submission import evidence, uploads
from app.services.submission.evidence import Content, Where
from app.settings import get_settings

RETURN_COMMENT = "请补充会议纪要的盖章扫描件，并注明会议日期。"


def tiny_pdf(*lines: str) -> bytes:
    """A small, well-formed one-page PDF saying lines (Chinese)."""
    return samples.chinese_pdf(list(lines))


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG (a red square), as a photo of a notice board would be."""
    return samples.solid_png(width, height, b"\xc0\x20\x20")


def _file(
    session: Session, store: ObjectStore, *, assignment_id: int, data: bytes, filename: str, who: Principal, today: date
) -> int:
    """Upload a file as the liaison would: checked, streamed into the store, then recorded."""
    where = Where(assignment_id=assignment_id)
    target = evidence.resolve(session, where=where, principal=who, today=today)
    received = uploads.receive(
        store, target=target, source=io.BytesIO(data), filename=filename, max_bytes=get_settings().max_upload_bytes
    )
    row = evidence.submit(session, where=where, content=received.content(), title=None, principal=who, today=today)
    return row.id  # type: ignore[return-value]


def _statement(session: Session, *, assignment_id: int, text: str, who: Principal, today: date) -> int:
    content = Content(kind=EvidenceKind.statement, text=text)
    row = evidence.submit(
        session, where=Where(assignment_id=assignment_id), content=content, title=None, principal=who, today=today
    )
    return row.id  # type: ignore[return-value]


def _review(session: Session, evidence_id: int, decision: ReviewDecision, office: Principal, comment: str = "") -> None:
    data = ReviewCreate(decision=decision, version=1, comment=comment)
    reviews.review(session, evidence_id=evidence_id, data=data, principal=office)


def _assignments(session: Session, campaign_id: int, unit_id: int | None) -> list[tuple[int, Item]]:
    """(assignment id, item) of a unit's assignments, in the framework's order."""
    rows = session.exec(
        select(Assignment.id, Item)
        .join(Item, col(Item.id) == Assignment.item_id)
        .where(Assignment.campaign_id == campaign_id, Assignment.unit_id == unit_id)
        .order_by(Item.position)
    ).all()
    return [(assignment_id, item) for assignment_id, item in rows if assignment_id is not None]


def bring_to_life(
    session: Session, *, store: ObjectStore, today: date, campaign_id: int, principals: dict[str, Principal]
) -> dict[str, Any]:
    """Work done in the campaign as of today by 县司法局 (lc-sfj), 县公安局 (lc-gaj) and the office."""
    office, sfj, gaj = principals["lc-office"], principals["lc-sfj"], principals["lc-gaj"]
    mine = _assignments(session, campaign_id, sfj.unit_id)
    theirs = _assignments(session, campaign_id, gaj.unit_id)
    (plan, _), (board, board_item), (rules, rules_item), (meeting, meeting_item), (slow, _) = mine[:5]

    def upload(assignment_id: int, data: bytes, filename: str) -> int:
        return _file(session, store, assignment_id=assignment_id, data=data, filename=filename, who=sfj, today=today)

    plan_pdf = tiny_pdf("陵川县司法局", f"{today.year}年法治政府建设工作方案", "一、总体要求", "二、主要任务")
    submitted = upload(plan, plan_pdf, "工作方案.pdf")
    photo = upload(board, tiny_png(), "公示栏照片.png")
    statement = _statement(
        session, assignment_id=rules, text="本单位已按要求落实，相关制度已印发执行。", who=sfj, today=today
    )
    minutes = upload(meeting, tiny_pdf("会议纪要（草稿）", "县司法局党组会议研究法治政府建设工作"), "会议纪要.pdf")
    late = _statement(session, assignment_id=slow, text="材料正在整理中，先行说明。", who=sfj, today=today)
    _review(session, photo, ReviewDecision.approve, office)
    _review(session, statement, ReviewDecision.approve, office)
    _review(session, minutes, ReviewDecision.return_, office, RETURN_COMMENT)
    _review(session, late, ReviewDecision.return_, office, "说明过于简略，请附上具体材料。")
    # A few items were due earlier (the office set their dates): they show as overdue.
    overdue = [slow, *(assignment_id for assignment_id, _ in theirs[:3])]
    for assignment_id in overdue:
        data = AssignmentUpdate(due_on=today - timedelta(days=3))
        assignments.set_due(session, assignment_id=assignment_id, data=data, principal=office, today=today)
    _statement(session, assignment_id=theirs[3][0], text="执法公示信息已在县政府网站公开。", who=gaj, today=today)
    # The office's first scoring round on what has been approved or returned so far, with one finding.
    round_ = scoring.create_round(
        session, campaign_id=campaign_id, data=RoundCreate(name="县级初审（第一轮）"), principal=office
    )
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None and round_.id is not None and sfj.unit_id is not None
    scheme = scoring_config.scheme(session, campaign=campaign)
    entries = [
        ScoreCreate(item_id=board_item.id, points=scheme.max_of(board_item), comment="材料齐全"),  # type: ignore[arg-type]
        ScoreCreate(item_id=rules_item.id, points=scheme.max_of(rules_item), comment="已落实"),  # type: ignore[arg-type]
        ScoreCreate(
            item_id=meeting_item.id,  # type: ignore[arg-type]
            points=round(scheme.max_of(meeting_item) / 2, 1),
            comment="会议纪要缺盖章件",
            finding="会议纪要未加盖公章，无法证明会议已召开",
        ),
    ]
    scores = scoring.record(session, round_id=round_.id, batch=ScoreBatch(scores=entries), principal=office)
    # released, so the province's overview (README's GraphQL example) and the evaluators see the office's scores
    release.release(session, round_id=round_.id, principal=office)
    finding = next(s for s in scores if s.item_id == meeting_item.id)
    fix = rectification.create(
        session,
        campaign_id=campaign_id,
        data=RectificationCreate(unit_id=sfj.unit_id, due_on=today + timedelta(days=14), from_score_id=finding.id),
        principal=office,
    )
    return {
        "submitted": [submitted],
        "approved": [photo, statement],
        "returned": [minutes, late],
        "overdue_assignments": overdue,
        "round_id": round_.id,
        "rectification_id": fix.id,
    }
