"""The OpenAPI document as code generators read it: short unique operationIds, readable schema names,
binary downloads, the headers the API reads and sends, and which operations need no token, each checked
against what the API really does over HTTP."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.api.idempotency import honours_key
from app.main import create_app
from tests.conftest import pin_today

API = "/api/v1"
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]*$")


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app().openapi()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def test_operation_ids_are_short_unique_camel_case(spec) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(CAMEL.match(i) and len(i) <= 30 for i in ids), [i for i in ids if not CAMEL.match(i) or len(i) > 30]
    by_route = {(m, p): op["operationId"] for m, p, op in operations(spec)}
    assert by_route[("GET", f"{API}/me/assignments")] == "listMyAssignments"
    assert by_route[("POST", f"{API}/auth/token")] == "login"


def test_schema_names_are_class_names(spec) -> None:
    names = set(spec["components"]["schemas"])
    assert all(PASCAL.match(n) for n in names), sorted(n for n in names if not PASCAL.match(n))
    assert {"AssignmentPage", "LoginForm"} <= names
    page = spec["paths"][f"{API}/me/assignments"]["get"]["responses"]["200"]["content"]["application/json"]
    assert page["schema"] == {"$ref": "#/components/schemas/AssignmentPage"}


def test_every_success_body_has_a_schema_and_files_are_binary(spec) -> None:
    files = 0
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                assert content.get("schema"), f"{method} {path} {status} {media} has no schema"
                if status.startswith("2") and "json" not in media and media != "text/plain":
                    assert content["schema"] == {"type": "string", "format": "binary"}, (method, path)
                    files += 1
    # 5 .xlsx, the .zip, the .ics feed, a version's file (with the token and by signed link) and its JPEG form,
    # the 自评报告 .docx and its template .docx, a preview .png, the audit export's .csv and .xlsx (its JSON Lines
    # are "json"), a 督办单 .docx and its template .docx, the units' ranking as .xlsx
    assert files == 18


def test_binary_media_types_are_the_ones_sent(client, world) -> None:
    """A download's declared media type is the Content-Type the API answers with, and the file name it declares
    (Content-Disposition) is sent."""
    spec = client.app.openapi()
    framework = client.get(f"{API}/frameworks", headers=world.auth("sysadmin")).json()["items"][0]["id"]
    for path, real in (
        (f"{API}/frameworks/template.xlsx", f"{API}/frameworks/template.xlsx"),
        (f"{API}/frameworks/{{framework_id}}/export.xlsx", f"{API}/frameworks/{framework}/export.xlsx"),
        (f"{API}/campaigns/{{campaign_id}}/ledger.xlsx", f"{API}/campaigns/{world.ids['lc_campaign']}/ledger.xlsx"),
    ):
        r = client.get(real, headers=world.auth("lc-office"))
        assert r.status_code == 200, r.text
        ok = spec["paths"][path]["get"]["responses"]["200"]
        assert set(ok["content"]) == {r.headers["content-type"].split(";")[0]}
        assert ok["headers"]["Content-Disposition"] == {"$ref": "#/components/headers/Content-Disposition"}
        assert (
            r.headers["content-disposition"].startswith("attachment;")
            and "filename*=UTF-8''" in r.headers["content-disposition"]
        ), r.headers


def test_every_request_body_is_a_named_schema(spec) -> None:
    """Every request body, the streamed uploads and the login included, refers to a schema by name, so each
    generator makes a class of it instead of an anonymous inline type."""
    for method, path, op in operations(spec):
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            ref = content["schema"].get("$ref", "")
            assert ref.startswith("#/components/schemas/"), (method, path, media, content["schema"])
            assert PASCAL.match(ref.rsplit("/", 1)[1])
    bodies = {p: op["requestBody"]["content"] for _, p, op in operations(spec) if "requestBody" in op}
    upload = bodies[f"{API}/assignments/{{assignment_id}}/evidence/file"]["multipart/form-data"]["schema"]
    assert upload == {"$ref": "#/components/schemas/EvidenceFileForm"}
    login = spec["components"]["schemas"]["LoginForm"]
    assert set(login["required"]) == {"username", "password"} and "default" not in login["properties"]["scope"]


def test_idempotency_key_is_declared_exactly_where_it_is_honoured(spec, client, world) -> None:
    declared = {
        (m, p)
        for m, p, op in operations(spec)
        if {"$ref": "#/components/parameters/IdempotencyKey"} in op.get("parameters", [])
    }
    posts = {(m, p) for m, p, _ in operations(spec) if m == "POST"}
    uploads = {
        (m, p)
        for m, p, op in operations(spec)
        if m == "POST" and any(t.startswith("multipart/") for t in op.get("requestBody", {}).get("content", {}))
    }
    logins = {(m, p) for m, p in posts if p.startswith(f"{API}/auth/")}  # a token is never kept
    assert logins == {("POST", f"{API}/auth/{name}") for name in ("token", "refresh", "logout", "dingtalk")}
    assert declared == posts - logins and uploads <= declared  # file uploads included (issue 26)
    assert len(declared) >= 25 and all(honours_key(m, p) for m, p in declared)
    # over HTTP: a declared POST replays under its key, a file upload too (tests/test_idempotent_uploads.py)
    key = {"Idempotency-Key": "generators-1", **world.auth("sysadmin")}
    body = {"name": "幂等测试省", "level": "province"}
    first = client.post(f"{API}/regions", json=body, headers=key)
    again = client.post(f"{API}/regions", json=body, headers=key)
    assert first.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers


def test_public_operations_say_so_and_the_others_need_a_token(spec, client) -> None:
    """`security: []` exactly on the operations that answer without a token; every other one is 401 without."""
    public, guarded = [], []
    for method, path, op in operations(spec):
        assert "security" in op, f"{method} {path} says nothing about security"
        (guarded if op["security"] and {} not in op["security"] else public).append((method, path))
        if (method, path) == ("GET", "/metrics"):
            assert op["security"] == [{"MetricsToken": []}, {}]  # the token only when one is configured
    assert set(public) == {
        ("POST", f"{API}/auth/token"),
        ("POST", f"{API}/auth/refresh"),  # the refresh token in the body is the credential
        ("GET", f"{API}/auth/oidc/login"),  # unified login (统一身份认证, 钉钉免登)
        ("GET", f"{API}/auth/oidc/callback"),
        ("POST", f"{API}/auth/dingtalk"),
        ("GET", f"{API}/calendar/units/{{unit_id}}/deadlines.ics"),
        ("GET", f"{API}/downloads/{{version_id}}"),  # the signed link is the permission
        ("PUT", f"{API}/uploads/{{intent_id}}/content"),
        ("PUT", f"{API}/uploads/{{intent_id}}/parts/{{number}}"),  # signed part links of resumable uploads
        ("GET", "/"),  # where everything is
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
    }
    for method, path in guarded:
        r = client.request(method, re.sub(r"\{[a-z_]+\}", "1", path))
        assert r.status_code == 401, (method, path, r.status_code)
    for method, path in public:
        r = client.request(method, re.sub(r"\{[a-z_]+\}", "1", path))
        assert r.status_code != 401, (method, path, r.text)


def test_etag_and_if_match_are_declared_where_they_are_used(spec, client, app, world, session) -> None:
    """Every operation reading If-Match declares the ETag it answers with, and so does the GET of its resource;
    the API really sends that ETag."""
    etag = {"$ref": "#/components/headers/ETag"}
    writers = [
        (m, p)
        for m, p, op in operations(spec)
        if any(x.get("name") == "If-Match" for x in op.get("parameters", []) if "name" in x)
    ]
    assert {p for _, p in writers} == {
        f"{API}/assignments/{{assignment_id}}",
        f"{API}/unit-groups/{{group_id}}",
        f"{API}/campaigns/{{campaign_id}}/scoring",
    }
    for method, path in writers:
        for verb in (method.lower(), "get"):
            assert spec["paths"][path][verb]["responses"]["200"]["headers"]["ETag"] == etag, (verb, path)
        assert "412" in spec["paths"][path][method.lower()]["responses"]
    pin_today(app, date(2023, 2, 10))
    mine = client.get(f"{API}/me/assignments", headers=world.auth("lc-sfj")).json()["items"][0]["id"]
    r = client.get(f"{API}/assignments/{mine}", headers=world.auth("lc-sfj"))
    assert r.status_code == 200 and r.headers["ETag"]
    r = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/scoring", headers=world.auth("lc-office"))
    assert r.status_code == 200 and r.headers["ETag"]


def test_response_headers_are_declared(spec, client, world) -> None:
    """X-Request-ID on every answer, Retry-After on 429, and both really sent."""
    for _, _, op in operations(spec):
        for status, response in op["responses"].items():
            assert response["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
            if status == "429":
                assert response["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert spec["paths"][f"{API}/auth/token"]["post"]["responses"]["429"]
    r = client.get(f"{API}/me", headers={"X-Request-ID": "client-abc.1", **world.auth("lc-sfj")})
    assert r.headers["X-Request-ID"] == "client-abc.1"
    assert spec["servers"] and spec["servers"][0]["url"] == "/"


def test_typed_bodies_and_plain_shapes(spec, client, world) -> None:
    """PUT …/scoring documents its ScoringConfig body; Problem.errors is optional and not nullable;
    DueAnswer.calendar_covers is a plain list of two years."""
    scoring = spec["paths"][f"{API}/campaigns/{{campaign_id}}/scoring"]["put"]["requestBody"]
    assert scoring["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScoringConfig"}
    problem = spec["components"]["schemas"]["Problem"]
    assert "errors" not in problem["required"] and "default" not in problem["properties"]["errors"]
    assert problem["properties"]["errors"]["type"] == "array"
    covers = spec["components"]["schemas"]["DueAnswer"]["properties"]["calendar_covers"]
    assert "prefixItems" not in covers and covers["items"] == {"type": "integer"}
    due = client.get(
        f"{API}/calendar/due", params={"days": 3, "from_date": "2024-01-02"}, headers=world.auth("sysadmin")
    )
    assert due.status_code == 200 and len(due.json()["calendar_covers"]) == 2
    # the typed body is still checked by the service, in its own words
    bad = client.put(
        f"{API}/campaigns/{world.ids['lc_campaign']}/scoring",
        json={"default_max": -1},
        headers=world.auth("lc-office"),
    )
    assert bad.status_code == 422 and bad.json()["code"] == "scoring_invalid"


def test_creates_answer_with_the_location_they_declare(spec, client, world, session) -> None:
    """A 201 that declares Location sends the path of the new resource's own GET, and that GET finds it."""
    location = {"$ref": "#/components/headers/Location"}
    declared = {
        (m, p)
        for m, p, op in operations(spec)
        if op["responses"].get("201", {}).get("headers", {}).get("Location") == location
    }
    assert {("POST", f"{API}/campaigns"), ("POST", f"{API}/assignments/{{assignment_id}}/evidence")} <= declared
    assert len(declared) == 9 and all(m == "POST" for m, _ in declared)
    office = world.auth("gp-office")
    r = client.post(
        f"{API}/counties/{world.ids['gp_county']}/unit-groups", json={"name": "Location 测试组"}, headers=office
    )
    assert r.status_code == 201 and r.headers["Location"] == f"{API}/unit-groups/{r.json()['id']}"
    again = client.get(r.headers["Location"], headers=office)
    assert again.status_code == 200 and again.json() == r.json()
    pin_today(client.app, date(2023, 2, 10))
    from tests.evidence_kit import PICKER

    assignment = PICKER.assignment(session, world.ids["lc_sfj"]).id
    body = {"kind": "statement", "text": "本单位已建立制度（Location 测试）"}
    r = client.post(f"{API}/assignments/{assignment}/evidence", json=body, headers=world.auth("lc-sfj"))
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"{API}/evidence/{r.json()['id']}"
    assert client.get(r.headers["Location"], headers=world.auth("lc-sfj")).json()["id"] == r.json()["id"]


def test_metrics_token_is_an_optional_bearer(client, monkeypatch) -> None:
    """/metrics declares its token as an HTTP bearer; a wrong or non-ASCII one is 401 (was a 500), the right one 200."""
    from app.settings import get_settings

    monkeypatch.setenv("SHIFAN_METRICS_TOKEN", "m-secret")
    get_settings.cache_clear()
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer 令牌".encode()}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer m-secret"}).status_code == 200
    finally:
        monkeypatch.delenv("SHIFAN_METRICS_TOKEN")
        get_settings.cache_clear()
