"""The assignment lists (a liaison's to-do list, the office's ledger) as plain rows for the busiest reads there are
(issue 28): the same statements as assignments.list_visible — built from the same tenancy conditions and filters —
compiled once per caller scope and filter shape and run on the driver, the rows handed back as dicts shaped like
AssignmentPublic for the API to write straight to JSON, without a pydantic object per row. Each row's last review
comes in the same statement (the general path reads them in a second one). What a row shows of its item, section and
unit is not joined per request: the server process keeps it per campaign for the database's read generation
(labels()), as exact as a join; so is a total that depends only on which assignments exist. GraphQL, exports and one
assignment keep the general path; tests/test_hot_reads_paths.py holds the two to the same answers.

Adding a column: a line in assignments._COLUMNS (and the field on AssignmentPublic) — both paths read it. Adding a
filter: a field on AssignmentFilter, a line in assignments._FILTERS, its value in assignments.list_values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app import kept
from app.db import prepared
from app.models import Campaign, FrameworkSection, Item, Unit
from app.services import access
from app.services.access import Principal
from app.services.campaign import assignments, campaigns, last_review
from app.services.campaign.assignments import ITEM_LABELS, OPEN, UNIT_LABELS, AssignmentFilter

_OWN = tuple(assignments._OWN)  # the page statement's columns, then the light, the total and the last review
_KEYS = (*assignments._COLUMNS, "light")  # a row as assembled: its own columns with its item's and unit's labels
# a row's own columns as the labels go between them (tests/test_hot_reads_paths.py: the same fields in the same order)
assert (*_OWN[:3], *ITEM_LABELS, _OWN[3], *UNIT_LABELS, *_OWN[4:], "light") == _KEYS, "assignment_rows drifted"
_TOTAL = len(_OWN) + 1  # where a row's window count is; the fields of its last review follow
_OPEN = frozenset(s.value for s in OPEN)


def page(
    session: Session, *, principal: Principal, filters: AssignmentFilter, today: date, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, bool]:
    """A page of the assignments the caller may see (as assignments.ledger: the same rows, total, provisional flag
    and refusals), each a dict of AssignmentPublic's fields."""
    if filters.campaign_id is not None and filters.sort.removeprefix("-") not in assignments.SORTS:
        # as the general path: a campaign the caller may not see is not found before a bad sort is refused
        campaigns.get_visible(session, campaign_id=filters.campaign_id, principal=principal)
    book = assignments.lights_for(session, principal, today)
    key = ("assignments", access.scope_key(principal), assignments.shape(filters, book))
    # a total that depends only on which assignments exist is kept by the process (the read generation changes with
    # every assignment made, removed or moved: migration 0013b); the page statement then does not count it
    membership = assignments.membership_only(filters)
    statement = prepared(session, key, lambda: assignments.list_statement(
        principal, filters, book, last_reviews=True, labelled=False, counted=not membership
    ))  # raises sort_invalid  # fmt: skip
    values = assignments.list_values(session, filters, book, today=today, limit=limit, offset=offset)
    rows = statement.run(session, values)
    if rows and not membership:
        total = rows[0][_TOTAL]  # every row carries the count; a row is seen, so is its campaign
    else:
        if not rows and filters.campaign_id is not None:  # no row seen: is the campaign one the caller may see?
            campaigns.get_visible(session, campaign_id=filters.campaign_id, principal=principal)
        statement = prepared(
            session, (*key, "count"), lambda: assignments.list_statement(principal, filters, book, count=True)
        )
        count = lambda: statement.run(session, values)[0][0]  # noqa: E731
        total = _kept_total(session, key, values, count) if membership else count()
    items = []
    reviewed = _TOTAL + 1  # the first field of a row's last review (None: no review)
    named: dict[int, Labels] = {}
    for row in rows:
        campaign_id = row[1]
        found = named.get(campaign_id)
        if found is None:
            found = named[campaign_id] = labels(session, campaign_id)
        try:
            own = _labelled(row, found)
        except KeyError:  # a unit or item made since this request read its stamp (its page statement sees it): read
            found = named[campaign_id] = _labels(session, campaign_id)  # the labels now, not kept
            own = _labelled(row, found)
        item = dict(zip(_KEYS, own, strict=True))
        item["overdue"] = item["status"] in _OPEN and item["due_on"] < today
        item["last_review"] = (
            dict(zip(last_review.FIELDS, row[reviewed:], strict=True)) if row[reviewed] is not None else None
        )
        items.append(item)
    return items, total, assignments.horizon_provisional(session, filters=filters, today=today)


def _kept_total(session: Session, key: tuple[Any, ...], values: dict[str, Any], count: Callable[[], int]) -> int:
    """count(), a total that depends only on which assignments exist: kept per caller scope, list shape and the
    values of the filters it depends on."""
    filtered = tuple(values[name] for name in sorted(assignments.MEMBERSHIP_FILTERS))
    return kept.kept(session, ("assignment_total", *key[1:], filtered), count)


# What the lists show of a campaign's items (item id → ITEM_LABELS' values) and units (unit id → name)
Labels = tuple[dict[int, tuple[Any, ...]], dict[int, str]]


def _labelled(row: Any, found: Labels) -> tuple[Any, ...]:
    """A page row's own columns with its item's and unit's labels between them, in _KEYS' order."""
    return (*row[:3], *found[0][row[2]], row[3], found[1][row[3]], *row[4:_TOTAL])


def labels(session: Session, campaign_id: int) -> Labels:
    """What the lists show of the items of a campaign's framework and of its county's units: kept by the server
    process for the database's read generation, which every write to an item, a section, a unit or a campaign's
    framework or county changes (migrations 0012f, 0013b)."""
    return kept.kept(session, ("assignment_labels", campaign_id), lambda: _labels(session, campaign_id))


def _labels(session: Session, campaign_id: int) -> Labels:
    values = {"campaign_id": campaign_id}
    items = prepared(session, ("assignment_labels", "items"), _items).run(session, values)
    units = prepared(session, ("assignment_labels", "units"), _units).run(session, values)
    return {row[0]: tuple(row[1:]) for row in items}, dict(units)  # type: ignore[arg-type]


def _of_campaign(column: Any) -> Any:
    return select(column).where(col(Campaign.id) == bindparam("campaign_id")).scalar_subquery()


def _items() -> Any:
    columns = [assignments._COLUMNS[name] for name in ITEM_LABELS]
    return (
        select(col(Item.id), *columns)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(col(Item.framework_id) == _of_campaign(Campaign.framework_id))
    )


def _units() -> Any:
    return select(col(Unit.id), col(Unit.name)).where(col(Unit.county_id) == _of_campaign(Campaign.county_id))
