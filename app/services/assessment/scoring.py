"""Scoring rounds and scores: the office's preliminary review and each evaluator's blind scores.

Scores are appended, never updated: the latest row per (round, item, scorer) is the current one and
the rows before it are its history. Until the office releases a round, an evaluator sees only its
own scores, and liaisons and provinces see none.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, true
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Item, Score, ScoringRound
from app.models.framework import FrameworkSection, SectionKind, item_label
from app.models.scoring import RoundCreate, ScoreBatch, ScoreCreate, ScorePublic, ScorerKind
from app.models.user import Role
from app.services.access import Principal, campaign_scope
from app.services.assessment import scoring_config
from app.services.assessment.scoring_config import Scheme
from app.services.campaign import campaigns
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.messages import problem
from app.services.platform import audit

OFFICE_KEY = "office"


def evaluator_key(user_id: int) -> str:
    """The scorer key of one evaluator account."""
    return f"evaluator:{user_id}"


def get_round(session: Session, *, round_id: int, principal: Principal, for_update: bool = False) -> ScoringRound:
    """A round of a campaign the caller may see (another county's is not found)."""
    query = (
        select(ScoringRound)
        .join(Campaign, col(Campaign.id) == ScoringRound.campaign_id)
        .where(ScoringRound.id == round_id, campaign_scope(principal))
    )
    if for_update:  # locked, and read afresh: the row may already be in the session from an unlocked read
        query = query.with_for_update(of=ScoringRound).execution_options(populate_existing=True)
    found = session.exec(query).first()
    if found is None:
        raise NotFound("未找到该评分轮次", code="round_not_found")
    return found


def list_rounds(session: Session, *, campaign_id: int, principal: Principal) -> list[ScoringRound]:
    """The campaign's rounds in order."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    return list(
        session.exec(
            select(ScoringRound).where(ScoringRound.campaign_id == campaign_id).order_by(ScoringRound.number)
        ).all()
    )


def create_round(session: Session, *, campaign_id: int, data: RoundCreate, principal: Principal) -> ScoringRound:
    """Open the next scoring round (office)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    last = session.exec(select(func.max(ScoringRound.number)).where(ScoringRound.campaign_id == campaign_id)).one()
    row = ScoringRound(campaign_id=campaign_id, number=(last or 0) + 1, name=data.name, created_by=principal.user_id)
    session.add(row)
    session.flush()
    audit_round(session, principal, "round.create", row, campaign)
    return row


def _scorer(session: Session, principal: Principal, row: ScoringRound) -> tuple[ScorerKind, str]:
    if principal.role in (Role.office, Role.system_admin):
        campaigns.get_managed(session, campaign_id=row.campaign_id, principal=principal)
        return ScorerKind.office, OFFICE_KEY
    if principal.role == Role.evaluator:  # the round was found, so the evaluator is engaged
        return ScorerKind.evaluator, evaluator_key(principal.user_id)
    raise Forbidden("只有依法治县办和受委托的第三方评估机构可以评分", code="not_a_scorer")


def _problems(entry: ScoreCreate, found: tuple[Item, str] | None, scheme: Scheme, n: int) -> list[dict]:
    """What is wrong with the n-th score of a batch (its item with the item's label: 第18项, 否决项第1项)."""
    at = ("scores", n)
    if found is None:
        return [problem((*at, "item_id"), f"指标 {entry.item_id} 不属于本次创建活动的指标体系")]
    item, label = found
    if scheme.item_kinds[item.id] == SectionKind.veto:  # type: ignore[index]
        if entry.vetoed is None or entry.points is not None or entry.not_applicable:
            return [problem(at, f"{label}只填写是否发生（vetoed），不打分")]
        return []
    if entry.vetoed is not None:
        return [problem((*at, "vetoed"), f"{label}不是否决项，不填 vetoed")]
    if entry.points is None and not entry.not_applicable:
        return [problem((*at, "points"), f"{label}请填写得分，或标记为合理缺项")]
    top = scheme.max_of(item)
    if entry.points is not None and entry.points > top:
        return [problem((*at, "points"), f"{label}得分不能超过分值 {top:g}")]
    return []


def record(session: Session, *, round_id: int, batch: ScoreBatch, principal: Principal) -> list[ScorePublic]:
    """Record the caller's scores for several items, all or nothing; corrections append, never overwrite."""
    row = get_round(session, round_id=round_id, principal=principal, for_update=True)
    kind, key = _scorer(session, principal, row)
    if row.released_at is not None:
        raise Conflict("该轮评分已发布，不能再修改", code="round_released")
    campaign = session.get(Campaign, row.campaign_id)
    assert campaign is not None
    scheme = scoring_config.scheme(session, campaign=campaign)
    ids = [e.item_id for e in batch.scores]
    items = {
        i.id: (i, item_label(i.number, name, position))
        for i, name, position in session.exec(
            select(Item, FrameworkSection.name, FrameworkSection.position)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(col(Item.id).in_(ids), Item.framework_id == campaign.framework_id)
        ).all()
    }
    errors = []
    for n, entry in enumerate(batch.scores):
        errors += _problems(entry, items.get(entry.item_id), scheme, n)
    for item_id in sorted({i for i in ids if ids.count(i) > 1}):
        label = items[item_id][1] if item_id in items else f"指标 {item_id}"
        errors.append(problem(("scores",), f"{label}在一次提交中出现多次"))
    if errors:
        raise Invalid("评分有误，未保存任何一项", code="score_invalid", errors=errors, in_body=True)
    rows = [
        Score(
            round_id=row.id,  # type: ignore[arg-type]
            campaign_id=row.campaign_id,
            item_id=e.item_id,
            scorer_kind=kind,
            scorer_key=key,
            points=e.points,
            not_applicable=e.not_applicable,
            vetoed=e.vetoed,
            comment=e.comment.strip(),
            finding=e.finding.strip(),
            recorded_by=principal.user_id,
        )
        for e in batch.scores
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="score.record",
        object_type="round",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=None,
        after={"scorer": key, "scores": [{"id": s.id, "item_id": s.item_id, "points": s.points} for s in rows]},
    )
    return [_public(s, items[s.item_id][0].key, current=True) for s in rows]


def visible_condition(principal: Principal, row: ScoringRound) -> ColumnElement[bool]:
    """SQL on Score: what the caller may read of this round (drafts only for the office and their author)."""
    if principal.role in (Role.office, Role.system_admin):
        return true()
    own = col(Score.scorer_key) == evaluator_key(principal.user_id)
    if row.released_at is None:
        if principal.role == Role.evaluator:
            return own
        raise Forbidden("评分尚未发布", code="scores_not_released")
    if principal.role == Role.liaison:
        mine = select(Assignment.item_id).where(
            Assignment.campaign_id == row.campaign_id, Assignment.unit_id == principal.unit_id
        )
        return col(Score.item_id).in_(mine)
    return true()


def current_ids(*round_ids: int):  # noqa: ANN201 - a scalar subquery select
    """SQL: the ids of the current score per (item, scorer) in each of the rounds."""
    return (
        select(func.max(Score.id))
        .where(col(Score.round_id).in_(round_ids))
        .group_by(Score.round_id, Score.item_id, Score.scorer_key)
    )


def list_scores(
    session: Session,
    *,
    round_id: int,
    principal: Principal,
    item_id: int | None = None,
    scorer_key: str | None = None,
    history: bool = False,
) -> list[ScorePublic]:
    """Scores of a round the caller may read; with history, the superseded rows too."""
    row = get_round(session, round_id=round_id, principal=principal)
    query = (
        select(Score, Item.key)
        .join(Item, col(Item.id) == Score.item_id)
        .where(Score.round_id == round_id, visible_condition(principal, row))
    )
    if item_id is not None:
        query = query.where(Score.item_id == item_id)
    if scorer_key is not None:
        query = query.where(Score.scorer_key == scorer_key)
    is_current = col(Score.id).in_(current_ids(round_id))
    if not history:
        query = query.where(is_current)
    rows = session.exec(
        query.add_columns(is_current).order_by(Item.position, Score.scorer_key, col(Score.id).desc())
    ).all()
    return [_public(s, key, current=bool(current)) for s, key, current in rows]


def _public(score: Score, item_key: str, *, current: bool) -> ScorePublic:
    return ScorePublic.model_validate({**score.model_dump(), "item_key": item_key, "current": current})


def audit_round(session: Session, principal: Principal, action: str, row: ScoringRound, campaign: Campaign) -> None:
    """Audit a round's creation or release."""
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="round",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=None,
        after=audit.snapshot(row, "number", "name", "released_at"),
    )
