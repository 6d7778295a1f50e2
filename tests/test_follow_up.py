"""回头看 through HTTP: a repeatable draw (same seed + same population → same sample, the seed in the audit
trail), checks assigned to office staff or engaged evaluators, and reopen effects on both kinds of object."""

from __future__ import annotations

import hashlib
import random
from datetime import date

from sqlmodel import select

from app.models import OutboxEvent
from tests.conftest import pin_today
from tests.follow_up_kit import API, approved_assignment, audit_entries, closed_rectification, user_id


def _population(client, office, campaign: int, unit: int) -> list[tuple[str, int]]:
    """What the draw must start from, read independently: closed items, then approved assignments, each by id."""
    closed = client.get(
        f"{API}/campaigns/{campaign}/rectifications",
        params={"pool": "closed", "unit_id": unit, "limit": 500},
        headers=office,
    ).json()["items"]
    approved = client.get(
        f"{API}/campaigns/{campaign}/assignments",
        params={"status": "approved", "unit_id": unit, "limit": 500},
        headers=office,
    ).json()["items"]
    return [("rectification", r["id"]) for r in sorted(closed, key=lambda r: r["id"])] + [
        ("assignment", a["id"]) for a in sorted(approved, key=lambda a: a["id"])
    ]


def test_the_draw_repeats_exactly_from_its_seed(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office, gaj = world.auth("lc-office"), world.auth("lc-gaj")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_gaj"]
    for n in range(2):
        approved_assignment(client, office, gaj, campaign)
        closed_rectification(client, office, gaj, campaign_id=campaign, unit_id=unit, problem=f"执法公示不全{n}")
    population = _population(client, office, campaign, unit)
    assert len(population) >= 4
    url = f"{API}/campaigns/{campaign}/follow-ups"
    body = {"name": "2023年回头看", "size": 3, "unit_id": unit, "seed": "lc-2023-hth"}
    first = client.post(url, json=body, headers=office)
    assert first.status_code == 201, first.text
    second = client.post(url, json={**body, "name": "重复抽取"}, headers=office).json()
    one, two = first.json(), second
    assert one["seed"] == two["seed"] == "lc-2023-hth" and one["sample_size"] == 3
    assert one["population_size"] == len(population) and one["population_digest"] == two["population_digest"]
    assert one["population_digest"] == hashlib.sha256("\n".join(f"{t}:{i}" for t, i in population).encode()).hexdigest()

    def sample(follow_up: dict) -> list[tuple[str, int]]:
        checks = client.get(f"{API}/follow-ups/{follow_up['id']}/checks", headers=office).json()["items"]
        return [(c["target"], c["target_id"]) for c in checks]

    assert sample(one) == sample(two) == random.Random("lc-2023-hth").sample(population, 3)
    assert client.get(f"{API}/follow-ups/{one['id']}", headers=office).json()["pending"] == 3
    # the seed, the population's fingerprint and the sample are in the audit entry
    entry = next(e for e in audit_entries(client, office, "follow_up", one["id"]) if e["action"] == "follow_up.create")
    assert entry["after"]["seed"] == "lc-2023-hth" and entry["after"]["population_digest"] == one["population_digest"]
    assert [tuple(s) for s in entry["after"]["sample"]] == sample(one) and entry["username"] == "lc-office"
    # without a seed one is generated and recorded; a share rounds up
    shared = client.post(url, json={"name": "按比例", "share": 0.5, "unit_id": unit}, headers=office).json()
    assert shared["seed"] and shared["sample_size"] == -(-len(population) // 2)
    generated = audit_entries(client, office, "follow_up", shared["id"])[0]["after"]["seed"]
    assert generated == shared["seed"]
    listed = client.get(url, headers=office).json()["items"]
    assert [f["id"] for f in listed[:3]] == [shared["id"], two["id"], one["id"]]


def test_follow_up_refusals(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office = world.auth("lc-office")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_gaj"]
    approved_assignment(client, office, world.auth("lc-gaj"), world.ids["lc_campaign"])
    url = f"{API}/campaigns/{campaign}/follow-ups"
    body = {"name": "回头看", "size": 1, "unit_id": unit}

    def refused(data: dict, who: str = "lc-office") -> tuple[int, str, str]:
        r = client.post(url, json=data, headers=world.auth(who))
        return r.status_code, r.json().get("code", ""), r.json().get("detail", "")

    assert refused({**body, "size": 0})[:2] == (422, "sample_size_invalid")
    status, code, detail = refused({**body, "size": 100_000})
    assert (status, code) == (422, "sample_too_large") and "100000" in detail and "总数" in detail
    assert refused({**body, "size": None, "share": 0})[:2] == (422, "sample_share_invalid")
    assert refused({**body, "share": 0.5})[0] == 422  # size and share both
    assert refused({**body, "seed": "有 空格"})[0] == 422
    assert refused({**body, "targets": []})[0] == 422
    units = client.get(f"{API}/counties/{world.ids['lc_county']}/units", params={"limit": 500}, headers=office).json()
    quiet = next(u["id"] for u in units["items"] if u["id"] not in (world.ids["lc_sfj"], unit))  # nothing closed
    assert refused({**body, "targets": ["rectification"], "unit_id": quiet})[:2] == (409, "population_empty")
    assert refused({**body, "unit_id": world.ids["gp_sfj"]})[:2] == (404, "unit_not_found")
    # checkers: the county's office staff or an engaged evaluator only
    for who in ("idle-evaluator", "gp-office", "lc-sfj"):
        status, code, _ = refused({**body, "checker_ids": [user_id(client, world.auth(who))]})
        assert (status, code) == (422, "checker_not_allowed"), who
    # who may draw: the county's office; a unit, an evaluator and the province may not; another county never sees it
    for who in ("lc-gaj", "evaluator", "sx-province"):
        assert refused(body, who)[0] == 403, who
    assert refused(body, "gp-office")[:2] == (404, "campaign_not_found")
    made = client.post(url, json=body, headers=office).json()
    for who in ("lc-gaj", "lc-sfj"):
        assert client.get(f"{API}/follow-ups/{made['id']}", headers=world.auth(who)).status_code == 403
    assert client.get(f"{API}/follow-ups/{made['id']}", headers=world.auth("sx-province")).status_code == 200
    assert client.get(f"{API}/follow-ups/{made['id']}", headers=world.auth("gp-office")).status_code == 404
    assert client.get(f"{API}/campaigns/{campaign}/follow-ups", headers=world.auth("lc-gaj")).status_code == 403


def test_checks_confirm_or_reopen_what_was_closed(client, app, world, session) -> None:
    pin_today(app, date(2023, 2, 10))
    office, gaj, evaluator = world.auth("lc-office"), world.auth("lc-gaj"), world.auth("evaluator")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_gaj"]
    assignment_id, evidence_id = approved_assignment(client, office, gaj, campaign)
    rid, _ = closed_rectification(client, office, gaj, campaign_id=campaign, unit_id=unit, problem="罚没款未按期上缴")
    made = client.post(
        f"{API}/campaigns/{campaign}/follow-ups",
        json={"name": "全量回头看", "share": 1, "unit_id": unit, "checker_ids": [user_id(client, evaluator)]},
        headers=office,
    )
    assert made.status_code == 201, made.text
    checks = client.get(f"{API}/follow-ups/{made.json()['id']}/checks", params={"limit": 500}, headers=evaluator)
    by_target = {(c["target"], c["target_id"]): c for c in checks.json()["items"]}
    on_item, on_assignment = by_target[("rectification", rid)], by_target[("assignment", assignment_id)]
    assert on_item["checker_id"] == user_id(client, evaluator) and on_item["result"] == "pending"
    record = f"{API}/follow-up-checks/{on_item['id']}"
    reopen = {"result": "reopened", "comment": "现场核查发现仍有3笔未上缴", "due_on": "2023-04-15"}
    pin_today(app, date(2023, 3, 15))  # months later, after the materials deadline (2023-02-28)
    # only the assigned checker records; a unit is refused, another county never sees the check
    assert client.post(record, json={"result": "confirmed"}, headers=office).json()["code"] == "not_the_checker"
    assert client.post(record, json={"result": "confirmed"}, headers=world.auth("evaluator-b")).status_code == 403
    assert client.post(record, json={"result": "confirmed"}, headers=world.auth("sx-province")).status_code == 403
    assert client.post(record, json={"result": "confirmed"}, headers=gaj).status_code == 403
    assert client.post(record, json={"result": "confirmed"}, headers=world.auth("idle-evaluator")).status_code == 404
    assert client.post(record, json={"result": "confirmed"}, headers=world.auth("gp-office")).status_code == 404
    no_date = client.post(record, json={**reopen, "due_on": None}, headers=evaluator)
    assert no_date.json()["code"] == "due_date_required"
    assert client.post(record, json={**reopen, "comment": " "}, headers=evaluator).json()["code"] == "comment_required"
    assert client.post(record, json={"result": "pending"}, headers=evaluator).json()["code"] == "check_result_invalid"
    done = client.post(record, json=reopen, headers=evaluator)
    assert done.status_code == 200, done.text
    assert done.json()["result"] == "reopened" and done.json()["new_due_on"] == "2023-04-15"
    again = client.post(record, json={"result": "confirmed"}, headers=evaluator)
    assert again.status_code == 409 and again.json()["code"] == "check_already_recorded"
    # the rectification is back in the pool, open, with its new due date and one more reopen
    item = client.get(f"{API}/rectifications/{rid}", headers=gaj).json()
    assert item["status"] == "open" and item["due_on"] == "2023-04-15" and item["reopen_count"] == 1
    reopened = client.get(
        f"{API}/campaigns/{campaign}/rectifications", params={"pool": "reopened", "limit": 500}, headers=gaj
    ).json()
    assert rid in [r["id"] for r in reopened["items"]]
    last = client.get(f"{API}/rectifications/{rid}/history", headers=office).json()["items"][-1]
    assert last["kind"] == "reopen" and last["follow_up_check_id"] == on_item["id"]
    reopen_entry = next(
        e for e in audit_entries(client, office, "rectification", rid) if e["action"] == "rectification.reopen"
    )
    assert reopen_entry["username"] == "evaluator" and reopen_entry["after"]["follow_up_check_id"] == on_item["id"]
    # the approved assignment returns to its unit along the review's return path
    record = f"{API}/follow-up-checks/{on_assignment['id']}"
    back = client.post(record, json={**reopen, "comment": "制度未实际执行", "due_on": "2023-03-31"}, headers=evaluator)
    assert back.status_code == 200, back.text
    assignment = client.get(f"{API}/assignments/{assignment_id}", headers=gaj).json()
    assert assignment["status"] == "returned" and assignment["due_on"] == "2023-03-31"
    todo = client.get(f"{API}/me/assignments", params={"status": "returned", "limit": 500}, headers=gaj).json()
    assert assignment_id in [a["id"] for a in todo["items"]]
    evidence = client.get(f"{API}/evidence/{evidence_id}", headers=gaj).json()
    assert evidence["status"] == "returned"
    events = session.exec(select(OutboxEvent).where(OutboxEvent.kind == "evidence.returned")).all()
    assert [e.data["comment"] for e in events if e.data["evidence_id"] == evidence_id] == ["回头看：制度未实际执行"]
    kinds = [e["action"] for e in audit_entries(client, office, "evidence", evidence_id)]
    assert "evidence.reopen" in kinds
    # past the materials deadline, the unit got a late window until the new due date, so it can answer
    windows = client.get(f"{API}/campaigns/{campaign}/late-windows", headers=office).json()["items"]
    assert max(w["until"] for w in windows if w["unit_id"] == unit) == "2023-04-15"
    answer = client.post(
        f"{API}/evidence/{evidence_id}/versions", json={"kind": "statement", "text": "已补充执行记录"}, headers=gaj
    )
    assert answer.status_code == 201, answer.text
    assert client.get(f"{API}/assignments/{assignment_id}", headers=gaj).json()["status"] == "submitted"
    # confirming the rest; the round counts what was found
    for check in checks.json()["items"]:
        if check["id"] not in (on_item["id"], on_assignment["id"]):
            url = f"{API}/follow-up-checks/{check['id']}"
            assert (
                client.post(url, json={"result": "confirmed", "comment": "属实"}, headers=evaluator).status_code == 200
            )
    summary = client.get(f"{API}/follow-ups/{made.json()['id']}", headers=office).json()
    assert summary["reopened"] == 2 and summary["pending"] == 0 and summary["confirmed"] == summary["sample_size"] - 2
    confirmed = client.get(
        f"{API}/follow-ups/{made.json()['id']}/checks", params={"result": "confirmed"}, headers=office
    ).json()
    assert confirmed["total"] == summary["confirmed"]
    one = client.get(f"{API}/follow-up-checks/{on_item['id']}", headers=office).json()
    assert one["result"] == "reopened" and one["comment"] == reopen["comment"]
    entry = audit_entries(client, office, "follow_up_check", on_item["id"])[0]
    assert entry["action"] == "follow_up.check.reopened" and entry["username"] == "evaluator"
    assert entry["after"]["comment"] == reopen["comment"] and entry["after"]["new_due_on"] == "2023-04-15"
    # what was confirmed stays as it was
    for check in confirmed["items"]:
        if check["target"] == "rectification":
            assert (
                client.get(f"{API}/rectifications/{check['target_id']}", headers=office).json()["status"] == "verified"
            )
        else:
            assert client.get(f"{API}/assignments/{check['target_id']}", headers=office).json()["status"] == "approved"


FOLLOW_UPS = """
query FollowUps($id: Int!, $unit: Int) {
  campaign(id: $id) {
    followUps {
      id seed sampleSize populationSize reopened
      checks(result: REOPENED, first: 20) { totalCount edges { node { target targetId result newDueOn } } }
    }
    rectifications(pool: REOPENED, unitId: $unit, first: 100) { edges { node { id status reopenCount reopenedAt } } }
  }
}
"""


def test_follow_ups_over_graphql(client, app, world) -> None:
    from tests.graphql_kit import gql

    pin_today(app, date(2023, 2, 10))
    office, gaj = world.auth("lc-office"), world.auth("lc-gaj")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_gaj"]
    rid, _ = closed_rectification(client, office, gaj, campaign_id=campaign, unit_id=unit, problem="台账不全")
    made = client.post(
        f"{API}/campaigns/{campaign}/follow-ups",
        json={"name": "图查询", "size": 1, "targets": ["rectification"], "unit_id": unit, "seed": "gql"},
        headers=office,
    ).json()
    check = client.get(f"{API}/follow-ups/{made['id']}/checks", headers=office).json()["items"][0]
    body = {"result": "reopened", "comment": "复查不属实", "due_on": "2023-05-01"}
    assert client.post(f"{API}/follow-up-checks/{check['id']}", json=body, headers=office).status_code == 200
    answer = gql(client, office, FOLLOW_UPS, {"id": campaign, "unit": unit})
    assert "errors" not in answer, answer
    data = answer["data"]["campaign"]
    mine = next(f for f in data["followUps"] if f["id"] == made["id"])
    assert mine["seed"] == "gql" and mine["sampleSize"] == 1 and mine["reopened"] == 1
    assert mine["checks"]["totalCount"] == 1 and [e["node"] for e in mine["checks"]["edges"]] == [
        {"target": "RECTIFICATION", "targetId": check["target_id"], "result": "REOPENED", "newDueOn": "2023-05-01"}
    ]
    reopened = {e["node"]["id"]: e["node"] for e in data["rectifications"]["edges"]}
    assert reopened[check["target_id"]]["status"] == "OPEN" and reopened[check["target_id"]]["reopenCount"] >= 1
    # a unit's liaison never reads the rounds; another county never sees the campaign
    refused = gql(client, gaj, FOLLOW_UPS, {"id": campaign, "unit": unit})
    assert refused["errors"][0]["extensions"]["code"] == "follow_up_not_for_units"
    assert gql(client, world.auth("gp-office"), FOLLOW_UPS, {"id": campaign, "unit": unit})["errors"]
    assert rid
