"""The rectification list (回头看 问题清单) through HTTP: from an evaluator's finding to verified closure."""

from __future__ import annotations

from datetime import date

from tests.conftest import pin_today

API = "/api/v1"


def test_finding_becomes_a_rectification_verified_by_the_office(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    campaign = world.ids["lc_campaign"]
    mine = client.get(f"{API}/me/assignments", params={"limit": 5}, headers=liaison).json()["items"][0]
    rnd = client.post(f"{API}/campaigns/{campaign}/rounds", json={"name": "回头看"}, headers=office).json()
    score = client.post(
        f"{API}/rounds/{rnd['id']}/scores",
        json={"scores": [{"item_id": mine["item_id"], "points": 0.5, "finding": "执法案卷缺少法制审核意见"}]},
        headers=world.auth("evaluator"),
    ).json()[0]
    url = f"{API}/campaigns/{campaign}/rectifications"
    body = {"unit_id": world.ids["lc_sfj"], "due_on": "2023-03-31", "from_score_id": score["id"]}
    assert client.post(url, json=body, headers=liaison).status_code == 403
    created = client.post(url, json=body, headers=office)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["problem"] == "执法案卷缺少法制审核意见" and item["item_id"] == mine["item_id"]
    assert item["status"] == "open" and item["source"] == "score"
    rid = item["id"]
    # The unit sees only its own items; the office cannot report the unit's work.
    assert rid in [r["id"] for r in client.get(url, headers=liaison).json()["items"]]
    assert rid not in [r["id"] for r in client.get(url, headers=world.auth("lc-gaj")).json()["items"]]
    assert client.get(f"{API}/rectifications/{rid}", headers=world.auth("lc-gaj")).status_code == 404
    progress = f"{API}/rectifications/{rid}/progress"
    assert client.post(progress, json={"status": "done"}, headers=office).status_code == 403
    no_measures = client.post(progress, json={"status": "done"}, headers=liaison)
    assert no_measures.status_code == 422 and no_measures.json()["code"] == "measures_required"
    ev = client.post(
        f"{API}/assignments/{mine['id']}/evidence",
        json={"kind": "statement", "text": "已补充法制审核意见书"},
        headers=liaison,
    ).json()
    foreign = client.post(progress, json={"status": "in_progress", "evidence_ids": [10_000_000]}, headers=liaison)
    assert foreign.status_code == 422 and foreign.json()["code"] == "evidence_not_yours"
    done = client.post(
        progress,
        json={"status": "done", "measures": "逐卷补充法制审核意见", "evidence_ids": [ev["id"]]},
        headers=liaison,
    )
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["evidence_ids"] == [ev["id"]]
    verify = f"{API}/rectifications/{rid}/verify"
    assert client.post(verify, json={"accept": False}, headers=office).json()["code"] == "comment_required"
    back = client.post(verify, json={"accept": False, "comment": "缺2022年3件"}, headers=office).json()
    assert back["status"] == "in_progress" and back["office_comment"] == "缺2022年3件"
    assert client.post(verify, json={"accept": True}, headers=office).json()["code"] == "rectification_transition"
    client.post(progress, json={"status": "done"}, headers=liaison)
    assert client.post(verify, json={"accept": True}, headers=liaison).status_code == 403
    closed = client.post(verify, json={"accept": True}, headers=office).json()
    assert closed["status"] == "verified" and closed["verified_at"]
    again = client.post(progress, json={"status": "in_progress"}, headers=liaison)
    assert again.status_code == 409
    trail = client.get(f"{API}/audit", params={"object_type": "rectification", "object_id": rid}, headers=office).json()
    actions = [e["action"] for e in trail["items"]]
    assert actions.count("rectification.verify") == 2 and "rectification.create" in actions


def test_rectification_overdue_and_input_errors(client, app, world) -> None:
    office = world.auth("lc-office")
    url = f"{API}/campaigns/{world.ids['lc_campaign']}/rectifications"
    body = {"unit_id": world.ids["lc_gaj"], "due_on": "2023-03-10", "problem": "政务公开栏目未及时更新"}
    rid = client.post(url, json=body, headers=office).json()["id"]
    pin_today(app, date(2023, 3, 11))
    assert client.get(f"{API}/rectifications/{rid}", headers=office).json()["overdue"] is True
    assert client.post(url, json={**body, "problem": "  "}, headers=office).json()["code"] == "problem_required"
    assert client.post(url, json={**body, "unit_id": world.ids["gp_sfj"]}, headers=office).status_code == 404
    assert client.post(url, json={**body, "from_score_id": 10_000_000}, headers=office).status_code == 404
    assert client.post(url, json=body, headers=world.auth("gp-office")).status_code == 404
    listed = client.get(url, params={"status": "open", "unit_id": world.ids["lc_gaj"]}, headers=office).json()["items"]
    assert rid in [r["id"] for r in listed]
    assert client.get(url, headers=world.auth("sx-province")).status_code == 200
