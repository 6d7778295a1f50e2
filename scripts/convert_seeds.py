"""One-off converter: the two seed documents (../shared/seeds) -> data/frameworks/*.json.

The JSON files are the shipped artefacts; this script documents how they were made and can
regenerate them. Layout slips of the source documents are recorded in each file's "notes",
never silently repaired.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.services.indicators.framework_sheet import split_units  # noqa: E402 - one splitter for the seeds and Excel imports

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
OUT = Path(__file__).resolve().parents[1] / "data" / "frameworks"

CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
NUM_RE = re.compile(r"^(\d+)(?:\s+(.*))?$")
MERGE_RE = re.compile(r"^第\s*([\d、\s]+)\s*项指标")


def lingchuan() -> dict:
    lines = (SEEDS / "lingchuan-plan-2022.txt").read_text(encoding="utf-8").splitlines()
    start = lines.index("附件 1")
    end = lines.index("附件 2")
    items: list[dict] = []
    level1 = level2 = ""
    for raw in lines[start + 1 : end]:
        if "\t" not in raw:
            continue
        cells = [c.strip() for c in raw.split("\t")]
        if cells[0].replace(" ", "").startswith("一级指标"):
            continue
        idx = next(i for i, c in enumerate(cells) if i >= 1 and NUM_RE.match(c))
        head = [c for c in cells[:idx] if c]
        if len(cells[:idx]) >= 1 and cells[0]:
            level1 = cells[0]
        if idx >= 2 and cells[1]:
            level2 = cells[1]
        m = NUM_RE.match(cells[idx])
        assert m, raw
        number = int(m.group(1))
        rest = cells[idx + 1 :]
        if m.group(2):
            rest = [m.group(2), *rest]
        rest += ["", "", ""]
        text, unit_cell, material = rest[0], rest[1], rest[2]
        del head
        items.append(
            {
                "level1": level1,
                "level2": level2,
                "number": number,
                "text": text,
                "unit_cell": unit_cell,
                "material": material,
            }
        )

    sections = [
        {"code": "indicator", "name": "三级指标", "kind": "standard"},
        {"code": "bonus", "name": "加分项", "kind": "bonus"},
        {"code": "veto", "name": "否决项", "kind": "veto"},
    ]
    out_items = []
    materials: list[dict] = []
    seen_material: dict[tuple[str, tuple[int, ...]], str] = {}
    for it in items:
        l1 = CJK_SPACE.sub("", it["level1"])
        l2 = CJK_SPACE.sub("", it["level2"])
        if l1.startswith("十、"):
            section = "bonus" if "加分" in l2 else "veto"
        else:
            section = "indicator"
        number = it["number"]
        key = f"{section}-{number}"
        mat = it["material"]
        if mat:
            m = MERGE_RE.match(mat)
            covers = tuple(int(n) for n in re.split(r"[、\s]+", m.group(1)) if n) if m else (number,)
            covers_keys = tuple(f"{section}-{n}" for n in covers)
            onsite = mat.replace(" ", "") == "实地核查"
            sig = (mat.replace(" ", ""), covers)
            if sig in seen_material:
                mkey = seen_material[sig]
                for mm in materials:
                    if mm["key"] == mkey:
                        mm["printed_at"].append(key)
            else:
                mkey = f"M{len(materials) + 1:03d}"
                seen_material[sig] = mkey
                materials.append(
                    {
                        "key": mkey,
                        "text": mat,
                        "items": list(covers_keys),
                        "onsite_only": onsite,
                        "printed_at": [key],
                    }
                )
        out_items.append(
            {
                "key": key,
                "section": section,
                "number": number,
                "level1": l1,
                "level2": l2,
                "text": it["text"],
                "lead_units_cell": "",
                "units_cell": it["unit_cell"],
                "lead_units": [],
                "units": split_units(it["unit_cell"]),
            }
        )
    return {
        "format": "shifan-framework/1",
        "code": "lingchuan-2021",
        "name": "市县法治政府建设指标体系（2021年版）任务分解（陵川县）",
        "source": "陵政发〔2022〕15号 附件1",
        "lead_rule": "first_listed",
        "sections": sections,
        "items": out_items,
        "materials": materials,
        "notes": LINGCHUAN_NOTES,
    }


LINGCHUAN_NOTES = [
    "版面：第9–11项行首多一个空列，第12–16、36–46、57–61、75–95项序号与指标文字同在一格，按列对齐读取。",
    "版面：第42项行内印有“第43、44、45、46项指标，请合并提供下列材料”，其所涵盖项为第43–46项，不含第42项本身；第42项仍属第34–46项合并材料。",
    "版面：第53、54项责任单位为空（原表与第52项合并单元格），按原样保留为空。",
    "版面：第56项材料为空（原表疑与第55项合并），第69项材料为空（第68项材料第2点疑属第69项），均按原样保留。",
    "原文：第9项材料编号重复（1、2、2），按原样保留。",
    "版面：“十、附加 项”“1. 加分 项。”“2. 否决 项。”等标题中的字间空格为排版所致，已去除；指标文字中数字两侧的空格按原样保留。",
    "原文：否决项第1、2项未列责任单位。",
    "单位名称：原表“及相关审批部门”记为单位组“相关审批部门”；“重大行政决策承办单位、 执行单位”拆为两个名称。",
]


def luoping() -> dict:
    text = (SEEDS / "luoping-task-list.txt").read_text(encoding="utf-8")
    records: list[list[str]] = []
    pending: list[str] = []
    # Records are separated by empty lines; a record cut by a page break (item 41) continues
    # in the next block, so cells accumulate until a row has its six columns.
    for block in re.split(r"\n(?:[ ]*\n)+", text):
        cells: list[str] = []
        for line in block.split("\n"):
            if line.startswith("\t"):
                cells.append(line[1:])
            elif cells:
                cells[-1] += "\n" + line
        cells = [c.strip() for c in cells]
        if not cells or cells[0].startswith("一级"):
            continue
        pending += cells
        if len(pending) >= 6:
            records.append(pending)
            pending = []
    assert not pending, pending
    section_of = {
        "量化任务清单(32项)": "quantified",
        "延伸任务清单(35项)": "extension",
        "负面清单(7项)": "negative",
    }
    section = "basic"
    level1 = level2 = ""
    items = []
    for rec in records:
        if len(rec) != 6:
            raise SystemExit(f"unexpected record {rec!r}")
        c_l1, c_l2, c_num, c_text, c_lead, c_co = rec
        if c_l2 in section_of:
            section = section_of[c_l2]
            level1 = level2 = ""
            c_l1 = ""
        if section == "basic":
            if c_l1:
                level1 = c_l1.replace("\n", "")
            if c_l2:
                level2 = c_l2
        items.append(
            {
                "key": f"{section}-{int(c_num)}",
                "section": section,
                "number": int(c_num),
                "level1": level1 or None,
                "level2": level2 or None,
                "text": c_text.replace("[bookmark: _GoBack]", ""),
                "lead_units_cell": c_lead,
                "units_cell": c_co,
                "lead_units": split_units(c_lead),
                "units": split_units_luoping(c_co),
            }
        )
    return {
        "format": "shifan-framework/1",
        "code": "luoping-yunnan",
        "name": "云南省法治政府建设示范创建任务清单（罗平县指标任务分解表）",
        "source": "罗平县法治政府建设示范创建指标任务分解表 附件2",
        "lead_rule": "lead_column",
        "sections": [
            {"code": "basic", "name": "基础任务清单", "kind": "standard"},
            {"code": "quantified", "name": "量化任务清单", "kind": "quantified"},
            {"code": "extension", "name": "延伸任务清单", "kind": "standard"},
            {"code": "negative", "name": "负面清单", "kind": "veto"},
        ],
        "items": items,
        "materials": [],
        "notes": LUOPING_NOTES,
    }


LUOPING_NOTES = [
    "原文：二级指标“(四)优化法治化营商环”缺“境”字，按原样保留。",
    "原文：二级指标序号括号全角半角混用（“（十八）”“(十九)……。”），按原样保留。",
    "版面：负面清单所在页重复印有一级指标“九、法治政府建设组织领导落实到位”，量化、延伸、负面清单不属任何一级指标，一级、二级指标记为空。",
    "原文：责任单位多为“各有关部门、各乡镇(街道)按职责分工分别负责”，拆为单位组“各有关部门”“各乡镇(街道)”；“按职责分工分别负责”为说明文字，保留在原文单元格中。",
    "原文：本表未列具体资料报送要求，materials 为空。",
    "版面：基础任务第41项的责任单位被分页隔开，已与本行合并；延伸任务第20项序号行首缺制表符，按列读取。",
    "版面：基础任务第77、81–84项只印一个单位“各行政执法单位”，位于牵头单位列，责任单位列为空，按原样保留。",
    "转换：第77项文字前的 Word 书签残留“[bookmark: _GoBack]”已去除。",
]


def split_units_luoping(cell: str) -> list[str]:
    cell = cell.replace("按职责分工分别负责", "")
    return split_units(cell)


def main() -> None:
    for name, data in (("lingchuan-2021.json", lingchuan()), ("luoping-yunnan.json", luoping())):
        counts: dict[str, int] = {}
        for it in data["items"]:
            counts[it["section"]] = counts.get(it["section"], 0) + 1
        print(name, counts, "materials", len(data["materials"]), file=sys.stderr)
        if (OUT / name).exists():  # the scoring defaults (metric thresholds) are curated by hand: keep them
            kept = json.loads((OUT / name).read_text(encoding="utf-8")).get("scoring")
            if kept is not None:
                data["scoring"] = kept
        (OUT / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
