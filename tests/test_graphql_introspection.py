"""Introspection is neither free nor open (issue 23, point 8): the outside probe sent 30 aliased deep
introspections without a token, each 1.3–1.8 s of CPU, and other users' median went from 17 ms to 3.3 s.
Now an introspection needs a login, and its fields count in the cost and depth limits exactly (the answer's
size, counted on the schema). Through HTTP with real tokens; GraphiQL's own introspection still passes."""

from __future__ import annotations

import re
import time

import pytest
from graphql import get_introspection_query

from app.api.graphql.limits import MAX_COST
from tests.graphql_kit import codes, gql

GRAPHQL_RESPONSE = "application/graphql-response+json"
# graphql-js's getIntrospectionQuery (what GraphiQL sends) as graphql-core writes it: the plain one and with every
# option a newer GraphiQL may turn on
STANDARD = get_introspection_query()
EVERYTHING = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)
FRAGMENTS = STANDARD[STANDARD.index("fragment ") :]


def _answer_size(value: object) -> int:
    """The fields an answer holds (every key of every object)."""
    if isinstance(value, dict):
        return len(value) + sum(_answer_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_answer_size(v) for v in value)
    return 0


def _aliased(copies: int) -> str:
    """The probe's request: copies of a whole introspection under aliases, in one operation."""
    body = " ".join(f"a{i}: __schema {{ types {{ ...FullType }} }}" for i in range(copies))
    return f"query {{ {body} }}\n{FRAGMENTS}"


@pytest.mark.parametrize("query", [STANDARD, '{ __type(name: "Campaign") { name fields { name } } }'])
def test_introspection_without_a_login_is_refused_before_it_runs(client, query) -> None:
    body = gql(client, None, query)
    assert body["data"] is None and codes(body) == ["not_authenticated"]
    message = body["errors"][0]["message"]
    assert "需要先登录" in message and "Authorization" in message and "openapi/schema.graphql" in message
    # GraphQL over HTTP: a request error, no data entry, 400
    r = client.post("/graphql", json={"query": query}, headers={"Accept": GRAPHQL_RESPONSE})
    assert (
        r.status_code == 400
        and "data" not in r.json()
        and r.json()["errors"][0]["extensions"]["code"] == "not_authenticated"
    )
    # a forged token is refused with the token's own code, as for any field
    forged = gql(client, {"Authorization": "Bearer not.a.token"}, query)
    assert forged["data"] is None and codes(forged)[0].startswith("token")
    # __typename is part of any answer, not a description of the schema
    assert gql(client, None, "{ __typename }") == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("query", [STANDARD, EVERYTHING], ids=["standard", "every-option"])
def test_graphiqls_introspection_passes_for_a_logged_in_user(client, world, query) -> None:
    body = gql(client, world.auth("lc-sfj"), query)
    assert "errors" not in body, body.get("errors")
    schema = body["data"]["__schema"]
    names = {t["name"] for t in schema["types"]}
    assert schema["queryType"]["name"] == "Query" and {"Campaign", "Evidence", "Mutation"} <= names
    # well inside the limit: room for a client's own introspection next to it
    assert _answer_size(body["data"]) < MAX_COST / 4


def test_introspection_counts_in_the_cost_limit_as_the_size_of_its_answer(client, world) -> None:
    auth = world.auth("lc-sfj")
    one = gql(client, auth, _aliased(1))
    assert "errors" not in one, one.get("errors")
    size = _answer_size(one["data"])
    fits = MAX_COST // size  # whole introspections one request may hold
    assert 1 <= fits < 30
    assert "errors" not in gql(client, auth, _aliased(fits))
    # The probe's 30 aliased copies: refused before anything runs, the estimate naming the answer's real size.
    started = time.perf_counter()
    probe = gql(client, auth, _aliased(30))
    refused_in = time.perf_counter() - started
    assert probe["data"] is None and codes(probe) == ["query_too_costly"]
    estimate = int(re.search(r"约 (\d+) 个字段", probe["errors"][0]["message"]).group(1))
    assert estimate > MAX_COST
    # the count stops once past the limit: refusing costs a fraction of answering even one copy
    started = time.perf_counter()
    gql(client, auth, _aliased(1))
    answered_in = time.perf_counter() - started
    took = f"30 refused in {refused_in * 1000:.0f} ms, one answered in {answered_in * 1000:.0f} ms"
    print(f"\nintrospection: {size} fields each, {fits} fit; {took}")
    assert refused_in < max(answered_in, 0.05) * 3


def test_a_type_asked_by_name_counts_its_own_fields(client, world) -> None:
    auth = world.auth("lc-sfj")
    query = (
        "query($n: String!) { __type(name: $n) { name fields { name args { name } type { name ofType { name } } } } }"
    )
    r = client.post("/graphql", json={"query": query, "variables": {"n": "Campaign"}}, headers=auth)
    body = r.json()
    assert "errors" not in body and body["data"]["__type"]["name"] == "Campaign"
    # an unknown name answers null and costs only its field
    assert gql(client, auth, '{ __type(name: "NoSuchType") { name } }') == {"data": {"__type": None}}


def test_introspection_nested_past_the_standard_querys_depth_is_refused(client, world) -> None:
    inner = "name"
    for _ in range(14):
        inner = f"name ofType {{ {inner} }}"
    deep = f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"
    body = gql(client, world.auth("lc-sfj"), deep)
    assert body["data"] is None and codes(body) == ["query_too_deep"]
