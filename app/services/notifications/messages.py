"""The Chinese message a chat robot posts for an event, e.g.
"【陵川县】县司法局 第26项 资料被退回补充：请补充2022年台账", with a link into the web app.

Names are read when the delivery is claimed, for the whole batch at once (a fixed number of statements
whatever its size), so a message says what the county and unit are called now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.models import Assignment, Item, Region, Unit
from app.models.framework import FrameworkSection, MaterialRequestItem, item_label, items_label
from app.models.outbox import EventKind, OutboxEvent
from app.settings import get_settings

COMMENT_CHARS = 300  # a long comment is cut; the link leads to the whole of it
# User text goes into Markdown: brackets and angle brackets would let it forge links or <font> tags.
_NEUTRAL = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "`": "'"})


@dataclass(frozen=True)
class Message:
    """What a chat robot shows: a title (notification preview), one line of text, and a link (may be empty)."""

    title: str
    text: str
    link: str


@dataclass
class Names:
    """Names for a batch of events: counties, units, and the item label of each assignment or request."""

    counties: dict[int, str]
    units: dict[int, str]
    assignments: dict[int, str]
    requests: dict[int, str]


def names_for(session: Session, events: list[OutboxEvent]) -> Names:
    """Look up every name the events' messages need, in at most four statements."""
    data = [e.data for e in events]
    unit_ids = {d["unit_id"] for d in data if isinstance(d.get("unit_id"), int)}
    assignment_ids = {d["assignment_id"] for d in data if isinstance(d.get("assignment_id"), int)}
    request_ids = {d["material_request_id"] for d in data if isinstance(d.get("material_request_id"), int)}
    counties = dict(
        session.exec(select(Region.id, Region.name).where(col(Region.id).in_({e.county_id for e in events}))).all()
    )
    units = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(unit_ids))).all()) if unit_ids else {}
    assignments: dict[int, str] = {}
    if assignment_ids:
        rows = session.exec(
            select(Assignment.id, Item.number, FrameworkSection.name, FrameworkSection.position)
            .join(Item, col(Item.id) == Assignment.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(col(Assignment.id).in_(assignment_ids))
        ).all()
        assignments = {a: item_label(n, name, position) for a, n, name, position in rows}
    requests: dict[int, str] = {}
    if request_ids:
        covered: dict[int, list[tuple[int, str, int]]] = {}
        request = MaterialRequestItem.material_request_id
        for request_id, number, name, position in session.exec(
            select(request, Item.number, FrameworkSection.name, FrameworkSection.position)
            .join(Item, col(Item.id) == MaterialRequestItem.item_id)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(col(request).in_(request_ids))
            .order_by(FrameworkSection.position, Item.number)
        ).all():
            covered.setdefault(request_id, []).append((number, name, position))
        requests = {r: items_label(items) for r, items in covered.items()}
    return Names(counties=counties, units=units, assignments=assignments, requests=requests)


def _clean(text: Any, limit: int = COMMENT_CHARS) -> str:
    value = " ".join(str(text or "").split()).translate(_NEUTRAL)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def render(event: OutboxEvent, names: Names) -> Message:
    """The message for one event, in the words a county office uses."""
    d = event.data
    county = f"【{names.counties.get(event.county_id, '')}】"
    unit = _clean(d.get("unit_name") or names.units.get(d.get("unit_id"), ""), 60)  # type: ignore[arg-type]
    base = get_settings().public_url.rstrip("/")
    kind = event.kind
    if kind in (EventKind.evidence_returned, EventKind.evidence_approved):
        label = names.assignments.get(d.get("assignment_id")) or names.requests.get(d.get("material_request_id"))  # type: ignore[arg-type]
        what = f"{label or '《' + _clean(d.get('title'), 60) + '》'} 资料"
        if kind == EventKind.evidence_returned:
            title, line = "资料被退回补充", f"{unit} {what}被退回补充：{_clean(d.get('comment')) or '（无说明）'}"
        else:
            title, line = "资料审核通过", f"{unit} {what}已审核通过"
        path = f"/evidence/{d.get('evidence_id')}"
    elif kind in (EventKind.due_soon, EventKind.overdue):
        count, due = d.get("count", 0), d.get("due_on", "")
        if kind == EventKind.due_soon:
            left = f"，还剩 {d['workdays_left']} 个工作日" if "workdays_left" in d else ""
            title, line = "任务即将截止", f"{unit} 有 {count} 项任务将于 {due} 截止{left}"
            if d.get("provisional"):
                line += "（当年节假日安排尚未公布，按常规工作日估算）"
        else:
            title, line = "任务已逾期", f"{unit} 有 {count} 项任务已过截止日期 {due}，尚未完成"
        path = f"/campaigns/{event.campaign_id}/units/{d.get('unit_id')}/assignments"
    elif kind in _SUPERVISION:
        title, line, path = _supervision(event, names, unit)
    elif kind == EventKind.scores_released:
        title, line = "评分已发布", f"评分轮次“{_clean(d.get('round'), 60)}”已发布"
        path = f"/campaigns/{event.campaign_id}/rounds/{d.get('round_id')}"
    else:
        title, line, path = "事件通知", f"事件 {kind}", ""
    return Message(title=f"示范创建：{title}", text=county + line, link=f"{base}{path}" if base and path else "")


_SUPERVISION = (
    EventKind.light_yellow,
    EventKind.light_red,
    EventKind.notice_escalated,
    EventKind.notice_acknowledged,
)


def _supervision(event: OutboxEvent, names: Names, unit: str) -> tuple[str, str, str]:
    """(title, line, path) of a supervision event: a light turned 黄/红, a 督办单 escalated again or answered."""
    d, kind = event.data, event.kind
    what = names.assignments.get(d.get("assignment_id")) or (  # type: ignore[arg-type]
        f"整改事项{d.get('subject_id')}" if d.get("subject") == "rectification" else "任务"
    )
    why = []
    if d.get("overdue_workdays"):
        why.append(f"已逾期 {d['overdue_workdays']} 个工作日")
    if d.get("returned_count"):
        why.append(f"已被退回 {d['returned_count']} 次")
    reason = "、".join(why) or f"截止日期 {d.get('due_on', '')}"
    number = _clean(d.get("notice_number"), 30)
    notice_path = f"/notices/{d.get('notice_id')}"
    if kind == EventKind.light_yellow:
        who = "、".join(_clean(n, 30) for n in d.get("liaisons") or []) or "联络员"
        leader = _clean(d.get("leader_contact"), 60)
        line = f"{unit} {what} 亮黄灯（{reason}），请{who}{'及分管领导' + leader if leader else ''}督促办理"
        return "任务亮黄灯", line, f"/campaigns/{event.campaign_id}/units/{d.get('unit_id')}/assignments"
    if kind == EventKind.light_red:
        line = f"{unit} {what} 亮红灯（{reason}），已下发督办单{number}，请于 {d.get('acknowledge_by', '')} 前回执"
        return "任务亮红灯，已下发督办单", line, notice_path
    if kind == EventKind.notice_escalated:
        line = f"{unit} 督办单{number}下发 {d.get('workdays', '')} 个工作日仍未回执（第 {d.get('escalations')} 次督办）"
        return "督办单逾期未回执", line, notice_path
    line = f"{unit} 已回执督办单{number}，计划于 {d.get('planned_completion_on', '')} 完成"
    return "督办单已回执", line, notice_path
