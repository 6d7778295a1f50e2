"""GraphQL over HTTP: application/graphql-response+json when the client accepts it, with the spec's status
codes (400 and no `data` when the request could not be executed), application/json unchanged for clients
that ask for it; and graphql-http's own conformance audit (npm, tools/node) against the served app."""

from __future__ import annotations

import json

import pytest

from app.api.graphql.http import wants_graphql_response
from tests.conftest import serving
from tests.test_client_generators import NODE_DIR, needs_node, node_tool, run

GQL_RESPONSE = "application/graphql-response+json"
COUNT = "query { counties(first: 1) { totalCount } }"


def post(client, body: dict, accept: str | None, headers: dict[str, str] | None = None):
    h = {**(headers or {}), **({"Accept": accept} if accept else {})}
    return client.post("/graphql", json=body, headers=h)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"query": "{"}, "the document does not parse"),
        ({"query": "{ noSuchField }"}, "the document does not validate"),
        ({"query": "query($n: Int!) { counties(first: $n) { totalCount } }", "variables": {"n": "many"}}, "variables"),
    ],
)
def test_request_errors_are_400_without_data_for_graphql_response_clients(client, world, body, why) -> None:
    r = post(client, body, f"{GQL_RESPONSE}, {'application/json'};q=0.9", world.auth("lc-office"))
    assert r.status_code == 400, (why, r.text)
    assert r.headers["content-type"] == f"{GQL_RESPONSE}; charset=utf-8"
    answer = r.json()
    assert "data" not in answer and answer["errors"][0]["extensions"]["code"] == "graphql_invalid"
    # a client asking for application/json keeps the classic answer: 200 and data null
    classic = post(client, body, "application/json", world.auth("lc-office"))
    assert classic.status_code == 200 and classic.headers["content-type"] == "application/json"
    assert classic.json()["data"] is None and classic.json()["errors"]


def test_executed_operations_are_200_in_the_accepted_media_type(client, world) -> None:
    ok = post(client, {"query": COUNT}, GQL_RESPONSE, world.auth("sx-province"))
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GQL_RESPONSE)
    assert ok.json()["data"]["counties"]["totalCount"] >= 1
    # a field error (no token) was executed: 200 with its data entry, the error keeps REST's code
    denied = post(client, {"query": COUNT}, GQL_RESPONSE)
    assert denied.status_code == 200 and "data" in denied.json(), denied.text
    assert denied.json()["errors"][0]["extensions"]["status"] == 401
    # no Accept header, or */*: application/json as before
    for accept in (None, "*/*"):
        r = post(client, {"query": COUNT}, accept, world.auth("sx-province"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    # GET queries negotiate the same way
    r = client.get("/graphql", params={"query": "{"}, headers={"Accept": GQL_RESPONSE, **world.auth("lc-office")})
    assert r.status_code == 400 and r.headers["content-type"].startswith(GQL_RESPONSE)


def test_accept_preference_is_read_with_its_q_values() -> None:
    assert wants_graphql_response(GQL_RESPONSE)
    assert wants_graphql_response(f"application/json;q=0.9, {GQL_RESPONSE}")
    assert wants_graphql_response(f"{GQL_RESPONSE};q=1.0, application/json;q=1.0")
    assert not wants_graphql_response(f"application/json, {GQL_RESPONSE};q=0.5")
    assert not wants_graphql_response(f"{GQL_RESPONSE};q=0")
    assert not wants_graphql_response("application/json")
    assert not wants_graphql_response(None)
    assert not wants_graphql_response("*/*")


@needs_node
def test_graphql_http_audit_has_no_failure_and_no_warning(app, world, monkeypatch) -> None:
    node_tool("tsc")  # the tools are installed (graphql-http with them)
    # the audit introspects (__type), which is answered to a logged-in caller only
    monkeypatch.setenv("GRAPHQL_AUDIT_TOKEN", world.tokens["lc-office"])
    with serving(app) as base:
        done = run(["node", str(NODE_DIR / "graphql-audit.mjs"), f"{base}/graphql"], cwd=NODE_DIR)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) > 30, done.stdout + done.stderr
    not_ok = [r for r in results if r["status"] in ("error", "warn")]
    assert not not_ok and done.returncode == 0, json.dumps(not_ok, ensure_ascii=False, indent=1) + done.stderr
