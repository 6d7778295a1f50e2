"""Indicator frameworks: import whole or not at all, read, and freeze once in use."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.models import (
    Campaign,
    Framework,
    FrameworkSection,
    Heading,
    Item,
    MaterialRequest,
    MaterialRequestItem,
)
from app.models.framework import FrameworkPublic, ItemPublic, LeadRule, MaterialPublic, SectionKind
from app.models.framework_file import FrameworkFile, ItemFile, MaterialFile, SectionFile
from app.models.user import Role
from app.services.access import Principal
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.indicators import framework_sheet
from app.services.indicators.document import validate
from app.services.platform import audit


def parse(raw: bytes) -> FrameworkFile:
    """The framework in raw JSON or .xlsx bytes (told apart by content), or Invalid listing every problem."""
    if raw[:4] == b"PK\x03\x04":
        return framework_sheet.read(raw)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"文件不是有效的 UTF-8 JSON：{exc}", code="framework_invalid") from exc
    return validate(data)


def _owner_for(principal: Principal | None) -> int | None:
    """The county owning what principal imports: an office's county; admin and the command line: global."""
    return principal.county_id if principal is not None and principal.role == Role.office else None


def require_owner(principal: Principal | None, framework: Framework) -> None:
    """Forbidden unless the caller may version or delete framework: admin (or the command line), or the
    office of the county that imported it. Frameworks are readable by everyone, so this is a 403."""
    if principal is None or principal.role == Role.system_admin:
        return
    principal.require(Role.system_admin, Role.office)
    if framework.owner_county_id is None or framework.owner_county_id != principal.county_id:
        raise Forbidden(
            "只有导入该指标体系的依法治县办或管理员可以删除它或导入其新版本；可换用新的代码导入",
            code="framework_not_owner",
        )


def _audit(session: Session, principal: Principal | None, action: str, framework: Framework, **change: Any) -> None:
    audit.record(session, principal=principal, action=action, object_type="framework", object_id=framework.id or 0,
                 county_id=framework.owner_county_id, **change)  # fmt: skip


AUDITED = ("code", "version", "name", "owner_county_id")


def import_document(session: Session, *, doc: FrameworkFile, principal: Principal | None) -> Framework:
    """Store a validated framework as a new version of its code (existing ones stay frozen); a new version
    only by the owner of the code's latest version, or admin."""
    if principal is not None:
        principal.require(Role.system_admin, Role.office)
    previous = session.exec(
        select(Framework).where(Framework.code == doc.code).order_by(col(Framework.version).desc()).limit(1)
    ).first()
    if previous is not None:
        require_owner(principal, previous)
    latest = previous.version if previous is not None else None
    owner = previous.owner_county_id if previous is not None else _owner_for(principal)
    framework = Framework(
        owner_county_id=owner,
        code=doc.code,
        version=(latest or 0) + 1,
        name=doc.name,
        source=doc.source,
        lead_rule=doc.lead_rule,
        notes=doc.notes,
        scoring=doc.scoring.model_dump(mode="json") if doc.scoring is not None else None,
    )
    session.add(framework)
    session.flush()
    fid = framework.id
    sections: dict[str, int] = {}
    for pos, sec in enumerate(doc.sections):
        row = FrameworkSection(framework_id=fid, code=sec.code, name=sec.name, kind=sec.kind, position=pos)
        session.add(row)
        session.flush()
        sections[sec.code] = row.id  # type: ignore[assignment]
    headings: dict[tuple[str, str | None], int] = {}

    def heading(level1: str, level2: str | None) -> int:
        key = (level1, level2)
        if key not in headings:
            parent = heading(level1, None) if level2 is not None else None
            row = Heading(
                framework_id=fid,
                level=1 if level2 is None else 2,
                parent_id=parent,
                title=level2 if level2 is not None else level1,
                position=len(headings),
            )
            session.add(row)
            session.flush()
            headings[key] = row.id  # type: ignore[assignment]
        return headings[key]

    rows = []
    for pos, it in enumerate(doc.items):
        rows.append(
            {
                "framework_id": fid,
                "section_id": sections[it.section],
                "level1_id": heading(it.level1, None) if it.level1 else None,
                "level2_id": heading(it.level1, it.level2) if it.level1 and it.level2 else None,
                "key": it.key,
                "number": it.number,
                "position": pos,
                "text": it.text,
                "lead_units_cell": it.lead_units_cell,
                "units_cell": it.units_cell,
                "lead_units": it.lead_units,
                "units": it.units,
            }
        )
    session.execute(insert(Item), rows)
    item_ids = dict(session.exec(select(Item.key, Item.id).where(Item.framework_id == fid)).all())
    for mat in doc.materials:
        req = MaterialRequest(framework_id=fid, key=mat.key, text=mat.text, onsite_only=mat.onsite_only)
        session.add(req)
        session.flush()
        links = [{"material_request_id": req.id, "item_id": item_ids[k]} for k in dict.fromkeys(mat.items)]
        session.execute(insert(MaterialRequestItem), links)
    _audit(session, principal, "framework.import", framework, after=audit.snapshot(framework, *AUDITED))
    return framework


def import_file(session: Session, *, raw: bytes, principal: Principal) -> FrameworkPublic:
    """Import an uploaded JSON or .xlsx framework file whole (the caller's role is checked first)."""
    principal.require(Role.system_admin, Role.office)
    return to_public(session, import_document(session, doc=parse(raw), principal=principal))


def get_or_raise(session: Session, *, framework_id: int) -> Framework:
    """The framework, or NotFound."""
    framework = session.get(Framework, framework_id)
    if framework is None:
        raise NotFound("未找到该指标体系", code="framework_not_found")
    return framework


def in_use(session: Session, *, framework_id: int) -> bool:
    """Whether any campaign uses the framework (then it is frozen)."""
    query = select(Campaign.id).where(Campaign.framework_id == framework_id).limit(1)
    return session.exec(query).first() is not None


def to_public(session: Session, framework: Framework) -> FrameworkPublic:
    """The framework's header with its per-section item counts."""
    return public_list(session, [framework])[0]


def public_list(session: Session, items: list[Framework]) -> list[FrameworkPublic]:
    """Headers of several frameworks with counts and in-use flags, in two queries for all of them."""
    ids = [f.id for f in items]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for fid, code, n in session.exec(
        select(FrameworkSection.framework_id, FrameworkSection.code, func.count(col(Item.id)))
        .join(Item, col(Item.section_id) == FrameworkSection.id)
        .where(col(FrameworkSection.framework_id).in_(ids))
        .group_by(FrameworkSection.framework_id, FrameworkSection.code)
    ).all():
        counts[fid][code] = n
    used = set(session.exec(select(Campaign.framework_id).where(col(Campaign.framework_id).in_(ids))).all())
    return [
        FrameworkPublic.model_validate(f, update={"in_use": f.id in used, "counts": counts[f.id]})  # type: ignore[index]
        for f in items
    ]


def list_all(session: Session) -> list[Framework]:
    """Every framework version, newest first within a code."""
    query = select(Framework).order_by(Framework.code, col(Framework.version).desc())
    return list(session.exec(query).all())


def delete(session: Session, *, framework_id: int, principal: Principal) -> None:
    """Remove a framework that no campaign uses; one in use is frozen."""
    principal.require(Role.system_admin, Role.office)
    framework = get_or_raise(session, framework_id=framework_id)
    require_owner(principal, framework)
    if in_use(session, framework_id=framework_id):
        raise Conflict("该指标体系已被创建活动使用，不能修改或删除；请导入新版本", code="framework_in_use")
    item_ids = select(Item.id).where(Item.framework_id == framework_id)
    for stmt in (
        sql_delete(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(item_ids)),
        sql_delete(MaterialRequest).where(col(MaterialRequest.framework_id) == framework_id),
        sql_delete(Item).where(col(Item.framework_id) == framework_id),
        sql_delete(Heading).where(col(Heading.framework_id) == framework_id, col(Heading.level) == 2),
        sql_delete(Heading).where(col(Heading.framework_id) == framework_id),
        sql_delete(FrameworkSection).where(col(FrameworkSection.framework_id) == framework_id),
    ):
        session.execute(stmt)
    _audit(session, principal, "framework.delete", framework, before=audit.snapshot(framework, *AUDITED))
    session.delete(framework)
    session.flush()


def list_items(
    session: Session,
    *,
    framework_id: int,
    section: str | None,
    level1_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ItemPublic], int]:
    """A page of the framework's items in printed order, with their material request keys."""
    get_or_raise(session, framework_id=framework_id)
    query = (
        select(Item, FrameworkSection.code)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Item.framework_id == framework_id)
    )
    if section:
        query = query.where(FrameworkSection.code == section)
    if level1_id:
        query = query.where(Item.level1_id == level1_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Item.position).limit(limit).offset(offset)).all()
    ids = [item.id for item, _ in rows]
    mats: dict[int, list[str]] = defaultdict(list)
    for item_id, key in session.exec(
        select(MaterialRequestItem.item_id, MaterialRequest.key)
        .join(MaterialRequest, col(MaterialRequest.id) == MaterialRequestItem.material_request_id)
        .where(col(MaterialRequestItem.item_id).in_(ids))
        .order_by(MaterialRequest.key)
    ).all():
        mats[item_id].append(key)
    items = [
        ItemPublic.model_validate(item, update={"section": code, "material_keys": mats[item.id]}) for item, code in rows
    ]
    return items, total


def list_materials(session: Session, *, framework_id: int) -> list[MaterialPublic]:
    """Every material request of the framework with the item keys it covers."""
    get_or_raise(session, framework_id=framework_id)
    rows = session.exec(
        select(MaterialRequest, Item.key)
        .join(MaterialRequestItem, col(MaterialRequestItem.material_request_id) == MaterialRequest.id)
        .join(Item, col(Item.id) == MaterialRequestItem.item_id)
        .where(MaterialRequest.framework_id == framework_id)
        .order_by(MaterialRequest.key, Item.position)
    ).all()
    out: dict[int, MaterialPublic] = {}
    for req, item_key in rows:
        assert req.id is not None
        if req.id not in out:
            out[req.id] = MaterialPublic.model_validate(req, update={"item_keys": []})
        out[req.id].item_keys.append(item_key)
    return list(out.values())


def list_headings(session: Session, *, framework_id: int) -> list[Heading]:
    """The framework's level-1 and level-2 headings in printed order."""
    get_or_raise(session, framework_id=framework_id)
    query = select(Heading).where(Heading.framework_id == framework_id).order_by(Heading.position)
    return list(session.exec(query).all())


def list_sections(session: Session, *, framework_id: int) -> list[FrameworkSection]:
    """The framework's sections in order."""
    get_or_raise(session, framework_id=framework_id)
    query = select(FrameworkSection).where(FrameworkSection.framework_id == framework_id)
    return list(session.exec(query.order_by(FrameworkSection.position)).all())


def public_by_ids(session: Session, *, framework_ids: list[int]) -> dict[int, FrameworkPublic]:
    """Framework headers by id (frameworks are not secret), in three statements for all of them."""
    rows = list(session.exec(select(Framework).where(col(Framework.id).in_(framework_ids))).all())
    return {f.id: f for f in public_list(session, rows)}


def to_document(session: Session, *, framework_id: int) -> FrameworkFile:
    """A stored framework as its data-file document (the JSON or .xlsx an office can edit and import again)."""
    framework = get_or_raise(session, framework_id=framework_id)
    sections = list_sections(session, framework_id=framework_id)
    codes = {s.id: s.code for s in sections}
    titles = {h.id: h.title for h in list_headings(session, framework_id=framework_id)}
    items = session.exec(
        select(Item)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Item.framework_id == framework_id)
        .order_by(FrameworkSection.position, Item.position)
    ).all()
    keys = {i.id: i.key for i in items}
    covered: dict[int, list[str]] = defaultdict(list)
    requests = session.exec(
        select(MaterialRequest).where(MaterialRequest.framework_id == framework_id).order_by(MaterialRequest.id)
    ).all()
    for request_id, item_id in session.exec(
        select(MaterialRequestItem.material_request_id, MaterialRequestItem.item_id)
        .join(Item, col(Item.id) == MaterialRequestItem.item_id)
        .where(col(MaterialRequestItem.material_request_id).in_([r.id for r in requests]))
        .order_by(Item.position)
    ).all():
        covered[request_id].append(keys[item_id])
    return FrameworkFile(
        format="shifan-framework/1",
        code=framework.code,
        name=framework.name,
        source=framework.source,
        lead_rule=LeadRule(framework.lead_rule),
        notes=list(framework.notes),
        scoring=framework.scoring,  # type: ignore[arg-type]
        sections=[SectionFile(code=s.code, name=s.name, kind=SectionKind(s.kind)) for s in sections],
        items=[
            ItemFile(
                key=i.key,
                section=codes[i.section_id],
                number=i.number,
                level1=titles.get(i.level1_id) if i.level1_id else None,  # type: ignore[arg-type]
                level2=titles.get(i.level2_id) if i.level2_id else None,  # type: ignore[arg-type]
                text=i.text,
                lead_units_cell=i.lead_units_cell,
                units_cell=i.units_cell,
                lead_units=list(i.lead_units),
                units=list(i.units),
            )  # fmt: skip
            for i in items
        ],
        materials=[
            MaterialFile(key=r.key, text=r.text, items=covered[r.id], onsite_only=r.onsite_only)  # type: ignore[index]
            for r in requests
        ],
    )
