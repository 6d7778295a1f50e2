"""The deployment files, read as text (tests/test_image.py builds and runs the image itself): docker-compose.yml
runs the image (the API with its worker) with PostgreSQL and an S3 server, with settings the app actually
reads; the Dockerfile builds on the base made from Debian's packages, from the offline bundle alone,
non-root, health-checked, migrating on start; deploy/nginx.conf, the proxy for more instances, sets
X-Forwarded-For rather than passing a client's on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_the_image_with_its_worker_and_only_real_settings() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "s3", "api"}
    api = services["api"]
    assert api["pull_policy"] == "never" and "build" not in api  # built by make image, never pulled
    assert "command" not in api  # the image's own: migrate, then serve --with-worker
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["s3"]["condition"] == "service_healthy"
    for name in ("db", "s3", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    env = dict(api["environment"])
    fields = {f"SHIFAN_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["SHIFAN_STORAGE_BACKEND"] == "s3" and env["SHIFAN_S3_ENDPOINT"] == "s3:9000"
    assert ":?" in env["SHIFAN_JWT_SECRET"] and ":?" in env["SHIFAN_DATABASE_URL"]  # required, never a default
    assert "@db:5432/" in env["SHIFAN_DATABASE_URL"]
    assert "var:/srv/shifan/var" in api["volumes"]
    assert set(compose["volumes"]) == {"pgdata", "objects", "var"}


def test_nginx_streams_and_sets_the_client_address() -> None:
    conf = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    assert "server api:8000" in conf and "proxy_request_buffering off" in conf and "proxy_buffering off" in conf
    # nginx sets the header to the address it saw; appending would pass a client's own X-Forwarded-For on
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf and "$proxy_add_x_forwarded_for" not in conf


def test_dockerfile_builds_from_the_base_and_the_bundle_non_root_healthchecked_and_migrates() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "ARG BASE_IMAGE=shifan-base:bookworm"
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(froms) >= 2 and set(froms) == {"${BASE_IMAGE}"}  # no image from a registry
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines) and "/healthz" in text
    cmd = [line for line in lines if line.startswith("CMD [")][-1]  # the image's command, not the healthcheck's
    assert "shifan migrate" in cmd and "shifan serve --with-worker" in cmd
    assert any("install.sh" in line for line in lines)  # the bundle's own installer
    copies = [line for line in lines if line.startswith("COPY ")]
    assert all("--from=" in line for line in copies)  # nothing of the checkout but the bundle
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "*" in ignored and "!dist/shifan-offline-*.tar.gz" in ignored


def test_the_image_scripts_are_executable_shell() -> None:
    for name in ("deploy/base-image.sh", "deploy/docker-engine.sh"):
        path = ROOT / name
        assert os.access(path, os.X_OK), name
        assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0, name


def test_readme_documents_the_image_and_compose() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "### Building and running the image" in readme
    for command in ("make image", "make image-test", "docker compose up", "deploy/base-image.sh", "make bundle"):
        assert command in readme, command
    assert "SHIFAN_JWT_SECRET" in readme
