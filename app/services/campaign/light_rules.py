"""A campaign's supervision rules (督办规则): when its tasks light 蓝/黄/红, what a card costs, when an unanswered
督办单 escalates again. The office reads and changes them; without its own the defaults apply."""

from __future__ import annotations

from sqlmodel import Session

from app.models.supervision import SupervisionRules
from app.services.access import Principal
from app.services.calendar import lights
from app.services.campaign import campaigns
from app.services.platform import audit


def get(session: Session, *, campaign_id: int, principal: Principal) -> SupervisionRules:
    """The rules of a campaign the caller may read."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    return lights.rules_of(campaign.supervision)


def put(session: Session, *, campaign_id: int, data: SupervisionRules, principal: Principal) -> SupervisionRules:
    """Replace a campaign's rules (its office or an admin); lights follow at once, cards already given stay."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    before = lights.rules_of(campaign.supervision).model_dump(mode="json")
    campaign.supervision = data.model_dump(mode="json")
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="campaign.supervision_rules",
        object_type="campaign",
        object_id=campaign_id,
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        before=before,
        after=campaign.supervision,
    )
    return data
