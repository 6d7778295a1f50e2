"""The score report as an .xlsx score sheet (评分表) in the layout an office hands upward.

Values, not formulas: the totals follow the scoring configuration (weights, not-applicable policy,
bonus cap), which a SUM in a cell would not; every program (Excel, WPS, LibreOffice) shows the same.
"""

from __future__ import annotations

from app.models.framework import SectionKind
from app.models.score_report import ItemResult, ScoreReport
from app.services.documents import sheets

ITEM_COLUMNS = (
    ("一级指标", 22),
    ("二级指标", 22),
    ("序号", 8),
    ("指标内容", 60),
    ("分值", 8),
    ("权重", 8),
    ("得分", 9),
    ("合理缺项", 9),
    ("量化指标", 30),
    ("达标情况", 10),
    ("评分意见", 30),
)
UNIT_COLUMNS = (
    ("责任单位", 28),
    ("承担指标数", 12),
    ("已评分", 10),
    ("得分", 10),
    ("满分", 10),
    ("得分率(%)", 12),
    ("量化未达标", 12),
)

SOURCE_LABEL = {"office": "县级初审", "evaluators": "第三方评估（平均）"}
_VETO = {True: "发生", False: "未发生", None: "未评定"}


def _metric_text(it: ItemResult) -> tuple[str, str]:
    if not it.metrics:
        return "", ""
    lines = []
    for m in it.metrics:
        figures = "、".join(f"{f.unit_name} {f.value:g}" for f in m.figures) or "未填报"
        lines.append(f"{m.label} {m.threshold}：{figures}")
    verdict = {True: "达标", False: "未达标", None: "待填报"}[it.metrics_pass]
    return "\n".join(lines), verdict


def render(report: ScoreReport) -> bytes:
    """The workbook's bytes: 评分表 (items with level-1 subtotals, bonus, veto, total) and 按单位."""
    wb = sheets.workbook()
    ws = sheets.sheet(wb, "评分表")
    label = SOURCE_LABEL.get(report.source, report.source)
    sheets.header(ws, f"{report.county_name}法治政府建设示范创建评分表（{report.round_name}·{label}）", ITEM_COLUMNS)
    subtotals = {s.key: s for s in report.level1}
    titles = {s.key: s.title for s in [*report.level1, *report.level2]}
    groups: dict[str, list[ItemResult]] = {}
    for it in report.items:
        if it.kind in (SectionKind.bonus, SectionKind.veto):
            continue
        groups.setdefault(f"h{it.level1_id}" if it.level1_id else f"s:{it.section}", []).append(it)
    for key, items in groups.items():
        for it in items:
            metric, verdict = _metric_text(it)
            sheets.row(
                ws,
                [
                    subtotals[key].title,
                    titles.get(f"h{it.level2_id}", ""),
                    it.number,
                    it.text,
                    it.max,
                    it.weight,
                    it.points,
                    "是" if it.not_applicable else "",
                    metric,
                    verdict,
                    it.comment,
                ],
            )
        s = subtotals[key]
        subtotal = [f"{s.title} 小计", "", "", f"{s.items} 项，已评 {s.scored} 项", s.max, s.weight, s.points]
        sheets.row(ws, subtotal, fill=sheets.SUBTOTAL, bold=True)
    for it in report.items:
        if it.kind == SectionKind.bonus:
            sheets.row(
                ws, [it.section_name, "", it.number, it.text, it.max, it.weight, it.points, "", "", "", it.comment]
            )
    for it in report.items:
        if it.kind == SectionKind.veto:
            sheets.row(
                ws,
                [it.section_name, "", it.number, it.text, "", "", "", "", "", _VETO[it.vetoed], it.comment],
            )
    top = report.base_max + report.bonus.cap
    rows = [
        ("基本分合计", report.base_max, report.base_points, ""),
        (f"加分（上限 {report.bonus.cap:g}）", report.bonus.cap, report.bonus.points, ""),
    ]
    if report.vetoed:  # the sum stays visible, but never where the result is read
        rows.append(("计算得分", top, report.computed_total, "未计否决项，仅供参考"))
    rows.append(("总分", top, report.total, "触发否决项，一票否决，计 0 分" if report.vetoed else ""))
    for name, most, points, note in rows:
        sheets.row(ws, [name, "", "", note, most, "", points], fill=sheets.SUBTOTAL, bold=True)
    verdict = "否决：" + "；".join(h.text for h in report.veto.hits) if report.veto.failed else "未触发否决项"
    sheets.row(ws, ["结论", "", "", verdict], fill=sheets.SUBTOTAL, bold=True)

    units = sheets.sheet(wb, "按单位")
    sheets.header(units, f"{report.county_name}责任单位得分（{report.round_name}·{label}）", UNIT_COLUMNS)
    for u in report.units:
        sheets.row(units, [u.unit_name, u.items, u.scored, u.points, u.max, u.percent, u.metrics_failed])
    return sheets.to_bytes(wb)
