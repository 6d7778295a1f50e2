"""Regions: province → city → county."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models.region import Region, RegionCreate, RegionLevel, RegionUpdate
from app.models.user import Role
from app.services.access import Principal, county_scope
from app.services.errors import Invalid, NotFound
from app.services.platform import audit

_PARENT_LEVEL = {
    RegionLevel.province: None,
    RegionLevel.city: RegionLevel.province,
    RegionLevel.county: RegionLevel.city,
}


def create(session: Session, *, data: RegionCreate, principal: Principal | None = None) -> Region:
    """A new region under its parent (a county under a city, a city under a province)."""
    if principal is not None:
        principal.require(Role.system_admin)
    expected = _PARENT_LEVEL[RegionLevel(data.level)]
    parent = session.get(Region, data.parent_id) if data.parent_id is not None else None
    if data.parent_id is not None and parent is None:
        raise Invalid("上级行政区划不存在", code="region_parent_invalid")
    if (expected is None) != (parent is None) or (parent and parent.level != expected):
        raise Invalid("行政区划层级不正确：县属于市，市属于省", code="region_parent_invalid")
    region = Region.model_validate(data)
    session.add(region)
    session.flush()
    region.path = f"{parent.path if parent else '/'}{region.id}/"
    session.flush()
    _audit(session, principal, "region.create", region, after=audit.snapshot(region))
    return region


def update(session: Session, *, region_id: int, data: RegionUpdate, principal: Principal) -> Region:
    """Rename a region (admin)."""
    principal.require(Role.system_admin)
    region = get_or_raise(session, region_id=region_id)
    before = audit.snapshot(region)
    region.name = data.name
    session.add(region)
    session.flush()
    _audit(session, principal, "region.update", region, before=before, after=audit.snapshot(region))
    return region


def _audit(session: Session, principal: Principal | None, action: str, region: Region, **change: Any) -> None:
    county = region.id if region.level == RegionLevel.county else None
    audit.record(session, principal=principal, action=action, object_type="region", object_id=region.id or 0,
                 county_id=county, **change)  # fmt: skip


def get_or_raise(session: Session, *, region_id: int) -> Region:
    """The region, or NotFound."""
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("未找到该行政区划", code="region_not_found")
    return region


def get_county_or_raise(session: Session, *, county_id: int) -> Region:
    """The county, or NotFound if there is none (or it is not a county)."""
    region = session.get(Region, county_id)
    if region is None or region.level != RegionLevel.county:
        raise NotFound("未找到该县（区）", code="county_not_found")
    return region


def list_all(session: Session) -> list[Region]:
    """Every region, ordered by ancestry (regions are not secret)."""
    return list(session.exec(select(Region).order_by(Region.path)).all())


def counties_visible(
    session: Session, *, principal: Principal, within: int | None, limit: int, offset: int
) -> tuple[list[Region], int]:
    """A page of the counties whose campaigns the caller may see (under region `within`, when given), by path."""
    query = select(Region).where(Region.level == RegionLevel.county, county_scope(principal, col(Region.id)))
    if within is not None:
        query = query.where(col(Region.path).startswith(get_or_raise(session, region_id=within).path))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return list(session.exec(query.order_by(Region.path).limit(limit).offset(offset)).all()), total


def by_ids(session: Session, *, region_ids: list[int]) -> dict[int, Region]:
    """Regions by id in one statement."""
    return {r.id: r for r in session.exec(select(Region).where(col(Region.id).in_(region_ids))).all()}  # type: ignore[misc]
