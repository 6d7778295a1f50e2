"""The GraphQL cost estimate counts plain lists (no `first`) by their upper bound, not as one item."""

from __future__ import annotations

from graphql import GraphQLList, GraphQLObjectType, get_named_type, get_nullable_type

from app.api.graphql.limits import LIST_BOUNDS, MAX_COST
from app.api.graphql.schema import schema
from tests.graphql_kit import codes, gql


def test_every_plain_object_list_has_a_bound() -> None:
    unbounded = set()
    for name, t in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(t, GraphQLObjectType) or name.endswith("Connection"):
            continue
        for field_name, field in t.fields.items():
            listed = isinstance(get_nullable_type(field.type), GraphQLList)
            if listed and "first" not in field.args and isinstance(get_named_type(field.type), GraphQLObjectType):
                unbounded.add(f"{name}.{field_name}")
    assert unbounded == set(LIST_BOUNDS)


def test_nested_plain_lists_count_by_their_bounds(client, world) -> None:
    auth = world.auth("sx-province")
    # 10 counties × 5 campaigns × 20 rounds × 500 scores: far over the limit, though no `first` but one
    nested = "{ counties(first: 10) { nodes { campaigns { rounds { scores { id points comment } } } } } }"
    refused = gql(client, auth, nested)
    assert refused.get("data") is None and codes(refused) == ["query_too_costly"]
    assert str(MAX_COST) in refused["errors"][0]["message"]
    # an ordinary page of a county's units still runs
    fine = gql(client, auth, "{ counties(first: 5) { nodes { name units { id name } campaigns { id name } } } }")
    assert "errors" not in fine, fine


def test_a_deadline_window_is_bounded_in_graphql_as_in_rest(client, world) -> None:
    """`within` walks the calendar day by day: a huge one is refused with REST's bound, not computed."""
    auth = world.auth("lc-office")
    cid = world.ids["lc_campaign"]
    query = "query($c: Int!, $w: Int!) { campaign(id: $c) { deadlines(within: $w) { totals { dueSoon } } } }"
    for within in (-1, 61, 10_000_000):
        refused = gql(client, auth, query, {"c": cid, "w": within})
        assert codes(refused) == ["within_out_of_range"], refused
        assert "0 到 60" in refused["errors"][0]["message"]
        rest = client.get(f"/api/v1/campaigns/{cid}/deadlines", params={"within": within}, headers=auth)
        assert rest.status_code == 422
    answer = gql(client, auth, query, {"c": cid, "w": 60})
    assert "errors" not in answer and answer["data"]["campaign"]["deadlines"]["totals"]["dueSoon"] >= 0
