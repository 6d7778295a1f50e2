"""What each kind of receiver is sent, and how its answer is read.

standard: the event as JSON, signed with the Standard Webhooks headers; any 2xx is a delivery.
dingtalk: a markdown message to a 钉钉自定义机器人; in signed mode (加签) timestamp and sign go in the query.
wecom: a markdown message to a 企业微信群机器人 (the key in the URL is its only credential).
Both chat platforms answer HTTP 200 with {"errcode": 0} on success: another errcode is a failed attempt,
logged by its number and a short reason of ours, never the platform's text.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from app.models.outbox import WebhookKind
from app.services.errors import Invalid
from app.services.notifications import signing
from app.services.notifications.messages import Message

WECOM_MARKDOWN_BYTES = 4096  # WeCom's limit for markdown content
ANSWER_BYTES = 64 * 1024  # a chat platform's answer is read up to this size, for its errcode only

# Short reasons for the errcodes a misconfigured robot meets most (the number is always logged).
_ERRCODES = {
    300001: "钉钉机器人 access_token 无效",
    310000: "钉钉机器人安全设置未通过（签名、关键词或 IP 白名单）",
    130101: "钉钉机器人发送太频繁",
    93000: "企业微信机器人 key 无效",
    45009: "企业微信机器人发送太频繁",
    40058: "消息内容不合规范",
}


@dataclass(frozen=True)
class Request:
    """One HTTP request to send: the URL (query included), headers and body."""

    url: str
    headers: dict[str, str]
    body: bytes


def check_registration(kind: WebhookKind, url: str, robot_secret: str | None) -> None:
    """Kind-specific rules for a new webhook; Invalid (422) with a message the office understands."""
    query = parse_qs(urlsplit(url).query)
    if kind != WebhookKind.dingtalk and robot_secret:
        raise Invalid("只有钉钉机器人需要填写加签密钥", code="webhook_secret_unexpected")
    if kind == WebhookKind.dingtalk:
        if not query.get("access_token", [""])[0]:
            raise Invalid(
                "钉钉机器人地址应包含 access_token，请从机器人设置中完整复制 Webhook 地址",
                code="webhook_dingtalk_token_missing",
            )
        if "timestamp" in query or "sign" in query:
            raise Invalid(
                "钉钉机器人地址不应包含 timestamp 或 sign，签名由系统每次发送时计算", code="webhook_url_signed"
            )
        if robot_secret is not None and not (robot_secret.startswith("SEC") and robot_secret.isascii()):
            raise Invalid("钉钉机器人的加签密钥以 SEC 开头，请从机器人安全设置中复制", code="webhook_dingtalk_secret")
    elif kind == WebhookKind.wecom and not query.get("key", [""])[0]:
        raise Invalid(
            "企业微信机器人地址应包含 key，请从群机器人设置中完整复制 Webhook 地址", code="webhook_wecom_key_missing"
        )


def build(
    *, kind: str, url: str, secret: str, robot_secret: str, event_id: str, body: bytes, message: Message | None
) -> Request:
    """The request for one attempt (timestamps and signatures are made now, not when the event was written)."""
    now = time.time()
    if kind == WebhookKind.standard:
        headers = signing.standard_headers(secret, message_id=event_id, timestamp=int(now), body=body)
        if signing.is_legacy(secret):  # kept one release for receivers registered before Standard Webhooks
            headers[signing.LEGACY_HEADER] = signing.legacy_signature(secret, timestamp=int(now), body=body)
        return Request(url=url, headers={"Content-Type": "application/json; charset=utf-8", **headers}, body=body)
    assert message is not None
    if kind == WebhookKind.dingtalk:
        text = f"#### {message.title}\n\n{message.text}"
        if message.link:
            text += f"\n\n[查看详情]({message.link})"
        payload = {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}
        if robot_secret:
            stamp = int(now * 1000)
            url += f"&timestamp={stamp}&sign={signing.dingtalk_sign(robot_secret, timestamp_ms=stamp)}"
    else:
        content = f"**{message.title}**\n{message.text}"
        link = f"\n[查看详情]({message.link})" if message.link else ""
        while len((content + link).encode()) > WECOM_MARKDOWN_BYTES:
            content = content[:-20] + "…"
        payload = {"msgtype": "markdown", "markdown": {"content": content + link}}
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Request(url=url, headers={"Content-Type": "application/json; charset=utf-8"}, body=data)


def refusal(kind: str, response: httpx.Response) -> str:
    """Why a 2xx answer is still a failure ("" when it is a delivery): a chat platform's non-zero errcode."""
    if kind == WebhookKind.standard:
        return ""
    name = "钉钉" if kind == WebhookKind.dingtalk else "企业微信"
    try:
        answer = json.loads(response.content[:ANSWER_BYTES]) if len(response.content) <= ANSWER_BYTES else None
        code = answer.get("errcode") if isinstance(answer, dict) else None
    except ValueError:
        code = None
    if not isinstance(code, int):
        return f"{name}应答无法识别（缺少 errcode）"
    if code == 0:
        return ""
    return f"{name}应答 errcode {code}" + (f"：{_ERRCODES[code]}" if code in _ERRCODES else "")
