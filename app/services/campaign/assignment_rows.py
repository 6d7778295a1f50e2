"""The assignment lists (a liaison's to-do list, the office's ledger) as plain rows for the busiest reads there are
(issue 28): the same statements as assignments.list_visible — built from the same tenancy conditions and filters —
compiled once per caller scope and filter shape and run on the driver, the rows handed back as dicts shaped like
AssignmentPublic for the API to write straight to JSON, without a pydantic object per row. Each row's last review
comes in the same statement (the general path reads them in a second one). GraphQL, exports and one assignment
keep the general path; tests/test_hot_reads_paths.py holds the two to the same answers.

Adding a column: a line in assignments._COLUMNS (and the field on AssignmentPublic) — both paths read it. Adding a
filter: a field on AssignmentFilter, a line in assignments._FILTERS, its value in assignments.list_values."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from app.db import prepared
from app.services import access
from app.services.access import Principal
from app.services.campaign import assignments, campaigns, last_review
from app.services.campaign.assignments import OPEN, AssignmentFilter

_KEYS = (*assignments._COLUMNS, "light")
_TOTAL = len(_KEYS)  # where a row's window count is; the fields of its last review follow
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
    build = lambda: assignments.list_statement(principal, filters, book, last_reviews=True)  # noqa: E731
    statement = prepared(session, key, build)  # raises sort_invalid
    values = assignments.list_values(session, filters, book, today=today, limit=limit, offset=offset)
    rows = statement.run(session, values)
    if rows:
        total = rows[0][_TOTAL]  # every row carries the window count; a row is seen, so is its campaign
    else:
        if filters.campaign_id is not None:
            campaigns.get_visible(session, campaign_id=filters.campaign_id, principal=principal)
        count = prepared(
            session, (*key, "count"), lambda: assignments.list_statement(principal, filters, book, count=True)
        )
        total = count.run(session, values)[0][0]
    items = []
    reviewed = _TOTAL + 1  # the first field of a row's last review (None: no review)
    for row in rows:
        item = dict(zip(_KEYS, row, strict=False))  # the total and the review stay out
        item["overdue"] = item["status"] in _OPEN and item["due_on"] < today
        item["last_review"] = (
            dict(zip(last_review.FIELDS, row[reviewed:], strict=True)) if row[reviewed] is not None else None
        )
        items.append(item)
    return items, total, assignments.horizon_provisional(session, filters=filters, today=today)
