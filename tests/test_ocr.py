"""OCR for scans (issue 26, point 1), through HTTP: a stamped decision scanned to an image-only PDF, and the same
page saved as a JPEG, are read by Tesseract in the worker's search-text lane (its limited child process); the
versions say text_status "ocr" and a search finds 行政复议 in them; previews are made as before. The page and time
caps hold (read in-process with the settings changed)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date

import pytest

from app import settings as app_settings
from app.models.evidence import TextStatus
from app.services.search import extract
from bench import scans
from tests.conftest import pin_today
from tests.evidence_kit import API, Picker, upload
from tests.search_kit import cjk_font, read_everything

DECISION = ["陵川县司法局行政复议决定书", "申请人不服县市场监管局作出的行政处罚决定，向本机关申请行政复议。",
            "本机关依法受理后，经审查认为，被申请人认定事实清楚，决定维持。"]  # fmt: skip
OWN: dict = {}


@pytest.fixture(autouse=True)
def _tesseract() -> None:
    cjk_font()  # the scans are drawn with Noto CJK
    if shutil.which("tesseract") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("tesseract is required in CI (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
        pytest.skip("tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")


@pytest.fixture
def own(app, client, world, session) -> dict:
    """A launched campaign of this module's own in 陵川, on a day uploads are open."""
    pin_today(app, date(2023, 2, 10))
    if not OWN:
        from app.models import Campaign
        from tests.world import launched_campaign

        framework_id = session.get(Campaign, world.ids["lc_campaign"]).framework_id
        made = launched_campaign(session, county_id=world.ids["lc_county"], framework_id=framework_id, name="识别测试")
        session.commit()
        OWN.update(campaign=made.id, picker=Picker(made.id))
    return OWN


def _hits(client, headers, campaign_id: int, q: str) -> dict[int, dict]:
    r = client.get(f"{API}/campaigns/{campaign_id}/evidence/search", params={"q": q, "limit": 500}, headers=headers)
    assert r.status_code == 200, r.text
    return {h["evidence_id"]: h for h in r.json()["items"]}


def test_search_finds_words_in_a_scanned_decision_and_a_photographed_page(client, world, session, own) -> None:
    page = scans.draw_page(DECISION, seed=7)
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    sent = {}
    for name, data in (("决定书扫描件.pdf", scans.as_pdf([page])), ("决定书照片.jpg", scans.as_jpeg(page))):
        target = own["picker"].assignment(session, world.ids["lc_sfj"])
        r = upload(client, liaison, target.id, data, name, title="盖章扫描件")  # the title does not hold the word
        assert r.status_code == 201, r.text
        sent[name] = r.json()["id"]
    assert not set(sent.values()) & set(_hits(client, office, own["campaign"], "行政复议"))
    counts = read_everything()
    assert counts.get("ocr", 0) >= 2, counts

    hits = _hits(client, office, own["campaign"], "行政复议")
    for name, evidence_id in sent.items():
        hit = hits[evidence_id]
        assert (hit["text_status"], hit["text_status_label"]) == ("ocr", "已识别（OCR）"), name
        assert "<mark>行政复议</mark>" in hit["snippet"], hit["snippet"]
        detail = client.get(f"{API}/evidence/{evidence_id}", headers=office).json()
        assert detail["current"]["text_status"] == "ocr" and detail["current"]["text_failure"] is None
        assert detail["current"]["preview"] == "pending"  # previews are the preview lane's, as before
    assert not set(sent.values()) & set(_hits(client, world.auth("lc-gaj"), own["campaign"], "行政复议"))


@pytest.fixture
def ocr_settings(monkeypatch):
    """Change the OCR settings for code run in this process (the worker's children read them at their start)."""

    def change(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"SHIFAN_{name.upper()}", value)
        app_settings.get_settings.cache_clear()

    yield change
    monkeypatch.undo()
    app_settings.get_settings.cache_clear()


@pytest.mark.one_pass("the OCR child's limits, no database", where="postgresql")
def test_the_page_cap_and_the_switch_hold(ocr_settings) -> None:
    pages = [scans.draw_page([f"第{n}页", DECISION[n]], seed=n) for n in range(3)]
    scan = scans.as_pdf(pages)
    ocr_settings(ocr_max_pages="1")
    found = extract.extract(scan, extension="pdf")
    assert found.status == TextStatus.ocr
    assert "第1页" not in found.text and "第2页" not in found.text  # pages past the cap are not read
    ocr_settings(ocr_max_pages="20", ocr_enabled="false")
    assert extract.extract(scan, extension="pdf").status == TextStatus.no_text_layer  # as before OCR


@pytest.mark.one_pass("the OCR child's limits, no database", where="postgresql")
def test_the_time_cap_holds(ocr_settings) -> None:
    pages = [scans.draw_page(DECISION, seed=n) for n in range(6)]
    ocr_settings(ocr_seconds="2")
    started = time.monotonic()
    extract.extract(scans.as_pdf(pages), extension="pdf")
    assert time.monotonic() - started < 15  # 6 pages take about 18 s unbounded; the budget stops after ~2 s
