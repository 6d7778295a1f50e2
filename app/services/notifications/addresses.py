"""Where a webhook may point: a receiver on the public internet, or inside a network the operator names
(SHIFAN_WEBHOOK_ALLOW_NETWORKS, since government receivers often sit on intranets). The host is resolved
and every address checked at registration and again before each delivery (DNS can change); the delivery
then connects to the checked address itself (pinned), so no second lookup happens in between."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.services.errors import Invalid
from app.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud and container metadata services, by name (their addresses are refused as link-local or private anyway).
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platform.bytedance.com",
        "100-100-100-200.aliyun.com",
        "kubernetes.default",
        "kubernetes.default.svc",
        "localhost",
        "localhost.localdomain",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Hosts that only digits, dots and hex letters after 0x make up: inet_aton reads 0x7f000001, 2130706433 and
# 0177.0.0.1 all as 127.0.0.1; a canonical dotted quad is the only numeric form accepted.
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)

# (code, message) per class of refused address.
_REFUSALS = {
    "loopback": "本机回环地址（如 127.0.0.1、localhost）",
    "private": "内网地址（如 10.x、172.16–31.x、192.168.x）",
    "link_local": "链路本地地址（如 169.254.169.254 云服务器元数据地址）",
    "multicast": "组播地址",
    "reserved": "保留或未指定的地址（如 0.0.0.0、240.0.0.0/4、共享地址段）",
    "mapped": "内嵌 IPv4 的 IPv6 地址（如 ::ffff:127.0.0.1）",
    "odd_notation": "非标准写法的 IP 地址（如 0x7f000001、2130706433、0177.0.0.1）",
    "metadata": "云服务器元数据服务的主机名",
}


@dataclass(frozen=True)
class Target:
    """A checked receiver: its host name as written, port, and the addresses it may be reached at."""

    host: str
    port: int
    addresses: tuple[str, ...]


class AddressRefused(Invalid):
    """A webhook address that points somewhere a webhook may not go."""


def refusal(kind: str, host: str) -> AddressRefused:
    """The error for one class of refused address (code webhook_address_<kind>)."""
    return AddressRefused(
        f"事件推送地址“{host}”指向{_REFUSALS[kind]}，出于安全考虑不能使用；"
        "如接收方在政务内网，请由运维人员在 SHIFAN_WEBHOOK_ALLOW_NETWORKS 中登记该网段",
        code=f"webhook_address_{kind}",
    )


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The operator's intranet ranges (SHIFAN_WEBHOOK_ALLOW_NETWORKS, comma-separated CIDRs)."""
    raw = get_settings().webhook_allow_networks
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def classify(ip: IPAddress) -> str | None:
    """Why an address is refused (a key of the refusal table), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None or ip.sixtofour is not None or ip.teredo is not None:
            return "mapped"
        if ip in _NAT64 or ip in _NAT64_LOCAL or (ip.packed[:12] == bytes(12) and int(ip) > 1):
            return "mapped"  # NAT64 and the deprecated IPv4-compatible form ::a.b.c.d
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"  # e.g. 100.64.0.0/10 (carrier-grade NAT, used by some metadata services)
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (empty when the name does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def check_url(url: str, *, resolve: Resolver | None = None) -> Target:
    """Resolve url's host and check every address it gives; AddressRefused (422) when any is not allowed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise AddressRefused("事件推送地址应为 http:// 或 https:// 开头的完整网址", code="webhook_address_invalid")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise AddressRefused("事件推送地址的端口无效", code="webhook_address_invalid") from exc
    if host in METADATA_HOSTS or host.endswith((".localhost", ".internal")):
        raise refusal("loopback" if "localhost" in host else "metadata", host)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if _NUMERIC.match(host):
            raise refusal("odd_notation", host) from None
    addresses = [str(literal)] if literal is not None else (resolve or system_resolver)(host, port)
    if not addresses:
        raise AddressRefused(f"无法解析事件推送地址的主机名“{host}”", code="webhook_address_unresolvable")
    networks = allowed_networks()
    for text in addresses:
        ip = ipaddress.ip_address(text)
        kind = classify(ip)
        if kind is not None and not any(ip.version == n.version and ip in n for n in networks):
            raise refusal(kind, host)
    return Target(host=host, port=port, addresses=tuple(addresses))
