"""What would carry from an earlier campaign into a new one: the checks, and items matched by key.

An item of the earlier framework version matches the item of the new version with the same key, and nothing
else: an item whose key changed is listed as unmatched, never guessed at by number or text."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.models import (
    Assignment,
    Campaign,
    Evidence,
    EvidenceVersion,
    Framework,
    Item,
    MaterialRequest,
    MaterialRequestItem,
    Rectification,
    Unit,
)
from app.models.campaign import CampaignStatus
from app.models.carry_over import (
    CarryOverReport,
    CarryOverRequest,
    EvidenceCarry,
    RectificationCarry,
    SkipReason,
    UnmatchedItem,
)
from app.models.evidence import EvidenceStatus
from app.models.rectification import RectificationSource, RectificationStatus
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.errors import Conflict


@dataclass
class Plan:
    """A checked carry-over: the two campaigns, the report, and what the commit writes."""

    target: Campaign
    origin: Campaign
    report: CarryOverReport
    versions: dict[int, EvidenceVersion]  # origin version id -> the version, for each piece that carries
    new_item_of: dict[int, int | None]  # origin item id -> the new framework's item of the same key (None: none)


def _campaigns(
    session: Session, *, campaign_id: int, data: CarryOverRequest, principal: Principal, today: date
) -> tuple[Campaign, Campaign]:
    """The new campaign (the caller's to change) and the origin, after every refusal."""
    target = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    # Another county's campaign is not found, exactly as one that never existed (the caller may not see it).
    origin = campaigns.get_visible(session, campaign_id=data.from_campaign_id, principal=principal)
    if origin.county_id != target.county_id:  # only an administrator sees both
        raise Conflict("只能从本县此前的创建活动结转", code="carry_origin_other_county")
    if origin.id == target.id or origin.materials_deadline >= target.materials_deadline:
        raise Conflict("结转来源须是本县此前的创建活动（资料报送截止日更早）", code="carry_origin_not_earlier")
    if origin.status != CampaignStatus.launched or (origin.frozen_at is None and origin.materials_deadline >= today):
        raise Conflict(
            "来源创建活动尚未结束（未冻结上报，且资料报送截止日未过），其资料仍可能变动，暂不能结转",
            code="carry_origin_not_finished",
        )
    if target.status != CampaignStatus.launched:
        raise Conflict("请先启动本次创建活动（生成任务分配），再结转此前的资料", code="carry_target_not_launched")
    # Evidence a unit handed in itself: its first version is not a carried one.
    own = session.exec(
        select(Evidence.id)
        .join(EvidenceVersion, col(EvidenceVersion.evidence_id) == Evidence.id)
        .where(
            Evidence.campaign_id == target.id,
            EvidenceVersion.number == 1,
            col(EvidenceVersion.origin_version_id).is_(None),
        )
        .limit(1)
    ).first()
    if own is not None:
        raise Conflict(
            "本次创建活动已有责任单位报送的资料，不能再结转（请在单位报送前结转）", code="carry_target_has_evidence"
        )
    old_fw, new_fw = session.get(Framework, origin.framework_id), session.get(Framework, target.framework_id)
    assert old_fw is not None and new_fw is not None
    if old_fw.code != new_fw.code:
        raise Conflict(
            f"两次创建活动的指标体系不同（“{old_fw.name}”与“{new_fw.name}”），指标无法按键对应，不能结转",
            code="carry_framework_other_code",
        )
    return target, origin


def plan(session: Session, *, campaign_id: int, data: CarryOverRequest, principal: Principal, today: date) -> Plan:
    """What the request would carry, with every piece that would not and why (nothing is written)."""
    target, origin = _campaigns(session, campaign_id=campaign_id, data=data, principal=principal, today=today)
    old_items = session.exec(
        select(Item.id, Item.key, Item.number, Item.text)
        .where(Item.framework_id == origin.framework_id)
        .order_by(Item.position)
    ).all()
    new_by_key = dict(session.exec(select(Item.key, Item.id).where(Item.framework_id == target.framework_id)).all())
    key_of = {item_id: key for item_id, key, _, _ in old_items}
    new_item_of = {item_id: new_by_key.get(key) for item_id, key, _, _ in old_items}
    unmatched = [UnmatchedItem(item_key=k, number=n, text=t) for i, k, n, t in old_items if new_item_of[i] is None]
    old_mr = dict(session.exec(select(MaterialRequest.id, MaterialRequest.key).where(
        MaterialRequest.framework_id == origin.framework_id)).all())  # fmt: skip
    new_mr = dict(session.exec(select(MaterialRequest.key, MaterialRequest.id).where(
        MaterialRequest.framework_id == target.framework_id)).all())  # fmt: skip
    covers: dict[int, set[int]] = defaultdict(set)  # material request (either version) -> its items
    for mr_id, item_id in session.exec(
        select(MaterialRequestItem.material_request_id, MaterialRequestItem.item_id).where(
            col(MaterialRequestItem.material_request_id).in_([*old_mr, *new_mr.values()])
        )
    ).all():
        covers[mr_id].add(item_id)
    assigned = {
        (item_id, unit_id): a_id
        for a_id, item_id, unit_id in session.exec(
            select(Assignment.id, Assignment.item_id, Assignment.unit_id).where(Assignment.campaign_id == target.id)
        ).all()
    }
    item_of_assignment = dict(
        session.exec(select(Assignment.id, Assignment.item_id).where(Assignment.campaign_id == origin.id)).all()
    )
    unit_names = dict(session.exec(select(Unit.id, Unit.name).where(Unit.county_id == target.county_id)).all())
    carried_before = dict(
        session.exec(
            select(EvidenceVersion.origin_version_id, EvidenceVersion.evidence_id)
            .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
            .where(Evidence.campaign_id == target.id, col(EvidenceVersion.origin_version_id).is_not(None))
        ).all()
    )
    chosen_keys = set(data.item_keys) if data.item_keys is not None else None
    chosen_units = set(data.unit_ids) if data.unit_ids is not None else None

    entries: list[EvidenceCarry] = []
    versions: dict[int, EvidenceVersion] = {}
    approved = session.exec(
        select(Evidence, EvidenceVersion)
        .join(EvidenceVersion, col(EvidenceVersion.evidence_id) == Evidence.id)
        .where(
            Evidence.campaign_id == origin.id,
            Evidence.status == EvidenceStatus.approved,
            EvidenceVersion.number == Evidence.current_version,
        )
        .order_by(Evidence.id)
    ).all()
    for ev, version in approved:
        if ev.assignment_id is not None:
            old_item_ids = [item_of_assignment[ev.assignment_id]]
        else:
            old_item_ids = sorted(covers[ev.material_request_id])  # type: ignore[index]
        keys = [key_of[i] for i in old_item_ids]
        entry = EvidenceCarry(
            evidence_id=ev.id, title=ev.title, unit_id=ev.unit_id, unit_name=unit_names.get(ev.unit_id, ""),
            version=version.number, version_id=version.id, kind=version.kind, size=version.size,
            sha256=version.sha256, item_keys=keys, carries=False,
        )  # fmt: skip
        if version.id in carried_before:
            entry.reason, entry.carried_evidence_id = SkipReason.already_carried, carried_before[version.id]
        elif (
            not data.evidence
            or (chosen_units is not None and ev.unit_id not in chosen_units)
            or (chosen_keys is not None and not chosen_keys & set(keys))
        ):
            entry.reason = SkipReason.not_chosen
        elif ev.assignment_id is not None:
            new_item = new_item_of[old_item_ids[0]]
            if new_item is None:
                entry.reason = SkipReason.item_unmatched
            elif (new_item, ev.unit_id) not in assigned:
                entry.reason = SkipReason.not_assigned
            else:
                entry.target_assignment_id = assigned[(new_item, ev.unit_id)]
        else:
            mr_id = new_mr.get(old_mr[ev.material_request_id])  # type: ignore[index]
            if mr_id is None:
                entry.reason = SkipReason.material_unmatched
            elif not any((item_id, ev.unit_id) in assigned for item_id in covers[mr_id]):
                entry.reason = SkipReason.not_assigned
            else:
                entry.target_material_request_id = mr_id
        entry.carries = entry.reason is None
        if entry.carries:
            versions[version.id] = version  # type: ignore[index]
        entries.append(entry)

    rect_entries = _rectifications(
        session, target=target, origin=origin, data=data, key_of=key_of, new_item_of=new_item_of,
        unit_names=unit_names, chosen_units=chosen_units,
    )  # fmt: skip
    carrying = [e for e in entries if e.carries]
    report = CarryOverReport(
        campaign_id=target.id, from_campaign_id=origin.id, from_framework_id=origin.framework_id,
        framework_id=target.framework_id, committed=False, matched_items=len(old_items) - len(unmatched),
        unmatched_items=unmatched, evidence=entries, evidence_carried=len(carrying),
        bytes_carried=sum(e.size or 0 for e in carrying if e.kind == "file"), rectifications=rect_entries,
        rectifications_carried=sum(r.carries for r in rect_entries),
    )  # fmt: skip
    return Plan(target=target, origin=origin, report=report, versions=versions, new_item_of=new_item_of)


def _rectifications(
    session: Session,
    *,
    target: Campaign,
    origin: Campaign,
    data: CarryOverRequest,
    key_of: dict[int, str],
    new_item_of: dict[int, int | None],
    unit_names: dict[int, str],
    chosen_units: set[int] | None,
) -> list[RectificationCarry]:
    """The origin's rectification items not yet verified (销号), each with whether it carries."""
    rows = session.exec(
        select(Rectification)
        .where(Rectification.campaign_id == origin.id, Rectification.status != RectificationStatus.verified)
        .order_by(Rectification.id)
    ).all()
    carried_before = dict(
        session.exec(
            select(Rectification.source_id, Rectification.id).where(
                Rectification.campaign_id == target.id, Rectification.source == RectificationSource.carried
            )
        ).all()
    )
    out = []
    for r in rows:
        entry = RectificationCarry(
            rectification_id=r.id, unit_id=r.unit_id, unit_name=unit_names.get(r.unit_id, ""),
            item_key=key_of.get(r.item_id) if r.item_id else None, status=r.status, problem=r.problem,
            carries=False, item_unmatched=r.item_id is not None and new_item_of.get(r.item_id) is None,
        )  # fmt: skip
        if r.id in carried_before:
            entry.reason, entry.carried_rectification_id = SkipReason.already_carried, carried_before[r.id]
        elif not data.rectifications or (chosen_units is not None and r.unit_id not in chosen_units):
            entry.reason = SkipReason.not_chosen
        entry.carries = entry.reason is None
        out.append(entry)
    return out
