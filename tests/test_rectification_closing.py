"""整改销号 through HTTP: a problem closes only on its own unit's standing evidence, accepted by the office; the
office can reopen it with a new due date; the pool keeps it across rounds; each decision is kept and audited."""

from __future__ import annotations

from datetime import date

from tests.conftest import pin_today
from tests.follow_up_kit import API, audit_entries, open_assignment, statement


def test_closing_needs_the_units_evidence_and_reopening_puts_the_item_back(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_sfj"]
    url = f"{API}/campaigns/{campaign}/rectifications"
    rid = client.post(
        url, json={"unit_id": unit, "due_on": "2023-03-31", "problem": "行政复议决定书未按期公开"}, headers=office
    ).json()["id"]
    progress, verify = f"{API}/rectifications/{rid}/progress", f"{API}/rectifications/{rid}/verify"
    reopen = f"{API}/rectifications/{rid}/reopen"
    # done without evidence: refused with a stable code
    bare = client.post(progress, json={"status": "done", "measures": "已在政府网站公开"}, headers=liaison)
    assert bare.status_code == 409 and bare.json()["code"] == "closure_evidence_required"
    # another unit's evidence never attaches
    gaj = world.auth("lc-gaj")
    theirs = statement(client, gaj, open_assignment(client, gaj, campaign)["id"], "公安局的说明")
    foreign = client.post(progress, json={"status": "in_progress", "evidence_ids": [theirs]}, headers=liaison)
    assert foreign.status_code == 422 and foreign.json()["code"] == "evidence_not_yours"
    mine = open_assignment(client, liaison, campaign)["id"]
    ev = statement(client, liaison, mine, "已公开2022年全部行政复议决定书")
    done = client.post(
        progress, json={"status": "done", "measures": "已在政府网站公开", "evidence_ids": [ev]}, headers=liaison
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    # the unit withdraws its evidence: nothing standing to close on
    withdrawn = client.post(f"{API}/evidence/{ev}/versions/1/withdraw", headers=liaison)
    assert withdrawn.status_code == 200, withdrawn.text
    refused = client.post(verify, json={"accept": True}, headers=office)
    assert refused.status_code == 409 and refused.json()["code"] == "closure_evidence_required"
    assert "本单位" in refused.json()["detail"]
    again = client.post(
        f"{API}/evidence/{ev}/versions", json={"kind": "statement", "text": "补充网址截图"}, headers=liaison
    )
    assert again.status_code == 201, again.text
    # only the office closes: the unit itself, the province and an evaluator may not
    for who in ("lc-sfj", "sx-province", "evaluator"):
        assert client.post(verify, json={"accept": True}, headers=world.auth(who)).status_code == 403, who
    assert client.post(verify, json={"accept": True}, headers=world.auth("gp-office")).status_code == 404
    closed = client.post(verify, json={"accept": True, "comment": "核验属实"}, headers=office)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "verified" and closed.json()["evidence_ids"] == [ev]
    # reopening: the office alone, with a comment and a due date not in the past
    body = {"comment": "抽查发现2022年第4季度决定书仍未公开", "due_on": "2023-04-30"}
    for who in ("lc-sfj", "sx-province", "evaluator"):
        assert client.post(reopen, json=body, headers=world.auth(who)).status_code == 403, who
    assert client.post(reopen, json=body, headers=world.auth("gp-office")).status_code == 404
    assert client.post(reopen, json={**body, "comment": ""}, headers=office).status_code == 422
    past = client.post(reopen, json={**body, "due_on": "2023-02-09"}, headers=office)
    assert past.status_code == 422 and past.json()["code"] == "due_date_past"
    reopened = client.post(reopen, json=body, headers=office)
    assert reopened.status_code == 200, reopened.text
    item = reopened.json()
    assert item["status"] == "open" and item["due_on"] == "2023-04-30" and item["reopen_count"] == 1
    assert item["verified_at"] is None and item["evidence_ids"] == [] and item["reopened_at"]
    assert item["office_comment"] == body["comment"]
    assert item["light"] == "none"  # a month to its new date, reopened once: no light yet
    # an open item cannot be reopened again
    assert client.post(reopen, json=body, headers=office).json()["code"] == "rectification_transition"
    # the history keeps every decision, for the unit too
    history = client.get(f"{API}/rectifications/{rid}/history", headers=liaison).json()["items"]
    assert [h["kind"] for h in history] == ["close", "reopen"]
    assert history[0]["evidence_ids"] == [ev] and history[0]["comment"] == "核验属实"
    assert history[1]["evidence_ids"] == [ev] and history[1]["due_on_before"] == "2023-03-31"
    assert history[1]["due_on_after"] == "2023-04-30" and history[1]["status_before"] == "verified"
    assert client.get(f"{API}/rectifications/{rid}/history", headers=gaj).status_code == 404
    # audited: who, when, comment and the evidence ids of each 销号 and reopen
    trail = {e["action"]: e for e in audit_entries(client, office, "rectification", rid)}
    close_entry, reopen_entry = trail["rectification.verify"], trail["rectification.reopen"]
    assert close_entry["username"] == "lc-office" and close_entry["at"]
    assert close_entry["after"]["decision"] == "close" and close_entry["after"]["evidence_ids"] == [ev]
    assert reopen_entry["after"]["office_comment"] == body["comment"] and reopen_entry["after"]["evidence_ids"] == [ev]
    assert reopen_entry["before"]["status"] == "verified" and reopen_entry["after"]["due_on"] == "2023-04-30"
    # back in the unit's hands: it closes again on evidence attached anew
    assert client.post(progress, json={"status": "done"}, headers=liaison).json()["code"] == "closure_evidence_required"
    redone = client.post(progress, json={"status": "done", "evidence_ids": [ev]}, headers=liaison)
    assert redone.status_code == 200, redone.text
    # a done item can be reopened too (the office saw it is not finished before closing it)
    again = client.post(reopen, json={**body, "due_on": "2023-05-15"}, headers=office).json()
    # reopened twice: 黄 by the campaign's rules (a reopen counts as a return does for an assignment), far from its date
    assert (again["reopen_count"], again["light"]) == (2, "yellow")
    assert [h["kind"] for h in client.get(f"{API}/rectifications/{rid}/history", headers=office).json()["items"]][
        -1
    ] == "reopen"


def test_the_problem_pool_keeps_open_items_across_rounds(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    campaign, unit = world.ids["lc_campaign"], world.ids["lc_sfj"]
    url = f"{API}/campaigns/{campaign}/rectifications"
    rid = client.post(
        url, json={"unit_id": unit, "due_on": "2023-02-20", "problem": "执法人员持证率未达标"}, headers=office
    ).json()["id"]

    def pool(who: dict[str, str], **params: object) -> list[int]:
        r = client.get(url, params={"limit": 500, **params}, headers=who)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert rid in pool(office, pool="open") and rid not in pool(office, pool="closed")
    assert rid not in pool(office, pool="reopened") and rid in pool(office, pool="open", unit_id=unit)
    assert rid not in pool(office, pool="open", unit_id=world.ids["lc_gaj"])
    # a scoring round opened later changes nothing: problems belong to the campaign, not to a round
    rnd = client.post(f"{API}/campaigns/{campaign}/rounds", json={"name": "第二轮初审"}, headers=office)
    assert rnd.status_code == 201, rnd.text
    assert rid in pool(office, pool="open") and rid in pool(liaison, pool="open")
    assert rid not in pool(world.auth("lc-gaj"), pool="open")
    assert client.get(url, params={"pool": "shut"}, headers=office).status_code == 422
    # the pool counted per unit: the liaison sees only its own unit's line, the office every unit's
    pin_today(app, date(2023, 2, 21))
    rows = client.get(f"{API}/campaigns/{campaign}/problem-pool", headers=office).json()["items"]
    sfj = next(r for r in rows if r["unit_id"] == unit)
    assert sfj["unit_name"] == "县司法局" and sfj["open"] >= 1 and sfj["overdue"] >= 1
    own = client.get(f"{API}/campaigns/{campaign}/problem-pool", headers=liaison).json()["items"]
    assert [r["unit_id"] for r in own] == [unit] and own[0] == sfj
    assert client.get(f"{API}/campaigns/{campaign}/problem-pool", headers=world.auth("gp-office")).status_code == 404
    assert client.get(f"{API}/campaigns/{campaign}/problem-pool", headers=world.auth("sx-province")).status_code == 200
