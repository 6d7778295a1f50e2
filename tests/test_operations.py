"""What operators see: Prometheus metrics by route template, JSON logs whose request id matches the
response header and the audit trail, and two API instances on one database serving the same data."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import get_settings
from tests.conftest import pin_today, served_demo, serving
from tests.evidence_kit import API, PICKER, pdf, upload

ROOT = Path(__file__).resolve().parents[1]


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_and_upload_bytes(client, app, world, session) -> None:
    before = client.get("/metrics").text
    campaign = world.ids["lc_campaign"]
    for _ in range(3):
        assert client.get(f"{API}/campaigns/{campaign}", headers=world.auth("lc-office")).status_code == 200
    assert client.get(f"{API}/campaigns/999999", headers=world.auth("lc-office")).status_code == 404
    pin_today(app, date(2023, 2, 10))
    content = pdf("metrics")
    assert (
        upload(
            client, world.auth("lc-sfj"), PICKER.assignment(session, world.ids["lc_sfj"]).id, content, "m.pdf"
        ).status_code
        == 201
    )
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text
    route = "/api/v1/campaigns/{campaign_id}"  # the template, never the id: bounded label values
    ok = {"method": "GET", "route": route, "status": "200"}
    assert _sample(after, "shifan_http_requests_total", **ok) - _sample(before, "shifan_http_requests_total", **ok) == 3
    missing = {"method": "GET", "route": route, "status": "404"}
    assert (
        _sample(after, "shifan_http_requests_total", **missing)
        - _sample(before, "shifan_http_requests_total", **missing)
        == 1
    )
    assert _sample(after, "shifan_http_request_duration_seconds_count", method="GET", route=route) >= 4
    assert f'route="{API}/campaigns/{campaign}"' not in after
    grown = _sample(after, "shifan_evidence_upload_bytes_total", path="api") - _sample(
        before, "shifan_evidence_upload_bytes_total", path="api"
    )
    assert grown == len(content)
    assert 'shifan_outbox_backlog{status="pending"}' in after and 'shifan_outbox_backlog{status="dead"}' in after


def test_metrics_token_when_configured(client, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "metrics_token", "scrape-secret")
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["code"] == "metrics_token_required"
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


@pytest.mark.one_pass("its own SQLite file and API process")
def test_served_on_sqlite_logs_json_with_the_request_id_of_the_header_and_the_audit(tmp_path) -> None:
    with served_demo(f"sqlite:///{tmp_path}/logs.db", tmp_path) as (base, log_path):
        # on SQLite (the zero-setup default) too: a wrong password, then logins after an earlier success
        # (the throttle compares stored timestamps with now, which needs them back with their zone)
        wrong = httpx.post(f"{base}{API}/auth/token", data={"username": "lc-office", "password": "wrong"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
        for _ in range(2):
            login = httpx.post(f"{base}{API}/auth/token", data={"username": "lc-office", "password": "shifan-demo"})
            assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        h = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-round-1"}
        r = httpx.post(f"{base}{API}/campaigns/1/rounds", json={"name": "日志"}, headers=h)
        assert r.status_code == 201 and r.headers["x-request-id"] == "trace-round-1"
        made_up = httpx.get(f"{base}/healthz").headers["x-request-id"]
        audit = httpx.get(f"{base}{API}/audit", params={"action": "round.create"}, headers=h).json()["items"]
        assert audit[0]["request_id"] == "trace-round-1"
        time.sleep(0.3)
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    access = [e for e in lines if e["logger"] == "shifan.access"]
    mine = next(e for e in access if e.get("request_id") == "trace-round-1")
    assert (
        mine["route"] == f"{API}/campaigns/{{campaign_id}}/rounds"
        and mine["status"] == 201
        and mine["duration_ms"] >= 0
    )
    assert any(e.get("request_id") == made_up for e in access)  # an id is made up when none is sent


def test_two_instances_on_one_database_serve_the_same_data(app, world) -> None:
    """Nothing lives in process memory: a token from one instance works on the other, a write on one is read on the other."""
    other = create_app()
    other.dependency_overrides = app.dependency_overrides  # the same test store and clock
    with serving(app) as a, serving(other) as b:
        token = httpx.post(f"{a}{API}/auth/token", data={"username": "gp-office", "password": "shifan-demo"}).json()[
            "access_token"
        ]
        h = {"Authorization": f"Bearer {token}"}
        made = httpx.post(f"{b}{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "双实例"}, headers=h)
        assert made.status_code == 201, made.text
        rounds = httpx.get(f"{a}{API}/campaigns/{world.ids['gp_campaign']}/rounds", headers=h).json()["items"]
        assert made.json()["id"] in [r["id"] for r in rounds]
        assert httpx.get(f"{a}/readyz").json() == httpx.get(f"{b}/readyz").json()
    with TestClient(other) as c:
        assert c.get("/healthz").status_code == 200
