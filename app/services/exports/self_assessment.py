"""The 自评报告 (self-assessment report) a county submits to the province, as a Word document written from
the figures Shifan holds: progress from the progress service, scores from score_report.build (never
recomputed here), rectifications from the review domain. The office writes 下一步工作 itself.

Every count in a sentence is read from the same row as the table beside it (the campaign's progress row, the
round's report), so the words and the tables cannot disagree. Scores come from the latest released round
unless the office names a round; the layout is the house style or the campaign's own template."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, EvidenceVersion, Framework, Phase, Region, Review, ScoringRound
from app.models._base import local_date
from app.models.campaign import AssignmentStatus
from app.models.evidence import ReviewDecision
from app.models.progress import Grouping, ProgressRow
from app.models.rectification import RectificationPublic, RectificationStatus
from app.services.access import Principal
from app.services.assessment import score_report, scoring
from app.services.campaign import campaigns, progress
from app.services.documents import word
from app.services.errors import NotFound
from app.services.exports import ledger, report_template, self_assessment_scores
from app.services.exports.self_assessment_scores import number
from app.services.platform import audit
from app.services.review import rectification

MEDIA_TYPE = word.MEDIA_TYPE
PLACEHOLDER = "【待填写：下一步工作由依法治县办结合本报告所列问题填写，提交前请删除本提示。】"
_STATUS = {
    RectificationStatus.open: "待整改",
    RectificationStatus.in_progress: "整改中",
    RectificationStatus.done: "已整改待核验",
    RectificationStatus.verified: "已核验销号",
}
# Widths in centimetres of the 15.6 cm type area (word.table scales them to a template's): three Chinese
# characters of 五号 fit in 1.35 cm, names and sentences take the rest.
_FIGURE = 1.35
PROGRESS_COLUMNS = (
    word.Column("名称", 4.15, centred=False),
    *(word.Column(t, _FIGURE) for t in ("任务数", "未报送", "待审核")),
    word.Column("退回补充", 1.7),
    *(word.Column(t, _FIGURE) for t in ("已通过", "逾期")),
    word.Column("报送率%", 1.5),
    word.Column("完成率%", 1.5),
)
PROGRESS_HEADERS = tuple(c.title for c in PROGRESS_COLUMNS)
BASICS_COLUMNS = (word.Column("项目", 3.6), word.Column("内容", 12, centred=False))
PHASE_COLUMNS = (
    word.Column("阶段", 6, centred=False),
    word.Column("开始日期", 3.3),
    word.Column("结束日期", 3.3),
    word.Column("材料报送阶段", 3),
)
FIX_COLUMNS = (
    word.Column("责任单位", 2.8, centred=False),
    word.Column("问题", 4.6, centred=False),
    word.Column("整改措施", 4.6, centred=False),
    word.Column("整改期限", 2),
    word.Column("状态", 1.6),
)
LEVEL1_HEADERS = self_assessment_scores.LEVEL1_HEADERS
ANNEX_HEADERS = self_assessment_scores.ANNEX_HEADERS


@dataclass
class Timeliness:
    """Of the assignments that have had evidence (the progress row's submitted, returned and approved ones), how
    many received their first piece by their due date (China time); returns and resubmitted versions."""

    answered: int
    on_time: int
    returns: int  # return-for-supplement decisions (退回补充)
    resubmissions: int  # versions after the first (补充、更正后重新报送)

    @property
    def on_time_pct(self) -> float:
        return round(100.0 * self.on_time / self.answered, 1) if self.answered else 0.0


def render(
    session: Session, *, campaign_id: int, principal: Principal, today: date, round_id: int | None = None
) -> tuple[str, bytes]:
    """(file name, .docx bytes) of the campaign's self-assessment report for its office (or an admin)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    chosen = _round(session, campaign_id=campaign_id, principal=principal, round_id=round_id)
    report = score_report.build(session, round_id=chosen.id, principal=principal) if chosen else None  # type: ignore[arg-type]
    groups = progress.report(
        session,
        campaign_id=campaign_id,
        principal=principal,
        today=today,
        groupings=[Grouping.campaign, Grouping.level1, Grouping.unit],
    ).groups
    fixes = rectification.list_visible(
        session, campaign_id=campaign_id, principal=principal, today=today, status=None, unit_id=None
    )
    county = session.get(Region, campaign.county_id)
    framework = session.get(Framework, campaign.framework_id)
    phases = session.exec(select(Phase).where(Phase.campaign_id == campaign_id).order_by(Phase.position)).all()
    total = groups[Grouping.campaign][0] if groups[Grouping.campaign] else _nothing()
    counting = ledger.covered(session, campaign_id)

    doc = word.document(report_template.content(session, campaign_id=campaign_id))
    county_name = county.name if county else ""
    word.title(doc, f"{county_name}法治政府建设示范创建自评报告")
    word.paragraph(doc, f"（{campaign.name}，截至 {today.isoformat()}）", centred=True)
    word.heading(doc, "一、基本情况")
    basics = [
        ("县（市、区）", county_name),
        ("创建活动", campaign.name),
        ("指标体系", f"{framework.name}（第 {framework.version} 版）" if framework else ""),
        ("材料报送截止日期", campaign.materials_deadline.isoformat()),
        ("参与单位数", len(groups[Grouping.unit])),
        ("任务分工数", total.total),
    ]
    word.table(doc, BASICS_COLUMNS, basics)
    word.paragraph(doc, "创建工作分以下阶段进行：")
    word.table(
        doc,
        PHASE_COLUMNS,
        [(p.name, p.starts_on.isoformat(), p.ends_on.isoformat(), "是" if p.is_submission else "") for p in phases],
    )
    units = "、".join(r.label for r in groups[Grouping.unit]) or "无"
    word.paragraph(doc, f"参与单位（{len(groups[Grouping.unit])} 个）：{units}。")

    _work(doc, groups, total, _timeliness(session, campaign_id=campaign_id, total=total, counting=counting))
    self_assessment_scores.scores(doc, report)
    _rectifications(doc, fixes, _unit_names(groups))
    word.heading(doc, "五、下一步工作")
    word.paragraph(doc, PLACEHOLDER, bold=True)
    self_assessment_scores.annex(doc, session, campaign, report, _evidence_counts(counting))

    audit.record(
        session,
        principal=principal,
        action="campaign.self_assessment",
        object_type="campaign",
        object_id=campaign_id,
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        after={"round_id": chosen.id if chosen else None, "as_of": today.isoformat()},
    )
    suffix = f"-{chosen.name}" if chosen else ""
    return f"{campaign.name}-自评报告{suffix}.docx", word.to_bytes(doc)


def _round(session: Session, *, campaign_id: int, principal: Principal, round_id: int | None) -> ScoringRound | None:
    """The asked-for round of this campaign, or its latest released one (a draft round, or a new empty one,
    goes into a report only when the office names it); None when no round is released yet."""
    if round_id is None:
        rounds = scoring.list_rounds(session, campaign_id=campaign_id, principal=principal)
        released = [r for r in rounds if r.released_at is not None]
        return released[-1] if released else None
    found = scoring.get_round(session, round_id=round_id, principal=principal)
    if found.campaign_id != campaign_id:
        raise NotFound("未找到该评分轮次", code="round_not_found")
    return found


def _nothing() -> ProgressRow:
    return ProgressRow(
        id=None, label="全部", total=0, not_started=0, submitted=0, returned=0, approved=0, overdue=0,
        submitted_pct=0.0, approved_pct=0.0,
    )  # fmt: skip


def _progress_rows(rows: list[ProgressRow]) -> list[tuple[object, ...]]:
    return [
        (r.label, r.total, r.not_started, r.submitted, r.returned, r.approved, r.overdue,
         number(r.submitted_pct), number(r.approved_pct))
        for r in rows
    ]  # fmt: skip


def _work(
    doc: word.DocumentObject, groups: dict[Grouping, list[ProgressRow]], total: ProgressRow, timely: Timeliness
) -> None:
    """二、创建工作开展情况: the campaign's progress in words, then by level-1 indicator and by unit, timeliness."""
    word.heading(doc, "二、创建工作开展情况")
    word.paragraph(
        doc,
        f"全县共分解任务 {total.total} 项：审核通过 {total.approved} 项，已报送待审核 {total.submitted} 项，"
        f"退回补充待重新报送 {total.returned} 项，尚未报送 {total.not_started} 项。报送率 "
        f"{number(total.submitted_pct)}%（已报送待审核和审核通过的 {total.submitted + total.approved} 项），"
        f"完成率 {number(total.approved_pct)}%（审核通过的 {total.approved} 项）；已过截止日期仍未完成的 "
        f"{total.overdue} 项（计入尚未报送和退回补充）。",
    )
    word.paragraph(
        doc,
        f"报送过资料的 {timely.answered} 项任务（已报送待审核、退回补充和审核通过）中，{timely.on_time} 项在截止日期前"
        f"首次报送，按时报送率 {number(timely.on_time_pct)}%；审核中退回补充 {timely.returns} 次，单位补充、更正后"
        f"重新报送 {timely.resubmissions} 次。",
    )
    word.heading(doc, "（一）按一级指标", level=2)
    word.table(doc, PROGRESS_COLUMNS, _progress_rows(groups[Grouping.level1]))
    word.heading(doc, "（二）按责任单位", level=2)
    word.table(doc, PROGRESS_COLUMNS, _progress_rows(groups[Grouping.unit]))


def _unit_names(groups: dict[Grouping, list[ProgressRow]]) -> dict[int, str]:
    return {r.id: r.label for r in groups[Grouping.unit] if r.id is not None}


def _rectifications(doc: word.DocumentObject, fixes: list[RectificationPublic], units: dict[int, str]) -> None:
    """四、存在的问题和整改情况: open items first, then the verified ones."""
    word.heading(doc, "四、存在的问题和整改情况")
    open_ = [f for f in fixes if f.status != RectificationStatus.verified]
    closed = [f for f in fixes if f.status == RectificationStatus.verified]
    word.paragraph(
        doc,
        f"创建过程中共发现问题 {len(fixes)} 个，已核验销号 {len(closed)} 个，尚在整改 {len(open_)} 个"
        f"（其中逾期 {sum(f.overdue for f in open_)} 个）。",
    )
    for label, rows in (("（一）尚在整改的问题", open_), ("（二）已整改销号的问题", closed)):
        word.heading(doc, label, level=2)
        word.table(
            doc,
            FIX_COLUMNS,
            [
                (units.get(f.unit_id, ""), f.problem, f.measures, f.due_on.isoformat(),
                 _STATUS[f.status] + ("（逾期）" if f.overdue else ""))
                for f in rows
            ],
        )  # fmt: skip


def _evidence_counts(counting: dict[tuple[int, int], list[int]]) -> dict[int, int]:
    """Per item, the live evidence counting for it (the ledger's rule, over all units)."""
    per_item: dict[int, set[int]] = defaultdict(set)
    for (_, item_id), evidence_ids in counting.items():
        per_item[item_id].update(evidence_ids)
    return {item_id: len(ids) for item_id, ids in per_item.items()}


_ANSWERED = (AssignmentStatus.submitted, AssignmentStatus.returned, AssignmentStatus.approved)


def _timeliness(
    session: Session, *, campaign_id: int, total: ProgressRow, counting: dict[tuple[int, int], list[int]]
) -> Timeliness:
    """Of the progress row's answered assignments (its count is the one the report prints), those whose first
    evidence counting for them (their own or their material request's) came by the due date; returns and
    resubmitted versions."""
    assignments = session.exec(
        select(Assignment.unit_id, Assignment.item_id, Assignment.due_on).where(
            Assignment.campaign_id == campaign_id, col(Assignment.status).in_(_ANSWERED)
        )
    ).all()
    first = dict(
        session.exec(
            select(EvidenceVersion.evidence_id, func.min(EvidenceVersion.created_at))
            .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
            .where(Evidence.campaign_id == campaign_id)
            .group_by(EvidenceVersion.evidence_id)
        ).all()
    )
    on_time = 0
    for unit_id, item_id, due_on in assignments:
        times = [first[e] for e in counting.get((unit_id, item_id), []) if first.get(e) is not None]
        on_time += bool(times) and _local_day(min(times)) <= due_on
    returns = session.exec(
        select(func.count())
        .select_from(Review)
        .join(Evidence, col(Evidence.id) == Review.evidence_id)
        .where(Evidence.campaign_id == campaign_id, Review.decision == ReviewDecision.return_)
    ).one()
    resubmissions = session.exec(
        select(func.count())
        .select_from(EvidenceVersion)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .where(Evidence.campaign_id == campaign_id, EvidenceVersion.number > 1)
    ).one()
    answered = total.submitted + total.returned + total.approved
    return Timeliness(answered=answered, on_time=min(on_time, answered), returns=returns, resubmissions=resubmissions)


def _local_day(at: datetime) -> date:
    """The day in China of a stored time (stored in UTC; SQLite may hand it back without a zone)."""
    return local_date(at if at.tzinfo else at.replace(tzinfo=UTC))
