"""Helpers for the 整改销号 and 回头看 tests: work done through HTTP with real tokens."""

from __future__ import annotations

API = "/api/v1"


def open_assignment(client, liaison: dict[str, str], campaign_id: int) -> dict:
    """One of the liaison's assignments in the campaign with nothing handed in yet (the campaign named: other tests
    launch campaigns of their own in the same county, whose assignments the liaison sees too)."""
    params = {"status": "not_started", "campaign_id": campaign_id, "limit": 1}
    r = client.get(f"{API}/me/assignments", params=params, headers=liaison)
    assert r.status_code == 200, r.text
    return r.json()["items"][0]


def statement(client, liaison: dict[str, str], assignment_id: int, text: str) -> int:
    """A written statement handed in for an assignment: its evidence id."""
    r = client.post(
        f"{API}/assignments/{assignment_id}/evidence", json={"kind": "statement", "text": text}, headers=liaison
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approve(client, office: dict[str, str], evidence_id: int, version: int = 1) -> None:
    r = client.post(
        f"{API}/evidence/{evidence_id}/reviews", json={"decision": "approve", "version": version}, headers=office
    )
    assert r.status_code == 201 and r.json()["status"] == "approved", r.text


def approved_assignment(client, office: dict[str, str], liaison: dict[str, str], campaign_id: int) -> tuple[int, int]:
    """(assignment id, evidence id) of an assignment of the campaign the office approved."""
    assignment = open_assignment(client, liaison, campaign_id)
    evidence = statement(client, liaison, assignment["id"], "制度已印发执行，附文件目录。")
    approve(client, office, evidence)
    return assignment["id"], evidence


def closed_rectification(client, office, liaison, *, campaign_id: int, unit_id: int, problem: str) -> tuple[int, int]:
    """(rectification id, evidence id) of an item the unit fixed with evidence and the office closed (销号)."""
    r = client.post(
        f"{API}/campaigns/{campaign_id}/rectifications",
        json={"unit_id": unit_id, "due_on": "2023-03-31", "problem": problem},
        headers=office,
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    evidence = statement(client, liaison, open_assignment(client, liaison, campaign_id)["id"], f"整改说明：{problem}")
    done = client.post(
        f"{API}/rectifications/{rid}/progress",
        json={"status": "done", "measures": "已整改到位", "evidence_ids": [evidence]},
        headers=liaison,
    )
    assert done.status_code == 200, done.text
    closed = client.post(f"{API}/rectifications/{rid}/verify", json={"accept": True}, headers=office)
    assert closed.status_code == 200 and closed.json()["status"] == "verified", closed.text
    return rid, evidence


def user_id(client, headers: dict[str, str]) -> int:
    return client.get(f"{API}/me", headers=headers).json()["user_id"]


def audit_entries(client, office: dict[str, str], object_type: str, object_id: int) -> list[dict]:
    r = client.get(
        f"{API}/audit", params={"object_type": object_type, "object_id": object_id, "limit": 100}, headers=office
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]
