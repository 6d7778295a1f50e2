"""Error shape (problem+json) and the committed OpenAPI document."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from app.api.graphql import sdl
from app.main import create_app
from tests.conftest import pin_today

OPENAPI = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
GRAPHQL_SDL = OPENAPI.with_name("schema.graphql")


def test_openapi_is_committed_and_current() -> None:
    generated = json.dumps(create_app().openapi(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    assert OPENAPI.read_text(encoding="utf-8") == generated, "openapi.json drifted: run `shifan openapi`"


def test_graphql_schema_is_committed_and_current() -> None:
    assert GRAPHQL_SDL.read_text(encoding="utf-8") == sdl(), "schema.graphql drifted: run `shifan openapi`"


def test_unknown_route_is_problem_json(client, world) -> None:
    r = client.get("/api/v1/nope", headers=world.auth("sysadmin"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "not_found" and body["status"] == 404 and body["instance"] == "/api/v1/nope"
    assert body["type"] == "urn:shifan:problem:not_found"


def test_validation_error_is_problem_json_in_chinese(client, world) -> None:
    r = client.post("/api/v1/campaigns", json={"name": ""}, headers=world.auth("lc-office"))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and "请检查" in body["detail"]
    assert {e["loc"] for e in body["errors"]} >= {"body.name", "body.framework_id", "body.phases"}


def test_not_found_ids(client, world) -> None:
    for path, code in (
        ("/api/v1/campaigns/999999", "campaign_not_found"),
        ("/api/v1/assignments/999999", "assignment_not_found"),
        ("/api/v1/frameworks/999999", "framework_not_found"),
        ("/api/v1/counties/999999/units", "county_not_found"),
    ):
        r = client.get(path, headers=world.auth("sysadmin"))
        assert r.status_code == 404 and r.json()["code"] == code, path


def test_readyz_reports_database_and_storage(client, app, database_url) -> None:
    from tests.conftest import unreachable_store, use_store

    pin_today(app, date(2023, 3, 1))  # a year the calendar knows, and the next one too
    ok = client.get("/readyz")
    body = ok.json()
    lanes, worker = body.pop("lanes"), body.pop("worker")  # the worker's lanes, by the heartbeats in this database
    assert ok.status_code == 200 and body == {"status": "ok", "database": "ok", "storage": "ok", "calendar": "ok"}
    assert set(lanes) == {"reminders", "deliveries", "previews", "search"} and worker in ("ok", "absent", "stalled")
    use_store(app, unreachable_store())
    try:
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json()["storage"] == "unavailable" and down.json()["database"] == "ok"
    finally:
        from app.api import deps

        app.dependency_overrides.pop(deps._store, None)


def test_lists_page_by_next_links_keeping_their_filters(client, world) -> None:
    h = world.auth("lc-office")
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments?unit_id={world.ids['lc_sfj']}&limit=7"
    seen: list[int] = []
    total = None
    while url:
        page = client.get(url, headers=h).json()
        total = page["total"]
        seen += [a["id"] for a in page["items"]]
        assert all(a["unit_id"] == world.ids["lc_sfj"] for a in page["items"])  # the filter rides along
        url = page["next"]
        if url:
            assert "cursor=" in url and f"unit_id={world.ids['lc_sfj']}" in url and page["next_cursor"] in url
    assert total and len(seen) == len(set(seen)) == total > 7
    bad = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments?cursor=zzz", headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"


def test_assignment_lists_sort_by_a_named_key(client, world) -> None:
    h = world.auth("lc-office")
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments"
    units = [a["unit_name"] for a in client.get(url, params={"sort": "unit", "limit": 200}, headers=h).json()["items"]]
    assert units == sorted(units)
    down = [a["unit_name"] for a in client.get(url, params={"sort": "-unit", "limit": 200}, headers=h).json()["items"]]
    assert down == sorted(down, reverse=True)
    items = client.get(url, params={"sort": "item", "limit": 50, "unit_id": world.ids["lc_sfj"]}, headers=h).json()[
        "items"
    ]
    numbers = [(a["section"], a["item_number"]) for a in items if a["section"] == "indicator"]
    assert [n for _, n in numbers] == sorted(n for _, n in numbers)
    bad = client.get(url, params={"sort": "password"}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "sort_invalid"
    mine = client.get("/api/v1/me/assignments", params={"sort": "-due_on"}, headers=world.auth("lc-sfj")).json()[
        "items"
    ]
    assert [a["due_on"] for a in mine] == sorted((a["due_on"] for a in mine), reverse=True)
