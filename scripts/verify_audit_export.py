#!/usr/bin/env python3
"""Recompute a Shifan audit export outside the system, with nothing but Python's standard library (and, for the
time stamps' signatures, the openssl command): every entry's hash, the chain's links, each daily root's county
roots and digest, the links between the roots, and the time-stamp tokens.

    python3 verify_audit_export.py [--tsa-ca CA.pem] FILE [FILE ...]

FILEs are JSON Lines (.jsonl) or CSV (.csv) exports of GET /api/v1/audit/export or archives of `shifan audit
archive`, in chain order (e.g. the archives, oldest first, then a recent export): the chain is followed across
them. Exit code 0 when everything recomputes, 1 (naming each problem) otherwise. The canonical forms are in
docs/security/audit.md; nothing here imports the service's code."""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile

GENESIS = "0" * 64
HASHED = ("seq", "at", "user_id", "username", "role", "action", "object_type", "object_id", "county_id",
          "campaign_id", "before", "after", "request_id", "prev_hash")  # fmt: skip
INTEGERS = ("seq", "user_id", "county_id", "campaign_id")


def canonical(data):
    """Sorted keys, no spaces, UTF-8, no NaN: the bytes that are hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_records(path):
    """The records of one export file, JSON Lines or CSV."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        if path.endswith(".csv"):
            for row in csv.DictReader(f):
                if row["kind"] != "entry":
                    yield json.loads(row["record"])
                    continue
                item = {"kind": "entry", "entry_hash": row["entry_hash"]}
                for name in HASHED:
                    value = row[name]
                    if name in INTEGERS:
                        value = int(value) if value != "" else None
                    elif name in ("before", "after"):
                        value = json.loads(value) if value != "" else None
                    item[name] = value
                yield item
        else:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def county_roots(entries):
    """[[county_id, root, count], ...] of entries (in seq order), by county id, no county last."""
    groups = {}
    for e in entries:
        groups.setdefault(e["county_id"], []).append([e["seq"], e["entry_hash"]])
    out = []
    for county_id in sorted(groups, key=lambda c: (c is None, c or 0)):
        body = {"county_id": county_id, "entries": groups[county_id]}
        out.append([county_id, sha256(canonical(body)), len(groups[county_id])])
    return out


def check_token(root, ca_file, problems):
    """The token covers the root's digest (its message imprint); with ca_file, openssl checks its signature."""
    token = base64.b64decode(root["tsa_token"])
    if bytes.fromhex(root["digest"]) not in token:
        problems.append(f"root up to seq {root['last_seq']}: the time-stamp token does not cover its digest")
        return
    if ca_file is None:
        return
    with tempfile.NamedTemporaryFile(suffix=".tst", delete=False) as f:
        f.write(token)
    try:
        done = subprocess.run(
            ["openssl", "ts", "-verify", "-digest", root["digest"], "-in", f.name, "-token_in", "-CAfile", ca_file],
            capture_output=True, text=True,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    if done.returncode != 0 or "Verification: OK" not in done.stdout:
        problems.append(f"root up to seq {root['last_seq']}: openssl ts -verify failed: {done.stdout}{done.stderr}")


def verify(paths, ca_file=None):
    """(problems, summary lines) for the files, in chain order."""
    problems, notes = [], []
    entries, roots, headers = [], {}, []
    for path in paths:
        for item in read_records(path):
            if item["kind"] == "header":
                headers.append(item)
            elif item["kind"] == "entry":
                entries.append(item)
            elif item["kind"] == "root":
                roots[item["last_seq"]] = item
    whole_chain = all(h.get("all_counties") for h in headers)
    county = None if whole_chain else headers[0]["county_id"] if headers else None

    # each entry's hash, and (a whole-chain export) the links between them
    entries.sort(key=lambda e: e["seq"])
    previous = None
    for e in entries:
        data = {name: e[name] for name in HASHED}
        if sha256(canonical(data)) != e["entry_hash"]:
            problems.append(f"entry seq {e['seq']}: its content does not match its hash (altered)")
        if whole_chain and previous is not None:
            if e["seq"] == previous["seq"]:
                continue  # the same entry in two files (an archive and a later export)
            if e["seq"] != previous["seq"] + 1:
                problems.append(f"entries {previous['seq'] + 1} to {e['seq'] - 1} are missing")
            elif e["prev_hash"] != previous["entry_hash"]:
                problems.append(f"entry seq {e['seq']}: does not link to entry {previous['seq']}")
        previous = e
    if whole_chain and entries:
        first = entries[0]
        before = roots.get(first["seq"] - 1)
        if first["seq"] == 1 and first["prev_hash"] != GENESIS:
            problems.append("entry seq 1 does not start the chain")
        elif before is not None and first["prev_hash"] != before["last_entry_hash"]:
            problems.append(
                f"entry seq {first['seq']}: does not link to the root that ends at seq {before['last_seq']}"
            )
        elif first["seq"] > 1 and before is None:
            notes.append(f"the files start at seq {first['seq']}; its predecessor's hash is taken as given")

    # each root: its digest, its link to the root before it, its county roots, its time stamp
    by_seq = {e["seq"]: e for e in entries}
    ordered = [roots[k] for k in sorted(roots)]
    recomputed = 0
    for i, root in enumerate(ordered):
        body = {k: root[k] for k in ("first_seq", "last_seq", "last_entry_hash", "prev_digest", "roots", "sealed_at")}
        name = f"root up to seq {root['last_seq']} (sealed {root['sealed_at']})"
        if sha256(canonical(body)) != root["digest"]:
            problems.append(f"{name}: its content does not match its digest")
        if (
            i > 0
            and root["first_seq"] == ordered[i - 1]["last_seq"] + 1
            and root["prev_digest"] != ordered[i - 1]["digest"]
        ):
            problems.append(f"{name}: does not link to the root before it")
        if root["first_seq"] == 1 and root["prev_digest"] != GENESIS:
            problems.append(f"{name}: the first root does not start from 64 zeros")
        if root.get("tsa_token"):
            check_token(root, ca_file, problems)
        if not any(h["first_seq"] <= root["first_seq"] and root["last_seq"] <= h["last_seq"] for h in headers):
            continue  # outside the files' stretch (the root before it, kept for the link)
        covered = [by_seq[s] for s in range(root["first_seq"], root["last_seq"] + 1) if s in by_seq]
        if whole_chain:
            if (
                not covered
                or covered[-1]["seq"] != root["last_seq"]
                or covered[-1]["entry_hash"] != root["last_entry_hash"]
            ):
                problems.append(f"{name}: its last entry hash does not match entry seq {root['last_seq']}")
            if county_roots(covered) != root["roots"]:
                problems.append(f"{name}: the county roots recomputed from the entries do not match")
        else:
            mine = [r for r in root["roots"] if r[0] == county]
            if county_roots(covered) != mine:
                problems.append(f"{name}: county {county}'s root recomputed from the entries does not match")
        recomputed += 1

    stamped = sum(1 for r in ordered if r.get("tsa_token"))
    scope = "the whole chain" if whole_chain else f"county {county}"
    notes.insert(0, f"{len(entries)} entries of {scope}, {len(ordered)} daily roots ({stamped} time-stamped, "
                    f"{recomputed} recomputed from the entries)")  # fmt: skip
    if stamped and ca_file is None:
        notes.append("time stamps: only their digests were compared; give --tsa-ca to check their signatures")
    return problems, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="export or archive files (.jsonl or .csv), in chain order")
    parser.add_argument("--tsa-ca", help="PEM file of the time-stamp authority's CA: check each token with openssl")
    args = parser.parse_args(argv)
    problems, notes = verify(args.files, args.tsa_ca)
    for note in notes:
        print(note)
    for problem in problems:
        print(f"MISMATCH: {problem}")
    print("OK: the export recomputes" if not problems else f"FAILED: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
