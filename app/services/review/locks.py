"""When units may still change evidence: the materials deadline, the office's freeze, late windows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.models import Campaign, LateWindow
from app.models.campaign import CampaignStatus, LateWindowCreate
from app.services.access import Principal
from app.services.campaign import campaigns, units
from app.services.errors import Conflict, Invalid, Locked
from app.services.platform import audit


def late_until(session: Session, *, campaign_id: int, unit_id: int) -> date | None:
    """The last day of the unit's latest late window, if it has one."""
    return session.exec(
        select(func.max(LateWindow.until)).where(LateWindow.campaign_id == campaign_id, LateWindow.unit_id == unit_id)
    ).one()


def check_open(session: Session, *, campaign: Campaign, unit_id: int, today: date) -> None:
    """Locked unless the unit may still change evidence in campaign today."""
    if campaign.status != CampaignStatus.launched:
        raise Conflict("创建活动尚未启动，暂不能提交资料", code="campaign_not_launched")
    if campaign.frozen_at is not None:
        raise Locked("创建活动已冻结（资料已报送上级），不能再修改资料", code="campaign_frozen")
    if today <= campaign.materials_deadline:
        return
    until = late_until(session, campaign_id=campaign.id, unit_id=unit_id)  # type: ignore[arg-type]
    if until is None or today > until:
        raise Locked(
            f"资料报送已于 {campaign.materials_deadline.isoformat()} 截止，如需补报请联系县依法治县办开通补报窗口",
            code="submission_closed",
        )


def set_frozen(session: Session, *, campaign_id: int, frozen: bool, principal: Principal) -> Campaign:
    """Freeze the campaign for submission upward (or lift the freeze)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    before = audit.snapshot(campaign, "frozen_at")
    if frozen and campaign.frozen_at is None:
        campaign.frozen_at = datetime.now(UTC)
    elif not frozen:
        campaign.frozen_at = None
    session.add(campaign)
    audit.record(
        session,
        principal=principal,
        action="campaign.freeze" if frozen else "campaign.unfreeze",
        object_type="campaign",
        object_id=campaign_id,
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        before=before,
        after=audit.snapshot(campaign, "frozen_at"),
    )
    session.flush()
    return campaign


def grant_late_window(
    session: Session, *, campaign_id: int, data: LateWindowCreate, principal: Principal, today: date
) -> LateWindow:
    """Let one unit change its evidence after the deadline, until data.until."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    units.get_unit_or_raise(session, unit_id=data.unit_id, county_id=campaign.county_id)
    if data.until < today:
        raise Invalid("补报截止日期不能早于今天", code="late_window_in_past")
    return _grant(session, campaign, data, principal)


def open_for_reopened_work(
    session: Session, *, campaign: Campaign, unit_id: int, until: date, reason: str, principal: Principal, today: date
) -> LateWindow | None:
    """Work reopened after the materials deadline (a 回头看, a reopened rectification) must be answerable: the unit
    gets a late window until the new due date, unless one already reaches it or the deadline has not passed."""
    if today <= campaign.materials_deadline:
        return None
    current = late_until(session, campaign_id=campaign.id, unit_id=unit_id)  # type: ignore[arg-type]
    if current is not None and current >= until:
        return None
    return _grant(session, campaign, LateWindowCreate(unit_id=unit_id, until=until, reason=reason[:500]), principal)


def _grant(session: Session, campaign: Campaign, data: LateWindowCreate, principal: Principal) -> LateWindow:
    window = LateWindow(campaign_id=campaign.id, granted_by=principal.user_id, **data.model_dump())  # type: ignore[arg-type]
    session.add(window)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="late_window.grant",
        object_type="late_window",
        object_id=window.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        after=audit.snapshot(window),
    )
    return window


def list_late_windows(session: Session, *, campaign_id: int, principal: Principal) -> list[LateWindow]:
    """Every late window of the campaign (for its office)."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    query = select(LateWindow).where(LateWindow.campaign_id == campaign_id).order_by(LateWindow.id)
    return list(session.exec(query).all())
