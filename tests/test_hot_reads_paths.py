"""The to-do list and the office's ledger answer from statements compiled once and rows written straight to JSON
(app/services/campaign/assignment_rows.py, issue 28). The general path (assignments.ledger, pydantic; GraphQL and
exports use it) must give field for field the same rows, totals and refusals for every role and filter, and a
tenancy rule changed in app/services/access.py must reach the compiled statements at once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.api import duties
from app.models import Assignment, Item
from app.models.campaign import AssignmentPage
from app.models.evidence import ReviewDecision
from app.services import access
from app.services.campaign import assignments
from app.services.campaign.assignments import AssignmentFilter
from app.services.errors import DomainError
from tests.conftest import pin_today
from tests.evidence_kit import PICKER, pdf, upload
from tests.tenancy_kit import swap_rules

API = "/api/v1"
# every account of the shared world a hot read may be asked by (the security and audit administrators' duties do
# not reach these routes: refused before any read, tested in test_duties)
CALLERS = ("sysadmin", "lc-office", "gp-office", "lc-sfj", "lc-gaj", "gp-sfj", "evaluator", "evaluator-b",
           "sx-province", "yn-province", "idle-evaluator")  # fmt: skip
# Every filter for one caller of each scope (the compiled statement's shape is the filters' and the sort's, the
# scope's is the caller's); the first FEW filter sets (no filter, each status, overdue both ways) for the others.
EVERY_FILTER = ("sysadmin", "lc-office", "lc-sfj", "evaluator", "sx-province")
FEW = 6
# pinned days: nothing overdue yet, and the submission phase over (every open assignment overdue)
DAYS = (date(2023, 2, 22), date(2023, 3, 2))


def _filters(world, level1_id: int) -> list[dict[str, Any]]:
    """Every filter alone, each sort both ways, paging past the end and across pages, and combinations."""
    return [
        {},
        {"status": "not_started"},
        {"status": "returned"},
        {"status": "submitted"},
        {"overdue": "true"},
        {"overdue": "false"},
        {"due_before": "2023-02-27"},
        {"due_within_workdays": 3},
        {"due_within_workdays": 0},
        {"unit_id": world.ids["lc_sfj"]},
        {"level1_id": level1_id},
        {"section": "indicator"},
        *({"light": light} for light in ("red", "yellow", "blue", "none")),
        {"light": "red", "overdue": "true", "sort": "unit"},
        *({"sort": s} for s in ("due_on", "-due_on", "item", "-item", "unit", "-unit", "status", "-status")),
        {"sort": "nonsense"},
        {"limit": 3, "offset": 2},
        {"offset": 100000},
        {"status": "returned", "overdue": "true", "sort": "-item"},
        {"unit_id": world.ids["lc_sfj"], "section": "indicator", "due_before": "2023-03-01", "level1_id": level1_id},
        {"overdue": "false", "due_within_workdays": 5, "sort": "unit"},
    ]


def _general(session: Session, token: str, route: str, params: dict[str, Any], today: date) -> dict[str, Any]:
    """What the general path answers: the principal as every other route reads it, assignments.ledger, pydantic."""
    try:
        who = access.authenticate(session, token)
        path = "/me/assignments" if route == "todo" else "/campaigns/{campaign_id}/assignments"
        duties.refuse_outside_duty(who.role, "GET", API + path)  # 三员分立, before any read on both paths
        names = {"campaign_id", "unit_id", "level1_id", "section", "status", "overdue", "due_before",
                 "due_within_workdays", "light", "sort"}  # fmt: skip
        given = {k: v for k, v in params.items() if k in names}
        if "overdue" in given:
            given["overdue"] = given["overdue"] == "true"
        if "due_before" in given:
            given["due_before"] = date.fromisoformat(given["due_before"])
        filters = AssignmentFilter(**given)
        if route == "todo":
            filters = assignments.my_todo_filter(who, filters)
        limit, offset = params.get("limit", 50), params.get("offset", 0)
        items, total, provisional = assignments.ledger(
            session, principal=who, filters=filters, today=today, limit=limit, offset=offset
        )
    except DomainError as exc:
        return {"code": exc.code}
    page = AssignmentPage(items=items, total=total, limit=limit, offset=offset, provisional=provisional)
    return page.model_dump(mode="json", exclude={"next", "next_cursor"})


def _fast(client, world, who: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
    r = client.get(url, params=params, headers=world.auth(who))
    body = r.json()
    if r.status_code != 200:
        assert r.status_code in (403, 404, 422) and r.headers["content-type"].startswith("application/problem+json")
        return {"code": body["code"]}
    assert (body["next"] is None) == (body["next_cursor"] is None), body
    following = body["offset"] + len(body["items"])
    assert (body["next_cursor"] is not None) == (following < body["total"] and bool(body["items"])), body
    return {k: v for k, v in body.items() if k not in ("next", "next_cursor")}


_REVIEWED: list[bool] = []


@pytest.fixture
def reviewed(client, world, session) -> None:
    """A returned piece of evidence (its assignment carries a last_review) and an approved one in 县司法局 (once)."""
    if _REVIEWED:
        return
    _REVIEWED.append(True)
    pin_today(client.app, date(2023, 2, 10))
    for decision, comment in ((ReviewDecision.return_, "请补充盖章件"), (ReviewDecision.approve, "")):
        a = PICKER.assignment(session, world.ids["lc_sfj"])
        r = upload(client, world.auth("lc-sfj"), a.id, pdf(f"paths-{decision}"), "路径.pdf", title="两条路径")
        assert r.status_code == 201, r.text
        body = {"decision": decision.value, "version": 1, "comment": comment}
        r = client.post(f"{API}/evidence/{r.json()['id']}/reviews", json=body, headers=world.auth("lc-office"))
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("who", CALLERS)
def test_fast_and_general_paths_answer_alike(client, world, session, reviewed, who: str) -> None:
    level1_id = session.exec(
        select(Item.level1_id).join(Assignment, Assignment.item_id == Item.id).where(Item.level1_id.is_not(None))  # type: ignore[union-attr,arg-type]
    ).first()
    token = world.tokens[who]
    routes = {
        "todo": f"{API}/me/assignments",
        "lc": f"{API}/campaigns/{world.ids['lc_campaign']}/assignments",
        "gp": f"{API}/campaigns/{world.ids['gp_campaign']}/assignments",
        "none": f"{API}/campaigns/987654321/assignments",
    }
    seen_rows = seen_reviews = 0
    for today in DAYS:
        pin_today(client.app, today)
        for params in _filters(world, level1_id) if who in EVERY_FILTER else _filters(world, level1_id)[:FEW]:
            if today != DAYS[0] and not {"overdue", "due_within_workdays"} & set(params) and params:
                continue  # the second day changes only what depends on today
            for route, url in routes.items():
                asked = {
                    k: v
                    for k, v in params.items()
                    if not (route == "todo" and k in ("unit_id", "level1_id", "section"))
                }
                campaign = {"campaign_id": world.ids["lc_campaign"]} if route == "lc" else {}
                campaign = {"campaign_id": world.ids["gp_campaign"]} if route == "gp" else campaign
                campaign = {"campaign_id": 987654321} if route == "none" else campaign
                fast = _fast(client, world, who, url, asked)
                general = _general(session, token, route, {**asked, **campaign}, today)
                assert fast == general, (who, route, params, today)
                seen_rows += len(fast.get("items", []))
                seen_reviews += sum(1 for item in fast.get("items", []) if item["last_review"] is not None)
    if who in ("sysadmin", "lc-office", "lc-sfj", "sx-province", "evaluator"):
        assert seen_rows and seen_reviews, "the comparison saw rows and last reviews"


def test_a_changed_tenancy_rule_reaches_the_compiled_statements(client, world, session, monkeypatch) -> None:
    pin_today(client.app, DAYS[0])
    lc = f"{API}/campaigns/{world.ids['lc_campaign']}/assignments"
    gp = f"{API}/campaigns/{world.ids['gp_campaign']}/assignments"
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    # warm: the statements of these callers and shapes are compiled and kept
    assert client.get(lc, headers=office).status_code == 200
    assert client.get(gp, headers=office).json()["code"] == "campaign_not_found"
    own = client.get(lc, params={"limit": 500}, headers=liaison).json()
    assert {row["unit_id"] for row in own["items"]} == {world.ids["lc_sfj"]}
    everyone = client.get(lc, params={"limit": 1}, headers=office).json()["total"]
    assert own["total"] < everyone

    swap_rules(monkeypatch, world.ids)  # 陵川's office sees 高平, not its own; a liaison every unit
    assert client.get(lc, headers=office).json()["code"] == "campaign_not_found"
    swapped = client.get(gp, params={"limit": 500}, headers=office)
    assert swapped.status_code == 200 and swapped.json()["total"] > 0
    assert {row["campaign_id"] for row in swapped.json()["items"]} == {world.ids["gp_campaign"]}
    widened = client.get(lc, params={"limit": 1}, headers=liaison).json()
    assert widened["total"] == everyone
    # and the general path agrees under the changed rules
    general = _general(session, world.tokens["lc-office"], "gp", {"campaign_id": world.ids["gp_campaign"],
                                                                  "limit": 500}, DAYS[0])  # fmt: skip
    assert {k: v for k, v in swapped.json().items() if k not in ("next", "next_cursor")} == general

    monkeypatch.undo()  # the rules as they are: the statements compiled from them again
    assert client.get(gp, headers=office).json()["code"] == "campaign_not_found"
    assert client.get(lc, params={"limit": 1}, headers=liaison).json()["total"] == own["total"]


def test_serve_runs_one_process_per_core_by_default(monkeypatch) -> None:
    import os

    from app.cli import build_parser

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert build_parser().parse_args(["serve"]).workers == (os.cpu_count() or 1)
    monkeypatch.setenv("WEB_CONCURRENCY", "5")  # uvicorn's and gunicorn's variable, as a container sets it
    assert build_parser().parse_args(["serve"]).workers == 5
    assert build_parser().parse_args(["serve", "--workers", "3"]).workers == 3
    assert build_parser().parse_args(["demo"]).workers == 1  # the demo's SQLite file: one writer process


def test_the_item_position_the_lists_sort_by_is_kept_by_the_database(client, world, session) -> None:
    """assignment.item_position (the lists' index order, migration 0013a) is set by the database for rows inserted
    every way — a launch's bulk insert, the ORM — and follows a change of the item's place, which is not a change of
    the assignment (its ETag stays)."""
    drifted = text("SELECT count(*) FROM assignment JOIN item ON item.id = assignment.item_id "
                   "WHERE assignment.item_position IS DISTINCT FROM item.position")  # fmt: skip
    assert session.execute(text("SELECT count(*) FROM assignment")).scalar_one() > 100
    assert session.execute(drifted).scalar_one() == 0
    assignment_id, item_id = session.exec(
        select(Assignment.id, Assignment.item_id).where(Assignment.unit_id == world.ids["lc_sfj"])
    ).first()
    position = session.exec(select(Item.position).where(Item.id == item_id)).one()
    url, office = f"{API}/assignments/{assignment_id}", world.auth("lc-office")
    etag = client.get(url, headers=office).headers["etag"]
    try:
        session.execute(text("UPDATE item SET position = :p WHERE id = :i"), {"p": position + 100000, "i": item_id})
        session.commit()
        kept = select(Assignment.item_position).where(Assignment.item_id == item_id)
        assert set(session.exec(kept).all()) == {position + 100000}
        assert client.get(url, headers=office).headers["etag"] == etag
    finally:
        session.execute(text("UPDATE item SET position = :p WHERE id = :i"), {"p": position, "i": item_id})
        session.commit()
    assert session.execute(drifted).scalar_one() == 0
