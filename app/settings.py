"""Settings from SHIFAN_* environment variables, with zero-setup defaults for a first run."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import PrivateAttr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where the made-once files (deployment id, JWT secret) and the zero-setup SQLite file and object folder live.
VAR_DIR = Path(os.environ.get("SHIFAN_VAR_DIR") or "var")
AUDIT_RETENTION_MIN_DAYS = 180


class Settings(BaseSettings):
    """Everything configurable; defaults give a SQLite file and a local object folder under ./var."""

    model_config = SettingsConfigDict(env_prefix="SHIFAN_", env_file=".env", extra="ignore")
    _kept_secret: str | None = PrivateAttr(default=None)

    database_url: str = f"sqlite:///{VAR_DIR}/shifan.db"
    # Worker threads the busiest reads run in at once: a few keep the pool's connections busy, while dozens
    # only fight over the interpreter (measured: 4 threads gave 1.5x the to-do list throughput of 40).
    read_threads: int = 4
    # PostgreSQL connections the busiest reads hold at once on each server process's event loop (app/loop_reads.py),
    # beside the general pool's. Few: the database runs no more statements at once than it has cores, and more
    # connections only queue there (measured on 2 cores: 4 gave the same throughput as 10 and a p99 of 34-49 ms
    # instead of 105-141 ms)
    loop_read_connections: int = 4
    object_dir: Path = VAR_DIR / "objects"
    jwt_secret: str = ""
    jwt_issuer: str = "shifan"
    jwt_audience: str = "shifan-api"
    # Login sessions (等保 2.0 身份鉴别): a short access token, a refresh token rotated on every use; a session
    # with no refresh for session_idle_minutes, or older than session_absolute_hours, ends (log in again).
    access_token_minutes: int = 15
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    script_token_days: int = 365
    max_framework_bytes: int = 5 * 1024 * 1024
    storage_backend: str = "local"  # "local" (object_dir) or "s3" (MinIO or any S3 server)
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "shifan-evidence"
    s3_region: str = "us-east-1"
    s3_secure: bool = True
    # The host:port clients reach the store under (presigned URLs), when it differs from s3_endpoint.
    s3_public_endpoint: str = ""
    max_upload_bytes: int = 500 * 1024 * 1024
    upload_intent_minutes: int = 30  # how long a presigned direct-upload URL stays valid
    # Resumable (multipart) direct uploads: the part size (S3's minimum, 5 MiB, is the floor), and how long such an
    # upload may take in all (its part URLs each last upload_intent_minutes; GET …/parts hands out fresh ones).
    upload_part_bytes: int = 8 * 1024 * 1024
    resumable_upload_hours: int = 24
    download_link_minutes: int = 5  # how long a presigned download URL stays valid
    orphan_grace_minutes: int = 120  # objects without a row younger than this are left alone by the sweeper
    remind_within_workdays: int = 3  # "due soon" reminders this many working days ahead
    # One file job of the worker (a preview, reading a file's words) runs in a child process with these limits:
    # wall time, CPU time and address space; a file that passes one is marked failed with the reason.
    file_job_seconds: float = 60.0
    file_job_cpu_seconds: int = 30
    file_job_memory_mb: int = 768
    # OCR of scans (PDFs without a text layer) and photos, by Tesseract in the same limited child: switched off, or
    # with tesseract missing, they stay no_text_layer. At most ocr_max_pages pages and ocr_seconds per file (kept
    # under file_job_seconds); ocr_languages names Tesseract's models (Debian's tesseract-ocr-chi-sim).
    ocr_enabled: bool = True
    ocr_max_pages: int = 20
    ocr_seconds: float = 45.0
    ocr_languages: str = "chi_sim"
    # /readyz calls a worker lane stalled when no worker has reported it for this long (lanes report every few
    # seconds, also while a file job runs)
    worker_stall_seconds: int = 120
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8  # then the delivery is marked dead (backoff 30 s doubling, at most 1 h)
    webhook_lease_seconds: int = 60  # a claimed delivery another worker may take over after this
    # Intranet ranges webhooks may reach (comma-separated CIDRs, e.g. "10.20.0.0/16,192.168.8.0/24"); without
    # them only public addresses are allowed (never loopback, private, link-local, multicast or reserved).
    webhook_allow_networks: str = ""
    # Where people open the web app (the SPA), e.g. "https://fzzf.lingchuan.gov.cn": chat robot messages link
    # into it, and calendar event UIDs carry its host and path so they are unique across deployments.
    public_url: str = ""
    # Without SHIFAN_PUBLIC_URL, the host names (comma-separated, e.g. "shifan.lingchuan.gov.cn,10.20.1.5") under
    # which the API may build absolute links from the request's own address; loopback always may. A request under
    # any other Host gets no link (400 host_not_allowed): a Host a client chose must not choose where links lead.
    allowed_hosts: str = ""
    # Password guessing: this many failed logins per account name, or per client address, within the window
    # make further attempts wait (429 with Retry-After), whether or not the account exists.
    login_failures_per_name: int = 5
    login_failures_per_client: int = 20
    login_window_minutes: int = 15
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <token>"
    # Origins whose browser pages may call the API (CORS), comma-separated, e.g.
    # "https://shifan.example.gov.cn,http://127.0.0.1:5173"; none by default (same-origin pages only).
    cors_origins: str = ""
    # argon2id cost of password hashes: "standard" (argon2-cffi's RFC 9106 low-memory profile: 3 passes over
    # 64 MiB) or "cheapest" (8 KiB, one pass), which only a test suite may use: such hashes are easy to crack.
    password_hash_cost: Literal["standard", "cheapest"] = "standard"
    # 统一身份认证 (OpenID Connect, authorization code flow with PKCE): off until SHIFAN_OIDC_ISSUER is set. The
    # provider's discovery document is read from <issuer>/.well-known/openid-configuration (its "issuer" must equal
    # this value), its keys from the document's jwks_uri.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # Where the provider may send the browser back (comma-separated, each registered at the provider): the SPA's or
    # app's page that hands code and state to /api/v1/auth/oidc/callback, or that callback itself. A login's
    # ?redirect= must be one of them; without it the first is used.
    oidc_redirect_uris: str = ""
    oidc_scopes: str = "openid profile"
    # The ID token claim whose value is an account's username (first login links the provider's subject to that
    # account; later logins go by the subject); empty: only subjects already linked log in.
    oidc_username_claim: str = "preferred_username"
    oidc_login_minutes: int = 10  # how long a login sent to the provider may take to come back
    oidc_timeout_seconds: float = 10.0
    # Just-in-time accounts for unknown subjects: none unless a role is set (office: of SHIFAN_OIDC_JIT_COUNTY_ID;
    # liaison: of unit SHIFAN_OIDC_JIT_UNIT_ID, which must lie in that county).
    oidc_jit_role: Literal["", "office", "liaison"] = ""
    oidc_jit_county_id: int | None = None
    oidc_jit_unit_id: int | None = None
    # 钉钉 / 浙政钉 免登: off until SHIFAN_DINGTALK_API_BASE is set (e.g. https://oapi.dingtalk.com, or the
    # intranet gateway in front of it). The user is found by the getuserinfo answer's userid or unionid: as a
    # linked identity, else as a username.
    dingtalk_api_base: str = ""
    dingtalk_app_key: str = ""
    dingtalk_app_secret: str = ""
    dingtalk_user_field: Literal["userid", "unionid"] = "userid"
    dingtalk_timeout_seconds: float = 10.0

    def oidc_redirect_uri_list(self) -> list[str]:
        """SHIFAN_OIDC_REDIRECT_URIS as a list; with none, the API's own callback under SHIFAN_PUBLIC_URL."""
        listed = [u.strip() for u in self.oidc_redirect_uris.split(",") if u.strip()]
        if not listed and self.public_url:
            listed = [self.public_url.rstrip("/") + "/api/v1/auth/oidc/callback"]
        return listed

    # Audit entries younger than this many days are never removed (网络安全法 §21: logs kept at least six months);
    # lower values are refused at start.
    audit_retention_days: int = 180
    # The RFC 3161 time-stamp authority that stamps the audit chain's daily roots (`shifan audit seal`, the worker),
    # and the PEM file of its signing certificate, which `shifan audit verify` checks the tokens' signatures with.
    tsa_url: str = ""
    tsa_cert: str = ""
    tsa_timeout_seconds: float = 15.0

    def allowed_host_list(self) -> set[str]:
        """The host names links may be built under: SHIFAN_ALLOWED_HOSTS, lower case, with loopback's."""
        listed = {h.strip().lower().strip("[]") for h in self.allowed_hosts.split(",") if h.strip()}
        return listed | {"localhost", "127.0.0.1", "::1"}

    def cors_origin_list(self) -> list[str]:
        """SHIFAN_CORS_ORIGINS as a list, without blanks and trailing slashes (a browser sends none)."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @field_validator("audit_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value < AUDIT_RETENTION_MIN_DAYS:
            minimum = AUDIT_RETENTION_MIN_DAYS
            raise ValueError(f"SHIFAN_AUDIT_RETENTION_DAYS must be at least {minimum} (网络安全法 §21)")
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError: refused at start, not per request
        return value

    def instance_id(self) -> str:
        """An id for this deployment, made once and kept in ./var (used when SHIFAN_PUBLIC_URL is not set)."""
        return _made_once(VAR_DIR / "deployment-id", secrets.token_hex(8))

    def secret(self) -> str:
        """The JWT signing secret; without SHIFAN_JWT_SECRET one is made once and kept in ./var (read once per
        settings object: every request needs it)."""
        if self.jwt_secret:
            return self.jwt_secret
        if self._kept_secret is None:
            self._kept_secret = _made_once(VAR_DIR / "jwt-secret", secrets.token_urlsafe(48))
        return self._kept_secret


def _made_once(path: Path, value: str) -> str:
    """path's value; the first process to get here writes value. The file appears whole (written aside, then
    hard-linked into place, which fails if another process was first), so two processes starting at once
    (two instances, or two test runs) never read a half-written file and always agree on one value."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        aside.write_text(value, encoding="utf-8")
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: its value stands
        finally:
            aside.unlink()
    return path.read_text(encoding="utf-8").strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests override through the environment and cache_clear)."""
    return Settings()
