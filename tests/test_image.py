"""The container image, built and run as a county's IT person would (`make image-test`; CI runs it as its own
step after `make test`): `make image` builds the base from Debian's packages if it is missing and the image
from the offline bundle with no network; the container starts with Ceph RGW and, in turn, a fresh database on
the host's PostgreSQL (skipped on SHIFAN_TEST_DB=sqlite) and the image's default SQLite file in its var volume,
all over loopback (--network host). Proven through HTTP: /readyz with every worker lane, the health check, a
login, uploads, the worker's previews of them, and `docker restart` with the data, the file and an earlier token
intact."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.services.demo import DEMO_PASSWORD, samples
from tests.conftest import IN_CI, fresh_database
from tests.s3servers import free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("SHIFAN_IMAGE_TEST") != "1",
    reason="builds and runs the container image (minutes, needs root for the engine): make image-test, "
    "or SHIFAN_IMAGE_TEST=1",
)

ROOT = Path(__file__).resolve().parents[1]
IMAGE = os.environ.get("SHIFAN_IMAGE", "shifan:latest")
DOCKER = os.environ.get("DOCKER", "docker")
API = "/api/v1"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    """The image built from this checkout by `make image` (its output is shown: -s); the engine started first.
    The bundle goes to a temporary folder (DIST), not the checkout's dist/."""
    engine = subprocess.run([str(ROOT / "deploy/docker-engine.sh")], capture_output=True, text=True, check=False)
    if engine.returncode != 0:
        message = f"no Docker engine can run here: {engine.stdout}{engine.stderr}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    started = time.monotonic()
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "image", f"IMAGE_TAG={IMAGE}", f"DIST={dist}"]
    )
    assert built.returncode == 0, f"make image failed (exit {built.returncode}): its output is above"
    print(f"\nmake image: {time.monotonic() - started:.0f} s")
    return IMAGE


@dataclass
class Running:
    name: str
    base: str
    started: float  # time.monotonic() at `docker run`

    def logs(self) -> str:
        found = docker("logs", "--tail", "60", self.name, check=False)
        return found.stdout + found.stderr

    def wait_ready(self, timeout: float = 120) -> dict:
        """/readyz's answer once it is 200 with every worker lane beating."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            state = docker("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
            assert state == "running", f"the container is {state}:\n{self.logs()}"
            try:
                r = httpx.get(f"{self.base}/readyz", timeout=5)
                last = f"{r.status_code} {r.text}"
                if r.status_code == 200 and r.json()["worker"] == "ok":
                    return r.json()
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise AssertionError(f"not ready within {timeout} s: {last}\n{self.logs()}")


@pytest.fixture(params=["postgresql", "sqlite"])
def container(request, image, rgw_server, pg_admin_engine, tmp_path) -> Iterator[Running]:
    """The image running with a fresh database and bucket and its own var volume; removed afterwards."""
    if request.param == "postgresql" and pg_admin_engine is None:
        pytest.skip("PostgreSQL is not part of this run (SHIFAN_TEST_DB=sqlite)")
    name = f"shifan-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        "HOST": "127.0.0.1",  # with the host's network: listen on loopback only
        "PORT": str(port),
        "SHIFAN_STORAGE_BACKEND": "s3",
        "SHIFAN_S3_ENDPOINT": rgw_server.endpoint,
        "SHIFAN_S3_ACCESS_KEY": rgw_server.access_key,
        "SHIFAN_S3_SECRET_KEY": rgw_server.secret_key,
        "SHIFAN_S3_BUCKET": f"image-{uuid.uuid4().hex[:12]}",
        "SHIFAN_S3_SECURE": "false",
    }  # no SHIFAN_JWT_SECRET: the one made on first start lives in the volume, and must survive a restart
    drop = None
    if request.param == "postgresql":
        url, drop = fresh_database(pg_admin_engine, tmp_path, "image")
        env["SHIFAN_DATABASE_URL"] = url  # 127.0.0.1:5432, the host's server, reached through --network host
    # sqlite: the image's default, a file in var/ (the volume), which the restart must keep too
    options = [f"--env={key}={value}" for key, value in env.items()]
    docker("volume", "create", name)
    run = docker("run", "--detach", "--name", name, "--network", "host", "--volume", f"{name}:/srv/shifan/var",
                 *options, image)  # fmt: skip
    assert run.returncode == 0, run.stderr
    running = Running(name, f"http://127.0.0.1:{port}", time.monotonic())
    try:
        yield running
    finally:
        print(f"\n--- container log (last lines) ---\n{running.logs()}")
        docker("rm", "--force", "--volumes", name, check=False)
        docker("volume", "rm", name, check=False)
        if drop is not None:
            drop()


def _login(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}{API}/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def unembedded_chinese_pdf(text: str) -> bytes:
    """A one-page PDF whose Chinese text is set in 宋体 (SimSun) named but not embedded, as some office tools
    write them: a renderer must draw it with a font of its own system."""
    content = b"BT /F1 96 Tf 40 600 Td <%s> Tj ET" % text.encode("utf-16-be").hex().upper().encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
        b"<</Type/Font/Subtype/Type0/BaseFont/SimSun/Encoding/UniGB-UCS2-H/DescendantFonts[6 0 R]>>",
        b"<</Type/Font/Subtype/CIDFontType2/BaseFont/SimSun/CIDSystemInfo<</Registry(Adobe)/Ordering(GB1)"
        b"/Supplement 2>>/FontDescriptor 7 0 R>>",
        b"<</Type/FontDescriptor/FontName/SimSun/Flags 6/FontBBox[0 -141 1000 859]/ItalicAngle 0/Ascent 859"
        b"/Descent -141/CapHeight 859/StemV 80>>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _upload(base: str, headers: dict[str, str], assignment_id: int, name: str, data: bytes) -> int:
    r = httpx.post(
        f"{base}{API}/assignments/{assignment_id}/evidence/file",
        files={"file": (name, data, "application/pdf")},
        params={"title": f"容器测试-{name}"},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _preview(base: str, headers: dict[str, str], evidence_id: int, within: float) -> tuple[bytes, float]:
    """The version's preview once the worker has made it, and how long that took."""
    url, started, last = f"{base}{API}/evidence/{evidence_id}/versions/1/preview.png", time.monotonic(), ""
    while time.monotonic() - started < within:
        r = httpx.get(url, headers=headers, timeout=10)
        if r.status_code == 200:
            assert r.headers["content-type"] == "image/png"
            return r.content, time.monotonic() - started
        assert r.status_code == 404 and r.json()["code"] == "preview_not_ready", r.text
        last = r.text
        time.sleep(0.5)
    raise AssertionError(f"no preview within {within} s: {last}")


def test_the_image_serves_works_and_keeps_its_data_across_a_restart(container: Running) -> None:
    ready = container.wait_ready()
    first_start = time.monotonic() - container.started
    assert ready["status"] == "ok" and ready["database"] == "ok" and ready["storage"] == "ok", ready
    assert set(ready["lanes"]) >= {"reminders", "deliveries", "previews", "search"}, ready
    assert all(lane["status"] == "ok" for lane in ready["lanes"].values()), ready
    # ready on a fresh database: the image's command migrated it; the server runs as the unprivileged user
    assert docker("exec", container.name, "id", "-un").stdout.strip() == "shifan"
    processes = docker("exec", container.name, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
    assert "shifan serve --with-worker" in processes and "app.cli worker" in processes, processes
    healthy = _wait_healthy(container.name) - container.started  # the image's HEALTHCHECK, every 15 s

    # A clerk loads the demo county the way README says, then a liaison logs in and uploads two PDFs.
    demo = docker("exec", container.name, "shifan", "demo", timeout=300)
    assert demo.returncode == 0, demo.stderr
    liaison = _login(container.base, "lc-sfj")
    todo = httpx.get(f"{container.base}{API}/me/assignments", headers=liaison, params={"limit": 100}).json()
    open_ = [a for a in todo["items"] if a["status"] == "not_started"]
    assert open_, todo
    # upper half black, lower half white: the preview shows the page was really drawn
    pdf = samples.one_page_pdf(b"0 0 0 rg 0 421 595 421 re f BT /F1 24 Tf 72 200 Td (Shifan image) Tj ET")
    evidence_id = _upload(container.base, liaison, open_[0]["id"], "方案.pdf", pdf)
    chinese = _upload(container.base, liaison, open_[0]["id"], "通知.pdf", unembedded_chinese_pdf("示范创建资料"))

    # The worker (the server's child process) makes its preview within seconds.
    png, waited = _preview(container.base, liaison, evidence_id, within=30)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (227, 320)
    assert image.getpixel((113, 40)) == (0, 0, 0) and image.getpixel((113, 300)) == (255, 255, 255)
    # the image's own Chinese font draws text whose font the PDF does not carry (without one: a blank page)
    text = Image.open(io.BytesIO(_preview(container.base, liaison, chinese, within=30)[0])).convert("L")
    inked = sum(1 for y in range(text.height) for x in range(text.width) if text.getpixel((x, y)) < 128)
    assert inked > 500, f"the Chinese text of 通知.pdf was not drawn ({inked} dark pixels)"

    # docker restart: the same container comes back (migrations again: nothing to do) with everything kept.
    restarted = time.monotonic()
    docker("restart", "--time", "20", container.name, timeout=60)
    container.wait_ready()
    restart_seconds = time.monotonic() - restarted
    # the token from before the restart still verifies: the JWT secret made on first start is in the volume
    detail = httpx.get(f"{container.base}{API}/evidence/{evidence_id}", headers=liaison)
    assert detail.status_code == 200, detail.text
    assert detail.json()["title"] == "容器测试-方案.pdf" and detail.json()["versions"][0]["preview"] == "ready"
    content = httpx.get(f"{container.base}{API}/evidence/{evidence_id}/versions/1/content", headers=liaison)
    assert content.status_code == 200 and hashlib.sha256(content.content).digest() == hashlib.sha256(pdf).digest()
    assert _preview(container.base, _login(container.base, "lc-office"), evidence_id, within=5)[0] == png
    print(
        f"\nfirst start to ready {first_start:.1f} s (migrations included); preview {waited:.1f} s after the "
        f"upload; healthy {healthy:.0f} s after start; restart to ready {restart_seconds:.1f} s"
    )


def _wait_healthy(name: str, timeout: float = 90) -> float:
    """time.monotonic() when the image's HEALTHCHECK first called the container healthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = json.loads(docker("inspect", "--format", "{{json .State.Health}}", name).stdout)
        if health["Status"] == "healthy":
            return time.monotonic()
        assert health["Status"] == "starting", health
        time.sleep(1)
    raise AssertionError(f"not healthy within {timeout} s")
