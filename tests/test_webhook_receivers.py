"""Receivers that already exist: a Standard Webhooks library, a DingTalk custom robot and a WeCom group robot.

The chat robots are local stand-ins that check what each platform documents: the URL's credential
(access_token / key), the markdown body's shape, and for DingTalk's signed mode (加签) the sign recomputed
from timestamp and secret, with timestamps more than an hour off refused (errcode 310000, as DingTalk does).
They answer HTTP 200 with an errcode, as the platforms do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook as StandardWebhook

from app.db import session_scope
from app.models._base import utcnow
from app.models.outbox import Webhook
from app.services.notifications import events, receivers, signing
from app.settings import get_settings
from tests.test_webhooks import API, Receiver, _deliver, _drain, _gp_statement, allow_loopback  # noqa: F401

pytestmark = pytest.mark.usefixtures("retire_webhooks")  # the outbox stays small for later tests

TOKEN = "b2c5f0a1d7e94c3aa8f1d6e2c9b04f7e5a3d1c8b6e0f9a2d4c7b1e3f5a8d0c2"
SECRET = "SEC" + "4f1c" * 16
WECOM_KEY = "693a91f6-7e2c-4bc4-97a0-0ec2f1fa5aaa"


class ChatRobot:
    """A DingTalk or WeCom robot on 127.0.0.1, checking requests as the platform documents them."""

    def __init__(self, platform: str, secret: str = "") -> None:
        self.platform, self.secret = platform, secret
        self.messages: list[dict] = []  # accepted bodies
        self.answers: list[int] = []  # errcode of every answer
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                errcode = robot.check(urlsplit(self.path), self.headers.get("Content-Type", ""), body)
                robot.answers.append(errcode)
                text = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "秘密的平台说明"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = (
            f"{base}/robot/send?access_token={TOKEN}"
            if platform == "dingtalk"
            else f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}"
        )

    def check(self, url, content_type: str, body: bytes) -> int:
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not content_type.startswith("application/json"):
            return 40008
        payload = json.loads(body)
        if self.platform == "dingtalk":
            if url.path != "/robot/send" or query.get("access_token") != TOKEN:
                return 300001
            if self.secret:
                stamp = int(query.get("timestamp", "0"))
                if abs(time.time() * 1000 - stamp) > 3600 * 1000:
                    return 310000  # "timestamp 与系统时间相差超过1小时"
                expected = base64.b64encode(
                    hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
                ).decode()
                if not hmac.compare_digest(expected, query.get("sign", "")):
                    return 310000  # sign not match
            markdown = payload.get("markdown", {})
            shape_ok = (
                payload.get("msgtype") == "markdown"
                and set(markdown) == {"title", "text"}
                and all(isinstance(markdown[k], str) and markdown[k] for k in ("title", "text"))
            )
        else:
            if url.path != "/cgi-bin/webhook/send" or query.get("key") != WECOM_KEY:
                return 93000  # invalid webhook url
            markdown = payload.get("markdown", {})
            shape_ok = (
                payload.get("msgtype") == "markdown"
                and set(markdown) == {"content"}
                and isinstance(markdown["content"], str)
                and 0 < len(markdown["content"].encode()) <= 4096
            )
        if not shape_ok or set(payload) != {"msgtype", "markdown"}:
            return 40035  # invalid parameter
        self.messages.append(payload)
        return 0

    def stop(self) -> None:
        # Close the socket too: a webhook left registered to a receiver that only stopped answering would cost
        # a later test's worker a 5 s timeout per delivery, where a closed port refuses at once.
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("SHIFAN_PUBLIC_URL", "https://fzzf.example.gov.cn/")
    get_settings.cache_clear()
    yield "https://fzzf.example.gov.cn"
    monkeypatch.delenv("SHIFAN_PUBLIC_URL")
    get_settings.cache_clear()


def _register(client, world, body: dict) -> dict:
    r = client.post(f"{API}/webhooks", json=body, headers=world.auth("gp-office"))
    assert r.status_code == 201, r.text
    return r.json()


def _return_evidence(client, app, world, comment: str) -> tuple[dict, int]:
    ev = _gp_statement(client, world, app, "本单位已按要求落实。")
    mine = client.get(f"{API}/me/assignments", params={"limit": 500}, headers=world.auth("gp-sfj")).json()["items"]
    number = next(a["item_number"] for a in mine if a["id"] == ev["assignment_id"])
    r = client.post(
        f"{API}/evidence/{ev['id']}/reviews",
        json={"decision": "return", "version": 1, "comment": comment},
        headers=world.auth("gp-office"),
    )
    assert r.status_code == 201, r.text
    return ev, number


def _log(client, world, hook_id: int) -> dict:
    return client.get(f"{API}/webhooks/{hook_id}/deliveries", headers=world.auth("gp-office")).json()["items"][0]


@pytest.mark.usefixtures("allow_loopback")
def test_dingtalk_robot_gets_a_signed_chinese_markdown_message(client, app, world, public_url, monkeypatch) -> None:
    _drain()
    robot = ChatRobot("dingtalk", secret=SECRET)
    hook = _register(client, world, {"url": robot.url, "kind": "dingtalk", "robot_secret": SECRET})
    try:
        assert hook["kind"] == "dingtalk" and hook["secret"] is None  # the office's own secret is not echoed
        listed = client.get(f"{API}/webhooks", headers=world.auth("gp-office")).json()["items"]
        shown = next(w for w in listed if w["id"] == hook["id"])["url"]
        assert TOKEN not in shown and shown.endswith(f"access_token={TOKEN[:4]}…{TOKEN[-4:]}")  # a credential
        ev, number = _return_evidence(client, app, world, "请补充2022年台账 [点此](http://evil.example)")
        assert _deliver() == {"claimed": 1, "delivered": 1, "failed": 0}
        (message,) = robot.messages
        markdown = message["markdown"]
        line = f"【高平市】县司法局 第{number}项 资料被退回补充：请补充2022年台账 ［点此］(http://evil.example)"
        assert markdown["title"] == "示范创建：资料被退回补充"
        assert line in markdown["text"] and "[点此]" not in markdown["text"]  # user text cannot forge a link
        assert f"[查看详情]({public_url}/evidence/{ev['id']})" in markdown["text"]
        assert _log(client, world, hook["id"])["status"] == "delivered"

        # A timestamp an hour and more off (a wrong clock) is refused with errcode 310000: a failed attempt,
        # retried, logged by its number with a short reason and never the platform's text.
        monkeypatch.setattr(receivers, "time", SimpleNamespace(time=lambda: time.time() - 3601))
        with session_scope() as s:
            events.emit(s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None,
                        data={"round_id": 1, "round": "县级初审"})  # fmt: skip
        assert _deliver() == {"claimed": 1, "delivered": 0, "failed": 1}
        entry = _log(client, world, hook["id"])
        assert entry["status"] == "pending" and entry["last_status_code"] == 200
        assert entry["last_error"].startswith("钉钉应答 errcode 310000") and "秘密" not in json.dumps(entry)
        monkeypatch.setattr(receivers, "time", time)
        assert _deliver(now=utcnow() + timedelta(seconds=31)) == {"claimed": 1, "delivered": 1, "failed": 0}
        assert robot.answers == [0, 310000, 0] and "评分轮次“县级初审”已发布" in robot.messages[-1]["markdown"]["text"]
    finally:
        client.delete(f"{API}/webhooks/{hook['id']}", headers=world.auth("gp-office"))
        robot.stop()


@pytest.mark.usefixtures("allow_loopback")
def test_dingtalk_wrong_secret_is_a_failed_delivery(client, world) -> None:
    _drain()
    robot = ChatRobot("dingtalk", secret=SECRET)
    hook = _register(client, world, {"url": robot.url, "kind": "dingtalk", "robot_secret": "SEC" + "0" * 64})
    try:
        with session_scope() as s:
            events.emit(s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None,
                        data={"round_id": 1, "round": "x"})  # fmt: skip
        assert _deliver() == {"claimed": 1, "delivered": 0, "failed": 1}
        assert robot.answers == [310000] and robot.messages == []
    finally:
        client.delete(f"{API}/webhooks/{hook['id']}", headers=world.auth("gp-office"))
        robot.stop()


@pytest.mark.usefixtures("allow_loopback")
def test_wecom_robot_gets_deadline_reminders(client, world) -> None:
    _drain()
    robot = ChatRobot("wecom")
    hook = _register(client, world, {"url": robot.url, "kind": "wecom", "kinds": ["assignment.due_soon"]})
    try:
        assert hook["secret"] is None and WECOM_KEY not in hook["url"]
        # What scan_deadlines writes (emitted here without its dedupe key, which tests/test_webhooks.py counts on).
        with session_scope() as s:
            for kind in (events.EventKind.due_soon, events.EventKind.overdue):
                events.emit(s, kind=kind, county_id=world.ids["gp_county"], campaign_id=world.ids["gp_campaign"],
                            data={"unit_id": world.ids["gp_sfj"], "unit_name": "县司法局", "due_on": "2023-02-28",
                                  "count": 3, "assignment_ids": [1, 2, 3], "workdays_left": 2})  # fmt: skip
        while _deliver()["claimed"]:
            pass
        assert robot.messages and set(robot.answers) == {0}
        content = robot.messages[0]["markdown"]["content"]
        assert content.startswith("**示范创建：任务即将截止**\n【高平市】")
        assert (
            content == "**示范创建：任务即将截止**\n【高平市】县司法局 有 3 项任务将于 2023-02-28 截止，还剩 2 个工作日"
        )
        assert len(robot.messages) == 1  # the webhook takes due_soon only
        assert _log(client, world, hook["id"])["status"] == "delivered"
    finally:
        client.delete(f"{API}/webhooks/{hook['id']}", headers=world.auth("gp-office"))
        robot.stop()


@pytest.mark.usefixtures("allow_loopback")
def test_wecom_unknown_key_is_retried_and_logged(client, world) -> None:
    _drain()
    robot = ChatRobot("wecom")
    hook = _register(client, world, {"url": robot.url.replace(WECOM_KEY, "0" * 36), "kind": "wecom"})
    try:
        with session_scope() as s:
            events.emit(s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None,
                        data={"round_id": 1, "round": "x"})  # fmt: skip
        assert _deliver() == {"claimed": 1, "delivered": 0, "failed": 1}
        entry = _log(client, world, hook["id"])
        assert entry["last_error"] == "企业微信应答 errcode 93000：企业微信机器人 key 无效"
        assert entry["next_attempt_at"] > entry["log"][0]["started_at"]  # backing off, to be retried
    finally:
        client.delete(f"{API}/webhooks/{hook['id']}", headers=world.auth("gp-office"))
        robot.stop()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "https://oapi.dingtalk.com/robot/send", "kind": "dingtalk"}, "webhook_dingtalk_token_missing"),
        (
            {"url": "https://oapi.dingtalk.com/robot/send?access_token=", "kind": "dingtalk"},
            "webhook_dingtalk_token_missing",
        ),  # fmt: skip
        (
            {"url": "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=x", "kind": "dingtalk"},
            "webhook_url_signed",
        ),
        (
            {"url": "https://oapi.dingtalk.com/robot/send?access_token=abc", "kind": "dingtalk", "robot_secret": "x1"},
            "webhook_dingtalk_secret",
        ),
        ({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "kind": "wecom"}, "webhook_wecom_key_missing"),
        (
            {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "kind": "wecom", "robot_secret": "SEC1"},
            "webhook_secret_unexpected",
        ),
        ({"url": "http://93.184.216.34/x", "robot_secret": "SEC1"}, "webhook_secret_unexpected"),
        ({"url": "http://93.184.216.34/x", "kind": "slack"}, "validation_failed"),
    ],
)
def test_registration_checks_each_kind(client, world, body, code) -> None:
    r = client.post(f"{API}/webhooks", json=body, headers=world.auth("gp-office"))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code


def test_robot_registration_needs_the_office(client, world) -> None:
    body = {"url": f"https://93.184.216.34/cgi-bin/webhook/send?key={WECOM_KEY}", "kind": "wecom"}
    assert client.post(f"{API}/webhooks", json=body, headers=world.auth("gp-sfj")).status_code == 403
    hook = client.post(f"{API}/webhooks", json=body, headers=world.auth("gp-office"))
    assert hook.status_code == 201, hook.text  # a public address (no DNS here); nothing is delivered
    query = {"object_type": "webhook", "object_id": hook.json()["id"]}
    trail = client.get(f"{API}/audit", params=query, headers=world.auth("gp-office")).json()["items"]
    assert trail and trail[0]["after"]["kind"] == "wecom" and WECOM_KEY not in json.dumps(trail)  # the credential
    other = client.get(f"{API}/webhooks", headers=world.auth("lc-office")).json()["items"]
    assert hook.json()["id"] not in [w["id"] for w in other]
    assert client.delete(f"{API}/webhooks/{hook.json()['id']}", headers=world.auth("lc-office")).status_code == 404
    assert client.delete(f"{API}/webhooks/{hook.json()['id']}", headers=world.auth("gp-office")).status_code == 204


@pytest.mark.usefixtures("allow_loopback")
def test_webhooks_from_before_keep_their_hex_secret_and_old_header(client, world) -> None:
    """A webhook registered before Standard Webhooks (64 hex digits, as 0008a leaves it) gets both signatures:
    X-Shifan-Signature as before and the Standard Webhooks headers under whsec_ + base64(hex secret)."""
    _drain()
    receiver = Receiver()
    hook = _register(client, world, {"url": receiver.url})
    old = "9f" * 32
    with session_scope() as s:
        row = s.exec(select(Webhook).where(Webhook.id == hook["id"])).one()
        row.secret = old
        s.add(row)
    try:
        receiver.secret = signing.as_whsec(old)
        with session_scope() as s:
            events.emit(s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None,
                        data={"legacy": 1})  # fmt: skip
        assert _deliver() == {"claimed": 1, "delivered": 1, "failed": 0}
        (request,) = receiver.requests
        headers, body = request["headers"], request["body"]
        assert StandardWebhook(signing.as_whsec(old)).verify(body, headers)["data"] == {"legacy": 1}
        assert receiver.secret == "whsec_" + base64.b64encode(old.encode()).decode()
        parts = dict(p.split("=", 1) for p in headers["X-Shifan-Signature"].split(","))
        expected = hmac.new(old.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"]) and parts["t"] == headers["webhook-timestamp"]
    finally:
        client.delete(f"{API}/webhooks/{hook['id']}", headers=world.auth("gp-office"))
        receiver.stop()
