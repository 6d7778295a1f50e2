"""Every list answers in the same page envelope (items, total, limit, offset, next_cursor, next),
checked on the OpenAPI document for every GET and through HTTP on the lists that used to be bare."""

from __future__ import annotations

from starlette.requests import Request

from app.api.deps import PageParams

API = "/api/v1"
ENVELOPE = {"items", "total", "limit", "offset", "next_cursor", "next"}


def _schema(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_no_get_answers_a_bare_array(app) -> None:
    spec = app.openapi()
    bare, paged = [], []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        for content in operation["responses"].get("200", {}).get("content", {}).values():
            schema = _schema(spec, content.get("schema", {}))
            if schema.get("type") == "array":
                bare.append(path)
            elif set(schema.get("properties", {})) == ENVELOPE:
                paged.append(path)
                names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
                assert {"limit", "offset", "cursor"} <= names, path
    assert bare == [], f"lists without the page envelope: {bare}"
    assert len(paged) >= 20, paged


def test_former_bare_lists_page_like_the_others(client, world) -> None:
    office = world.auth("lc-office")
    county = world.ids["lc_county"]
    campaign = world.ids["lc_campaign"]
    admin = world.auth("sysadmin")
    fw = client.get(f"{API}/campaigns/{campaign}", headers=office).json()["framework_id"]
    for url, who in [
        (f"{API}/campaigns", office),
        (f"{API}/counties/{county}/units", office),
        (f"{API}/counties/{county}/unit-groups", office),
        (f"{API}/campaigns/{campaign}/rounds", office),
        (f"{API}/campaigns/{campaign}/rectifications", office),
        (f"{API}/campaigns/{campaign}/late-windows", office),
        (f"{API}/webhooks", office),
        (f"{API}/users", admin),
        (f"{API}/regions", admin),
        (f"{API}/frameworks", admin),
        (f"{API}/frameworks/{fw}/sections", office),
        (f"{API}/frameworks/{fw}/headings", office),
        (f"{API}/frameworks/{fw}/materials", office),
    ]:
        whole = client.get(url, params={"limit": 500}, headers=who)
        assert whole.status_code == 200, (url, whole.text)
        body = whole.json()
        assert set(body) == ENVELOPE and body["total"] == len(body["items"]) and body["next"] is None, url
        if body["total"] < 3:
            continue
        # two at a time, following next_cursor, gives the same items in the same order
        seen, params = [], {"limit": 2}
        while True:
            page = client.get(url, params=params, headers=who).json()
            assert page["total"] == body["total"] and len(page["items"]) <= 2
            seen += page["items"]
            if page["next_cursor"] is None:
                break
            params = {"limit": 2, "cursor": page["next_cursor"]}
        assert seen == body["items"], url
        third = client.get(url, params={"limit": 1, "offset": 2}, headers=who).json()
        assert third["items"] == body["items"][2:3] and third["offset"] == 2
    # the units list of a 陵川 county is long enough to need two pages by default
    units = client.get(f"{API}/counties/{county}/units", headers=office).json()
    assert units["limit"] == 50 and (units["total"] <= 50 or units["next"].endswith(units["next_cursor"]))
    # wrong page parameters and wrong county are refused as before
    assert client.get(f"{API}/campaigns", params={"limit": 0}, headers=office).status_code == 422
    assert client.get(f"{API}/campaigns", params={"cursor": "nonsense"}, headers=office).json()["code"] == (
        "cursor_invalid"
    )
    assert client.get(f"{API}/counties/{world.ids['gp_county']}/units", headers=office).status_code in (403, 404)


def test_page_of_a_whole_list() -> None:
    def _Request() -> Request:  # noqa: N802 - stands for the class
        headers = [(b"host", b"localhost")]
        return Request({"type": "http", "method": "GET", "path": "/x", "query_string": b"limit=2", "headers": headers})

    page = PageParams(_Request(), 2, 0, None).of_all(list(range(5)))
    assert (page.items, page.total, page.next_cursor is not None) == ([0, 1], 5, True)
    assert page.next == f"http://localhost/x?limit=2&cursor={page.next_cursor}"
    last = PageParams(_Request(), 2, 4, None).of_all(list(range(5)))
    assert (last.items, last.next_cursor, last.next) == ([4], None, None)
