"""The 自评报告 as a Word document, through HTTP: it opens with python-docx, names Chinese fonts for East
Asian text, converts to PDF with LibreOffice, and every figure in it equals the REST score report and
progress of the same round; only the county's office (or an admin) may have it."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from app.services.exports.self_assessment import ANNEX_HEADERS, LEVEL1_HEADERS, PLACEHOLDER, PROGRESS_HEADERS
from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, pdf, upload
from tests.office_kit import IN_CI, soffice_home

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _scores(items: list[dict]) -> list[dict]:
    """Full points on odd numbers, 0.5 on even, indicator-2 not applicable; veto-1 occurred; every bonus 1."""
    out = []
    for it in items:
        if it["section"] == "indicator":
            if it["key"] == "indicator-2":
                out.append({"item_id": it["id"], "not_applicable": True, "comment": "本县无此项工作"})
            else:
                out.append({"item_id": it["id"], "points": 1.0 if it["number"] % 2 else 0.5})
        elif it["section"] == "bonus":
            out.append({"item_id": it["id"], "points": 1.0})
        else:
            out.append({"item_id": it["id"], "vetoed": it["key"] == "veto-1", "finding": ""})
    return out


def _table(doc, headers: tuple[str, ...]) -> list[list[str]]:
    """The body rows of the first table whose header row is headers."""
    for table in doc.tables:
        rows = [[c.text for c in row.cells] for row in table.rows]
        if tuple(rows[0]) == headers:
            return rows[1:]
    raise AssertionError(f"no table headed {headers}")


def _tables(doc, headers: tuple[str, ...]) -> list[list[list[str]]]:
    return [
        [[c.text for c in row.cells] for row in t.rows][1:]
        for t in doc.tables
        if tuple(c.text for c in t.rows[0].cells) == headers
    ]


def _fig(text: str) -> float:
    return float(text)


def test_self_assessment_report_carries_the_rest_figures(client, app, world, session, tmp_path) -> None:
    pin_today(app, date(2023, 2, 10))
    office = world.auth("lc-office")
    # A returned and resubmitted piece of evidence, so the returns and resubmissions are not all zero.
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    campaign_id = target.campaign_id  # late in a run the picker may hand out another 陵川 campaign's assignment
    sent = upload(client, world.auth("lc-sfj"), target.id, pdf("自评-第一稿"), "方案.pdf", title="自评-方案")
    assert sent.status_code == 201, sent.text
    evidence_id = sent.json()["id"]
    r = client.post(
        f"{API}/evidence/{evidence_id}/reviews", json={"decision": "return", "version": 1, "comment": "缺盖章"},
        headers=office,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    campaign = client.get(f"{API}/campaigns/{campaign_id}", headers=office).json()
    items = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=office
    ).json()["items"]
    rnd = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "自评"}, headers=office).json()
    r = client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": _scores(items)}, headers=office)
    assert r.status_code == 201, r.text
    later = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "自评之后"}, headers=office).json()

    r = client.get(
        f"{API}/campaigns/{campaign_id}/self-assessment.docx", params={"round_id": rnd["id"]}, headers=office
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == DOCX and "filename*=UTF-8''" in r.headers["content-disposition"]
    doc = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    for section in (
        "一、基本情况",
        "二、创建工作开展情况",
        "三、指标完成情况",
        "四、存在的问题和整改情况",
        "五、下一步工作",
    ):
        assert section in text, section
    assert PLACEHOLDER in text and "附件：指标得分及印证资料一览表" in text

    # The faces GB/T 9704 asks for, named for East Asian text, so WPS and Word do not fall back.
    for style, east_asian in (
        ("Normal", "仿宋"),
        ("Heading 1", "黑体"),
        ("Heading 2", "楷体"),
        ("Title", "方正小标宋简体"),
    ):
        fonts = doc.styles[style].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == east_asian, style

    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=office).json()
    assert report["vetoed"] and report["bonus"]["points"] == min(report["bonus"]["raw"], report["bonus"]["cap"]) > 0
    level1 = _table(doc, LEVEL1_HEADERS)
    assert [row[0] for row in level1[:-1]] == [s["title"] for s in report["level1"]]
    for row, s in zip(level1, report["level1"], strict=False):
        assert [_fig(row[1]), _fig(row[2]), _fig(row[3])] == [s["weight"], s["points"], s["max"]]
        assert [int(row[4]), int(row[5]), int(row[6])] == [s["items"], s["scored"], s["not_applicable"]]
    assert level1[-1][0] == "基本分合计"
    assert [_fig(level1[-1][2]), _fig(level1[-1][3])] == [report["base_points"], report["base_max"]]
    bonus = _table(doc, ("加分（评分合计）", "加分上限", "计入总分的加分"))[0]
    assert [_fig(x) for x in bonus] == [report["bonus"]["raw"], report["bonus"]["cap"], report["bonus"]["points"]]
    total = _table(doc, ("基本分", "计入加分", "合计（计算值）", "总分", "否决"))[0]
    assert [_fig(x) for x in total[:4]] == [
        report["base_points"], report["bonus"]["points"], report["computed_total"], report["total"],
    ]  # fmt: skip
    assert total[4] == "是" and report["total"] == 0.0
    vetoes = _table(doc, ("序号", "否决事项", "评定结果", "说明"))
    hit = {h["text"] for h in report["veto"]["hits"]}
    assert {row[1] for row in vetoes if row[2] == "存在否决情形"} == hit and len(hit) == 1

    annex = _table(doc, ANNEX_HEADERS)
    assert len(annex) == len(report["items"])
    for row, it in zip(annex, report["items"], strict=True):
        assert int(row[0]) == it["number"] and row[2] == it["text"]
        assert [_fig(row[3]), _fig(row[4])] == [it["max"], it["weight"]]
        if it["kind"] == "veto":
            assert row[5] == ("存在否决情形" if it["vetoed"] else "未发生")
        elif it["not_applicable"]:
            assert row[5] == "不适用"
        else:
            assert _fig(row[5]) == it["points"]
    counted = next(row for row, it in zip(annex, report["items"], strict=True) if it["item_id"] == target.item_id)
    assert int(counted[6]) >= 1  # the returned evidence still counts for its item

    progress = client.get(f"{API}/campaigns/{campaign_id}/progress", params={"by": ["level1", "unit"]}, headers=office)
    assert progress.status_code == 200, progress.text
    groups = progress.json()["groups"]
    by_level1, by_unit = _tables(doc, PROGRESS_HEADERS)
    for rows, expected in ((by_level1, groups["level1"]), (by_unit, groups["unit"])):
        assert [row[0] for row in rows] == [g["label"] for g in expected]
        for row, g in zip(rows, expected, strict=True):
            figures = [int(x) for x in row[1:7]] + [_fig(x) for x in row[7:]]
            keys = ("total", "not_started", "submitted", "returned", "approved", "overdue")
            assert figures == [g[k] for k in keys] + [g["submitted_pct"], g["approved_pct"]], row[0]
    returns = re.search(r"审核中退回补充 (\d+) 次", text)
    assert returns and int(returns.group(1)) >= 1, text

    # Without round_id: the latest released round, never the empty draft made after (nor this unreleased one).
    latest = "\n".join(
        p.text
        for p in Document(
            io.BytesIO(client.get(f"{API}/campaigns/{campaign_id}/self-assessment.docx", headers=office).content)
        ).paragraphs
    )
    assert f"“{later['name']}”" not in latest and f"“{rnd['name']}”" not in latest
    rounds = client.get(f"{API}/campaigns/{campaign_id}/rounds", headers=office).json()["items"]
    released = [r for r in rounds if r["released_at"]]
    assert (f"“{released[-1]['name']}”（已发布）" if released else "尚无已发布的评分轮次") in latest

    _converts_to_pdf(r.content, tmp_path, report["county_name"])

    for who, status in (("lc-sfj", 403), ("evaluator", 403), ("sx-province", 403), ("gp-office", 404)):
        refused = client.get(f"{API}/campaigns/{campaign_id}/self-assessment.docx", headers=world.auth(who))
        assert refused.status_code == status, (who, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    other = client.post(
        f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "别县"}, headers=world.auth("gp-office")
    )
    assert other.status_code == 201, other.text
    wrong = client.get(
        f"{API}/campaigns/{campaign_id}/self-assessment.docx", params={"round_id": other.json()["id"]}, headers=office
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "round_not_found"
    assert (
        client.get(
            f"{API}/campaigns/{campaign_id}/self-assessment.docx", params={"round_id": "x"}, headers=office
        ).status_code
        == 422
    )
    audit = client.get(f"{API}/audit", params={"action": "campaign.self_assessment"}, headers=office).json()
    assert any(e["campaign_id"] == campaign_id for e in audit["items"])


def _converts_to_pdf(body: bytes, tmp_path: Path, county: str) -> None:
    """LibreOffice Writer (headless) turns the document into a PDF whose text keeps the Chinese."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if IN_CI:
            pytest.fail("LibreOffice Writer (libreoffice-writer-nogui) is required in CI; .ci/run installs it")
        pytest.skip("LibreOffice not installed")
    source = tmp_path / "report.docx"
    source.write_bytes(body)
    env = {**os.environ, "HOME": soffice_home()}
    command = [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)]
    done = subprocess.run(command, timeout=180, env=env, capture_output=True)
    converted = tmp_path / "report.pdf"
    assert converted.exists(), (done.stdout, done.stderr)
    reader = PdfReader(converted)
    assert len(reader.pages) >= 2
    assert "自评报告" in reader.pages[0].extract_text() and county in reader.pages[0].extract_text()


@pytest.mark.one_pass("the command line and its account, not the database", where="postgresql")
def test_cli_writes_the_self_assessment_report_as_a_named_account(client, world, database_url, tmp_path) -> None:
    office = world.auth("lc-office")
    campaign_id = world.ids["lc_campaign"]
    rnd = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "命令行"}, headers=office).json()
    env = {**os.environ, "SHIFAN_DATABASE_URL": database_url}
    root = Path(__file__).resolve().parents[1]

    def shifan(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "app.cli", "export", "self-assessment", str(campaign_id), *args]
        return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=180)

    out = tmp_path / "自评报告.docx"
    done = shifan("--round", str(rnd["id"]), "--as", "lc-office", "--out", str(out))
    assert done.returncode == 0, done.stderr
    doc = Document(str(out))
    assert doc.paragraphs[0].text.endswith("自评报告")
    assert "“命令行”" in "\n".join(p.text for p in doc.paragraphs)
    refused = shifan("--as", "lc-sfj", "--out", str(tmp_path / "x.docx"))
    assert refused.returncode == 1 and "forbidden" in refused.stderr and not (tmp_path / "x.docx").exists()
    stranger = shifan("--as", "gp-office", "--out", str(tmp_path / "y.docx"))
    assert stranger.returncode == 1 and "campaign_not_found" in stranger.stderr
    audit = client.get(f"{API}/audit", params={"action": "campaign.self_assessment"}, headers=office).json()
    assert any(e["username"] == "lc-office" and e["after"]["round_id"] == rnd["id"] for e in audit["items"])
