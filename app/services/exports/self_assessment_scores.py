"""The 自评报告's score parts: 三、指标完成情况 and the annex listing every item, each figure read from the round's
score report (score_report.build) and worded after the report's own state — a veto item not yet judged is said
to be 未评定, never taken for 未发生, and a vetoed total is 0 with the computed sum beside it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.models import Campaign, FrameworkSection, Item
from app.models.framework import SectionKind
from app.models.score_report import ItemResult, ScoreReport
from app.services.documents import word

# Widths in centimetres of the 15.6 cm type area (word.table scales them to a template's).
LEVEL1_COLUMNS = (
    word.Column("一级指标", 7.5, centred=False),
    *(word.Column(t, 1.35) for t in ("权重", "得分", "满分", "指标数", "已评分", "不适用")),
)
LEVEL1_HEADERS = tuple(c.title for c in LEVEL1_COLUMNS)
BONUS_COLUMNS = (word.Column("加分（评分合计）", 5.2), word.Column("加分上限", 5.2), word.Column("计入总分的加分", 5.2))
VETO_COLUMNS = (
    word.Column("序号", 1),
    word.Column("否决事项", 8.6, centred=False),
    word.Column("评定结果", 2.6),
    word.Column("说明", 3.4, centred=False),
)
TOTAL_COLUMNS = tuple(word.Column(t, 3.12) for t in ("基本分", "计入加分", "合计（计算值）", "总分", "否决"))
ANNEX_COLUMNS = (
    word.Column("序号", 1),
    word.Column("板块", 1.8),
    word.Column("指标内容", 8.1, centred=False),
    word.Column("满分", 1),
    word.Column("权重", 1),
    word.Column("得分", 1.5),  # 未评定, 不适用: three characters
    word.Column("资料份数", 1.2),
)
ANNEX_HEADERS = tuple(c.title for c in ANNEX_COLUMNS)
UNSCORED_ANNEX_COLUMNS = (
    word.Column("序号", 1),
    word.Column("板块", 1.8),
    word.Column("指标内容", 11.6, centred=False),
    word.Column("资料份数", 1.2),
)
VETO_RESULT = {True: "存在否决情形", False: "未发生", None: "未评定"}


def number(value: float) -> str:
    """A figure as the document prints it: the report's two decimals, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def scores(doc: word.DocumentObject, report: ScoreReport | None) -> None:
    """三、指标完成情况: the round's level-1 subtotals, bonus under its cap, veto items, the total."""
    word.heading(doc, "三、指标完成情况")
    if report is None:
        word.paragraph(doc, "本次创建活动尚无已发布的评分轮次，指标得分待评分发布后填入。")
        return
    state = "已发布" if report.released else "未发布（初评稿）"
    word.paragraph(doc, f"以下得分取自评分轮次“{report.round_name}”（{state}）。" + total_sentence(report))
    if report.unscored:
        word.paragraph(doc, f"尚有 {report.unscored} 项指标未评分，以上得分未计入这些指标。")
    rows: list[tuple[object, ...]] = [
        (s.title, number(s.weight), number(s.points), number(s.max), s.items, s.scored, s.not_applicable)
        for s in report.level1
    ]
    rows.append(("基本分合计", "", number(report.base_points), number(report.base_max), "", "", ""))
    word.table(doc, LEVEL1_COLUMNS, rows)
    bonus = [it for it in report.items if it.kind == SectionKind.bonus]
    vetoes = [it for it in report.items if it.kind == SectionKind.veto]
    word.heading(doc, f"（一）{_list_name(bonus, '加分项')}", level=2)
    word.table(doc, BONUS_COLUMNS, [(number(report.bonus.raw), number(report.bonus.cap), number(report.bonus.points))])
    word.heading(doc, f"（二）{_list_name(vetoes, '否决项')}", level=2)
    word.table(doc, VETO_COLUMNS, [(it.number, it.text, VETO_RESULT[it.vetoed], it.comment) for it in vetoes])
    word.paragraph(doc, veto_sentence(report, vetoes))
    pending = any(it.vetoed is None for it in vetoes)
    total = (number(report.base_points), number(report.bonus.points), number(report.computed_total),
             number(report.total), "是" if report.vetoed else ("未评定" if pending else "否"))  # fmt: skip
    word.table(doc, TOTAL_COLUMNS, [total])


def _list_name(items: list[ItemResult], default: str) -> str:
    """The framework's own name for the list (加分项, 否决项, 负面清单)."""
    return items[0].section_name if items else default


def total_sentence(report: ScoreReport) -> str:
    """The base, the bonus and the total in words; a vetoed total is 0, the computed sum only beside it."""
    base = (
        f"基本分 {number(report.base_points)} 分（满分 {number(report.base_max)} 分，"
        f"得分率 {number(report.percent)}%），计入加分 {number(report.bonus.points)} 分"
        f"（加分上限 {number(report.bonus.cap)} 分），"
    )
    if report.vetoed:
        return base + (
            f"按评分规则合计 {number(report.computed_total)} 分；因存在否决情形，实行一票否决，总分记为 "
            f"{number(report.total)} 分。"
        )
    return base + f"总分 {number(report.total)} 分。"


def veto_sentence(report: ScoreReport, vetoes: list[ItemResult]) -> str:
    """What the veto items' evaluation says so far: a hit, items still to judge, or every item judged clear."""
    pending = sum(1 for it in vetoes if it.vetoed is None)
    if report.veto.failed:
        return f"存在 {len(report.veto.hits)} 项否决情形，实行一票否决，总分记为 {number(report.total)} 分。"
    if pending:
        return f"{len(vetoes)} 项否决事项中尚有 {pending} 项未评定，评定完成前不能确认是否存在否决情形。"
    if not vetoes:
        return "本指标体系未设否决事项。"
    return f"{len(vetoes)} 项否决事项均已评定，未发现否决情形。"


def annex(
    doc: word.DocumentObject, session: Session, campaign: Campaign, report: ScoreReport | None, counts: dict[int, int]
) -> None:
    """附件: every item with its score and how many live pieces of evidence count for it."""
    doc.add_page_break()
    word.heading(doc, "附件：指标得分及印证资料一览表")
    if report is not None:
        word.table(
            doc,
            ANNEX_COLUMNS,
            [
                (it.number, it.section_name, it.text, number(it.max), number(it.weight), score(it),
                 counts.get(it.item_id, 0))
                for it in report.items
            ],
        )  # fmt: skip
        return
    word.paragraph(doc, "尚无已发布的评分轮次，下表列出各项指标的印证资料份数，得分待评分发布后填入。")
    items = session.exec(
        select(Item.id, Item.number, FrameworkSection.name, Item.text)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Item.framework_id == campaign.framework_id)
        .order_by(FrameworkSection.position, Item.position)
    ).all()
    rows = [(n, section, text, counts.get(item_id, 0)) for item_id, n, section, text in items]  # type: ignore[arg-type]
    word.table(doc, UNSCORED_ANNEX_COLUMNS, rows)


def score(it: ItemResult) -> str:
    """An item's score as the annex prints it (a veto item's result in words)."""
    if it.kind == SectionKind.veto:
        return VETO_RESULT[it.vetoed]
    if it.not_applicable:
        return "不适用"
    return number(it.points) if it.points is not None else "未评分"
