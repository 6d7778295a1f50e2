"""How each receiver checks that a delivery came from us.

Standard webhooks carry the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature:
"v1," + base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under the key in the "whsec_" secret). Webhooks
registered before that format keep their 64-hex-digit secret: its ASCII bytes are the key, so the same
key serves both the Standard Webhooks signature and, for one more release, the old X-Shifan-Signature
(t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">). DingTalk robots in signed mode (加签) get timestamp and
sign in the query string, computed as DingTalk documents it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote_plus

PREFIX = "whsec_"
LEGACY_HEADER = "X-Shifan-Signature"


def new_secret() -> str:
    """A fresh Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def is_legacy(secret: str) -> bool:
    """A secret from before Standard Webhooks (64 hex digits): such a receiver still gets X-Shifan-Signature."""
    return not secret.startswith(PREFIX)


def key(secret: str) -> bytes:
    """The HMAC key a secret stands for (base64 after whsec_, or the old hex secret's ASCII bytes)."""
    return base64.b64decode(secret[len(PREFIX) :]) if secret.startswith(PREFIX) else secret.encode()


def as_whsec(secret: str) -> str:
    """The secret in the whsec_ form a Standard Webhooks library takes (an old hex secret converted)."""
    return secret if secret.startswith(PREFIX) else PREFIX + base64.b64encode(secret.encode()).decode()


def standard_headers(secret: str, *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = base64.b64encode(hmac.new(key(secret), signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{digest}"}


def legacy_signature(secret: str, *, timestamp: int, body: bytes) -> str:
    """The old X-Shifan-Signature value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    digest = hmac.new(key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def dingtalk_sign(robot_secret: str, *, timestamp_ms: int) -> str:
    """DingTalk's sign: urlencode(base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))), timestamp in ms."""
    text = f"{timestamp_ms}\n{robot_secret}".encode()
    return quote_plus(base64.b64encode(hmac.new(robot_secret.encode(), text, hashlib.sha256).digest()))
