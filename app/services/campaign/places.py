"""Where evidence belongs, in a clerk's words: its unit's name and the items it counts for (第18项, or every item
of the material request it was handed in for: 第26、27、28项), so an evidence list and the office's review queue
read without a lookup per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, FrameworkSection, Item, MaterialRequestItem, Unit
from app.models.evidence import EvidenceItem
from app.models.framework import items_label

Place = tuple[str, str, list[EvidenceItem]]  # unit name, item label, items


def _item_columns():  # noqa: ANN202 - the columns an item is shown with
    return (Item.id, Item.number, Item.text, FrameworkSection.name, FrameworkSection.position)


def of_evidence(session: Session, rows: Sequence[Evidence]) -> dict[int, Place]:
    """evidence id → (unit name, item label, items), in at most three statements whatever the number of rows."""
    if not rows:
        return {}
    units = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_({e.unit_id for e in rows}))).all())
    assignment_ids = {e.assignment_id for e in rows if e.assignment_id is not None}
    request_ids = {e.material_request_id for e in rows if e.material_request_id is not None}
    by_assignment: dict[int, list[tuple]] = {}
    if assignment_ids:
        for assignment_id, *item in session.exec(
            select(Assignment.id, *_item_columns())
            .join(Item, col(Item.id) == Assignment.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(col(Assignment.id).in_(assignment_ids))
        ).all():
            by_assignment[assignment_id] = [tuple(item)]  # type: ignore[index]
    by_request: dict[int, list[tuple]] = {}
    if request_ids:
        for request_id, *item in session.exec(
            select(MaterialRequestItem.material_request_id, *_item_columns())
            .join(Item, col(Item.id) == MaterialRequestItem.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(col(MaterialRequestItem.material_request_id).in_(request_ids))
            .order_by(FrameworkSection.position, Item.number)
        ).all():
            by_request.setdefault(request_id, []).append(tuple(item))
    out: dict[int, Place] = {}
    for e in rows:
        found = by_assignment.get(e.assignment_id, []) if e.assignment_id else by_request.get(e.material_request_id, [])  # type: ignore[arg-type]
        label, items = label_and_items(found)
        out[e.id] = (units.get(e.unit_id, ""), label, [EvidenceItem(**item) for item in items])  # type: ignore[index]
    return out


def label_and_items(found: Sequence[Sequence[Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The item label and EvidenceItem's fields of the items evidence counts for, each a row of _item_columns."""
    items = [
        {"item_id": i, "number": n, "label": items_label([(n, name, position)]), "text": text}
        for i, n, text, name, position in found
    ]
    return items_label([(n, name, position) for _, n, _, name, position in found]), items


def items_statement(evidence_id: Any, *, by: str) -> Any:
    """The items (rows of _item_columns) one piece of evidence counts for, as of_evidence finds them: by="assignment"
    its assignment's item, by="request" every item of its material request; evidence_id a value or a bindparam."""
    if by == "assignment":
        return (
            select(*_item_columns())
            .select_from(Evidence)
            .join(Assignment, col(Assignment.id) == Evidence.assignment_id)
            .join(Item, col(Item.id) == Assignment.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(Evidence.id == evidence_id)
        )
    return (
        select(*_item_columns())
        .select_from(Evidence)
        .join(MaterialRequestItem, col(MaterialRequestItem.material_request_id) == Evidence.material_request_id)
        .join(Item, col(Item.id) == MaterialRequestItem.item_id)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Evidence.id == evidence_id)
        .order_by(FrameworkSection.position, Item.number)
    )
