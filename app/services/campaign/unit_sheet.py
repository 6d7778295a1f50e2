"""A county's unit list as an .xlsx (单位名称, 类别, 别名), out and back in (whole or nothing)."""

from __future__ import annotations

from pydantic import ValidationError

from app.models.unit import Unit, UnitCreate, UnitKind
from app.services import messages
from app.services.documents import sheets
from app.services.errors import Invalid

COLUMNS: sheets.Columns = (("单位名称", 30), ("类别", 10), ("别名", 50))
KIND_LABEL = {UnitKind.department: "部门", UnitKind.township: "乡镇", UnitKind.other: "其他"}
_KIND_OF = {label: kind for kind, label in KIND_LABEL.items()} | {k.value: k for k in UnitKind}
_SEP = "、"


def write(county_name: str, units: list[Unit]) -> bytes:
    """The county's units as a workbook that imports back."""
    wb = sheets.workbook()
    ws = sheets.sheet(wb, "单位")
    sheets.header(ws, f"{county_name}责任单位名单", COLUMNS)
    for u in units:
        sheets.row(ws, [u.name, KIND_LABEL[UnitKind(u.kind)], _SEP.join(u.aliases)])
    return sheets.to_bytes(wb)


def read(raw: bytes) -> list[UnitCreate]:
    """The units listed in a workbook, or Invalid naming every bad row."""
    reader = sheets.SheetReader(sheets.open_workbook(raw, code="units_invalid"))
    found = []
    for n, row in reader.rows("单位", COLUMNS):
        kind = _KIND_OF.get(row["类别"] or "部门")
        if kind is None:
            reader.problem(f"单位!B{n}", f"类别“{row['类别']}”应为 部门、乡镇 或 其他")
            continue
        aliases = [a.strip() for a in row["别名"].split(_SEP) if a.strip()]
        try:
            found.append(UnitCreate(name=row["单位名称"], kind=kind, aliases=aliases))
        except ValidationError as exc:
            reader.problem(f"单位!A{n}", "；".join(messages.describe(e) for e in exc.errors()))
    if reader.errors:
        raise Invalid("单位名单有误，未导入任何单位", code="units_invalid", errors=reader.errors)
    return found
