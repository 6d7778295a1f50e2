"""'Not found' and 'not yours' answer alike: on every route naming an object, another county's existing
object and an id that never existed give the same status, code and detail, so ids cannot be enumerated."""

from __future__ import annotations

import re

from tests.evidence_kit import pdf
from tests.test_security import OWN_TOKEN, WRITE_BODIES, lingchuan_objects  # noqa: F401  (the fixture)

NEVER = 987_654_321
# Ids that name no county's object: frameworks are readable by every account (see README), the calendar
# feed answers a token of its own.
# An upload intent is named only to its creator (and needs an S3 store): tests/test_evidence_direct.py.
SHARED = {"framework_id", "intent_id", "year"}  # no county's: frameworks, uploads named by their creator, holiday years


def _answer(client, method: str, url: str, who: dict[str, str], body: dict | None) -> tuple[int, str, str]:
    if body is None and method in ("POST", "PUT", "PATCH"):
        sent: dict = {"files": {"file": ("越权.pdf", pdf("x"), "application/pdf")}}
    else:
        sent = {"json": body} if body is not None and method != "GET" else {}
    r = client.request(method, url, headers=who, **sent)
    data = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    return r.status_code, data.get("code", ""), data.get("detail", "")


def test_another_countys_object_and_a_missing_one_answer_alike(client, app, world, lingchuan_objects) -> None:  # noqa: F811
    routes = []
    for path, item in sorted(app.openapi()["paths"].items()):
        params = set(re.findall(r"\{(\w+)\}", path))
        if not params or params & SHARED or path in OWN_TOKEN:
            continue
        for method in item:
            routes.append((method.upper(), path, params))
    differing = []
    for method, path, params in routes:
        body = WRITE_BODIES.get(f"{method} {path}") if method != "GET" else None
        for param in sorted(params - {"number"}):
            theirs = path.format(**lingchuan_objects)
            missing = path.format(**{**lingchuan_objects, param: NEVER})
            for who in ("gp-office", "gp-sfj", "yn-province", "idle-evaluator"):
                headers = world.auth(who)
                a = _answer(client, method, theirs, headers, body)
                b = _answer(client, method, missing, headers, body)
                if a != b:
                    differing.append((method, path, param, who, a, b))
    assert differing == []
    assert len(routes) >= 40
