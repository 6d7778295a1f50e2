"""Evidence search in Chinese (issue 17, point 2), through HTTP and GraphQL: the worker reads the words of
each new version (never the request), jieba segments them, and a search finds 行政复议 inside
行政复议决定书 in a real PDF, DOCX, XLSX and OFD, scoped like evidence reads; a scan is marked 无文本层."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import pin_today
from tests.evidence_kit import API, Picker, pdf, upload
from tests.graphql_kit import gql
from tests.search_kit import chinese_pdf, docx, ofd, read_everything, scanned_pdf, xlsx

BODY = ("陵川县司法局", "关于张某不服县市场监管局行政处罚一案，本机关依法作出行政复议决定书，维持原具体行政行为。")


# The search tests hand out a dozen assignments: a campaign of their own in 陵川 (same framework, same February
# 2023 submission phase as the world's), so the world's campaign keeps its items for the tests that need it.
OWN: dict = {}


@pytest.fixture(autouse=True)
def _during_submission(app, client, world, session) -> None:
    pin_today(app, date(2023, 2, 10))
    if not OWN:
        from app.models import Campaign
        from tests.world import launched_campaign

        framework_id = session.get(Campaign, world.ids["lc_campaign"]).framework_id
        made = launched_campaign(session, county_id=world.ids["lc_county"], framework_id=framework_id, name="检索测试")
        session.commit()
        from sqlmodel import select

        from app.models import User

        evaluator = session.exec(select(User).where(User.username == "evaluator")).one()  # engaged as in the world's
        engaged = client.post(
            f"{API}/campaigns/{made.id}/evaluators", json={"user_id": evaluator.id}, headers=world.auth("lc-office")
        )
        assert engaged.status_code in (200, 201, 204), engaged.text
        OWN.update(campaign=made.id, picker=Picker(made.id))


def _search(client, headers, campaign_id: int, q: str, **params):
    return client.get(f"{API}/campaigns/{campaign_id}/evidence/search", params={"q": q, **params}, headers=headers)


def _hits(client, headers, campaign_id: int, q: str) -> dict[int, dict]:
    r = _search(client, headers, campaign_id, q, limit=500)
    assert r.status_code == 200, r.text
    return {h["evidence_id"]: h for h in r.json()["items"]}


def test_a_chinese_pdf_is_found_by_a_word_of_its_body_once_the_worker_has_read_it(client, world, session) -> None:
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), a.id, chinese_pdf(*BODY), "scan-0001.pdf", title="材料一")
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    campaign = OWN["campaign"]
    # the request only stored the file: its words are read by the worker, afterwards
    assert evidence_id not in _hits(client, world.auth("lc-office"), campaign, "行政复议")
    assert read_everything().get("done", 0) >= 1

    hits = _hits(client, world.auth("lc-office"), campaign, "行政复议")
    hit = hits[evidence_id]
    assert "<mark>行政复议</mark>决定书" in hit["snippet"]
    assert hit["snippet"].startswith("…") or "陵川县司法局" in hit["snippet"]
    assert (hit["unit_id"], hit["unit_name"], hit["version"]) == (world.ids["lc_sfj"], "县司法局", 1)
    assert (hit["assignment_id"], hit["item_id"]) == (a.id, a.item_id)
    assert hit["item_number"] is not None
    assert (hit["text_status"], hit["text_status_label"], hit["kind"]) == ("done", "已读取", "file")
    # every word must be there: 复议决定 and 行政处罚 both are; 行政复议 with 表彰 is not
    assert evidence_id in _hits(client, world.auth("lc-office"), campaign, "复议决定 行政处罚")
    assert evidence_id not in _hits(client, world.auth("lc-office"), campaign, "行政复议 表彰")


def test_docx_xlsx_ofd_statements_and_addresses_are_found(client, world, session) -> None:
    headers = world.auth("lc-sfj")
    files = {
        "docx": (docx("关于开展规范性文件合法性审核工作的通知", "各乡镇人民政府："), "通知.docx"),
        "xlsx": (xlsx([["序号", "案件名称", "办理结果"], [1, "规范性文件合法性审核台账", "已办结"]]), "台账.xlsx"),
        "ofd": (ofd("县人民政府", "规范性文件合法性审核意见书"), "意见书.ofd"),
    }
    made: dict[str, int] = {}
    for kind, (raw, name) in files.items():
        a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
        r = upload(client, headers, a.id, raw, name, title=f"附件{kind}")
        assert r.status_code == 201, r.text
        made[kind] = r.json()["id"]
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{a.id}/evidence",
        json={"kind": "statement", "text": "本单位已建立合法性审核机制，配备法律顾问两名。"},
        headers=headers,
    )
    made["statement"] = r.json()["id"]
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{a.id}/evidence",
        json={"kind": "url", "url": "https://www.lingchuan.gov.cn/zwgk/123.html", "title": "合法性审核目录公开网页"},
        headers=headers,
    )
    made["url"] = r.json()["id"]
    read_everything()

    found = _hits(client, world.auth("lc-office"), OWN["campaign"], "合法性审核")
    assert set(made.values()) <= set(found), {k: v in found for k, v in made.items()}
    assert "<mark>合法性审核</mark>" in found[made["xlsx"]]["snippet"]
    assert found[made["ofd"]]["text_status"] == "done"
    assert found[made["url"]]["kind"] == "url"
    assert found[made["statement"]]["snippet"].count("<mark>") >= 1
    # a word only inside the workbook's cells
    assert made["xlsx"] in _hits(client, world.auth("lc-office"), OWN["campaign"], "办结")


def test_a_scan_without_text_is_marked_no_text_layer_not_silently_missing(client, world, session) -> None:
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), a.id, scanned_pdf(), "x.pdf", title="执法案卷扫描件")
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    assert r.json()["versions"][0]["text_status"] == "pending"  # read by the worker, not in the request
    read_everything()
    hit = _hits(client, world.auth("lc-office"), OWN["campaign"], "扫描件")[evidence_id]
    assert (hit["text_status"], hit["text_status_label"]) == ("no_text_layer", "无文本层")
    # the reviewer sees it on the evidence itself, in its list and through GraphQL
    detail = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-office")).json()
    assert detail["versions"][0]["text_status"] == detail["current"]["text_status"] == "no_text_layer"
    listed = client.get(f"{API}/assignments/{a.id}/evidence", headers=world.auth("lc-sfj")).json()["items"]
    assert [e["current"]["text_status"] for e in listed] == ["no_text_layer"]
    q = "query($id: Int!) { evidence(id: $id) { current { textStatus } versions { textStatus } } }"
    got = gql(client, world.auth("lc-office"), q, {"id": evidence_id})["data"]["evidence"]
    assert got == {"current": {"textStatus": "NO_TEXT_LAYER"}, "versions": [{"textStatus": "NO_TEXT_LAYER"}]}


def test_a_liaison_finds_only_its_units_and_another_county_nothing(client, world, session) -> None:
    word = ("重大行政决策目录",)
    mine = upload(
        client,
        world.auth("lc-sfj"),
        OWN["picker"].assignment(session, world.ids["lc_sfj"]).id,
        chinese_pdf(*word),
        "a.pdf",
    ).json()["id"]
    theirs = upload(
        client,
        world.auth("lc-gaj"),
        OWN["picker"].assignment(session, world.ids["lc_gaj"]).id,
        chinese_pdf(*word),
        "b.pdf",
    ).json()["id"]
    read_everything()
    campaign = OWN["campaign"]
    assert {mine, theirs} <= set(_hits(client, world.auth("lc-office"), campaign, "决策"))
    sfj = _hits(client, world.auth("lc-sfj"), campaign, "决策")
    assert mine in sfj and theirs not in sfj
    assert {h["unit_id"] for h in sfj.values()} == {world.ids["lc_sfj"]}
    assert {mine, theirs} <= set(_hits(client, world.auth("evaluator"), campaign, "决策"))
    for outsider in ("gp-office", "gp-sfj", "yn-province", "idle-evaluator"):
        r = _search(client, world.auth(outsider), campaign, "决策")
        assert r.status_code == 404, (outsider, r.text)
        assert r.json()["code"] == "campaign_not_found"
    assert _search(client, {}, campaign, "决策").status_code == 401


def test_withdrawn_versions_are_not_found_and_broken_searches_are_refused(client, world, session) -> None:
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), a.id, pdf("Xylophone quarterly"), "q.pdf", title="撤回的文件")
    evidence_id = r.json()["id"]
    read_everything()
    campaign = OWN["campaign"]
    assert (
        "<mark>Xylophone</mark>"
        in _hits(client, world.auth("lc-office"), campaign, "xylophone")[evidence_id]["snippet"]
    )
    w = client.post(f"{API}/evidence/{evidence_id}/versions/1/withdraw", headers=world.auth("lc-sfj"))
    assert w.status_code == 200, w.text
    assert evidence_id not in _hits(client, world.auth("lc-office"), campaign, "xylophone")

    for q, code in (("  ", "search_query_empty"), ("，。！", "search_query_empty")):
        r = _search(client, world.auth("lc-office"), campaign, q)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert _search(client, world.auth("lc-office"), campaign, "行" * 101).status_code == 422
    assert client.get(f"{API}/campaigns/{campaign}/evidence/search", headers=world.auth("lc-office")).status_code == 422
    # search syntax is only words: quotes, operators and markup are neither obeyed nor echoed unescaped
    r = _search(client, world.auth("lc-office"), campaign, '"行政" OR <b>* AND NOT')
    assert r.status_code == 200, r.text
    assert all("<b>" not in h["snippet"] for h in r.json()["items"])


SEARCH = """
query Search($id: Int!, $q: String!, $first: Int, $after: String) {
  campaign(id: $id) {
    searchEvidence(q: $q, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { evidenceId unitId unitName version itemId textStatus textStatusLabel snippet }
    }
  }
}
"""


def test_graphql_search_pages_and_scopes_like_rest(client, world, session) -> None:
    ids = []
    for _ in range(3):
        a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
        r = upload(client, world.auth("lc-sfj"), a.id, chinese_pdf("政务公开工作年度报告"), "r.pdf")
        ids.append(r.json()["id"])
    read_everything()
    campaign = OWN["campaign"]
    rest = _search(client, world.auth("lc-office"), campaign, "年度报告").json()
    first = gql(client, world.auth("lc-office"), SEARCH, {"id": campaign, "q": "年度报告", "first": 2})
    page = first["data"]["campaign"]["searchEvidence"]
    assert page["totalCount"] == rest["total"] >= 3
    assert page["pageInfo"]["hasNextPage"] is True
    assert [n["evidenceId"] for n in page["nodes"]] == [h["evidence_id"] for h in rest["items"][:2]]
    assert "<mark>年度报告</mark>" in page["nodes"][0]["snippet"]
    assert page["nodes"][0]["textStatus"] == "DONE"  # GraphQL enum values: UPPER_CASE
    nxt = gql(
        client, world.auth("lc-office"), SEARCH,
        {"id": campaign, "q": "年度报告", "first": 2, "after": page["pageInfo"]["endCursor"]},
    )  # fmt: skip
    assert nxt["data"]["campaign"]["searchEvidence"]["nodes"][0]["evidenceId"] == rest["items"][2]["evidence_id"]
    other = gql(client, world.auth("gp-office"), SEARCH, {"id": campaign, "q": "年度报告"})
    assert other["data"] is None or other["data"]["campaign"] is None
    empty = gql(client, world.auth("lc-office"), SEARCH, {"id": campaign, "q": " "})
    assert empty["errors"][0]["extensions"]["code"] == "search_query_empty"


def test_the_worker_command_reads_new_versions(client, world, session, capsys) -> None:
    from app.cli import main

    read_everything()  # what other tests left waiting, so this version is in the worker's one batch
    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{a.id}/evidence",
        json={"kind": "statement", "text": "已落实行政执法公示制度。"},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    main(["worker", "--once", "--today", "2023-02-10"])
    assert "search texts: {'read': 1, 'done': 1}" in capsys.readouterr().out
    assert r.json()["id"] in _hits(client, world.auth("lc-office"), OWN["campaign"], "执法公示")


def test_a_stored_object_that_differs_from_its_record_is_marked_failed_and_found_by_its_title(
    client, world, session
) -> None:
    import io

    from sqlmodel import select

    from app.models import EvidenceVersion
    from app.services.storage import get_store

    a = OWN["picker"].assignment(session, world.ids["lc_sfj"])
    original = docx("安全生产责任制落实情况")
    r = upload(client, world.auth("lc-sfj"), a.id, original, "a.docx", title="被改动的台账")
    evidence_id = r.json()["id"]
    key = session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == evidence_id)).one()
    get_store().put_stream(key, io.BytesIO(docx("别的内容")), content_type="application/zip", max_bytes=1 << 20)
    read_everything()
    campaign = OWN["campaign"]
    assert evidence_id not in _hits(client, world.auth("lc-office"), campaign, "安全生产")  # its words never read
    hit = _hits(client, world.auth("lc-office"), campaign, "台账 改动")[evidence_id]
    assert (hit["text_status"], hit["text_status_label"]) == ("failed", "读取失败")

    # the object put back as recorded: `shifan search reread` hands the failed ones to the worker again
    get_store().put_stream(key, io.BytesIO(original), content_type="application/zip", max_bytes=1 << 20)
    from app.cli import main

    main(["search", "reread"])
    detail = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-office")).json()
    assert detail["current"]["text_status"] == "pending"
    read_everything()
    assert _hits(client, world.auth("lc-office"), campaign, "安全生产")[evidence_id]["text_status"] == "done"
