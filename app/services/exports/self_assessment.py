"""The 自评报告 (self-assessment report) a county submits to the province, as a Word document written from
the figures Shifan holds: progress from the progress service, scores from score_report.build (never
recomputed here), rectifications from the review domain. The office writes 下一步工作 itself."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, EvidenceVersion, Framework, Phase, Region, Review, ScoringRound
from app.models.evidence import ReviewDecision
from app.models.framework import SectionKind
from app.models.progress import Grouping, ProgressRow
from app.models.rectification import RectificationPublic, RectificationStatus
from app.models.score_report import ItemResult, ScoreReport
from app.services.access import Principal
from app.services.assessment import score_report, scoring
from app.services.campaign import campaigns, progress
from app.services.errors import NotFound
from app.services.exports import ledger
from app.services.platform import audit, word
from app.services.review import rectification

MEDIA_TYPE = word.MEDIA_TYPE
PLACEHOLDER = "【待填写：下一步工作由依法治县办结合本报告所列问题填写，提交前请删除本提示。】"
_CST = ZoneInfo("Asia/Shanghai")
_STATUS = {
    RectificationStatus.open: "待整改",
    RectificationStatus.in_progress: "整改中",
    RectificationStatus.done: "已整改待核验",
    RectificationStatus.verified: "已核验销号",
}
PROGRESS_HEADERS = ("名称", "任务数", "未开始", "已报送待审", "退回补充", "已通过", "逾期", "报送率%", "完成率%")
LEVEL1_HEADERS = ("一级指标", "权重", "得分", "满分", "指标数", "已评分", "不适用")
ANNEX_HEADERS = ("序号", "板块", "指标内容", "满分", "权重", "得分", "资料份数")


def number(value: float) -> str:
    """A figure as the document prints it: the report's two decimals, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass
class Timeliness:
    """How the units met their due dates: first evidence on or before the due date, returns, resubmissions."""

    answered: int  # assignments with at least one piece of evidence
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

    doc = word.document()
    county_name = county.name if county else ""
    word.title(doc, f"{county_name}法治政府建设示范创建自评报告")
    word.paragraph(doc, f"（{campaign.name}，截至 {today.isoformat()}）", centred=True)
    word.heading(doc, "一、基本情况")
    word.table(
        doc,
        ("项目", "内容"),
        [
            ("县（市、区）", county_name),
            ("创建活动", campaign.name),
            ("指标体系", f"{framework.name}（第 {framework.version} 版）" if framework else ""),
            ("材料报送截止日期", campaign.materials_deadline.isoformat()),
            ("参与单位数", len(groups[Grouping.unit])),
            ("任务分工数", groups[Grouping.campaign][0].total if groups[Grouping.campaign] else 0),
        ],
    )
    word.paragraph(doc, "创建工作分以下阶段进行：")
    word.table(
        doc,
        ("阶段", "开始日期", "结束日期", "材料报送阶段"),
        [(p.name, p.starts_on.isoformat(), p.ends_on.isoformat(), "是" if p.is_submission else "") for p in phases],
    )
    word.paragraph(doc, "参与单位：" + "、".join(r.label for r in groups[Grouping.unit]) + "。")

    _work(doc, groups, _timeliness(session, campaign_id=campaign_id))
    _scores(doc, report)
    _rectifications(doc, fixes, _unit_names(groups))
    word.heading(doc, "五、下一步工作")
    word.paragraph(doc, PLACEHOLDER, bold=True)
    _annex(doc, report, _evidence_counts(session, campaign_id=campaign_id))

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
    """The asked-for round of this campaign, or its latest; None when the campaign has no round yet."""
    if round_id is None:
        rounds = scoring.list_rounds(session, campaign_id=campaign_id, principal=principal)
        return rounds[-1] if rounds else None
    found = scoring.get_round(session, round_id=round_id, principal=principal)
    if found.campaign_id != campaign_id:
        raise NotFound("未找到该评分轮次", code="round_not_found")
    return found


def _progress_rows(rows: list[ProgressRow]) -> list[tuple[object, ...]]:
    return [
        (
            r.label,
            r.total,
            r.not_started,
            r.submitted,
            r.returned,
            r.approved,
            r.overdue,
            number(r.submitted_pct),
            number(r.approved_pct),
        )  # fmt: skip
        for r in rows
    ]


def _work(doc: word.DocumentObject, groups: dict[Grouping, list[ProgressRow]], timely: Timeliness) -> None:
    """二、创建工作开展情况: progress by level-1 indicator and by unit, timeliness, returns."""
    word.heading(doc, "二、创建工作开展情况")
    total = groups[Grouping.campaign][0] if groups[Grouping.campaign] else None
    if total is not None:
        word.paragraph(
            doc,
            f"全县共分解任务 {total.total} 项，已报送 {total.submitted + total.approved} 项（报送率 "
            f"{number(total.submitted_pct)}%），审核通过 {total.approved} 项（完成率 {number(total.approved_pct)}%），"
            f"退回补充待重新报送 {total.returned} 项，逾期未报 {total.overdue} 项。",
        )
    word.paragraph(
        doc,
        f"已报送资料的 {timely.answered} 项任务中，{timely.on_time} 项在截止日期前首次报送，按时报送率 "
        f"{number(timely.on_time_pct)}%；审核中退回补充 {timely.returns} 次，单位补充、更正后重新报送 "
        f"{timely.resubmissions} 次。",
    )
    word.heading(doc, "（一）按一级指标", level=2)
    word.table(doc, PROGRESS_HEADERS, _progress_rows(groups[Grouping.level1]))
    word.heading(doc, "（二）按责任单位", level=2)
    word.table(doc, PROGRESS_HEADERS, _progress_rows(groups[Grouping.unit]))


def _scores(doc: word.DocumentObject, report: ScoreReport | None) -> None:
    """三、指标完成情况: the round's level-1 subtotals, bonus under its cap, veto items, the total."""
    word.heading(doc, "三、指标完成情况")
    if report is None:
        word.paragraph(doc, "本次创建活动尚未开展评分，指标得分待评分后填入。")
        return
    state = "已发布" if report.released else "未发布（初评稿）"
    word.paragraph(
        doc,
        f"以下得分取自评分轮次“{report.round_name}”（{state}）。基本分 {number(report.base_points)} 分"
        f"（满分 {number(report.base_max)} 分，得分率 {number(report.percent)}%），"
        f"加分 {number(report.bonus.points)} 分"
        f"（加分上限 {number(report.bonus.cap)} 分），合计 {number(report.computed_total)} 分。",
    )
    rows: list[tuple[object, ...]] = [
        (s.title, number(s.weight), number(s.points), number(s.max), s.items, s.scored, s.not_applicable)
        for s in report.level1
    ]
    rows.append(("基本分合计", "", number(report.base_points), number(report.base_max), "", "", ""))
    word.table(doc, LEVEL1_HEADERS, rows)
    word.heading(doc, "（一）加分项", level=2)
    word.table(
        doc,
        ("加分（评分合计）", "加分上限", "计入总分的加分"),
        [(number(report.bonus.raw), number(report.bonus.cap), number(report.bonus.points))],
    )
    word.heading(doc, "（二）否决项", level=2)
    vetoes = [it for it in report.items if it.kind == SectionKind.veto]
    veto_rows = [(it.number, it.text, _veto(it), it.comment) for it in vetoes]
    word.table(doc, ("序号", "否决事项", "评定结果", "说明"), veto_rows)
    verdict = (
        f"存在 {len(report.veto.hits)} 项否决情形，实行一票否决，总分记为 {number(report.total)} 分。"
        if report.veto.failed
        else "未发现否决情形。"
    )
    word.paragraph(doc, verdict)
    word.table(
        doc,
        ("基本分", "计入加分", "合计（计算值）", "总分", "否决"),
        [
            (
                number(report.base_points),
                number(report.bonus.points),
                number(report.computed_total),
                number(report.total),
                "是" if report.vetoed else "否",
            )  # fmt: skip
        ],
    )


def _veto(it: ItemResult) -> str:
    return {True: "存在否决情形", False: "未发生"}.get(it.vetoed, "未评定")  # type: ignore[arg-type]


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
    headers = ("责任单位", "问题", "整改措施", "整改期限", "状态")
    for label, rows in (("（一）尚在整改的问题", open_), ("（二）已整改销号的问题", closed)):
        word.heading(doc, label, level=2)
        word.table(
            doc,
            headers,
            [
                (
                    units.get(f.unit_id, ""),
                    f.problem,
                    f.measures,
                    f.due_on.isoformat(),
                    _STATUS[f.status] + ("（逾期）" if f.overdue else ""),
                )  # fmt: skip
                for f in rows
            ],
        )


def _annex(doc: word.DocumentObject, report: ScoreReport | None, counts: dict[int, int]) -> None:
    """附件: every item with its score and how many live pieces of evidence count for it."""
    doc.add_page_break()
    word.heading(doc, "附件：指标得分及印证资料一览表")
    if report is None:
        word.paragraph(doc, "尚未评分。")
        return
    section_label = {SectionKind.bonus: "加分项", SectionKind.veto: "否决项"}
    word.table(
        doc,
        ANNEX_HEADERS,
        [
            (
                it.number,
                section_label.get(SectionKind(it.kind), it.section),
                it.text,
                number(it.max),
                number(it.weight),
                _score(it),
                counts.get(it.item_id, 0),
            )  # fmt: skip
            for it in report.items
        ],
    )


def _score(it: ItemResult) -> str:
    if it.kind == SectionKind.veto:
        return _veto(it)
    if it.not_applicable:
        return "不适用"
    return number(it.points) if it.points is not None else "未评分"


def _evidence_counts(session: Session, *, campaign_id: int) -> dict[int, int]:
    """Per item, the live evidence counting for it (the ledger's rule, over all units)."""
    per_item: dict[int, set[int]] = defaultdict(set)
    for (_, item_id), evidence_ids in ledger.covered(session, campaign_id).items():
        per_item[item_id].update(evidence_ids)
    return {item_id: len(ids) for item_id, ids in per_item.items()}


def _timeliness(session: Session, *, campaign_id: int) -> Timeliness:
    """First evidence per assignment against its due date (China time), returns, and resubmitted versions."""
    first = session.exec(
        select(Assignment.due_on, func.min(EvidenceVersion.created_at))
        .join(Evidence, col(Evidence.assignment_id) == Assignment.id)
        .join(EvidenceVersion, col(EvidenceVersion.evidence_id) == Evidence.id)
        .where(Assignment.campaign_id == campaign_id)
        .group_by(Assignment.id, Assignment.due_on)
    ).all()
    on_time = sum(1 for due_on, at in first if at is not None and _local_day(at) <= due_on)
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
    return Timeliness(answered=len(first), on_time=on_time, returns=returns, resubmissions=resubmissions)


def _local_day(at: datetime) -> date:
    """The day in China of a stored time (stored in UTC; SQLite may hand it back without a zone)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(_CST).date()
