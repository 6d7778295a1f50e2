"""What tests/test_offline_install.py runs inside a network namespace with no network (`unshare -n`, loopback
only): install the unpacked bundle with its install.sh, `shifan migrate`, `shifan demo --serve`, a login, an
upload and its download, as an administrator would on an office intranet. Prints one JSON line of what happened.

The installed programs run from a temporary working folder with a clean environment (no PYTHONPATH, no pip
settings), so nothing of the checkout can stand in for the installation. Usage (each in its own namespace):
  python offline_install_kit.py install BUNDLE_DIR PREFIX
  python offline_install_kit.py serve PREFIX WORK_DIR sqlite|postgresql"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
PORT = 18000  # the namespace is new: every port is free
BASE = f"http://127.0.0.1:{PORT}"
API = f"{BASE}/api/v1"
LIAISON, PASSWORD = "lc-sfj", "shifan-demo"  # a demo liaison (app/services/demo, README)
CLEAN = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}  # no PYTHONPATH, no PIP_*, no SHIFAN_*


def outside_reachable() -> dict[str, str]:
    """How a connection out of the namespace fails: an address on the internet and a name lookup."""
    found = {}
    try:
        socket.create_connection(("1.1.1.1", 443), timeout=3).close()
        found["connect"] = "connected"
    except OSError as exc:
        found["connect"] = f"refused: {exc}"
    try:
        socket.getaddrinfo("pypi.org", 443)
        found["resolve"] = "resolved"
    except OSError as exc:
        found["resolve"] = f"refused: {exc}"
    return found


def png(width: int = 4, height: int = 3) -> bytes:
    """A small real PNG (grey pixels), made here: the driver imports nothing but the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([0x80] * width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def call(method: str, url: str, *, token: str = "", body: bytes | None = None, ctype: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def timed(result: dict, name: str, cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    result[f"{name}_seconds"] = round(time.monotonic() - started, 1)
    result[f"{name}_rc"] = done.returncode
    if done.returncode:
        result[f"{name}_output"] = (done.stdout + done.stderr)[-4000:]
    return done


def wait_ready(server: subprocess.Popen, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout and server.poll() is None:
        try:
            if call("GET", f"{BASE}/healthz")[0] == 200:
                return round(time.monotonic() - started, 1)
        except OSError:
            pass
        time.sleep(0.5)
    return None


def use_the_service(result: dict) -> None:
    """A liaison logs in, uploads a photo to one of the unit's assignments and downloads it again."""
    form = urllib.parse.urlencode({"username": LIAISON, "password": PASSWORD}).encode()
    status, body = call("POST", f"{API}/auth/token", body=form, ctype="application/x-www-form-urlencoded")
    result["login_status"] = status
    if status != 200:
        result["login_body"] = body.decode(errors="replace")[:1000]
        return
    token = json.loads(body)["access_token"]
    status, body = call("GET", f"{API}/me/assignments?status=not_started&limit=1", token=token)
    assignment_id = json.loads(body)["items"][0]["id"]
    image = png()
    data, ctype = multipart("file", "photo.png", image)
    title = urllib.parse.quote("离线安装验证照片")
    status, body = call(
        "POST", f"{API}/assignments/{assignment_id}/evidence/file?title={title}", token=token, body=data, ctype=ctype
    )
    result["upload_status"] = status
    if status != 201:
        result["upload_body"] = body.decode(errors="replace")[:1000]
        return
    evidence = json.loads(body)
    result["upload_title"] = evidence["title"]
    status, body = call("GET", f"{API}/evidence/{evidence['id']}/versions/1/content", token=token)
    result["download_status"] = status
    result["download_matches"] = body == image


def install(bundle: Path, prefix: Path) -> dict:
    """install.sh into prefix, run from an empty folder with the Python 3.11 this test runs on (not its
    virtualenv: install.sh makes its own from it)."""
    result: dict = {"outside": outside_reachable()}
    env = {**CLEAN, "HOME": str(prefix.parent), "PYTHON": getattr(sys, "_base_executable", sys.executable)}
    timed(result, "install", [str(bundle / "install.sh"), str(prefix)], env=env, cwd=prefix.parent)
    return result


def serve(prefix: Path, work: Path, database: str) -> dict:
    """Migrate, start the demo, use it; the database a SQLite file in work or a private PostgreSQL cluster."""
    result: dict = {"outside": outside_reachable()}
    clean = {**CLEAN, "HOME": str(work)}
    where = [str(prefix / "bin" / "python"), "-c", "import app; print(app.__file__)"]
    result["app_file"] = subprocess.run(where, capture_output=True, text=True, env=clean, cwd=work).stdout.strip()

    cluster = None
    if database == "postgresql":
        sys.path.insert(0, str(CHECKOUT))  # the private cluster's helper; the installation never sees the checkout
        from tests.pg_cluster import start_private_cluster

        cluster = start_private_cluster()
        url = cluster.url()
    else:
        url = f"sqlite:///{work / 'shifan.db'}"
    env = {
        **clean,
        "SHIFAN_DATABASE_URL": url,
        "SHIFAN_OBJECT_DIR": str(work / "objects"),
        "SHIFAN_JWT_SECRET": secrets.token_hex(32),
    }
    shifan = str(prefix / "bin" / "shifan")
    try:
        if timed(result, "migrate", [shifan, "migrate"], env=env, cwd=work).returncode:
            return result
        with (work / "server.log").open("w") as log:
            server = subprocess.Popen(
                [shifan, "demo", "--serve", "--host", "127.0.0.1", "--port", str(PORT)],
                env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                result["ready_seconds"] = wait_ready(server, timeout=300)
                if result["ready_seconds"] is not None:
                    use_the_service(result)
            finally:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
        if result.get("ready_seconds") is None or result.get("download_matches") is not True:
            result["server_log"] = (work / "server.log").read_text(errors="replace")[-4000:]
        result["stored_objects"] = sum(1 for p in (work / "objects").rglob("*") if p.is_file())
    finally:
        if cluster is not None:
            cluster.destroy()
    return result


if __name__ == "__main__":
    step, first, second, *rest = sys.argv[1:]
    run = {"install": install, "serve": serve}[step]
    print(json.dumps(run(Path(first), Path(second), *rest), ensure_ascii=False))
