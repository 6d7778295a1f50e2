"""No lost updates: ETag + If-Match on the mutable resources (assignment due dates, unit groups, scoring
configuration), across two API instances on one database, and when two writers race with the same ETag."""

from __future__ import annotations

import threading
import time

import httpx

from app.main import create_app
from tests.conftest import serving
from tests.evidence_kit import API


def _assignment(client, world) -> int:
    page = client.get(
        f"{API}/campaigns/{world.ids['gp_campaign']}/assignments", params={"limit": 1}, headers=world.auth("gp-office")
    )
    return page.json()["items"][0]["id"]


def test_stale_if_match_is_412_and_fresh_or_star_goes_through(client, world) -> None:
    h = world.auth("gp-office")
    url = f"{API}/assignments/{_assignment(client, world)}"
    first = client.get(url, headers=h)
    etag = first.headers["etag"]
    assert etag.startswith('"') and client.get(url, headers=h).headers["etag"] == etag  # stable while unchanged
    changed = client.patch(url, json={"due_on": "2023-03-10"}, headers={**h, "If-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    for stale in (etag, f"W/{etag}", f'"nope", {etag}'):
        refused = client.patch(url, json={"due_on": "2023-03-11"}, headers={**h, "If-Match": stale})
        assert refused.status_code == 412, stale
        assert (
            refused.headers["content-type"] == "application/problem+json"
            and refused.json()["code"] == "precondition_failed"
        )
    assert client.get(url, headers=h).json()["due_on"] == "2023-03-10"  # nothing overwritten
    assert client.patch(url, json={"due_on": None}, headers={**h, "If-Match": "*"}).status_code == 200
    assert client.patch(url, json={"due_on": None}, headers=h).status_code == 200  # no If-Match: last write wins


def test_two_instances_cannot_lose_each_others_update(app, world, monkeypatch) -> None:
    from app.services.platform import concurrency

    checked = concurrency.check

    def slow_check(if_match, current) -> None:  # widen the window between the check and the write
        checked(if_match, current)
        time.sleep(0.5)

    monkeypatch.setattr(concurrency, "check", slow_check)
    other = create_app()
    other.dependency_overrides = app.dependency_overrides
    with serving(app) as a, serving(other) as b:
        token = httpx.post(f"{a}{API}/auth/token", data={"username": "gp-office", "password": "shifan-demo"}).json()[
            "access_token"
        ]
        h = {"Authorization": f"Bearer {token}"}
        first = httpx.get(
            f"{a}{API}/campaigns/{world.ids['gp_campaign']}/assignments", params={"limit": 1}, headers=h
        ).json()["items"][0]
        url = f"{API}/assignments/{first['id']}"
        etag_a = httpx.get(f"{a}{url}", headers=h).headers["etag"]
        etag_b = httpx.get(f"{b}{url}", headers=h).headers["etag"]
        assert etag_a == etag_b
        assert (
            httpx.patch(f"{a}{url}", json={"due_on": "2023-04-01"}, headers={**h, "If-Match": etag_a}).status_code
            == 200
        )
        late = httpx.patch(f"{b}{url}", json={"due_on": "2023-05-01"}, headers={**h, "If-Match": etag_b})
        assert late.status_code == 412
        assert httpx.get(f"{b}{url}", headers=h).json()["due_on"] == "2023-04-01"

        # two writers at the same moment, one per instance, holding the same ETag: exactly one wins
        etag = httpx.get(f"{a}{url}", headers=h).headers["etag"]
        barrier = threading.Barrier(2)
        results: dict[str, int] = {}

        def write(base: str, day: str) -> None:
            barrier.wait()
            r = httpx.patch(f"{base}{url}", json={"due_on": day}, headers={**h, "If-Match": etag}, timeout=30)
            results[day] = r.status_code

        threads = [
            threading.Thread(target=write, args=(a, "2023-06-01")),
            threading.Thread(target=write, args=(b, "2023-06-02")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 412], results
        winner = next(day for day, status in results.items() if status == 200)
        assert httpx.get(f"{a}{url}", headers=h).json()["due_on"] == winner


def test_unit_groups_and_scoring_configuration_carry_etags(client, world) -> None:
    h = world.auth("gp-office")
    group = client.get(f"{API}/counties/{world.ids['gp_county']}/unit-groups", headers=h).json()["items"][0]
    read = client.get(f"{API}/unit-groups/{group['id']}", headers=h)
    etag = read.headers["etag"]
    ok = client.patch(
        f"{API}/unit-groups/{group['id']}", json={"aliases": ["全市各乡镇"]}, headers={**h, "If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    stale = client.patch(f"{API}/unit-groups/{group['id']}", json={"aliases": []}, headers={**h, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(f"{API}/unit-groups/{group['id']}", headers=h).json()["aliases"] == ["全市各乡镇"]

    url = f"{API}/campaigns/{world.ids['gp_campaign']}/scoring"
    current = client.get(url, headers=h)
    config = current.json()["config"]
    config["default_max"] = 2.0
    assert client.put(url, json=config, headers={**h, "If-Match": current.headers["etag"]}).status_code == 200
    config["default_max"] = 3.0
    refused = client.put(url, json=config, headers={**h, "If-Match": current.headers["etag"]})
    assert refused.status_code == 412
    assert client.get(url, headers=h).json()["config"]["default_max"] == 2.0
    config["default_max"] = 1.0  # put it back for the other tests
    fresh = client.get(url, headers=h).headers["etag"]
    assert client.put(url, json=config, headers={**h, "If-Match": fresh}).status_code == 200
