"""The 自评报告 fit to sign, through HTTP on a campaign of its own: rendered by LibreOffice to PDF and PNG with the
deployment's font mapping, the fonts GB/T 9704 asks for (Noto CJK SC in their place, Chinese glyph forms, never a
Latin fallback), no table row broken across pages, header rows on every page of a table, page numbers, 无 in an
empty table, the framework's list names (never a key), every sentence's figure equal to the REST reports, veto
wording that follows the evaluation, the latest released round by default, and the office's own template."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from datetime import date

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm
from pypdf import PdfReader

from app.services.exports.self_assessment import ANNEX_HEADERS, PROGRESS_HEADERS
from tests.conftest import pin_today
from tests.evidence_kit import API, pdf, upload
from tests.report_kit import fonts, new_campaign, page_texts, runs_by_font, squeeze, to_pdf, to_png, tool

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _activity(client, world, campaign_id: int) -> None:
    """县司法局 hands in four items: one approved, one returned, one returned and resubmitted, one waiting; the
    first two are due in 2099 (so on time), the others were due 2023-02-28 (so late by the clock)."""
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    mine = client.get(
        f"{API}/campaigns/{campaign_id}/assignments",
        params={"unit_id": world.ids["lc_sfj"], "limit": 4},
        headers=office,
    ).json()["items"]
    sent = []
    for n, assignment in enumerate(mine):
        if n < 2:  # evidence is stamped by the clock, long after 2023: these two are due later
            moved = client.patch(f"{API}/assignments/{assignment['id']}", json={"due_on": "2099-12-31"}, headers=office)
            assert moved.status_code == 200, moved.text
        r = upload(client, liaison, assignment["id"], pdf(f"report-{n}"), f"材料{n}.pdf", title=f"报告材料{n}")
        assert r.status_code == 201, r.text
        sent.append(r.json()["id"])

    def review(evidence_id: int, decision: str, version: int = 1) -> None:
        body = {"decision": decision, "version": version, "comment": "缺少盖章页" if decision == "return" else ""}
        r = client.post(f"{API}/evidence/{evidence_id}/reviews", json=body, headers=office)
        assert r.status_code == 201, r.text

    review(sent[0], "approve")
    review(sent[1], "return")
    review(sent[2], "return")
    again = client.post(
        f"{API}/evidence/{sent[2]}/versions/file", files={"file": ("材料2（补充）.pdf", pdf("v2"))}, headers=liaison
    )
    assert again.status_code == 201, again.text


def _round(client, office, campaign_id: int, name: str, items: list[dict], veto: bool | None, release: bool) -> dict:
    """A round scoring every item (odd numbers full, even 0.5, one not applicable); veto items left unjudged
    (None), or judged with veto-1 occurring (True) or none (False)."""
    rnd = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": name}, headers=office).json()
    scores = []
    for it in items:
        if it["section"] == "veto":
            if veto is not None:
                scores.append({"item_id": it["id"], "vetoed": veto and it["number"] == 1})
        elif it["key"] == "indicator-2":
            scores.append({"item_id": it["id"], "not_applicable": True, "comment": "本县无此项工作"})
        else:
            scores.append({"item_id": it["id"], "points": 1.0 if it["number"] % 2 else 0.5})
    r = client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": scores}, headers=office)
    assert r.status_code == 201, r.text
    if release:
        assert client.post(f"{API}/rounds/{rnd['id']}/release", headers=office).status_code == 200
    return rnd


def _report(client, office, campaign_id: int, **params) -> tuple[bytes, object, str]:
    r = client.get(f"{API}/campaigns/{campaign_id}/self-assessment.docx", params=params, headers=office)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == DOCX
    doc = Document(io.BytesIO(r.content))
    return r.content, doc, "\n".join(p.text for p in doc.paragraphs)


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def _table_after(doc, heading: str):
    """The first table after the paragraph reading heading."""
    seen = False
    for block in doc.iter_inner_content():
        if getattr(block, "text", None) == heading:
            seen = True
        elif seen and hasattr(block, "rows"):
            return block
    raise AssertionError(f"no table after {heading}")


def _int(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return int(found.group(1))


def test_report_fit_to_sign(client, app, world, tmp_path) -> None:
    pin_today(app, date(2023, 2, 10))
    office = world.auth("lc-office")
    campaign = new_campaign(client, world, "自评报告排版检查")
    cid = campaign["id"]
    _activity(client, world, cid)
    items = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=office
    ).json()["items"]
    sections = client.get(f"{API}/frameworks/{campaign['framework_id']}/sections", headers=office).json()["items"]
    released = _round(client, office, cid, "县级初审", items, veto=None, release=True)
    draft = _round(client, office, cid, "复核稿", items, veto=True, release=False)
    clear = _round(client, office, cid, "复核稿二", items, veto=False, release=False)

    # By default the latest released round, not the drafts made after it.
    body, doc, text = _report(client, office, cid)
    assert "“县级初审”（已发布）" in text and "复核稿" not in text
    report = client.get(f"{API}/rounds/{released['id']}/report", headers=office).json()

    # Veto wording follows the evaluation: both veto items unjudged is not "no veto".
    assert "未发现否决情形" not in text and "2 项否决事项中尚有 2 项未评定" in text
    totals = next(t for t in doc.tables if t.rows[0].cells[-1].text == "否决")
    assert _rows(totals)[1][-1] == "未评定" and _rows(totals)[1][3] == f"{report['total']:g}"
    assert "一票否决" not in text and f"总分 {report['total']:g} 分" in text
    vetoed = _report(client, office, cid, round_id=draft["id"])[2]
    assert "存在 1 项否决情形，实行一票否决，总分记为 0 分" in vetoed and "未评定" not in vetoed
    computed = client.get(f"{API}/rounds/{draft['id']}/report", headers=office).json()["computed_total"]
    assert f"按评分规则合计 {computed:g} 分" in vetoed and "（未发布（初评稿））" in vetoed
    assert "2 项否决事项均已评定，未发现否决情形" in _report(client, office, cid, round_id=clear["id"])[2]

    # Sentences and tables read from the same rows as the REST reports.
    progress = client.get(f"{API}/campaigns/{cid}/progress", params={"by": ["campaign"]}, headers=office).json()
    total = progress["groups"]["campaign"][0]
    assert _int(r"全县共分解任务 (\d+) 项", text) == total["total"]
    assert _int(r"审核通过 (\d+) 项，已报送待审核", text) == total["approved"] == 1
    assert _int(r"已报送待审核 (\d+) 项", text) == total["submitted"] == 2
    assert _int(r"退回补充待重新报送 (\d+) 项", text) == total["returned"] == 1
    assert _int(r"尚未报送 (\d+) 项", text) == total["not_started"]
    assert _int(r"已报送待审核和审核通过的 (\d+) 项", text) == total["submitted"] + total["approved"]
    assert f"报送率 {total['submitted_pct']:g}%" in text and f"完成率 {total['approved_pct']:g}%" in text
    assert _int(r"已过截止日期仍未完成的 (\d+) 项", text) == total["overdue"]
    answered = _int(r"报送过资料的 (\d+) 项任务", text)
    assert answered == total["submitted"] + total["returned"] + total["approved"] == 4
    assert _int(r"(\d+) 项在截止日期前首次报送", text) == 2
    assert _int(r"审核中退回补充 (\d+) 次", text) == 2 and _int(r"重新报送 (\d+) 次", text) == 1
    basics = dict(row for row in _rows(doc.tables[0])[1:])
    assert int(basics["任务分工数"]) == total["total"]
    units = re.search(r"参与单位（(\d+) 个）：(.+)。", text)
    assert units and int(basics["参与单位数"]) == int(units.group(1)) == len(units.group(2).split("、"))
    assert f"基本分 {report['base_points']:g} 分（满分 {report['base_max']:g} 分" in text
    assert f"计入加分 {report['bonus']['points']:g} 分（加分上限 {report['bonus']['cap']:g} 分）" in text
    unscored = re.search(r"尚有 (\d+) 项指标未评分", text)
    assert (int(unscored.group(1)) if unscored else 0) == report["unscored"]

    # Labels from the framework: the annex names each item's list as the framework prints it, never its key.
    names = {s["code"]: s["name"] for s in sections}
    annex = next(t for t in doc.tables if tuple(c.text for c in t.rows[0].cells) == ANNEX_HEADERS)
    rows = _rows(annex)[1:]
    assert len(rows) == len(report["items"]) == len(items)
    for row, it in zip(rows, report["items"], strict=True):
        assert row[1] == names[it["section"]] == it["section_name"] and int(row[0]) == it["number"]
    assert {r[1] for r in rows} == {"三级指标", "加分项", "否决项"}
    keys = {it["key"] for it in items} | set(names)
    cells = "\n".join("\t".join(r) for t in doc.tables for r in _rows(t))
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", f"{text}\n{cells}"))
    assert not words & keys, words & keys

    # 无 under an empty table (this campaign has no rectifications).
    for heading in ("（一）尚在整改的问题", "（二）已整改销号的问题"):
        assert _rows(_table_after(doc, heading))[1:] == [["无"] * 5], heading

    # Tables: widths of their own (the annex's 指标内容 widest), fixed layout, header repeated, rows kept whole.
    width = doc.sections[0].page_width - doc.sections[0].left_margin - doc.sections[0].right_margin
    layouts = set()
    for table in doc.tables:
        grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert abs(sum(grid) * 635 - width) < 635 * len(grid), grid  # twips; rounding per column
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        layouts.add(tuple(grid))
        tr_prs = [row._tr.trPr for row in table.rows]
        assert all(p is not None and p.find(qn("w:cantSplit")) is not None for p in tr_prs)
        assert tr_prs[0].find(qn("w:tblHeader")) is not None
    assert len(layouts) >= 6
    annex_grid = [int(c.get(qn("w:w"))) for c in annex._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert annex_grid[2] == max(annex_grid) > 4 * annex_grid[0]

    # GB/T 9704 faces, zh-CN, named fallbacks, page numbers.
    faces = {"Title": "方正小标宋简体", "Heading 1": "黑体", "Heading 2": "楷体", "Normal": "仿宋"}
    for style, face in faces.items():
        fonts_el = doc.styles[style].element.rPr.find(qn("w:rFonts"))
        assert fonts_el.get(qn("w:eastAsia")) == fonts_el.get(qn("w:ascii")) == face, style
    lang = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang"))
    assert lang.get(qn("w:eastAsia")) == "zh-CN"
    footer_xml = doc.sections[0].footer._element.xml + doc.sections[0].even_page_footer._element.xml
    assert footer_xml.count('w:instr=" PAGE "') == 2

    # Rendered as a printer would: LibreOffice with the deployment's font mapping.
    rendered = to_pdf(body, tmp_path)
    found = fonts(rendered)
    assert found and all(f.embedded for f in found), found
    assert all(re.match(r"Noto(Serif|Sans)CJK", f.name) for f in found), found  # no Latin or other fallback
    assert any(f.name.startswith("NotoSerifCJK") and "Bold" in f.name for f in found)  # 方正小标宋 → bold serif
    assert any(f.name.startswith("NotoSansCJK") for f in found)  # 黑体 → sans
    first = runs_by_font(rendered, 0)
    by_text = {t: f for f, t in first}
    assert any("自评报告" in t and f.startswith("NotoSerifCJK") and "Bold" in f for t, f in by_text.items())
    assert any(t.startswith("一、基本情况") and f.startswith("NotoSansCJK") for t, f in by_text.items())
    _assert_simplified_glyphs(rendered)

    pages = page_texts(rendered)
    reader_pages = len(PdfReader(rendered).pages)
    assert reader_pages == len(pages) >= 6
    for n, page in enumerate(pages, start=1):
        assert f"—{n}—" in page, (n, page[-40:])
    # No row is broken across pages: each cell of a row is wholly on one page, all on the same page.
    header = squeeze("".join(ANNEX_HEADERS))
    start = next(i for i, p in enumerate(pages) if "附件：指标得分及印证资料一览表" in p)
    annex_pages = set()
    for table in doc.tables:
        for row in _rows(table)[1:]:
            cells = [squeeze(c) for c in row if squeeze(c)]
            homes = [{i for i, p in enumerate(pages) if c in p} for c in cells]
            assert all(homes) and set.intersection(*homes), (row, homes)
            if table._tbl is annex._tbl:  # (a veto item's text is in section 三's table too)
                annex_pages.add(min(i for i in set.intersection(*homes) if i >= start))
    # The annex runs over several pages, its header on each.
    assert len(annex_pages) >= 3 and all(header in pages[i] for i in annex_pages)
    progress_header = squeeze("".join(PROGRESS_HEADERS))
    assert all(progress_header in p for p in pages if "县司法局" in p and "报送率%" in p)

    # Pictures to look at (the first page and an annex page).
    assert to_png(rendered, 1).stat().st_size > 10_000
    assert to_png(rendered, max(annex_pages) + 1).stat().st_size > 10_000


def _assert_simplified_glyphs(rendered) -> None:
    """Chinese characters drawn with their mainland (SC) forms, not the Japanese ones a wrong language tag gives:
    for each character whose glyph differs between the SC and JP faces of Noto CJK, the PDF's glyph is the SC one."""
    from fontTools.ttLib import TTCollection  # comes with fpdf2 (dev); reads the installed Noto collections

    def faces(pattern: str) -> tuple[dict[int, str], dict[int, str]]:
        path = subprocess.run(
            [tool("fc-match", "fontconfig"), "-f", "%{file}", pattern], capture_output=True, text=True, check=True
        ).stdout
        by_name = {f["name"].getDebugName(4): f.getBestCmap() for f in TTCollection(path).fonts}
        family = pattern.split(":")[0]
        return by_name[family], by_name[family.replace(" SC", " JP")]

    expected = {"Serif": faces("Noto Serif CJK SC"), "Sans": faces("Noto Sans CJK SC")}
    checked = 0
    for page in PdfReader(rendered).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            kind = "Serif" if "Serif" in str(font["/BaseFont"]) else "Sans"
            sc, jp = expected[kind]
            program = font["/FontDescriptor"]["/FontFile"].get_object().get_data().decode("latin-1")
            glyphs = {int(c): int(g) for c, g in re.findall(r"dup (\d+) /cid(\d+) put", program)}
            to_unicode = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            single = "".join(re.findall(r"beginbfchar(.*?)endbfchar", to_unicode, re.DOTALL))
            for code, uni in re.findall(r"<([0-9A-F]{2})>\s*<([0-9A-F]{4})>", single):
                char = int(uni, 16)
                if char in sc and sc[char] != jp.get(char) and int(code, 16) in glyphs:
                    assert glyphs[int(code, 16)] == int(sc[char][3:]), (chr(char), kind)
                    checked += 1
    assert checked >= 5


def _office_template() -> bytes:
    """An office's own .docx: a letterhead in the header, its own 标题 1 face and margins, a sample body."""
    doc = Document()
    section = doc.sections[0]
    section.left_margin = section.right_margin = Cm(2.5)
    section.header.paragraphs[0].text = "中共陵川县委全面依法治县委员会办公室"
    fonts_el = doc.styles["Heading 1"].element.get_or_add_rPr().get_or_add_rFonts()
    fonts_el.set(qn("w:eastAsia"), "华文中宋")
    doc.add_paragraph("模板里的示例文字，不进入报告")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_office_replaces_the_report_template(client, app, world, tmp_path) -> None:
    pin_today(app, date(2023, 2, 10))
    office = world.auth("lc-office")
    cid = new_campaign(client, world, "自评报告模板检查")["id"]
    url = f"{API}/campaigns/{cid}/self-assessment-template"

    # The house template: GB/T 9704 styles with a sample of each, to restyle in Word or WPS.
    info = client.get(url, headers=office)
    assert info.status_code == 200 and info.json()["custom"] is False, info.text
    house = client.get(f"{url}.docx", headers=office)
    assert house.status_code == 200 and house.headers["content-type"] == DOCX
    assert hashlib.sha256(house.content).hexdigest() == info.json()["sha256"]
    house_doc = Document(io.BytesIO(house.content))
    assert house_doc.styles["Title"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "方正小标宋简体"
    assert any("标题 1：黑体" in p.text for p in house_doc.paragraphs)

    # The office's own: its letterhead, face and margins are used, its body text is not, page numbers are added.
    mine = _office_template()
    put = client.put(url, files={"file": ("陵川县模板.docx", mine, DOCX)}, headers=office)
    assert put.status_code == 200, put.text
    assert put.json()["custom"] and put.json()["filename"] == "陵川县模板.docx"
    assert put.json()["sha256"] == hashlib.sha256(mine).hexdigest() and put.json()["size"] == len(mine)
    assert client.get(f"{url}.docx", headers=office).content == mine
    body, doc, text = _report(client, office, cid)
    assert "模板里的示例文字" not in text and "一、基本情况" in text
    assert doc.sections[0].header.paragraphs[0].text == "中共陵川县委全面依法治县委员会办公室"
    assert doc.styles["Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "华文中宋"
    assert doc.styles["表格文字"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"  # added
    assert 'w:instr=" PAGE "' in doc.sections[0].footer._element.xml
    width = doc.sections[0].page_width - Cm(5)  # the template's type area
    for table in doc.tables:
        grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert abs(sum(grid) * 635 - width) < 635 * len(grid)
    assert not doc.settings.odd_and_even_pages_header_footer  # its one header stays on every page
    rendered = to_pdf(body, tmp_path, "custom")
    pages = page_texts(rendered)
    assert "自评报告" in pages[0] and len(pages) >= 5
    for n, page in enumerate(pages, start=1):
        assert "中共陵川县委全面依法治县委员会办公室" in page and f"—{n}—" in page, n

    # What is not a .docx is refused whole, the template in use stays; only the county's office may change it.
    for name, raw in (("x.docx", b"not a word file"), ("x.pdf", pdf("x")), ("x.docx", b"PK\x03\x04broken")):
        refused = client.put(url, files={"file": (name, raw, DOCX)}, headers=office)
        assert refused.status_code == 422 and refused.json()["code"] == "report_template_invalid", refused.text
        assert "另存为 .docx" in refused.json()["detail"]
    assert client.get(url, headers=office).json()["sha256"] == hashlib.sha256(mine).hexdigest()
    # (an evaluator not engaged for this campaign does not see it at all)
    for who, status in (("lc-sfj", 403), ("evaluator", 404), ("gp-office", 404)):
        assert client.put(url, files={"file": ("t.docx", mine, DOCX)}, headers=world.auth(who)).status_code == status
        assert client.get(f"{url}.docx", headers=world.auth(who)).status_code == status
    audit = client.get(f"{API}/audit", params={"action": "campaign.report_template"}, headers=office).json()
    assert any(e["campaign_id"] == cid and e["after"]["filename"] == "陵川县模板.docx" for e in audit["items"])

    # Back to the house style.
    assert client.delete(url, headers=office).status_code == 204
    assert client.get(url, headers=office).json()["custom"] is False
    again = client.delete(url, headers=office)
    assert again.status_code == 404 and again.json()["code"] == "report_template_not_found"
    plain = _report(client, office, cid)[1]
    assert not plain.sections[0].header.paragraphs[0].text
