"""Security headers on every response: the API's strict policy, the docs pages' policy that allows their
own inline scripts by hash only, nosniff, no referrer, never framed, HSTS only over TLS."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from app.api.security_headers import API_POLICY


def _common(r) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_every_answer_carries_the_headers(client, world) -> None:
    for r in (
        client.get("/healthz"),
        client.get("/api/v1/campaigns"),  # 401 from the error handler
        client.get("/api/v1/campaigns", headers=world.auth("lc-office")),
        client.get("/openapi.json"),
        client.post("/graphql", json={"query": "{ viewer { username } }"}, headers=world.auth("lc-office")),
        client.get("/static/graphiql/graphiql.min.js"),
    ):
        _common(r)
        assert r.headers["content-security-policy"] == API_POLICY
        assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS would be ignored or wrong
    h = {**world.auth("gp-office"), "Idempotency-Key": "k-headers"}
    url = f"/api/v1/campaigns/{world.ids['gp_campaign']}/rounds"
    client.post(url, json={"name": "安全头"}, headers=h)
    replay = client.post(url, json={"name": "安全头"}, headers=h)
    assert replay.headers["idempotent-replayed"] == "true"
    _common(replay)


def test_hsts_only_over_tls(app) -> None:
    with TestClient(app, base_url="https://testserver") as tls:
        r = tls.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    _common(r)


def test_docs_pages_allow_exactly_their_own_inline_scripts(client) -> None:
    for path in ("/docs", "/redoc", "/graphql", "/docs/oauth2-redirect"):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        _common(r)
        policy = r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0], path
        assert "default-src 'self'" in policy and "object-src 'none'" in policy
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.DOTALL)
        for script in inline:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy, path
        assert int(r.headers["content-length"]) == len(r.content)


def test_an_unexpected_error_is_a_problem_with_every_header(world, monkeypatch) -> None:
    """A 500 passes the request id, CORS and security headers like any other answer (a page on another origin
    can read its code and request id instead of seeing a network error)."""
    from app.services import access
    from tests.conftest import app_with_cors

    app = app_with_cors(monkeypatch, "https://spa.example.gov.cn")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(access, "principal_for", broken)
    headers = {**world.auth("lc-office"), "Origin": "https://spa.example.gov.cn", "X-Request-ID": "spa-500"}
    with TestClient(app, raise_server_exceptions=False) as c:
        for url in ("/api/v1/me", "/api/v1/me/assignments"):  # a sync route, and a hot read's worker thread
            r = c.get(url, headers=headers)
            assert r.status_code == 500, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "internal_error" and "服务器内部错误" in r.json()["detail"]
            assert r.headers["x-request-id"] == "spa-500"
            assert r.headers["access-control-allow-origin"] == "https://spa.example.gov.cn"
            _common(r)
