"""Security headers on every response: no sniffing, no referrer, never framed, HSTS when the request came
over TLS, and a Content-Security-Policy. API answers get the strictest policy (they are never pages);
the pages the app serves itself (Swagger UI, ReDoc, GraphiQL) may load scripts and styles from the app
only, and their inline scripts run only by the SHA-256 of their exact text, computed from the page."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI draws images from data: URIs, ReDoc runs a web worker from a blob: and both set inline styles.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
MAX_HELD = 1024 * 1024  # a page larger than this is not the app's own: sent on with no inline script allowed
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_FIXED = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def page_policy(html: bytes) -> str:
    """The policy for one HTML page: its own inline scripts allowed by hash, nothing else inline."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    return PAGE_POLICY.format(hashes=" ".join(dict.fromkeys(hashes)) or "")


class SecurityHeadersMiddleware:
    """Adds the headers; an HTML page is held until its end so its inline scripts can be hashed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"
        start: Message | None = None
        held: list[bytes] = []

        def headers_for(message: Message, policy: str) -> list[tuple[bytes, bytes]]:
            names = {b"content-security-policy", *(name for name, _ in _FIXED), b"strict-transport-security"}
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            extra = [*_FIXED, (b"content-security-policy", policy.encode())]
            if tls:
                extra.append((b"strict-transport-security", HSTS.encode()))
            return kept + extra

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # held: the policy depends on the page's scripts
                    return
                message["headers"] = headers_for(message, API_POLICY)
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                held.append(message.get("body", b""))
                more = message.get("more_body", False)
                body = b"".join(held)
                if more and len(body) <= MAX_HELD:
                    return
                start["headers"] = headers_for(start, page_policy(body) if not more else page_policy(b""))
                await send(start)
                start = None
                await send({"type": "http.response.body", "body": body, "more_body": more})
            else:
                await send(message)

        await self.app(scope, receive, send_with_headers)
