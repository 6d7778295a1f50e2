"""How many tasks show each light: per unit of one campaign (the office's board, a liaison's own), and per campaign
of many counties (the region overview), in a fixed number of statements whatever the number of counties.

The overview reads the assignment tally (counts per campaign × unit × status × due date, kept by triggers), whose
rows carry no returns: it lights them by date, then corrects the few assignments returned often enough to light
by returns (an index on returned_count finds them), so it sums a few hundred rows per county, not every task."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, literal_column
from sqlmodel import Session, col, select

from app.models import Assignment, AssignmentTally, Campaign, Rectification, Unit
from app.models.supervision import CampaignLights, Light, UnitLights
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.calendar import lights
from app.services.campaign import campaigns
from app.services.review.rectification import WAITING
from app.services.review.rectification import light_of as rectification_light

SHOWN = (Light.blue, Light.yellow, Light.red)


def for_campaign(session: Session, *, campaign_id: int, principal: Principal, today: date) -> CampaignLights:
    """A campaign's lights today per unit (a liaison: its own unit's), assignments and rectification items together."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    book = lights.book(session, today=today, where=col(Campaign.id) == campaign_id)
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SHOWN, 0))
    for model, lit, waiting in (
        (Assignment, lights.of_assignment(book), col(Assignment.status).in_(lights.ASSIGNMENT_WAITING)),
        (Rectification, rectification_light(book), col(Rectification.status).in_(WAITING)),
    ):
        for unit_id, light, n in session.execute(
            select(model.unit_id, lit, func.count())
            .where(model.campaign_id == campaign_id, waiting, unit_scope(principal, col(model.unit_id)))
            .group_by(model.unit_id, lit)
        ).all():
            if light in SHOWN:
                per_unit[unit_id][light] += n
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(list(per_unit)))).all())
    rows = [
        UnitLights(unit_id=u, unit_name=names.get(u, ""), **{k.value: v for k, v in c.items()})
        for u, c in per_unit.items()
        if any(c.values())
    ]
    rows.sort(key=lambda r: (-r.red, -r.yellow, -r.blue, r.unit_name))
    return CampaignLights(
        campaign_id=campaign_id,
        blue=sum(r.blue for r in rows),
        yellow=sum(r.yellow for r in rows),
        red=sum(r.red for r in rows),
        units=rows,
        provisional=book.provisional,
    )


def by_campaign(
    session: Session, *, campaign_ids: list[int], principal: Principal, today: date
) -> dict[int, dict[Light, int]]:
    """Per campaign the caller may read: how many of its tasks show blue, yellow and red today (four statements)."""
    if not campaign_ids:
        return {}
    book = lights.book(session, today=today, where=col(Campaign.id).in_(campaign_ids))
    found: dict[int, dict[Light, int]] = defaultdict(lambda: dict.fromkeys(SHOWN, 0))
    waiting = col(AssignmentTally.status).in_(lights.ASSIGNMENT_WAITING)
    by_date = book.expression(
        campaign=col(AssignmentTally.campaign_id), due=col(AssignmentTally.due_on), waiting=waiting
    )
    for campaign_id, light, n in session.execute(
        select(AssignmentTally.campaign_id, by_date, func.sum(AssignmentTally.n))
        .join(Campaign, col(Campaign.id) == AssignmentTally.campaign_id)
        .where(
            col(AssignmentTally.campaign_id).in_(campaign_ids),
            waiting,
            campaign_scope(principal),
            unit_scope(principal, col(AssignmentTally.unit_id)),
        )
        .group_by(AssignmentTally.campaign_id, by_date)
    ).all():
        if light in SHOWN:
            found[campaign_id][Light(light)] += int(n)
    # Returns light what the date alone does not: move those few from their date's light to their own.
    fewest = min([book.default.yellow_returns, *(t.yellow_returns for t in book.custom.values())])
    a_waiting = col(Assignment.status).in_(lights.ASSIGNMENT_WAITING)
    a_by_date = book.expression(campaign=col(Assignment.campaign_id), due=col(Assignment.due_on), waiting=a_waiting)
    full = lights.of_assignment(book)
    for campaign_id, dated, lit, n in session.execute(
        select(Assignment.campaign_id, a_by_date, full, func.count())
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(
            col(Assignment.campaign_id).in_(campaign_ids),
            # inlined, not a parameter: PostgreSQL's generic plan for `>= $1` guesses a third of the table and scans
            # it all, where the value lets it read the (nearly empty) tail of the returned_count index
            col(Assignment.returned_count) >= literal_column(str(int(fewest))),
            a_waiting,
            campaign_scope(principal),
            unit_scope(principal, col(Assignment.unit_id)),
        )
        .group_by(Assignment.campaign_id, a_by_date, full)
    ).all():
        if dated != lit:
            if dated in SHOWN:
                found[campaign_id][Light(dated)] -= n
            if lit in SHOWN:
                found[campaign_id][Light(lit)] += n
    r_lit = rectification_light(book)
    for campaign_id, light, n in session.execute(
        select(Rectification.campaign_id, r_lit, func.count())
        .join(Campaign, col(Campaign.id) == Rectification.campaign_id)
        .where(
            col(Rectification.campaign_id).in_(campaign_ids),
            col(Rectification.status).in_(WAITING),
            campaign_scope(principal),
            unit_scope(principal, col(Rectification.unit_id)),
        )
        .group_by(Rectification.campaign_id, r_lit)
    ).all():
        if light in SHOWN:
            found[campaign_id][Light(light)] += n
    return dict(found)
