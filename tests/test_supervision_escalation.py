"""Escalation (issue 25, points 2 and 3): a unit ignores an item until it turns 黄 and then 红; the scan gives each
card once (run twice, or on two threads at once), its events reach a real webhook receiver on loopback once, a red
card issues a numbered 督办单 (〔2023〕第N号, per county and year) as a .docx on the office's own template, the unit
answers with a 回执, an unanswered one is escalated again after N working days, and the ranking shows every
deduction with its reason — on JSON, .xlsx and GraphQL; with the refusals of everyone else."""

from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import text as sql

from app.db import session_scope
from app.models._base import utcnow
from app.services.notifications import delivery
from app.services.supervision import escalation, notices
from tests.conftest import pin_today
from tests.graphql_kit import gql
from tests.supervision_kit import API, LEADER, District, build, office_receiver, set_due

pytestmark = pytest.mark.usefixtures("retire_webhooks")


@pytest.fixture(scope="module")
def district(app, world):
    yield from build(app, world, "督办县")


@pytest.fixture
def receiver(client, district: District, monkeypatch):
    yield from office_receiver(client, district, monkeypatch)


def _scan(district: District, day: date) -> int:
    with session_scope() as s:
        return escalation.scan(s, today=day, campaign_ids=[district.campaign_id])


def _deliver_all() -> None:
    far = utcnow() + timedelta(days=1)
    with httpx.Client(timeout=5) as http:
        while delivery.run_once(client=http, now=far)["claimed"]:
            pass


def _template() -> bytes:
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "督办县委全面依法治县委员会办公室（红头）"
    doc.add_paragraph("模板正文，不会出现在督办单中")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_unit_ignores_an_item_until_red(client, app, world, district, receiver) -> None:
    office, sfj, gaj = district.auth("office"), district.auth("sfj"), district.auth("gaj")
    pin_today(app, date(2023, 9, 20))
    ignored = district.assignments(district.sfj)[0]
    other = district.assignments(district.gaj)[0]
    set_due(client, district, ignored, date(2023, 9, 27))
    set_due(client, district, other, date(2023, 9, 15))
    _deliver_all()  # what the shared world left pending is no concern of this test
    receiver.processed.clear()
    receiver.requests.clear()

    # 10/9: the ignored item is 4 working days late (yellow); the 县公安局's is 11 (red at once)
    assert _scan(district, date(2023, 10, 9)) == 2
    assert _scan(district, date(2023, 10, 9)) == 0  # the same change, nothing new
    # 10/11: 6 working days late: red, with the county's second 督办单 of 2023
    assert _scan(district, date(2023, 10, 11)) == 1
    assert _scan(district, date(2023, 10, 11)) == 0
    _deliver_all()
    sent = list(receiver.processed.values())
    kinds = Counter(b["type"] for b in sent)
    assert kinds == {"supervision.yellow": 1, "supervision.red": 2}, kinds
    ids = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 3  # each event reached the receiver once
    yellow = next(b["data"] for b in sent if b["type"] == "supervision.yellow")
    assert yellow["assignment_id"] == ignored and yellow["light"] == "yellow" and yellow["overdue_workdays"] == 4
    assert yellow["liaisons"] == [district.names["sfj"]] and yellow["leader_contact"] == LEADER
    reds = sorted((b["data"] for b in sent if b["type"] == "supervision.red"), key=lambda d: d["notice_number"])
    assert [(d["unit_id"], d["notice_number"]) for d in reds] == [
        (district.gaj, "〔2023〕第1号"),
        (district.sfj, "〔2023〕第2号"),
    ]
    assert reds[1]["acknowledge_by"] == "2023-10-16"  # 3 working days after Wednesday 10/11

    # the 督办单, as the office and the unit see them; the 县公安局 sees only its own
    listed = client.get(f"{API}/campaigns/{district.campaign_id}/notices", headers=office).json()["items"]
    assert [(n["number_label"], n["unit_id"]) for n in listed] == [
        ("〔2023〕第1号", district.gaj),
        ("〔2023〕第2号", district.sfj),
    ]
    notice = listed[1]
    assert notice["card"]["light"] == "red" and notice["card"]["item_label"].startswith("第")
    own = client.get(f"{API}/campaigns/{district.campaign_id}/notices", headers=gaj).json()["items"]
    assert [n["unit_id"] for n in own] == [district.gaj]

    # the .docx, first in the house style, then on the office's own template (its letterhead kept, body dropped)
    url = f"{API}/notices/{notice['id']}/document.docx"
    plain = client.get(url, headers=sfj)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in Document(io.BytesIO(plain.content)).paragraphs)
    assert "〔2023〕第2号" in text and "县司法局：" in text and "2023-10-16" in text
    template = f"{API}/campaigns/{district.campaign_id}/notice-template"
    assert client.put(template, files={"file": ("x.docx", b"not a docx", "application/octet-stream")},
                      headers=office).status_code == 422  # fmt: skip
    assert client.put(template, files={"file": ("红头.docx", _template(), "application/octet-stream")},
                      headers=sfj).status_code == 403  # fmt: skip
    letterhead = _template()
    r = client.put(template, files={"file": ("红头.docx", letterhead, "application/octet-stream")}, headers=office)
    assert r.status_code == 204, r.text
    styled = Document(io.BytesIO(client.get(url, headers=sfj).content))
    assert "（红头）" in styled.sections[0].header.paragraphs[0].text
    assert not any("模板正文" in p.text for p in styled.paragraphs)
    assert client.get(f"{template}.docx", headers=office).content == letterhead
    assert client.get(f"{template}.docx", headers=sfj).status_code == 403
    assert client.delete(template, headers=office).status_code == 204
    house = client.get(f"{template}.docx", headers=office)
    assert house.status_code == 200 and house.content != letterhead
    assert client.delete(template, headers=office).json()["code"] == "notice_template_not_found"

    # 回执: only the unit's own liaison, once, with a date not in the past
    receipt = f"{API}/notices/{notice['id']}/receipt"
    body = {"planned_completion_on": "2023-10-31", "reply": "已召开专题会议，10月底前补齐材料"}
    pin_today(app, date(2023, 10, 12))
    for who, headers, code in (
        ("another unit", gaj, 404),
        ("the office", office, 403),
        ("another county", world.auth("gp-office"), 404),
        ("a province", world.auth("sx-province"), 403),
        ("an evaluator", world.auth("evaluator"), 403),
        ("another county's liaison", world.auth("lc-sfj"), 404),
    ):
        r = client.post(receipt, json=body, headers=headers)
        assert r.status_code == code and r.headers["content-type"] == "application/problem+json", (who, r.text)
    late = client.post(receipt, json={**body, "planned_completion_on": "2023-10-01"}, headers=sfj)
    assert late.status_code == 422 and late.json()["code"] == "planned_date_past"
    assert (
        client.post(receipt, json={"planned_completion_on": "2023-10-31", "reply": ""}, headers=sfj).status_code == 422
    )
    answered = client.post(receipt, json=body, headers=sfj)
    assert answered.status_code == 200, answered.text
    assert answered.json()["planned_completion_on"] == "2023-10-31" and answered.json()["acknowledged_at"]
    with session_scope() as s:  # answered late in the evening UTC: the next day in the county
        s.execute(sql("UPDATE supervision_notice SET acknowledged_at = :at WHERE id = :n"),
                  {"at": datetime(2023, 10, 12, 17, 30, tzinfo=UTC), "n": notice["id"]})  # fmt: skip
    again = client.post(receipt, json=body, headers=sfj)
    assert again.status_code == 409 and again.json()["code"] == "notice_acknowledged"
    assert "已于 2023-10-13 回执" in again.json()["detail"], again.json()

    # the 县公安局's notice of Monday 10/9 has no 回执 three working days later (10/12): escalated again, once;
    # again three working days after that (10/17); the answered one never
    assert _scan(district, date(2023, 10, 11)) == 0
    assert _scan(district, date(2023, 10, 12)) == 1
    assert _scan(district, date(2023, 10, 12)) == 0
    assert _scan(district, date(2023, 10, 16)) == 0
    assert _scan(district, date(2023, 10, 17)) == 1
    _deliver_all()
    kinds = Counter(b["type"] for b in receiver.processed.values())
    assert kinds == {
        "supervision.yellow": 1, "supervision.red": 2, "supervision.acknowledged": 1, "supervision.escalated": 2,
    }, kinds  # fmt: skip
    escalated = sorted(
        b["data"]["escalations"] for b in receiver.processed.values() if b["type"] == "supervision.escalated"
    )
    assert escalated == [1, 2]
    assert len(receiver.requests) == len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 6
    unanswered = client.get(
        f"{API}/campaigns/{district.campaign_id}/notices", params={"unanswered": "true"}, headers=office
    ).json()["items"]
    assert [(n["unit_id"], n["escalations"]) for n in unanswered] == [(district.gaj, 2)]


def test_the_ranking_shows_why(client, app, world, district) -> None:
    office = district.auth("office")
    url = f"{API}/campaigns/{district.campaign_id}/units/ranking"
    ranked = client.get(url, headers=office)
    assert ranked.status_code == 200, ranked.text
    assert ranked.json()["total"] == 2
    rows = {r["unit_id"]: r for r in ranked.json()["items"]}
    gaj, sfj = rows[district.gaj], rows[district.sfj]
    # the 县公安局 went red at once (−2); the 县司法局 was yellow (−1) and then red (−2)
    assert (gaj["rank"], gaj["deducted"], gaj["red_cards"], gaj["yellow_cards"]) == (1, 2, 1, 0)
    assert (sfj["rank"], sfj["deducted"], sfj["red_cards"], sfj["yellow_cards"]) == (2, 3, 1, 1)
    assert [(d["light"], d["points"], d["issued_on"]) for d in sfj["deductions"]] == [
        ("yellow", 1.0, "2023-10-09"),
        ("red", 2.0, "2023-10-11"),
    ]
    assert sfj["deductions"][0]["item_label"] == sfj["deductions"][1]["item_label"]
    assert sfj["deductions"][0]["due_on"] == "2023-09-27" and sfj["deductions"][0]["subject"] == "assignment"
    # as a spreadsheet, by ?format= or by Accept
    for params, headers in (({"format": "xlsx"}, office), ({}, {**office, "Accept": ranking_type()})):
        r = client.get(url, params=params, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == ranking_type(), r.text[:200]
        wb = load_workbook(io.BytesIO(r.content))
        top = list(wb["单位排名"].iter_rows(min_row=3, values_only=True))
        assert [(row[0], row[1], row[4]) for row in top] == [(1, "县公安局", -2), (2, "县司法局", -3)]
        detail = list(wb["扣分明细"].iter_rows(min_row=3, values_only=True))
        assert sorted((row[0], row[1], row[6]) for row in detail) == [
            ("县公安局", "红牌", -2), ("县司法局", "红牌", -2), ("县司法局", "黄牌", -1),
        ]  # fmt: skip
    # GraphQL
    body = gql(client, office, "query($id: Int!) { campaign(id: $id) { unitRanking { rank unitName deducted "
               "deductions { light itemLabel points issuedOn } } } }", {"id": district.campaign_id})  # fmt: skip
    assert "errors" not in body, body
    assert [(r["rank"], r["unitName"], r["deducted"]) for r in body["data"]["campaign"]["unitRanking"]] == [
        (1, "县公安局", 2.0), (2, "县司法局", 3.0),
    ]  # fmt: skip
    # the ranking is the office's: a liaison, a province and another county are refused
    for headers, code in (
        (district.auth("sfj"), 403),
        (world.auth("sx-province"), 403),
        (world.auth("gp-office"), 404),
    ):
        r = client.get(url, headers=headers)
        assert r.status_code == code and r.headers["content-type"] == "application/problem+json"


def ranking_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_numbers_are_never_given_twice(district) -> None:
    """Eight scans taking numbers at once, in transactions of their own: eight different numbers."""
    taken: list[int] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            with session_scope() as s:
                taken.append(notices.next_number(s, county_id=district.county_id, year=2031))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(taken) == list(range(1, 9))


def test_a_campaign_over_gives_no_cards_but_work_reopened_past_its_end_does(client, app, district) -> None:
    """The district's campaign ends on 2023-12-31 (its materials deadline, after its last phase): a problem due
    within it is not carded in January, one the office dated past the end is (and its 督办单 numbered in 2024)."""
    office = district.auth("office")
    url = f"{API}/campaigns/{district.campaign_id}/rectifications"
    pin_today(app, date(2023, 12, 1))
    inside, past = (
        client.post(url, json={"unit_id": district.gaj, "due_on": due, "problem": f"结束后检查{due}"}, headers=office)
        for due in ("2023-12-15", "2024-01-02")
    )
    assert inside.status_code == past.status_code == 201, inside.text
    made = _scan(district, date(2024, 1, 22))  # both are red by the date alone (over 5 working days late)
    assert made == 1
    with session_scope() as s:
        from sqlmodel import select

        from app.models import SupervisionCard

        cards = s.exec(
            select(SupervisionCard.subject_id, SupervisionCard.light).where(
                SupervisionCard.subject == "rectification",
                SupervisionCard.campaign_id == district.campaign_id,
                SupervisionCard.issued_on == date(2024, 1, 22),
            )
        ).all()
    assert cards == [(past.json()["id"], "red")]
    assert _scan(district, date(2024, 1, 22)) == 0
