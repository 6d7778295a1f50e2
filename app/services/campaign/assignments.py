"""Assignments: filtered lists (the office's ledger, a liaison's to-do list), due dates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, and_, bindparam, func, not_, null
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import Session, col, select

from app import kept
from app.models import Assignment, Campaign, FrameworkSection, Item, Unit
from app.models.campaign import (
    AssignmentCreate,
    AssignmentPublic,
    AssignmentStatus,
    AssignmentUpdate,
    DayUnit,
)
from app.models.supervision import Light
from app.models.user import Role
from app.services import access
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.calendar import lights, workdays
from app.services.campaign import campaigns, last_review, units
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.platform import audit, concurrency

# Statuses that still wait on the unit (the warning lights' own); past the due date they count as overdue.
OPEN = lights.ASSIGNMENT_WAITING


@dataclass(frozen=True)
class AssignmentFilter:
    """The filters an assignment list accepts; None means no filter."""

    campaign_id: int | None = None
    unit_id: int | None = None
    level1_id: int | None = None
    section: str | None = None
    status: AssignmentStatus | None = None  # the workflow status, overdue or not
    overdue: bool | None = None  # True: waiting on the unit past its due date; False: not
    due_before: date | None = None
    due_within_workdays: int | None = None  # open, not yet overdue, due within N working days
    light: Light | None = None  # today's warning light (the campaign's rules)
    sort: str = "due_on"  # one of SORTS, "-" in front for descending


# The names `sort` takes on assignment lists; ties are broken by item order, unit and id.
SORTS = {
    "due_on": lambda: col(Assignment.due_on),
    "item": lambda: col(Assignment.item_position),  # the item's place in its framework, kept on the assignment
    "unit": lambda: col(Unit.name),
    "status": lambda: col(Assignment.status),
}


def due_soon_condition(today: date, until: date) -> ColumnElement[bool]:
    """SQL: the assignment still waits on its unit and falls due between today and until."""
    due = col(Assignment.due_on)
    return and_(lights.waiting(col(Assignment.status)), due >= today, due <= until)


def overdue_condition(today: date) -> ColumnElement[bool]:
    """SQL: the assignment still waits on its unit and its due date has passed."""
    return and_(lights.waiting(col(Assignment.status)), col(Assignment.due_on) < today)


def status_condition(status: AssignmentStatus) -> ColumnElement[bool]:
    """SQL: the assignment is at this step of the workflow (late or not)."""
    return col(Assignment.status) == status


def overdue_flag_condition(overdue: bool, today: date) -> ColumnElement[bool]:
    """SQL: the assignment is (True) or is not (False) overdue today."""
    return overdue_condition(today) if overdue else not_(overdue_condition(today))


# What a list shows of an assignment, as plain columns: no ORM objects and no unread JSON per row (the
# to-do list is the busiest read there is).
_COLUMNS = {
    "id": Assignment.id,
    "campaign_id": Assignment.campaign_id,
    "item_id": Item.id,
    "item_key": Item.key,
    "item_number": Item.number,
    "item_text": Item.text,
    "section": FrameworkSection.code,
    "level1_id": Item.level1_id,
    "unit_id": Assignment.unit_id,
    "unit_name": Unit.name,
    "role": Assignment.role,
    "due_on": Assignment.due_on,
    "due_overridden": Assignment.due_overridden,
    "status": Assignment.status,
}
assert set(_COLUMNS) | {"overdue", "light", "last_review"} == set(AssignmentPublic.model_fields), "drifted"
# What of those a list row takes from its item and the item's section, and from its unit: the busiest reads fill them
# in from what the server process keeps per campaign (assignment_rows.labels) instead of joining three tables
ITEM_LABELS = ("item_key", "item_number", "item_text", "section", "level1_id")
UNIT_LABELS = ("unit_name",)
# … and what the unlabelled page statement reads for the others: the assignment's own columns
_OWN = {name: column for name, column in _COLUMNS.items() if name not in (*ITEM_LABELS, *UNIT_LABELS)}
_OWN["item_id"] = Assignment.item_id


light_of = lights.of_assignment


def lights_for(session: Session, principal: Principal, today: date) -> lights.LightBook:
    """Today's thresholds of the campaigns the caller may read (a read-only request's kept by the process for the
    database's read generation, the day and the caller's scope: app/kept.py)."""
    return kept.kept(
        session,
        ("light_book", today, access.scope_key(principal)),
        lambda: lights.book(session, today=today, where=access.campaign_scope(principal)),
    )


def _query(principal: Principal, book: lights.LightBook):  # noqa: ANN202 - a select of plain columns
    return (
        select(*_COLUMNS.values(), light_of(book))
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .join(Item, col(Item.id) == Assignment.item_id)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .join(Unit, col(Unit.id) == Assignment.unit_id)
        # the rules looked up as access's names when called: a rule replaced at run time (a test) applies here too
        .where(access.campaign_scope(principal), access.unit_scope(principal, col(Assignment.unit_id)))
    )


def _horizon(session: Session, today: date, within_workdays: int) -> date:
    return workdays.read(session).add(today, within_workdays, DayUnit.workdays)


def horizon_provisional(session: Session, *, filters: AssignmentFilter, today: date) -> bool:
    """True when the list's due_within_workdays horizon crossed a year with no holiday calendar (weekends only)."""
    if filters.due_within_workdays is None:
        return False
    calendar = workdays.read(session)
    return calendar.provisional(today, calendar.add(today, filters.due_within_workdays, DayUnit.workdays))


_PUBLIC_LIST = TypeAdapter(list[AssignmentPublic])


def _public(session: Session, rows: Sequence[Any], today: date) -> list[AssignmentPublic]:
    """The rows as the API shows them, the overdue flag computed from today and the latest review read in one more
    statement; validated in one call (pydantic's core builds the 50 objects of a page faster than constructing
    them one by one in Python)."""
    values = []
    for row in rows:
        value = dict(zip([*_COLUMNS, "light"], row, strict=False))  # (a list adds its window count at the end)
        value["overdue"] = value["status"] in OPEN and value["due_on"] < today
        values.append(value)
    found = _PUBLIC_LIST.validate_python(values)
    if found:
        reviews = last_review.for_assignments(session, assignment_ids=[a.id for a in found])
        for assignment in found:
            assignment.last_review = reviews.get(assignment.id)
    return found


# Each filter as a condition on its value — a named bindparam, so one compiled statement serves every value (the
# overdue flag's True/False is part of the shape). A new filter: a field on AssignmentFilter, a line here, and the
# value(s) it binds in list_values.
_FILTERS: dict[str, Callable[[Any], ColumnElement[bool]]] = {
    "campaign_id": lambda _: col(Assignment.campaign_id) == bindparam("campaign_id"),
    "unit_id": lambda _: col(Assignment.unit_id) == bindparam("unit_id"),
    "level1_id": lambda _: col(Item.level1_id) == bindparam("level1_id"),
    "section": lambda _: col(FrameworkSection.code) == bindparam("section"),
    "status": lambda _: status_condition(bindparam("status")),  # type: ignore[arg-type]
    "overdue": lambda overdue: overdue_flag_condition(overdue, bindparam("today")),  # type: ignore[arg-type]
    "due_before": lambda _: col(Assignment.due_on) < bindparam("due_before"),
    "due_within_workdays": lambda _: due_soon_condition(bindparam("today"), bindparam("until")),  # type: ignore[arg-type]
}


def shape(filters: AssignmentFilter, book: lights.LightBook) -> tuple[Any, ...]:
    """What the list statement's SQL depends on besides the caller: the filters present (overdue's value too), the
    sort, and the campaigns whose warning lights follow rules of their own."""
    return (_present(filters), filters.light is not None, filters.overdue, filters.sort, book.bound_shape())


def _present(filters: AssignmentFilter) -> tuple[str, ...]:
    """The names of the filters (of _FILTERS) the list is given."""
    return tuple(n for n in _FILTERS if getattr(filters, n) is not None)


# The filters that depend on nothing but which assignments exist and what is stamped with the read generation (an
# assignment made, removed or moved, an item's level or section: migrations 0012f, 0013b): a list filtered by these
# alone has a total the server process may keep (assignment_rows.page)
MEMBERSHIP_FILTERS = frozenset({"campaign_id", "unit_id", "level1_id", "section"})


def membership_only(filters: AssignmentFilter) -> bool:
    """Whether the list's total depends only on which assignments exist (no filter on a status, a date or a light)."""
    return MEMBERSHIP_FILTERS.issuperset(_present(filters)) and filters.light is None


def list_values(
    session: Session, filters: AssignmentFilter, book: lights.LightBook, *, today: date, limit: int, offset: int
) -> dict[str, Any]:
    """The values list_statement binds for these filters and today's light thresholds."""
    values: dict[str, Any] = {"today": today, "limit": limit, "offset": offset, **book.bind_values()}
    if filters.light is not None:
        values["light"] = Light(filters.light).value
    for name in ("campaign_id", "unit_id", "level1_id", "section", "due_before"):
        values[name] = getattr(filters, name)
    values["status"] = AssignmentStatus(filters.status).value if filters.status is not None else None
    if filters.due_within_workdays is not None:
        values["until"] = _horizon(session, today, filters.due_within_workdays)
    return values


def list_statement(  # noqa: ANN201
    principal: Principal,
    filters: AssignmentFilter,
    book: lights.LightBook,
    *,
    count: bool = False,
    last_reviews: bool = False,
    labelled: bool = True,
    counted: bool = True,
):
    """The list's select for the caller (the tenancy conditions of app/services/access.py) and the filters, every
    value a bindparam (list_values): the page's rows and their warning light with the total at the end
    (last_reviews: then the fields of each row's last review, last_review.latest_of); or (count) the total alone,
    for a page past the end. Raises Invalid for an unknown sort. Not labelled: the row's own columns (_OWN) without
    its item's, section's and unit's (ITEM_LABELS, UNIT_LABELS), which are then not joined. Not counted: the total's
    place holds NULL (the caller has it already: assignment_rows keeps a total that membership_only says it may).

    The page is chosen first on narrow rows, in the order of the indexes on assignment (campaign or unit, due date,
    the item's place, unit, id: migration 0013a), so PostgreSQL reads a page's rows off an index instead of sorting
    every match; the total is counted on its own (a window count made the database read and sort every match, ~1,300
    in a county's ledger, for a 50-row page). Labelled, only the page's rows are joined to their item and unit."""
    name = filters.sort.removeprefix("-")
    if not count and name not in SORTS:
        raise Invalid(f"sort 只能是 {'、'.join(SORTS)}（前加 - 表示倒序）", code="sort_invalid")
    matching = (
        select(col(Assignment.id))
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(access.campaign_scope(principal), access.unit_scope(principal, col(Assignment.unit_id)))
    )
    if filters.level1_id is not None or filters.section is not None:
        matching = matching.join(Item, col(Item.id) == Assignment.item_id)
    if filters.section is not None:
        matching = matching.join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
    if name == "unit":
        matching = matching.join(Unit, col(Unit.id) == Assignment.unit_id)
    for field, make in _FILTERS.items():
        value = getattr(filters, field)
        if value is not None:
            matching = matching.where(make(value))
    light = book.bound_expression(
        campaign=col(Assignment.campaign_id),
        due=col(Assignment.due_on),
        waiting=lights.waiting(col(Assignment.status)),
        returned=col(Assignment.returned_count),
    )
    if filters.light is not None:
        matching = matching.where(light == bindparam("light"))
    if count:
        return select(func.count()).select_from(matching.subquery())
    first = SORTS[name]().desc() if filters.sort.startswith("-") else SORTS[name]()
    order = (first, Assignment.due_on, Assignment.item_position, Assignment.unit_id, Assignment.id)
    total = select(func.count()).select_from(matching.subquery()).scalar_subquery() if counted else null()
    chosen = (
        matching.add_columns(*_CARRIED, SORTS[name]().label("sort_key"), total.label("total"))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    page = chosen.cte("page") if last_reviews else chosen.subquery("page")  # a CTE: the reviews read its ids too
    # The page's rows carry the assignment's own narrow columns, so the outer select reads them from the page
    # instead of the assignment table again (PostgreSQL hashed a county's every assignment to find the page's 50:
    # a third of the to-do list's database time)
    adapter = ClauseAdapter(page)

    def on_page(expression: Any) -> Any:
        clause = getattr(expression, "__clause_element__", None)  # an ORM attribute: its column
        return adapter.traverse(clause() if clause is not None else expression)

    outer_first = page.c.sort_key.desc() if filters.sort.startswith("-") else page.c.sort_key  # the sort's own key
    query = (
        select(*(on_page(c) for c in (_COLUMNS if labelled else _OWN).values()), on_page(light), page.c.total)
        .select_from(page)
        .order_by(outer_first, *(on_page(o) for o in order[1:]))
    )
    if labelled:
        query = (
            query.join(Item, col(Item.id) == page.c.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .join(Unit, col(Unit.id) == page.c.unit_id)
        )
    if last_reviews:
        latest = last_review.latest_of(lambda column: column.in_(select(page.c.id)))
        query = query.add_columns(*list(latest.c)[:-1]).outerjoin(latest, list(latest.c)[-1] == page.c.id)
    return query


# The assignment's columns the list's page carries out of its CTE besides the id it selects: the row's own (_OWN),
# and what the warning light and the order read
_CARRIED = (*(c for name, c in _OWN.items() if name != "id"), Assignment.returned_count, Assignment.item_position)


def list_visible(
    session: Session,
    *,
    principal: Principal,
    filters: AssignmentFilter,
    today: date,
    limit: int,
    offset: int,
) -> tuple[list[AssignmentPublic], int]:
    """A page of the assignments the caller may see, filtered, in due-date then item order."""
    if filters.campaign_id is not None:
        campaigns.get_visible(session, campaign_id=filters.campaign_id, principal=principal)
    book = lights_for(session, principal, today)
    statement = list_statement(principal, filters, book)
    values = list_values(session, filters, book, today=today, limit=limit, offset=offset)
    # the page and the total in one round trip (a window count); a page past the end counts on its own
    rows = session.execute(statement, values).all()
    if rows:
        total = rows[0][-1]
    else:
        total = session.execute(list_statement(principal, filters, book, count=True), values).scalar_one()
    return _public(session, rows, today), total


def ledger(
    session: Session, *, principal: Principal, filters: AssignmentFilter, today: date, limit: int, offset: int
) -> tuple[list[AssignmentPublic], int, bool]:
    """A page of list_visible, its total, and whether its due_within_workdays horizon is provisional."""
    items, total = list_visible(session, principal=principal, filters=filters, today=today, limit=limit, offset=offset)
    return items, total, horizon_provisional(session, filters=filters, today=today)


def for_items(
    session: Session, *, principal: Principal, keys: list[tuple[int, int]], today: date
) -> dict[tuple[int, int], list[AssignmentPublic]]:
    """The visible assignments of several (campaign id, item id) pairs, in one statement."""
    rows = session.execute(
        _query(principal, lights_for(session, principal, today))
        .where(
            col(Assignment.campaign_id).in_({c for c, _ in keys}),
            col(Assignment.item_id).in_({i for _, i in keys}),
        )
        .order_by(col(Assignment.role).desc(), Unit.name)
    ).all()
    found: dict[tuple[int, int], list[AssignmentPublic]] = {k: [] for k in keys}
    for public in _public(session, rows, today):
        if (public.campaign_id, public.item_id) in found:
            found[(public.campaign_id, public.item_id)].append(public)
    return found


def get_row(session: Session, *, assignment_id: int, principal: Principal) -> Assignment:
    """The assignment row, if the caller may see it (another unit's or county's is not found)."""
    query = (
        select(Assignment)
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(
            Assignment.id == assignment_id, campaign_scope(principal), unit_scope(principal, col(Assignment.unit_id))
        )
    )
    assignment = session.exec(query).first()
    if assignment is None:
        raise NotFound("未找到该任务分工", code="assignment_not_found")
    return assignment


def get_visible(session: Session, *, assignment_id: int, principal: Principal, today: date) -> AssignmentPublic:
    """One assignment, if the caller may see it (another unit's or county's is not found)."""
    book = lights_for(session, principal, today)
    row = session.execute(_query(principal, book).where(Assignment.id == assignment_id)).first()
    if row is None:
        raise NotFound("未找到该任务分工", code="assignment_not_found")
    return _public(session, [row], today)[0]


def etag_of(assignment: Assignment) -> str:
    """The ETag of an assignment row (what it stores, not what today makes of it; not the item's place the database
    keeps on it, which a row just inserted through the ORM does not know yet)."""
    return concurrency.etag(assignment.model_dump(mode="json", exclude={"item_position"}))


def etag(session: Session, *, assignment_id: int, principal: Principal) -> str:
    """The current ETag of an assignment the caller may see."""
    return etag_of(get_row(session, assignment_id=assignment_id, principal=principal))


def set_due(
    session: Session,
    *,
    assignment_id: int,
    data: AssignmentUpdate,
    principal: Principal,
    today: date,
    if_match: str | None = None,
) -> AssignmentPublic:
    """Override an assignment's due date (a date, or N calendar/working days), or return to its phase's end;
    with if_match, only if the row is still the one the caller read (412 otherwise)."""
    due_on = workdays.read(session).resolve(data.due_in, today) if data.due_in is not None else data.due_on
    current = get_visible(session, assignment_id=assignment_id, principal=principal, today=today)
    campaigns.get_managed(session, campaign_id=current.campaign_id, principal=principal)
    assignment = session.exec(
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    concurrency.check(if_match, etag_of(assignment))
    before = audit.snapshot(assignment, "due_on", "due_overridden")
    if due_on is None:
        campaign = session.get(Campaign, assignment.campaign_id)
        assert campaign is not None
        due_on = campaigns.submission_phase(session, campaign=campaign).ends_on
        assignment.due_overridden = False
    else:
        assignment.due_overridden = True
    assignment.due_on = due_on
    session.add(assignment)
    session.flush()
    _audit(session, principal, "assignment.due", assignment, before=before)
    return get_visible(session, assignment_id=assignment_id, principal=principal, today=today)


def redate(session: Session, *, assignment: Assignment, due_on: date, principal: Principal) -> None:
    """Give an assignment a new due date for work sent back to its unit (a 回头看 reopen), audited as a due
    change; the caller has authorized the change."""
    before = audit.snapshot(assignment, "due_on", "due_overridden")
    assignment.due_on, assignment.due_overridden = due_on, True
    session.add(assignment)
    session.flush()
    _audit(session, principal, "assignment.due", assignment, before=before)


def create(
    session: Session, *, campaign_id: int, data: AssignmentCreate, principal: Principal, today: date
) -> AssignmentPublic:
    """Assign an item to a unit by hand (for names the launch could not resolve)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    item = session.get(Item, data.item_id)
    if item is None or item.framework_id != campaign.framework_id:
        raise Invalid("该指标不属于本次创建活动的指标体系", code="item_not_in_framework")
    units.get_unit_or_raise(session, unit_id=data.unit_id, county_id=campaign.county_id)
    duplicate = session.exec(
        select(Assignment.id).where(
            Assignment.campaign_id == campaign.id,
            Assignment.item_id == data.item_id,
            Assignment.unit_id == data.unit_id,
        )
    ).first()
    if duplicate is not None:
        raise Conflict("该单位已分配此指标", code="assignment_exists")
    phase = campaigns.submission_phase(session, campaign=campaign)
    assignment = Assignment(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        item_id=data.item_id,
        unit_id=data.unit_id,
        role=data.role,
        phase_id=phase.id,
        due_on=data.due_on or phase.ends_on,
        due_overridden=data.due_on is not None,
    )
    session.add(assignment)
    session.flush()
    assert assignment.id is not None
    _audit(session, principal, "assignment.create", assignment, before=None)
    return get_visible(session, assignment_id=assignment.id, principal=principal, today=today)


def _audit(session: Session, principal: Principal, action: str, assignment: Assignment, *, before: dict | None) -> None:
    campaign = session.get(Campaign, assignment.campaign_id)
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="assignment",
        object_id=assignment.id,  # type: ignore[arg-type]
        county_id=campaign.county_id if campaign else None,
        campaign_id=assignment.campaign_id,
        before=before,
        after=audit.snapshot(assignment, "item_id", "unit_id", "role", "due_on", "due_overridden"),
    )


def my_todo_filter(principal: Principal, filters: AssignmentFilter) -> AssignmentFilter:
    """A liaison's own to-do list: the filters pinned to its unit."""
    if principal.role != Role.liaison:
        raise Forbidden("只有单位联络员有本单位待办事项", code="not_a_liaison")
    return AssignmentFilter(**{**filters.__dict__, "unit_id": principal.unit_id})
