"""Absolute links the API hands out never lead where a request's Host header says (issue 23, point 8): a download
or upload link, a calendar feed and the next page are built under SHIFAN_PUBLIC_URL when it is set, and otherwise
only under a host the deployment names (SHIFAN_ALLOWED_HOSTS, loopback); any other Host gets 400
host_not_allowed instead of a link to a stranger's server. Through HTTP with real tokens; the API on a real
socket as well, where the Host header is what a client really sends."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import httpx
import pytest

from app import settings as app_settings
from app.api import deps
from app.services.storage import LocalStore
from tests.conftest import pin_today, serving, use_store
from tests.evidence_kit import API, PICKER, pdf, upload

EVIL = {"Host": "shifan.attacker.example"}
PUBLIC = "https://fzzf.lingchuan.gov.cn"


@pytest.fixture
def links(app, client, world, session):
    """The API on a local folder (its links are the API's own) with one approved file; the four link makers."""
    pin_today(app, date(2023, 2, 10))
    store = LocalStore(Path(tempfile.mkdtemp(prefix="shifan-public-")))
    store.ensure_ready()
    use_store(app, store)
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), a.id, pdf("public links"), "报告.pdf", title="链接地址")
    assert r.status_code == 201, r.text
    evidence_id, unit = r.json()["id"], world.ids["lc_sfj"]
    b = PICKER.assignment(session, world.ids["lc_sfj"])
    makers = {
        "download": lambda h: client.get(
            f"{API}/evidence/{evidence_id}/versions/1/link", headers={**world.auth("lc-sfj"), **h}
        ),
        "upload": lambda h: client.post(
            f"{API}/assignments/{b.id}/evidence/uploads",
            json={"filename": "纪要.pdf", "size": 100, "title": "直传"},
            headers={**world.auth("lc-sfj"), **h},
        ),
        "feed": lambda h: client.get(f"{API}/calendar/units/{unit}/link", headers={**world.auth("lc-sfj"), **h}),
        "next": lambda h: client.get(
            f"{API}/counties/{world.ids['lc_county']}/units",
            params={"limit": 1},
            headers={**world.auth("lc-office"), **h},
        ),
    }
    yield makers
    app.dependency_overrides.pop(deps._store, None)


def _url(kind: str, r: httpx.Response) -> str:
    assert r.status_code in (200, 201), r.text
    return r.json()[{"download": "url", "upload": "upload_url", "feed": "url", "next": "next"}[kind]]


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("SHIFAN_PUBLIC_URL", PUBLIC)
    app_settings.get_settings.cache_clear()
    yield PUBLIC
    monkeypatch.delenv("SHIFAN_PUBLIC_URL")
    app_settings.get_settings.cache_clear()


@pytest.mark.parametrize("kind", ["download", "upload", "feed", "next"])
def test_a_link_under_an_unknown_host_is_refused(links, kind) -> None:
    assert _url(kind, links[kind]({})).startswith("http://testserver/api/v1/")  # a named host: its own links
    r = links[kind](EVIL)
    assert r.status_code == 400 and r.json()["code"] == "host_not_allowed", r.text
    assert "SHIFAN_PUBLIC_URL" in r.json()["detail"]


@pytest.mark.parametrize("kind", ["download", "upload", "feed", "next"])
def test_with_a_public_url_every_link_is_under_it_whatever_the_host(links, public_url, kind) -> None:
    for headers in ({}, EVIL):
        assert _url(kind, links[kind](headers)).startswith(f"{PUBLIC}/api/v1/")


def test_a_list_without_a_next_page_needs_no_known_host(client, world) -> None:
    # nothing to link: an unknown Host changes nothing (only links are refused, not the request)
    r = client.get(
        f"{API}/counties/{world.ids['lc_county']}/units",
        params={"limit": 500},
        headers={**world.auth("lc-office"), **EVIL},
    )
    assert r.status_code == 200 and r.json()["next"] is None


def test_on_a_real_socket_the_host_a_client_sends_does_not_choose_the_link(app, world, links) -> None:
    with serving(app) as base:
        url = f"{base}{API}/calendar/units/{world.ids['lc_sfj']}/link"
        loopback = httpx.get(url, headers=world.auth("lc-sfj"))
        assert loopback.status_code == 200 and loopback.json()["url"].startswith(f"{base}/api/v1/calendar/")
        forged = httpx.get(url, headers={**world.auth("lc-sfj"), **EVIL})
        assert forged.status_code == 400 and forged.json()["code"] == "host_not_allowed"
