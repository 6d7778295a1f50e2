"""The date a document speaks for, through HTTP (issue 26, point 5): a campaign states its assessment period (考核期);
a version carries its document date (成文日期/发生日期) and optionally the period it covers, entered at upload or
confirmed/changed later (PATCH); the worker suggests one from the file (the first date in its words, a PDF's
CreationDate, a photo's EXIF); evidence outside the period is flagged, never refused, in REST, GraphQL, the ledger
and the evidence package's index; a date in an impossible format is refused in Chinese."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from app.services.storage import LocalStore
from app.services.worker import texts
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, Picker, pdf, upload
from tests.graphql_kit import gql
from tests.photo_kit import jpeg
from tests.search_kit import chinese_pdf

PERIOD = {"assessment_start": "2022-01-01", "assessment_end": "2022-12-31"}
OWN: dict = {}  # a campaign of these tests' own in 陵川 (its period must not touch the world's campaign)


@pytest.fixture
def own(app, client, world, session, tmp_path):
    """This module's launched campaign with its assessment period, on a day uploads are open, a local store."""
    from app.api import deps

    pin_today(app, date(2023, 2, 10))
    store = LocalStore(tmp_path / "objects")
    store.ensure_ready()
    use_store(app, store)
    if not OWN:
        from sqlmodel import select

        from app.models import Campaign, User
        from tests.world import launched_campaign

        framework_id = session.get(Campaign, world.ids["lc_campaign"]).framework_id
        made = launched_campaign(session, county_id=world.ids["lc_county"], framework_id=framework_id, name="日期测试")
        session.commit()
        evaluator = session.exec(select(User).where(User.username == "evaluator")).one()
        r = client.post(
            f"{API}/campaigns/{made.id}/evaluators", json={"user_id": evaluator.id}, headers=world.auth("lc-office")
        )
        assert r.status_code in (200, 201, 204), r.text
        r = client.put(f"{API}/campaigns/{made.id}/assessment-period", json=PERIOD, headers=world.auth("lc-office"))
        assert r.status_code == 200, r.text
        OWN.update(campaign=made.id, picker=Picker(made.id))
    yield {**OWN, "store": store}
    app.dependency_overrides.pop(deps._store, None)


def _send(client, world, session, own, data: bytes, name: str, **params) -> dict:
    target = own["picker"].assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), target.id, data, name, **params)
    assert r.status_code == 201, r.text
    return r.json()


def _current(client, headers, evidence_id: int) -> dict:
    r = client.get(f"{API}/evidence/{evidence_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["current"]


def test_the_office_states_the_assessment_period_and_only_the_office(client, world, own) -> None:
    campaign = own["campaign"]
    shown = client.get(f"{API}/campaigns/{campaign}", headers=world.auth("lc-sfj")).json()
    assert (shown["assessment_start"], shown["assessment_end"]) == ("2022-01-01", "2022-12-31")
    url = f"{API}/campaigns/{campaign}/assessment-period"
    assert client.put(url, json=PERIOD, headers=world.auth("lc-sfj")).status_code == 403
    assert client.put(url, json=PERIOD, headers=world.auth("gp-office")).status_code == 404
    backwards = {"assessment_start": "2022-12-31", "assessment_end": "2022-01-01"}
    r = client.put(url, json=backwards, headers=world.auth("lc-office"))
    assert r.status_code == 422 and r.json()["code"] == "assessment_period_invalid"
    r = client.put(url, json={"assessment_start": "2022-13-01", "assessment_end": "2022-12-31"},
                   headers=world.auth("lc-office"))  # fmt: skip
    assert r.status_code == 422
    data = gql(client, world.auth("lc-office"), f"{{ campaign(id: {campaign}) {{ assessmentStart assessmentEnd }} }}")
    assert data["data"]["campaign"] == {"assessmentStart": "2022-01-01", "assessmentEnd": "2022-12-31"}


@pytest.mark.parametrize("bad", ["2023-02-30", "2023/13/01", "2023年3月5日", "05-03-2023", "yesterday"])
def test_a_date_in_an_impossible_format_is_refused_in_chinese(client, world, session, own, bad) -> None:
    target = own["picker"].assignment(session, world.ids["lc_sfj"])
    liaison = world.auth("lc-sfj")
    as_field = client.post(
        f"{API}/assignments/{target.id}/evidence/file",
        files={"file": ("方案.pdf", pdf(), "application/pdf")},
        data={"document_date": bad},
        headers=liaison,
    )
    as_query = upload(client, liaison, target.id, pdf(), "方案.pdf", document_date=bad)
    as_json = client.post(
        f"{API}/assignments/{target.id}/evidence",
        json={"kind": "statement", "text": "情况说明", "document_date": bad},
        headers=liaison,
    )
    for r in (as_field, as_query, as_json):
        assert r.status_code == 422, r.text
        problem = r.json()
        wrong = [e for e in problem["errors"] if str(e["loc"]).endswith("document_date")]
        assert wrong and all(any("\u4e00" <= ch <= "\u9fff" for ch in e["msg"]) for e in wrong), problem
    listed = client.get(f"{API}/assignments/{target.id}/evidence", headers=liaison).json()
    assert listed["total"] == 0  # nothing was recorded

    made = _send(client, world, session, own, pdf(), "通知.pdf")
    r = client.patch(f"{API}/evidence/{made['id']}/versions/1", json={"document_date": bad}, headers=liaison)
    assert r.status_code == 422
    assert _current(client, liaison, made["id"])["document_date"] is None


def test_evidence_outside_the_period_is_flagged_never_refused(client, world, session, own) -> None:
    outside = _send(client, world, session, own, pdf(), "旧方案.pdf", title="期外资料", document_date="2021-06-30")
    inside = _send(client, world, session, own, pdf(), "新方案.pdf", title="期内资料", document_date="2022-06-30")
    covering = _send(client, world, session, own, pdf(), "年度报告.pdf", title="年度总结", document_date="2023-01-20",
                     period_start="2022-01-01", period_end="2022-12-31")  # fmt: skip
    assert outside["current"]["outside_period"] is True  # accepted, and flagged at once
    office, evaluator = world.auth("lc-office"), world.auth("evaluator")
    for who in (office, evaluator):
        assert _current(client, who, outside["id"])["outside_period"] is True
        assert _current(client, who, inside["id"])["outside_period"] is False
        covered = _current(client, who, covering["id"])  # written in January, speaks for the year before
        assert (covered["outside_period"], covered["period_start"], covered["period_end"]) == (
            False,
            "2022-01-01",
            "2022-12-31",
        )
    listed = client.get(f"{API}/campaigns/{own['campaign']}/evidence", params={"limit": 500}, headers=office).json()
    flags = {e["id"]: e["current"]["outside_period"] for e in listed["items"]}
    assert (flags[outside["id"]], flags[inside["id"]]) == (True, False)

    query = "query($id: Int!) { evidence(id: $id) { current { documentDate outsidePeriod } } }"
    data = gql(client, evaluator, query, {"id": outside["id"]})["data"]
    assert data["evidence"]["current"] == {"documentDate": "2021-06-30", "outsidePeriod": True}

    # the ledger counts the flagged evidence of each assignment
    r = client.get(f"{API}/campaigns/{own['campaign']}/ledger.xlsx", headers=office)
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content))["任务分工台账"]
    header = [c.value for c in ws[2]]
    assert header[-1] == "考核期外资料"
    pieces = header.index("资料份数")
    counts = [row[-1].value for row in ws.iter_rows(min_row=3) if row[pieces].value]  # rows with evidence
    assert [c for c in counts if c] == [1] and counts.count(0) >= 2  # this module's other evidence: inside or undated


def test_the_unit_confirms_or_changes_the_date_and_only_the_unit(client, world, session, own) -> None:
    made = _send(client, world, session, own, pdf(), "纪要.pdf", document_date="2021-12-31")
    url = f"{API}/evidence/{made['id']}/versions/1"
    assert made["current"]["outside_period"] is True
    r = client.patch(url, json={"document_date": "2022-01-05"}, headers=world.auth("lc-sfj"))
    assert r.status_code == 200, r.text
    assert (r.json()["current"]["document_date"], r.json()["current"]["outside_period"]) == ("2022-01-05", False)
    refused = {
        "lc-office": 403,  # the office reviews; it does not date a unit's documents
        "evaluator": 403,
        "lc-gaj": 404,  # another unit cannot see it
        "gp-office": 404,
    }
    for who, status in refused.items():
        r = client.patch(url, json={"document_date": "2020-01-01"}, headers=world.auth(who))
        assert r.status_code == status, (who, r.text)
    half = client.patch(url, json={"period_start": "2022-01-01"}, headers=world.auth("lc-sfj"))
    assert half.status_code == 422 and "同时填写" in half.text
    assert _current(client, world.auth("lc-office"), made["id"])["document_date"] == "2022-01-05"
    missing = client.patch(f"{API}/evidence/{made['id']}/versions/9", json={}, headers=world.auth("lc-sfj"))
    assert missing.status_code == 404


def test_the_worker_suggests_a_date_from_the_words_or_the_photo_and_the_flag_follows_it(
    client, world, session, own
) -> None:
    decision = chinese_pdf("陵川县司法局行政复议决定书", "本机关于二〇二一年三月五日受理申请人的行政复议申请。")
    written = _send(client, world, session, own, decision, "决定书.pdf", title="复议决定")
    photo = _send(client, world, session, own, jpeg(), "现场.jpg", title="现场照片")
    assert written["current"]["suggested_document_date"] is None  # the worker reads it afterwards
    while texts.run_once(own["store"], limit=50)["read"]:  # the worker's search-text lane, on this store
        pass
    office = world.auth("lc-office")
    found = _current(client, office, written["id"])
    assert (found["suggested_document_date"], found["suggested_from"], found["document_date"]) == (
        "2021-03-05",
        "text",
        None,
    )
    assert found["outside_period"] is True  # by the suggestion, until the unit confirms a date
    snapped = _current(client, office, photo["id"])
    assert (snapped["suggested_document_date"], snapped["suggested_from"]) == ("2023-03-05", "exif")

    # confirming the suggestion is sending it back; the package index shows the date and the flag
    r = client.patch(f"{API}/evidence/{written['id']}/versions/1", json={"document_date": "2021-03-05"},
                     headers=world.auth("lc-sfj"))  # fmt: skip
    assert r.status_code == 200 and r.json()["current"]["document_date"] == "2021-03-05"
    approved = client.post(f"{API}/evidence/{written['id']}/reviews", json={"decision": "approve", "version": 1},
                           headers=office)  # fmt: skip
    assert approved.status_code == 201, approved.text
    r = client.get(f"{API}/campaigns/{own['campaign']}/evidence-package.zip", headers=office)
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(zipfile.ZipFile(io.BytesIO(r.content)).read("index.xlsx"))).active
    header = [c.value for c in ws[2]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]
    row = next(r for r in rows if r["资料标题"] == "复议决定")
    assert (str(row["成文日期"])[:10], row["考核期外"]) == ("2021-03-05", "是")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("陵政发〔2023〕5号 关于……的通知 2023年3月5日", date(2023, 3, 5)),
        ("印发日期：2023-03-05，2024-01-01 修订", date(2023, 3, 5)),
        ("二〇二三年十二月三十一日", date(2023, 12, 31)),
        ("落款 二〇二三年三月五日，抄送 2024年1月2日", date(2023, 3, 5)),  # the first written, whichever the form
        ("２０２３年３月５日", date(2023, 3, 5)),  # full-width digits
        ("2023 年 3 月 5 日", date(2023, 3, 5)),  # spaces an OCR leaves
        ("2023年2月30日 2023年3月1日", date(2023, 3, 1)),  # no such day: the next real one
        ("第2023号 电话 0356-1234567", None),
    ],
)
def test_the_first_date_written_in_the_words(text: str, expected: date | None) -> None:
    from app.services.search import dates

    assert dates.first_date(text) == expected
