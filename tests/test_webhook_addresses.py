"""Webhooks cannot reach inside: every class of internal address is refused at registration and again at
delivery (DNS can change), the delivery connects to the address it checked, follows no redirect, and the
operator's intranet ranges (SHIFAN_WEBHOOK_ALLOW_NETWORKS) are the only way in."""

from __future__ import annotations

import json
import re

import pytest

from app.db import session_scope
from app.services.notifications import addresses, events
from app.settings import get_settings
from tests.test_webhooks import API, Receiver, _deliver, _drain, allow_loopback  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("retire_webhooks")  # the outbox stays small for later tests

PUBLIC = "93.184.216.34"

REFUSED = [
    ("http://127.0.0.1:8000/x", "loopback"),
    ("http://localhost:8000/x", "loopback"),
    ("http://LOCALHOST./x", "loopback"),
    ("http://[::1]/x", "loopback"),
    ("http://0x7f000001/x", "loopback"),  # read as 127.0.0.1
    ("http://2130706433/x", "loopback"),
    ("http://0177.0.0.1/x", "loopback"),
    ("http://10.1.2.3/x", "private"),
    ("http://172.16.5.4/x", "private"),
    ("http://192.168.1.1/x", "private"),
    ("http://[fd00::1]/x", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link_local"),
    ("http://[fe80::1]/x", "link_local"),
    ("http://224.0.0.1/x", "multicast"),
    ("http://[ff02::1]/x", "multicast"),
    ("http://0.0.0.0/x", "reserved"),
    ("http://240.0.0.1/x", "reserved"),
    ("http://100.100.100.200/latest/meta-data/", "reserved"),  # shared address space (a cloud's metadata)
    ("http://[::ffff:127.0.0.1]/x", "mapped"),
    ("http://[::ffff:8.8.8.8]/x", "mapped"),
    ("http://[64:ff9b::a00:1]/x", "mapped"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://metadata/x", "metadata"),
]


@pytest.fixture
def networks(monkeypatch):
    """Set SHIFAN_WEBHOOK_ALLOW_NETWORKS for one test."""

    def allow(value: str) -> None:
        monkeypatch.setenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS", value)
        get_settings.cache_clear()

    yield allow
    monkeypatch.delenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """A resolver the test controls: name → addresses (what the DNS answers right now); counts lookups."""
    table: dict[str, list[str]] = {}
    table["_lookups"] = []

    def resolve(host: str, port: int) -> list[str]:
        table["_lookups"].append(host)
        return list(table.get(host, []))

    monkeypatch.setattr(addresses, "system_resolver", resolve)
    return table


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_registration_refuses_internal_addresses(client, world, url, kind) -> None:
    r = client.post(f"{API}/webhooks", json={"url": url}, headers=world.auth("gp-office"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == f"webhook_address_{kind}", body
    assert "不能使用" in body["detail"] and "SHIFAN_WEBHOOK_ALLOW_NETWORKS" in body["detail"]


def test_names_are_resolved_and_every_address_checked(client, world, dns) -> None:
    dns["hooks.county.example"] = [PUBLIC, "10.0.0.7"]  # one private answer among public ones is enough
    dns["public.county.example"] = [PUBLIC]
    r = client.post(f"{API}/webhooks", json={"url": "https://hooks.county.example/x"}, headers=world.auth("gp-office"))
    assert r.status_code == 422 and r.json()["code"] == "webhook_address_private"
    r = client.post(f"{API}/webhooks", json={"url": "https://nowhere.county.example/"}, headers=world.auth("gp-office"))
    assert r.status_code == 422 and r.json()["code"] == "webhook_address_unresolvable"
    ok = client.post(f"{API}/webhooks", json={"url": "https://public.county.example/"}, headers=world.auth("gp-office"))
    assert ok.status_code == 201, ok.text
    client.delete(f"{API}/webhooks/{ok.json()['id']}", headers=world.auth("gp-office"))


def test_the_operator_allows_an_intranet_range(client, world, networks) -> None:
    networks("10.20.0.0/16, 192.168.8.0/24")
    inside = client.post(f"{API}/webhooks", json={"url": "http://10.20.3.4/hook"}, headers=world.auth("gp-office"))
    assert inside.status_code == 201, inside.text
    client.delete(f"{API}/webhooks/{inside.json()['id']}", headers=world.auth("gp-office"))
    for url in ("http://10.21.0.1/hook", "http://127.0.0.1/hook", "http://169.254.169.254/"):
        r = client.post(f"{API}/webhooks", json={"url": url}, headers=world.auth("gp-office"))
        assert r.status_code == 422, url
    with pytest.raises(ValueError):
        networks("10.0.0.0/33")
        get_settings()


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "10.0x1.2.3"])
def test_odd_numeric_notations_are_refused_as_such(host) -> None:
    # Pydantic already rewrites these to 127.0.0.1 on the API; a URL that reaches the check another way
    # (an older row, a future caller) is refused before any resolver can read it as an address.
    with pytest.raises(addresses.AddressRefused) as refused:
        addresses.check_url(f"http://{host}/x", resolve=lambda h, p: pytest.fail("no lookup"))
    assert refused.value.code == "webhook_address_odd_notation"


def _emit(world, data: dict) -> None:
    with session_scope() as s:
        events.emit(
            s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None, data=data
        )


def _log(client, world, hook_id: int) -> dict:
    return client.get(f"{API}/webhooks/{hook_id}/deliveries", headers=world.auth("gp-office")).json()["items"][0]


def test_a_name_that_now_points_inside_is_not_contacted(client, world, dns) -> None:
    _drain()
    receiver = Receiver()
    port = receiver.server.server_address[1]
    try:
        dns["hooks.gp.example"] = [PUBLIC]  # what the name resolved to when the office registered it
        r = client.post(
            f"{API}/webhooks", json={"url": f"http://hooks.gp.example:{port}/hook"}, headers=world.auth("gp-office")
        )
        assert r.status_code == 201, r.text
        hook_id = r.json()["id"]
        dns["hooks.gp.example"] = ["127.0.0.1"]  # rebinding: the name now points at the server itself
        _emit(world, {"rebind": 1})
        assert _deliver()["failed"] >= 1
        assert receiver.requests == []  # refused without connecting
        entry = _log(client, world, hook_id)
        assert entry["status"] == "pending" and entry["last_status_code"] is None
        assert "webhook_address_loopback" in entry["last_error"] and "未发送" in entry["last_error"]
    finally:
        client.delete(f"{API}/webhooks/{hook_id}", headers=world.auth("gp-office"))
        receiver.stop()


def test_delivery_connects_to_the_checked_address(client, world, dns, allow_loopback) -> None:  # noqa: F811
    _drain()
    receiver = Receiver()
    port = receiver.server.server_address[1]
    dns["intranet-hooks.gp.example"] = ["127.0.0.1"]  # a name only the test's resolver knows
    r = client.post(
        f"{API}/webhooks",
        json={"url": f"http://intranet-hooks.gp.example:{port}/hook"},
        headers=world.auth("gp-office"),
    )
    assert r.status_code == 201, r.text
    hook_id, receiver.secret = r.json()["id"], r.json()["secret"]
    try:
        _emit(world, {"pinned": 1})
        dns["_lookups"].clear()
        assert _deliver() == {"claimed": 1, "delivered": 1, "failed": 0}
        # One lookup, by the check; the connection went to its answer (the system resolver knows no such name),
        # and the receiver still sees its own host name.
        assert dns["_lookups"] == ["intranet-hooks.gp.example"]
        (request,) = receiver.requests
        assert request["headers"]["Host"] == f"intranet-hooks.gp.example:{port}"
        assert receiver.verify(request["headers"], request["body"])
    finally:
        client.delete(f"{API}/webhooks/{hook_id}", headers=world.auth("gp-office"))
        receiver.stop()


def test_redirects_are_not_followed(client, world, allow_loopback) -> None:  # noqa: F811
    _drain()
    inside = Receiver()  # where a redirect would lead
    bouncer = Receiver()
    bouncer.answer = (302, {"Location": f"{inside.url}?stolen=1"}, "请求已转到内网".encode())
    r = client.post(f"{API}/webhooks", json={"url": bouncer.url}, headers=world.auth("gp-office"))
    hook_id = r.json()["id"]
    try:
        _emit(world, {"redirect": 1})
        assert _deliver() == {"claimed": 1, "delivered": 0, "failed": 1}
        assert len(bouncer.requests) == 1 and inside.requests == []
        entry = _log(client, world, hook_id)
        assert entry["last_status_code"] == 302 and entry["last_error"] == "HTTP 302 Found（不跟随重定向）"
        assert "内网" not in json.dumps(entry, ensure_ascii=False)
        assert re.fullmatch(r"HTTP 302 .*", entry["log"][0]["error"])
    finally:
        client.delete(f"{API}/webhooks/{hook_id}", headers=world.auth("gp-office"))
        inside.stop()
        bouncer.stop()
