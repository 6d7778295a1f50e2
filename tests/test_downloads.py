"""Download links on a store that cannot presign (the local folder, the zero-setup default): the API issues its
own short-lived signed link, to the same callers and for the same lifetime as a presigned one, and serves it
without a token; a changed or expired link is refused (403 with a code). GraphQL downloadLink is nullable, so a
URL or statement evidence in a list does not null the whole answer."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from app.services.storage import LocalStore
from app.settings import get_settings
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, PICKER, pdf, upload
from tests.graphql_kit import codes, gql


@pytest.fixture
def local_store(app, tmp_path):
    from app.api import deps

    store = LocalStore(tmp_path / "objects")
    store.ensure_ready()
    use_store(app, store)
    yield store
    app.dependency_overrides.pop(deps._store, None)


def _file_evidence(client, app, world, session, text: str) -> tuple[int, bytes]:
    pin_today(app, date(2023, 2, 10))
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    content = pdf(text)
    r = upload(client, world.auth("lc-sfj"), target.id, content, "实施方案.pdf", title=text)
    assert r.status_code == 201, r.text
    return r.json()["id"], content


def _link(client, world, evidence_id: int, who: str = "lc-office"):
    return client.get(f"{API}/evidence/{evidence_id}/versions/1/link", headers=world.auth(who))


def test_local_store_link_serves_the_file_without_a_token(client, app, world, session, local_store) -> None:
    evidence_id, content = _file_evidence(client, app, world, session, "本地下载")
    for who in ("lc-office", "lc-sfj"):  # the county office and the unit's own liaison
        r = _link(client, world, evidence_id, who)
        assert r.status_code == 200, r.text
        link = r.json()
        url = urlsplit(link["url"])
        assert url.scheme == "http" and url.path.startswith(f"{API}/downloads/")
        left = datetime.fromisoformat(link["expires_at"]) - datetime.now(UTC)
        assert timedelta(0) < left <= timedelta(minutes=get_settings().download_link_minutes)
        fetched = client.get(f"{url.path}?{url.query}")  # no Authorization header: the link is the permission
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == content and hashlib.sha256(fetched.content).hexdigest() == fetched.headers[
            "etag"
        ].strip('"')
        assert fetched.headers["content-type"] == "application/pdf"
        assert (
            "attachment" in fetched.headers["content-disposition"]
            and "filename*=" in fetched.headers["content-disposition"]
        )
        assert fetched.headers["x-content-type-options"] == "nosniff"
    # the same scope as every other way to the file: another county, another unit, nothing to download
    for who in ("gp-office", "lc-gaj"):
        hidden = _link(client, world, evidence_id, who)
        assert hidden.status_code == 404 and hidden.json()["code"] == "evidence_not_found"


def test_a_changed_or_expired_link_is_refused(client, app, world, session, local_store, monkeypatch) -> None:
    evidence_id, _ = _file_evidence(client, app, world, session, "篡改检查")
    other_id, _ = _file_evidence(client, app, world, session, "另一份")
    url = urlsplit(_link(client, world, evidence_id).json()["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    version_id = int(url.path.rsplit("/", 1)[1])
    other_version = int(urlsplit(_link(client, world, other_id).json()["url"]).path.rsplit("/", 1)[1])
    flipped = query["signature"][:-1] + ("A" if query["signature"][-1] != "A" else "B")
    tampered = {
        "signature": (version_id, {**query, "signature": flipped}),
        "later expiry": (version_id, {**query, "expires": str(int(query["expires"]) + 3600)}),
        "other version": (other_version, query),
        "no such version": (10**9, query),
        "empty signature": (version_id, {**query, "signature": ""}),
        "non-ASCII signature": (version_id, {**query, "signature": "签名" + query["signature"][2:]}),
    }
    for what, (vid, params) in tampered.items():
        r = client.get(f"{API}/downloads/{vid}?{urlencode(params)}")
        assert r.status_code == 403, (what, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "download_link_invalid", what
    missing = client.get(f"{API}/downloads/{version_id}")
    assert missing.status_code == 422  # no expiry or signature at all: a malformed request
    # a link whose lifetime has run out (issued with a lifetime already over)
    monkeypatch.setenv("SHIFAN_DOWNLOAD_LINK_MINUTES", "-1")
    get_settings.cache_clear()
    try:
        stale = urlsplit(_link(client, world, evidence_id).json()["url"])
    finally:
        monkeypatch.delenv("SHIFAN_DOWNLOAD_LINK_MINUTES")
        get_settings.cache_clear()
    r = client.get(f"{stale.path}?{stale.query}")
    assert r.status_code == 403 and r.json()["code"] == "download_link_expired", r.text


def test_graphql_download_link_on_the_local_store_and_nullable_in_a_list(
    client, app, world, session, local_store
) -> None:
    evidence_id, content = _file_evidence(client, app, world, session, "图谱下载")
    detail = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-sfj")).json()
    assignment, campaign = detail["assignment_id"], detail["campaign_id"]  # the world's, or late in a run another's
    note = client.post(
        f"{API}/assignments/{assignment}/evidence",
        json={"kind": "statement", "text": "本单位本年度未发生此类案件。"},
        headers=world.auth("lc-sfj"),
    )
    assert note.status_code == 201, note.text
    one = gql(client, world.auth("lc-office"), "query($id: Int!) { evidence(id: $id) { downloadLink { url } } }",
              {"id": evidence_id})  # fmt: skip
    assert "errors" not in one, one
    url = urlsplit(one["data"]["evidence"]["downloadLink"]["url"])
    assert client.get(f"{url.path}?{url.query}").content == content

    query = """query($campaign: Int!, $unit: Int!) { campaign(id: $campaign) {
        evidence(unitId: $unit, first: 100) { edges { node { id downloadLink { url expiresAt } } } } } }"""
    body = gql(client, world.auth("lc-office"), query, {"campaign": campaign, "unit": world.ids["lc_sfj"]})
    assert body["data"] is not None, body  # one statement does not null the whole query
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["campaign"]["evidence"]["edges"]}
    assert nodes[note.json()["id"]]["downloadLink"] is None
    assert nodes[evidence_id]["downloadLink"]["url"].startswith("http")
    assert "not_a_file" in codes(body)
