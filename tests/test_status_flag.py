"""Status as a liaison reads it: the workflow status (未报送/已报送/退回补充/已通过) stays, overdue is a flag
beside it; returned work past its due date is still found as returned, in REST, GraphQL, the board, the
ledger and the .ics feed."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from tests.conftest import pin_today
from tests.evidence_kit import PICKER
from tests.graphql_kit import gql

API = "/api/v1"


def test_returned_past_its_due_date_stays_returned(client, app, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    pin_today(app, date(2023, 2, 20))
    ev = client.post(
        f"{API}/assignments/{a.id}/evidence", json={"kind": "statement", "text": "已落实。"}, headers=liaison
    )
    assert ev.status_code == 201, ev.text
    r = client.post(
        f"{API}/evidence/{ev.json()['id']}/reviews",
        json={"decision": "return", "version": 1, "comment": "请补充会议纪要"},
        headers=office,
    )
    assert r.status_code in (200, 201), r.text
    pin_today(app, date(2023, 3, 1))  # the due date (28 February) has passed
    mine = client.get(f"{API}/assignments/{a.id}", headers=liaison).json()
    assert (mine["status"], mine["overdue"]) == ("returned", True)
    todo = client.get(f"{API}/me/assignments", params={"status": "returned", "limit": 500}, headers=liaison).json()
    assert a.id in [row["id"] for row in todo["items"]] and all(row["status"] == "returned" for row in todo["items"])
    late = client.get(f"{API}/me/assignments", params={"overdue": "true", "limit": 500}, headers=liaison).json()
    assert a.id in [row["id"] for row in late["items"]] and all(row["overdue"] for row in late["items"])
    on_time = client.get(
        f"{API}/me/assignments", params={"status": "returned", "overdue": "false"}, headers=liaison
    ).json()
    assert a.id not in [row["id"] for row in on_time["items"]]
    # The office's list, sorted by status, and the board agree.
    url = f"{API}/campaigns/{a.campaign_id}/assignments"  # the world's, or late in a run another 陵川 campaign's
    returned = client.get(url, params={"status": "returned", "limit": 500}, headers=office).json()
    board = client.get(f"{API}/campaigns/{a.campaign_id}/deadlines", headers=office).json()
    assert board["totals"]["returned"] == returned["total"] >= 1
    by_status = client.get(url, params={"sort": "status", "limit": 500}, headers=office).json()["items"]
    assert {row["status"] for row in by_status} <= {"not_started", "submitted", "returned", "approved"}
    # GraphQL says the same.
    query = """query($id: Int!, $unit: Int!, $after: String) { campaign(id: $id) {
        assignments(first: 100, status: RETURNED, unitId: $unit, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } nodes { id status overdue } } } }"""
    variables = {"id": a.campaign_id, "unit": world.ids["lc_sfj"], "after": None}
    nodes: list[dict] = []
    while True:  # every page: the shared world holds more returned assignments than one page
        got = gql(client, liaison, query, variables)["data"]["campaign"]["assignments"]
        nodes += got["nodes"]
        if not got["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = got["pageInfo"]["endCursor"]
    assert {"id": a.id, "status": "RETURNED", "overdue": True} in nodes
    # The ledger says it in Chinese, with the flag.
    sheet = client.get(
        f"{API}/campaigns/{a.campaign_id}/ledger.xlsx",
        params={"unit_id": world.ids["lc_sfj"]},
        headers=office,
    )
    assert sheet.status_code == 200, sheet.text
    ws = load_workbook(io.BytesIO(sheet.content))["任务分工台账"]
    statuses = {row[6] for row in ws.iter_rows(min_row=3, values_only=True)}
    assert "退回补充（已逾期）" in statuses and not statuses & {"returned", "overdue", "not_started"}
    # The .ics feed too.
    link = client.get(f"{API}/calendar/units/{world.ids['lc_sfj']}/link", headers=liaison).json()["url"]
    feed = client.get(link).text.replace("\r\n ", "")
    assert "当前状态：退回补充（已逾期）" in feed and "returned" not in feed
