"""The deployment files, checked as far as this machine allows (no Docker engine here): docker-compose.yml
wires PostgreSQL, MinIO, a migration step, two API instances, a worker and nginx with settings the app
actually reads; the Dockerfile is multi-stage, non-root, health-checked and migrates on start."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_wires_the_services_and_only_real_settings() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "minio", "migrate", "api", "worker", "lb"}
    api = services["api"]
    assert api["deploy"]["replicas"] >= 2 and "ports" not in api  # reached through lb only
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["shifan", "migrate"]
    assert services["worker"]["command"] == ["shifan", "worker"]
    for name in ("db", "minio", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    env = dict(api["environment"])
    # behind nginx the client address comes from X-Forwarded-For (login throttling keys on it), believed
    # from nginx's own fixed address only, never from anyone ("*")
    lb_address = services["lb"]["networks"]["default"]["ipv4_address"]
    assert env.pop("FORWARDED_ALLOW_IPS") == lb_address and "ports" not in api
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(lb_address) in ipaddress.ip_network(subnet)
    assert env == services["worker"]["environment"] == services["migrate"]["environment"]  # one anchor
    fields = {f"SHIFAN_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["SHIFAN_STORAGE_BACKEND"] == "s3" and env["SHIFAN_S3_ENDPOINT"] == "minio:9000"
    assert ":?" in env["SHIFAN_JWT_SECRET"]  # required, never a default secret
    assert ":?" in env["SHIFAN_METRICS_TOKEN"]  # /metrics is behind nginx too: required, like the JWT secret
    assert "@db:5432/" in env["SHIFAN_DATABASE_URL"]
    mounts = services["lb"]["volumes"][0].split(":")
    conf = (ROOT / mounts[0]).read_text(encoding="utf-8")
    assert "server api:8000" in conf and "proxy_request_buffering off" in conf and "proxy_buffering off" in conf
    # nginx sets the header to the address it saw; appending would pass a client's own X-Forwarded-For on
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf and "$proxy_add_x_forwarded_for" not in conf
    assert set(compose["volumes"]) == {"pgdata", "objects"}


def test_dockerfile_is_multistage_non_root_healthchecked_and_migrates() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines) and "/healthz" in text
    cmd = [line for line in lines if line.startswith("CMD [")][-1]  # the image's command, not the healthcheck's
    assert "shifan migrate" in cmd and "shifan serve" in cmd
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".git" in ignored


def test_readme_documents_compose() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"docker compose up", readme) and "SHIFAN_JWT_SECRET" in readme
