"""RFC 3161 time stamps for the audit chain's daily roots: a request to the deployment's time-stamp authority
(SHIFAN_TSA_URL) and the check of a stored token against a digest and the authority's certificate
(SHIFAN_TSA_CERT). DER is read and written through asn1crypto's TSP and CMS types, signatures checked with
cryptography; nothing here runs inside a request (the worker and `shifan audit seal|verify` call it)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import httpx
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class TimestampError(Exception):
    """The authority did not stamp, or a token does not hold what it should (the reason in Chinese)."""


def request_token(url: str, digest_hex: str, *, timeout: float) -> bytes:
    """A time-stamp token (DER ContentInfo) over the SHA-256 digest, from the authority at url."""
    digest = bytes.fromhex(digest_hex)
    nonce = secrets.randbits(63)
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": nonce,
            "cert_req": True,
        }
    )
    try:
        answer = httpx.post(
            url, content=req.dump(), headers={"Content-Type": "application/timestamp-query"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise TimestampError(f"时间戳服务不可达：{type(exc).__name__}: {exc}") from exc
    if answer.status_code != 200:
        raise TimestampError(f"时间戳服务返回 HTTP {answer.status_code}")
    try:
        resp = tsp.TimeStampResp.load(answer.content)
        status = resp["status"]["status"].native
    except (ValueError, TypeError) as exc:
        raise TimestampError("时间戳服务的应答无法解析") from exc
    if status not in ("granted", "granted_with_mods"):
        raise TimestampError(f"时间戳服务拒绝签发：{status}")
    token = resp["time_stamp_token"]
    info = _tst_info(token)
    if info["nonce"].native != nonce:
        raise TimestampError("时间戳应答的随机数与请求不符")
    _check_imprint(info, digest)
    return token.dump()


def check_token(token_der: bytes, digest_hex: str, cert_pem: bytes | None) -> datetime:
    """The time a token states for the digest; TimestampError unless it covers exactly that digest and (with
    the authority's certificate) carries the authority's valid signature."""
    try:
        token = cms.ContentInfo.load(token_der)
        info = _tst_info(token)
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError("时间戳令牌无法解析") from exc
    _check_imprint(info, bytes.fromhex(digest_hex))
    if cert_pem is not None:
        _check_signature(token, x509.load_pem_x509_certificate(cert_pem))
    return info["gen_time"].native


def _tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    if token["content_type"].native != "signed_data":
        raise TimestampError("时间戳令牌不是签名数据")
    encap = token["content"]["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("时间戳令牌不含时间戳信息")
    return encap["content"].parsed


def _check_imprint(info: tsp.TSTInfo, digest: bytes) -> None:
    imprint = info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256" or imprint["hashed_message"].native != digest:
        raise TimestampError("时间戳令牌所证明的摘要与该根不符")


def _check_signature(token: cms.ContentInfo, cert: x509.Certificate) -> None:
    signed = token["content"]
    signer = signed["signer_infos"][0]
    algorithm = signer["digest_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise TimestampError(f"时间戳令牌的摘要算法 {algorithm} 不受支持")
    content = signed["encap_content_info"]["content"].contents
    attrs = signer["signed_attrs"]
    if not attrs:
        raise TimestampError("时间戳令牌缺少签名属性")
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    if digests != [hashlib.new(algorithm, content).digest()]:
        raise TimestampError("时间戳令牌的内容与其签名属性不符")
    data = b"\x31" + attrs.dump()[1:]  # signed over as a SET OF (RFC 5652 §5.4), stored [0] IMPLICIT
    signature = signer["signature"].native
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), _HASHES[algorithm]())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_HASHES[algorithm]()))
        else:
            raise TimestampError("不支持该时间戳服务证书的密钥类型")
    except InvalidSignature as exc:
        raise TimestampError("时间戳令牌的签名不是所配置的时间戳服务证书签发的") from exc
