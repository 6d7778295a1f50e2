"""A Word document as an office's printer would see it: LibreOffice Writer (headless) turns it into a PDF with the
fonts the deployment maps (deploy/fontconfig), poppler draws pages as PNG and lists the embedded fonts, and the
PDF's text is read page by page. In CI a missing tool is a failure; elsewhere the test is skipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.evidence_kit import API
from tests.office_kit import IN_CI, soffice_home

ROOT = Path(__file__).resolve().parents[1]
FONTCONFIG = ROOT / "deploy" / "fontconfig" / "64-shifan-gbt9704.conf"
_SPACE = re.compile(r"\s+")


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} ({package}) is required in CI; .ci/run installs it")
        pytest.skip(f"{name} not installed")
    return found


def environment(tmp_path: Path) -> dict[str, str]:
    """The fontconfig of the machine plus the project's GB/T 9704 mapping, as deploy/fontconfig says to install it."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <include>{FONTCONFIG}</include>\n</fontconfig>\n",
        encoding="utf-8",
    )
    return {**os.environ, "HOME": soffice_home(), "FONTCONFIG_FILE": str(conf)}


def to_pdf(body: bytes, tmp_path: Path, name: str = "report") -> Path:
    """The document converted by LibreOffice Writer."""
    soffice = tool("soffice", "libreoffice-writer-nogui")
    source = tmp_path / f"{name}.docx"
    source.write_bytes(body)
    command = [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)]
    done = subprocess.run(command, timeout=240, env=environment(tmp_path), capture_output=True)
    converted = tmp_path / f"{name}.pdf"
    assert converted.exists(), (done.stdout, done.stderr)
    return converted


def to_png(pdf: Path, page: int, *, dpi: int = 80) -> Path:
    """One page as a PNG (pdftoppm), to look at."""
    tool("pdftoppm", "poppler-utils")
    prefix = pdf.with_name(f"{pdf.stem}-page{page}")
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-png", str(pdf), str(prefix)],
        check=True,
        timeout=120,
    )
    return prefix.with_suffix(".png")


@dataclass
class PdfFont:
    name: str
    type: str
    embedded: bool


def fonts(pdf: Path) -> list[PdfFont]:
    """The fonts pdffonts lists (name without the subset prefix)."""
    tool("pdffonts", "poppler-utils")
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True, timeout=60).stdout
    found = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type [type…] encoding emb sub uni object-id generation
        found.append(PdfFont(name=parts[0].split("+", 1)[-1], type=parts[1], embedded=parts[-5] == "yes"))
    return found


def page_texts(pdf: Path) -> list[str]:
    """Each page's text with all white space removed (a table cell's lines run together, as a row's cells do)."""
    return [_SPACE.sub("", page.extract_text() or "") for page in PdfReader(pdf).pages]


def squeeze(text: str) -> str:
    return _SPACE.sub("", text)


def runs_by_font(pdf: Path, page: int = 0) -> list[tuple[str, str]]:
    """(base font, text) of each piece of text drawn on a page, in drawing order."""
    pieces: list[tuple[str, str]] = []

    def visit(text, _cm, _tm, font_dict, _size) -> None:
        if text.strip() and font_dict is not None:
            pieces.append((str(font_dict.get("/BaseFont", "")).split("+", 1)[-1], text))

    PdfReader(pdf).pages[page].extract_text(visitor_text=visit)
    return pieces


def new_campaign(client, world, name: str) -> dict:
    """A launched campaign of 陵川 on the demo's framework, materials due 2023-02-28."""
    office = world.auth("lc-office")
    framework_id = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=office).json()["framework_id"]
    body = {
        "name": name,
        "framework_id": framework_id,
        "materials_deadline": "2023-02-28",
        "phases": [
            {"name": "实施推进", "starts_on": "2022-12-01", "ends_on": "2023-01-31"},
            {"name": "县级初审", "starts_on": "2023-02-01", "ends_on": "2023-02-28", "is_submission": True},
        ],
    }
    created = client.post(f"{API}/campaigns", json=body, headers=office)
    assert created.status_code == 201, created.text
    launched = client.post(f"{API}/campaigns/{created.json()['id']}/launch", headers=office)
    assert launched.status_code == 200, launched.text
    return created.json()
