"""Releasing a round: its scores become visible and frozen, and the office's figures are stored with it
(ScoringRound.summary) for the region overview. Apart from scoring because it needs the rolled-up report,
which itself builds on scoring."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Campaign, ScoringRound
from app.models._base import utcnow
from app.models.outbox import EventKind
from app.services.access import Principal
from app.services.assessment import score_report, scoring
from app.services.campaign import campaigns
from app.services.errors import Conflict
from app.services.notifications import events


def release(session: Session, *, round_id: int, principal: Principal) -> ScoringRound:
    """Release a round (office): every score in it becomes visible and frozen, its office figures are stored;
    a score.released event."""
    found = scoring.get_round(session, round_id=round_id, principal=principal)
    campaign = campaigns.get_managed(session, campaign_id=found.campaign_id, principal=principal)
    # The campaign's row first, as scoring_config.replace locks it before it checks for a released round: a
    # configuration change and a release wait for each other, so the stored figures use the configuration that
    # stays (and both take their locks in the same order).
    session.exec(
        select(Campaign).where(Campaign.id == campaign.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    row = scoring.get_round(session, round_id=round_id, principal=principal, for_update=True)
    if row.released_at is not None:
        raise Conflict("该轮评分已发布", code="round_released")
    row.released_at = utcnow()
    row.released_by = principal.user_id
    # Released scores and the configuration are frozen from here (scoring_config refuses changes after a
    # release), so the figures stay what a rollup of the scores gives.
    row.summary = score_report.frozen_summary(session, row=row)
    session.add(row)
    session.flush()
    scoring.audit_round(session, principal, "round.release", row, campaign)
    events.emit(
        session,
        kind=EventKind.scores_released,
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        dedupe_key=f"scores.released:{row.id}",
        data={"round_id": row.id, "round": row.name, "released_at": row.released_at.isoformat()},
    )
    return row
