"""A framework as an .xlsx workbook an office can fill in Excel or WPS, and back.

Sheets: 说明 (code, name, source, lead rule, notes, scoring as JSON), 清单 (sections), 指标 (one row per
item, the seeds' columns: 一级指标, 二级指标, 序号, 三级指标, 牵头单位, 责任单位, 具体资料报送, plus 清单 and 编号)
and 资料 (material requests, each covering one or more items). Reading is whole-or-nothing like the JSON
data files: every problem is listed with its sheet and cell, then the document is validated as JSON is.
A workbook without 资料 makes each item's 具体资料报送 cell a request of its own; empty 编号 and name
columns are filled in (编号 = <清单>-<序号>, names split from the printed cell)."""

from __future__ import annotations

import json
import re
from typing import Any

from app.models.framework_file import FrameworkFile
from app.services.documents import sheets
from app.services.errors import Invalid
from app.services.indicators.document import validate

FORMAT = "shifan-framework/1"
META: sheets.Columns = (("项目", 16), ("内容", 100))
SECTIONS: sheets.Columns = (("代码", 16), ("名称", 24), ("类别", 12))
ITEMS: sheets.Columns = (
    ("清单", 12),
    ("一级指标", 24),
    ("二级指标", 24),
    ("序号", 8),
    ("三级指标", 60),
    ("牵头单位", 24),
    ("责任单位", 30),
    ("具体资料报送", 40),
    ("编号", 14),
    ("牵头单位（名称）", 24),
    ("责任单位（名称）", 30),
)
MATERIALS: sheets.Columns = (("编号", 10), ("资料内容", 60), ("对应指标", 30), ("仅实地核查", 10), ("印于", 20))
_SEP = "、"
_META_KEYS = {"格式": "format", "代码": "code", "名称": "name", "来源": "source", "牵头单位规则": "lead_rule"}


def split_units(cell: str) -> list[str]:
    """Split a printed unit cell into unit or group names (、, commas, spaces and line breaks; a leading 及 dropped)."""
    names = []
    for token in re.split(r"[\s、，,]+", cell.strip()):
        token = token.strip()
        if token.startswith("及"):  # "县行政审批服务管理局 及相关审批部门"
            token = token[1:]
        if token:
            names.append(token)
    return names


def _names(listed: str, printed: str) -> list[str]:
    """The names column when filled in, else the names split from the printed cell."""
    return listed.split(_SEP) if listed else split_units(printed)


def _sheet(wb: sheets.Workbook, title: str, heading: str, columns: sheets.Columns, rows: list[list[Any]]) -> None:
    ws = sheets.sheet(wb, title)
    sheets.header(ws, heading, columns)
    for row in rows:
        sheets.row(ws, row)


def write(doc: FrameworkFile) -> bytes:
    """The workbook of a framework document."""
    wb = sheets.workbook()
    meta: list[list[Any]] = [["格式", FORMAT], ["代码", doc.code], ["名称", doc.name], ["来源", doc.source],
                             ["牵头单位规则", doc.lead_rule.value]]  # fmt: skip
    meta += [["备注", note] for note in doc.notes]
    if doc.scoring is not None:
        meta.append(["评分配置", json.dumps(doc.scoring.model_dump(mode="json"), ensure_ascii=False)])
    _sheet(wb, "说明", f"{doc.name}（指标体系导入文件）", META, meta)
    _sheet(wb, "清单", "清单（分类）", SECTIONS, [[s.code, s.name, s.kind.value] for s in doc.sections])
    printed: dict[str, list[str]] = {}
    for m in doc.materials:
        for key in m.printed_at or m.items[:1]:
            printed.setdefault(key, []).append(m.text)
    items = [
        [it.section, it.level1 or "", it.level2 or "", it.number, it.text, it.lead_units_cell, it.units_cell,
         "\n".join(printed.get(it.key, [])), it.key, _SEP.join(it.lead_units), _SEP.join(it.units)]
        for it in doc.items
    ]  # fmt: skip
    _sheet(wb, "指标", doc.name, ITEMS, items)
    materials = [
        [m.key, m.text, _SEP.join(m.items), "是" if m.onsite_only else "否", _SEP.join(m.printed_at)]
        for m in doc.materials
    ]
    _sheet(wb, "资料", "具体资料报送（一项资料可对应多个指标）", MATERIALS, materials)
    return sheets.to_bytes(wb)


def read(raw: bytes) -> FrameworkFile:
    """The framework in an .xlsx workbook, or Invalid listing every problem (sheet!row and what is wrong)."""
    wb = sheets.open_workbook(raw, code="framework_invalid")
    r = sheets.SheetReader(wb)
    data: dict[str, Any] = {"format": FORMAT, "notes": []}
    for n, row in r.rows("说明", META):
        key, value = row["项目"], row["内容"]
        if key in _META_KEYS:
            data[_META_KEYS[key]] = value
        elif key == "备注":
            data["notes"].append(value)
        elif key == "评分配置" and value:
            try:
                data["scoring"] = json.loads(value)
            except json.JSONDecodeError:
                r.problem(f"说明!B{n}", "评分配置不是有效的 JSON")
        else:
            r.problem(f"说明!A{n}", f"不认识的项目“{key}”")
    data["sections"] = [{"code": s["代码"], "name": s["名称"], "kind": s["类别"]} for _, s in r.rows("清单", SECTIONS)]
    data["items"] = []
    generated = []
    for n, it in r.rows("指标", ITEMS):
        number = r.number(f"指标!D{n}", it["序号"])
        key = it["编号"] or f"{it['清单']}-{number}"
        data["items"].append(
            {
                "key": key, "section": it["清单"], "number": number or 0, "level1": it["一级指标"] or None,
                "level2": it["二级指标"] or None, "text": it["三级指标"], "lead_units_cell": it["牵头单位"],
                "units_cell": it["责任单位"],
                "lead_units": _names(it["牵头单位（名称）"], it["牵头单位"]),
                "units": _names(it["责任单位（名称）"], it["责任单位"]),
            }
        )  # fmt: skip
        if it["具体资料报送"]:
            generated.append({"key": f"M{len(generated) + 1:03d}", "text": it["具体资料报送"], "items": [key]})
    if "资料" in wb.sheetnames:
        data["materials"] = [
            {"key": m["编号"], "text": m["资料内容"], "items": m["对应指标"].split(_SEP) if m["对应指标"] else [],
             "onsite_only": m["仅实地核查"] == "是", "printed_at": m["印于"].split(_SEP) if m["印于"] else []}
            for _, m in r.rows("资料", MATERIALS)
        ]  # fmt: skip
    else:
        data["materials"] = generated
    if r.errors:
        raise Invalid("Excel 文件内容有误，未导入任何数据", code="framework_invalid", errors=r.errors)
    return validate(data)


def template() -> bytes:
    """The import template: every sheet and column, with one example row each (replace them)."""
    from app.models.framework_file import ItemFile, MaterialFile, SectionFile

    doc = FrameworkFile(
        format=FORMAT,
        code="my-county-2024",
        name="某县法治政府建设示范创建指标体系（示例，请替换）",
        source="县委依法治县办〔2024〕1号 附件1",
        lead_rule="first_listed",  # type: ignore[arg-type]
        notes=["“编号”可留空（自动取 清单-序号）；“牵头单位（名称）”“责任单位（名称）”可留空（按“、”和空格拆分）。"],
        sections=[
            SectionFile(code="indicator", name="三级指标", kind="standard"),  # type: ignore[arg-type]
            SectionFile(code="veto", name="否决项", kind="veto"),  # type: ignore[arg-type]
        ],
        items=[
            ItemFile(
                key="indicator-1",
                section="indicator",
                number=1,
                level1="一、政府职能依法全面履行",
                level2="1. 加大简政放权力度。",
                text="（示例）行政审批事项在法定期限内完成。",
                units_cell="县行政审批服务管理局",
                units=["县行政审批服务管理局"],
            ),
            ItemFile(
                key="veto-1",
                section="veto",
                number=1,
                level1="十、附加项",
                level2="2. 否决项。",
                text="（示例）申报材料弄虚作假的。",
            ),
        ],  # fmt: skip
        materials=[MaterialFile(key="M001", text="（示例）审批时限统计表", items=["indicator-1"])],
    )
    return write(doc)
