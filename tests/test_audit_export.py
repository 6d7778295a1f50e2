"""The audit trail an auditor takes away: GET /audit/export streamed as JSON Lines, CSV and .xlsx, scoped to the
caller (the audit administrator: everything; an office: its own county), recomputed by the standalone verifier
(scripts/verify_audit_export.py, run in an isolated interpreter without site-packages: the standard library only)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from app.services.documents import sheets
from tests.audit_kit import ROOT
from tests.evidence_kit import API

VERIFIER = ROOT / "scripts" / "verify_audit_export.py"


def _change(client, world, who: str, campaign: str) -> None:
    """Two audited changes by an office in its own campaign."""
    office = world.auth(who)
    target = client.get(
        f"{API}/campaigns/{world.ids[campaign]}/assignments", params={"limit": 1}, headers=office
    ).json()["items"][0]["id"]
    for due in ("2023-03-05", None):
        assert client.patch(f"{API}/assignments/{target}", json={"due_on": due}, headers=office).status_code == 200


def _export(client, world, who: str, fmt: str, **params: str):
    r = client.get(f"{API}/audit/export", params={"format": fmt, **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return r


def verifier(*files: Path, ca: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The standalone verifier in an isolated interpreter with no site-packages (-I -S)."""
    extra = ["--tsa-ca", str(ca)] if ca else []
    return subprocess.run(
        [sys.executable, "-I", "-S", str(VERIFIER), *extra, *map(str, files)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_the_audit_administrator_exports_the_whole_chain_in_three_formats(client, world, tmp_path) -> None:
    _change(client, world, "gp-office", "gp_campaign")
    jsonl = _export(client, world, "auditadmin", "jsonl")
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert "content-length" not in jsonl.headers  # streamed, not built whole
    assert "audit-all-" in jsonl.headers["content-disposition"]
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    header, entries = lines[0], [r for r in lines if r["kind"] == "entry"]
    assert header["kind"] == "header" and header["all_counties"] is True and header["county_id"] is None
    assert [e["seq"] for e in entries] == list(range(header["first_seq"], header["last_seq"] + 1))
    assert {e["county_id"] for e in entries} >= {world.ids["gp_county"], world.ids["lc_county"]}
    assert entries[-1]["action"] == "assignment.due" and entries[-1]["at"].endswith("Z")
    (tmp_path / "all.jsonl").write_bytes(jsonl.content)
    done = verifier(tmp_path / "all.jsonl")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: the export recomputes" in done.stdout and f"{len(entries)} entries of the whole chain" in done.stdout

    as_csv = _export(client, world, "auditadmin", "csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"), newline="")))
    csv_entries = [r for r in rows if r["kind"] == "entry"]
    assert len(csv_entries) >= len(entries)  # the exports themselves are audited, in between
    assert csv_entries[len(entries) - 1]["entry_hash"] == entries[-1]["entry_hash"]
    (tmp_path / "all.csv").write_bytes(as_csv.content)
    done = verifier(tmp_path / "all.csv")
    assert done.returncode == 0, done.stdout + done.stderr

    xlsx = _export(client, world, "auditadmin", "xlsx")
    assert xlsx.headers["content-type"] == sheets.MEDIA_TYPE
    ws = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    table = list(ws.iter_rows(values_only=True))
    assert table[1][:3] == ("kind", "seq", "at") and table[1][-1] == "record"
    sheet_entries = [r for r in table[2:] if r[0] == "entry"]
    assert len(sheet_entries) >= len(entries) + 1
    assert sheet_entries[len(entries) - 1][15] == entries[-1]["entry_hash"]

    # the exports are on record, with what they held
    exported = client.get(f"{API}/audit", params={"action": "audit.export"}, headers=world.auth("auditadmin")).json()
    assert exported["total"] >= 3 and exported["items"][-1]["after"]["format"] == "jsonl"


def test_the_verifier_finds_an_export_edited_after_it_left(client, world, tmp_path) -> None:
    today = datetime.now(UTC).date().isoformat()
    lines = _export(client, world, "auditadmin", "jsonl", since=today, until=today).text.splitlines()
    entries = [n for n, line in enumerate(lines) if json.loads(line)["kind"] == "entry"]
    edited = json.loads(lines[entries[1]])
    edited["username"] = "someone-else"
    lines[entries[1]] = json.dumps(edited, ensure_ascii=False)
    del lines[entries[3]]
    (tmp_path / "edited.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = verifier(tmp_path / "edited.jsonl")
    assert done.returncode == 1
    assert f"entry seq {edited['seq']}: its content does not match its hash" in done.stdout
    assert "are missing" in done.stdout and "FAILED" in done.stdout


def test_an_office_exports_only_its_own_county(client, world, tmp_path) -> None:
    _change(client, world, "gp-office", "gp_campaign")
    _change(client, world, "lc-office", "lc_campaign")
    for who, county in (("gp-office", "gp_county"), ("lc-office", "lc_county")):
        r = _export(client, world, who, "jsonl")
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert lines[0]["county_id"] == world.ids[county] and lines[0]["all_counties"] is False
        entries = [e for e in lines if e["kind"] == "entry"]
        assert entries and {e["county_id"] for e in entries} == {world.ids[county]}, who
        (tmp_path / f"{who}.jsonl").write_bytes(r.content)
        done = verifier(tmp_path / f"{who}.jsonl")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"entries of county {world.ids[county]}" in done.stdout
    rows = list(csv.DictReader(io.StringIO(_export(client, world, "gp-office", "csv").content.decode("utf-8-sig"))))
    assert {r["county_id"] for r in rows if r["kind"] == "entry"} == {str(world.ids["gp_county"])}


def test_who_may_export_and_what_is_refused(client, world) -> None:
    for who in ("lc-sfj", "evaluator", "sx-province"):
        r = client.get(f"{API}/audit/export", headers=world.auth(who))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
    for who in ("sysadmin", "secadmin"):  # 三员分立: the trail is the audit administrator's alone
        r = client.get(f"{API}/audit/export", headers=world.auth(who))
        assert r.status_code == 403 and r.json()["code"] == "duty_refused", who
    assert client.get(f"{API}/audit/export").status_code == 401
    office = world.auth("gp-office")
    wrong = client.get(f"{API}/audit/export", params={"format": "pdf"}, headers=office)
    assert wrong.status_code == 422
    backwards = client.get(f"{API}/audit/export", params={"since": "2026-01-02", "until": "2026-01-01"}, headers=office)
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_date_range"
    empty = _export(client, world, "gp-office", "jsonl", since="2001-01-01", until="2001-01-31")
    assert [json.loads(line)["kind"] for line in empty.text.splitlines()] == ["header"]


def test_the_sheet_is_written_as_rows_come() -> None:
    """The .xlsx stream hands on bytes while rows are still coming (never the whole file, or all rows, at once)."""
    pulled: list[int] = []

    def rows():
        for n in range(3000):
            pulled.append(n)
            yield ["entry", n, f"=text {n}"]

    sheet = sheets.StreamedSheet("s", "title", (("kind", 8), ("seq", 8), ("text", 20)))
    chunks, seen_while_pulling = [], []
    for chunk in sheet.stream(rows(), flush_every=500):
        chunks.append(chunk)
        seen_while_pulling.append(len(pulled))
    assert min(n for n, c in zip(seen_while_pulling, chunks, strict=True) if c) < 3000
    book = load_workbook(io.BytesIO(b"".join(chunks)))
    ws = book.worksheets[0]
    assert ws.max_row == 3002 and ws["C3002"].value == "=text 2999" and ws["C3002"].quotePrefix
