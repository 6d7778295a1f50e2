"""A county's units and unit groups, and resolving printed unit names to units."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.models.region import Region
from app.models.unit import Unit, UnitCreate, UnitGroup, UnitGroupCreate, UnitGroupMember, UnitGroupUpdate
from app.models.user import Role
from app.services.access import Principal, county_scope
from app.services.accounts import regions
from app.services.errors import Conflict, NotFound, hidden_as
from app.services.platform import audit, concurrency

_SPACES = re.compile(r"\s+")


def normalize(name: str) -> str:
    """The comparable form of a printed name: full-width folded (（）→()), spaces removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name))


def _visible_county(session: Session, *, county_id: int, principal: Principal) -> None:
    """NotFound unless the county exists and lies in the caller's scope."""
    regions.get_county_or_raise(session, county_id=county_id)
    allowed = session.exec(
        select(Region.id).where(Region.id == county_id, county_scope(principal, col(Region.id)))
    ).first()
    if allowed is None:
        raise NotFound("未找到该县（区）", code="county_not_found")


def _check_names_free(session: Session, *, county_id: int, names: list[str], skip_group: int | None = None) -> None:
    taken = name_index(session, county_id=county_id)
    for name in names:
        hit = taken.get(normalize(name))
        if hit and hit != ("group", skip_group):
            raise Conflict(f"名称“{name}”已被本县其他单位或单位组使用", code="unit_name_taken")


def create_unit(session: Session, *, county_id: int, data: UnitCreate, principal: Principal | None) -> Unit:
    """A new unit of the county; its name and aliases must be unique in the county."""
    if principal is not None:
        principal.require(Role.system_admin, Role.office)
        _visible_county(session, county_id=county_id, principal=principal)
    else:
        regions.get_county_or_raise(session, county_id=county_id)
    _check_names_free(session, county_id=county_id, names=[data.name, *data.aliases])
    unit = Unit.model_validate(data, update={"county_id": county_id})
    session.add(unit)
    session.flush()
    _audit(session, principal, "unit.create", "unit", unit.id, county_id, after=audit.snapshot(data))  # type: ignore[arg-type]
    return unit


def import_sheet(session: Session, *, county_id: int, raw: bytes, principal: Principal) -> list[Unit]:
    """The units of an .xlsx list (unit_sheet), all or none; the caller's right to the county is checked
    before the file is read."""
    from app.services.campaign import unit_sheet

    principal.require(Role.system_admin, Role.office)
    _visible_county(session, county_id=county_id, principal=principal)
    return import_units(session, county_id=county_id, rows=unit_sheet.read(raw), principal=principal)


def import_units(session: Session, *, county_id: int, rows: list[UnitCreate], principal: Principal) -> list[Unit]:
    """Add every listed unit or none: each name the county already uses, or the list repeats, is reported."""
    principal.require(Role.system_admin, Role.office)
    _visible_county(session, county_id=county_id, principal=principal)
    taken = name_index(session, county_id=county_id)
    seen: set[str] = set()
    errors = []
    for data in rows:
        for name in [data.name, *data.aliases]:
            key = normalize(name)
            if key in taken:
                errors.append({"loc": data.name, "msg": f"名称“{name}”已被本县其他单位或单位组使用"})
            elif key in seen:
                errors.append({"loc": data.name, "msg": f"名称“{name}”在名单中重复"})
            seen.add(key)
    if errors:
        raise Conflict("单位名单与现有单位重名，未导入任何单位", code="unit_name_taken", errors=errors)
    return [create_unit(session, county_id=county_id, data=data, principal=principal) for data in rows]


def _audit(
    session: Session,
    principal: Principal | None,
    action: str,
    kind: str,
    object_id: int,
    county_id: int,
    *,
    after: dict | None,
) -> None:
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type=kind,
        object_id=object_id,
        county_id=county_id,
        after=after,
    )


def list_units(session: Session, *, county_id: int, principal: Principal) -> list[Unit]:
    """The county's units, for callers who may see that county."""
    _visible_county(session, county_id=county_id, principal=principal)
    return list(session.exec(select(Unit).where(Unit.county_id == county_id).order_by(Unit.id)).all())


def get_unit_or_raise(session: Session, *, unit_id: int, county_id: int) -> Unit:
    """A unit of the given county, or NotFound (another county's unit is not found)."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.county_id != county_id:
        raise NotFound("未找到该单位", code="unit_not_found")
    return unit


def _set_members(session: Session, group: UnitGroup, member_ids: list[int]) -> None:
    for unit_id in member_ids:
        get_unit_or_raise(session, unit_id=unit_id, county_id=group.county_id)
    for row in session.exec(select(UnitGroupMember).where(UnitGroupMember.group_id == group.id)).all():
        session.delete(row)
    session.flush()
    for unit_id in dict.fromkeys(member_ids):
        session.add(UnitGroupMember(group_id=group.id, unit_id=unit_id))  # type: ignore[arg-type]
    session.flush()


def create_group(session: Session, *, county_id: int, data: UnitGroupCreate, principal: Principal | None) -> UnitGroup:
    """A new group of the county's units (members may be empty and filled in later)."""
    if principal is not None:
        principal.require(Role.system_admin, Role.office)
        _visible_county(session, county_id=county_id, principal=principal)
    _check_names_free(session, county_id=county_id, names=[data.name, *data.aliases])
    group = UnitGroup(county_id=county_id, name=data.name, aliases=data.aliases)
    session.add(group)
    session.flush()
    _set_members(session, group, data.member_ids)
    _audit(session, principal, "unit_group.create", "unit_group", group.id, county_id, after=audit.snapshot(data))
    return group


def get_group(session: Session, *, group_id: int, principal: Principal, lock: bool = False) -> UnitGroup:
    """A unit group of a county the caller may see (locked for update when asked)."""
    query = select(UnitGroup).where(UnitGroup.id == group_id)
    group = session.exec(query.with_for_update().execution_options(populate_existing=True) if lock else query).first()
    missing = NotFound("未找到该单位组", code="unit_group_not_found")
    if group is None:
        raise missing
    with hidden_as(missing):
        _visible_county(session, county_id=group.county_id, principal=principal)
    return group


def group_etag(session: Session, group: UnitGroup) -> str:
    """The ETag of a group: its row and its members."""
    members = group_members(session, group_ids=[group.id]).get(group.id, [])  # type: ignore[list-item]
    return concurrency.etag(group.model_dump(mode="json"), sorted(members))


def update_group(
    session: Session, *, group_id: int, data: UnitGroupUpdate, principal: Principal, if_match: str | None = None
) -> UnitGroup:
    """Replace a group's aliases and/or members; with if_match, only if unchanged since read (412 otherwise)."""
    principal.require(Role.system_admin, Role.office)
    group = get_group(session, group_id=group_id, principal=principal, lock=True)
    concurrency.check(if_match, group_etag(session, group))
    if data.aliases is not None:
        _check_names_free(session, county_id=group.county_id, names=data.aliases, skip_group=group.id)
        group.aliases = data.aliases
        session.add(group)
    if data.member_ids is not None:
        _set_members(session, group, data.member_ids)
    session.flush()
    changes = audit.snapshot(data)
    _audit(session, principal, "unit_group.update", "unit_group", group.id, group.county_id, after=changes)
    return group


def list_groups(session: Session, *, county_id: int, principal: Principal) -> list[tuple[UnitGroup, list[int]]]:
    """The county's groups with their member unit ids."""
    _visible_county(session, county_id=county_id, principal=principal)
    groups = session.exec(select(UnitGroup).where(UnitGroup.county_id == county_id).order_by(UnitGroup.id)).all()
    members = group_members(session, group_ids=[g.id for g in groups if g.id is not None])
    return [(g, members.get(g.id, [])) for g in groups]  # type: ignore[arg-type]


def group_members(session: Session, *, group_ids: list[int]) -> dict[int, list[int]]:
    """Member unit ids per group id."""
    out: dict[int, list[int]] = defaultdict(list)
    rows = session.exec(
        select(UnitGroupMember.group_id, UnitGroupMember.unit_id)
        .where(col(UnitGroupMember.group_id).in_(group_ids))
        .order_by(UnitGroupMember.unit_id)
    ).all()
    for gid, uid in rows:
        out[gid].append(uid)
    return out


def name_index(session: Session, *, county_id: int) -> dict[str, tuple[str, int | None]]:
    """Every normalised name and alias of the county → ("unit"|"group", id)."""
    index: dict[str, tuple[str, int | None]] = {}
    for unit in session.exec(select(Unit).where(Unit.county_id == county_id)).all():
        for name in [unit.name, *unit.aliases]:
            index[normalize(name)] = ("unit", unit.id)
    for group in session.exec(select(UnitGroup).where(UnitGroup.county_id == county_id)).all():
        for name in [group.name, *group.aliases]:
            index[normalize(name)] = ("group", group.id)
    return index


@dataclass
class Resolver:
    """Resolves printed names against one county's units and groups (groups expand)."""

    index: dict[str, tuple[str, int | None]]
    members: dict[int, list[int]]

    @classmethod
    def for_county(cls, session: Session, *, county_id: int) -> Resolver:
        index = name_index(session, county_id=county_id)
        group_ids = [i for kind, i in index.values() if kind == "group" and i is not None]
        return cls(index=index, members=group_members(session, group_ids=group_ids))

    def resolve(self, name: str) -> tuple[list[int], str | None]:
        """The unit ids name stands for, and why it resolved to none ("unknown_name"|"empty_group")."""
        hit = self.index.get(normalize(name))
        if hit is None:
            return [], "unknown_name"
        kind, ident = hit
        if kind == "unit":
            return [ident], None  # type: ignore[list-item]
        members = self.members.get(ident, [])  # type: ignore[arg-type]
        return members, None if members else "empty_group"
