"""Real S3 server processes for tests, started on 127.0.0.1 by the suite itself.

- moto in server mode: fast, on any machine; accepts any signature, so never for security checks.
- Ceph RADOS Gateway (single node, memstore): a production S3; proves signatures and presigned expiry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass
class S3Server:
    name: str
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    stop: object  # callable
    pids: object = list  # callable: the server's process ids now (benchmarks read their CPU time)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open within {timeout}s")


def start_moto(workdir: Path) -> S3Server:
    port = free_port()
    log = (workdir / "moto.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait_port(port, 30, proc)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)
        log.close()

    return S3Server("moto", f"127.0.0.1:{port}", "moto-key", "moto-secret", stop, lambda: [proc.pid])


def _alive(pid: int) -> bool:
    """Whether pid still runs (a zombie waiting for init to reap it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def rgw_installed() -> bool:
    return all(shutil.which(b) for b in ("radosgw", "ceph-mon", "ceph-osd", "monmaptool", "radosgw-admin"))


def start_rgw(workdir: Path) -> S3Server:
    """A throwaway one-node Ceph cluster (mon + memstore osd + rgw) under workdir."""
    d = workdir / "ceph"
    d.mkdir(parents=True, exist_ok=True)
    fsid = str(uuid.uuid4())
    mon_port, rgw_port = free_port(), free_port()
    conf = d / "ceph.conf"
    conf.write_text(
        f"""[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{mon_port}
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd class update on start = false
osd crush update on start = false
run dir = {d}/run
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
pid file = {d}/run/$name.pid
mon data = {d}/mon/$cluster-$id
osd data = {d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 2147483648
ms bind ipv6 = false
keyring = {d}/keyring

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
""",
        encoding="utf-8",
    )
    for sub in ("run", "log", "mon/ceph-a", "osd/ceph-0"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    c = ["-c", str(conf)]

    def run(*args: str, timeout: float = 60) -> str:
        # On a loaded machine the monitor may not answer the CLI's first request for its command list
        # ("EPERM: problem getting command descriptions"); those commands are idempotent, so ask again.
        for attempt in range(6):
            out = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
            if out.returncode == 0:
                return out.stdout
            if "problem getting command descriptions" not in out.stderr or attempt == 5:
                raise RuntimeError(f"{' '.join(args)} failed: {out.stderr[-2000:]}")
            time.sleep(1 + attempt)
        raise AssertionError("unreachable")

    run("monmaptool", "--create", "--add", "a", f"v1:127.0.0.1:{mon_port}", "--fsid", fsid, str(d / "monmap"))
    run("ceph-authtool", "--create-keyring", str(d / "keyring"), "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
    run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"), "--keyring", str(d / "keyring"), *c)
    run("ceph-mon", "-i", "a", *c)
    _wait_port(mon_port, 30)
    osd_uuid = str(uuid.uuid4())
    run("ceph", *c, "osd", "new", osd_uuid)
    run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid, *c)
    run("ceph", *c, "osd", "crush", "add-bucket", "localhost", "host")
    run("ceph", *c, "osd", "crush", "move", "localhost", "root=default")
    run("ceph", *c, "osd", "crush", "add", "osd.0", "1.0", "host=localhost")
    run("ceph-osd", "-i", "0", *c)
    run("radosgw", "-n", "client.rgw", *c)
    _wait_port(rgw_port, 120)
    access, secret = "rgwtest" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    run(
        "radosgw-admin",
        *c,
        "user",
        "create",
        "--uid",
        "shifan",
        "--display-name",
        "shifan",
        "--access-key",
        access,
        "--secret-key",
        secret,
        timeout=120,
    )

    def stop() -> None:
        # A throwaway cluster (memstore, nothing to flush): all three daemons are told at once and given 2 s
        # together, then killed (radosgw alone takes ~6 s to wind down on SIGTERM).
        pids = []
        for name in ("client.rgw", "osd.0", "mon.a"):
            pid_file = d / "run" / f"{name}.pid"
            if not pid_file.exists():
                continue
            pid = int(pid_file.read_text().strip() or 0)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            pids.append(pid)
        deadline = time.monotonic() + 2
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            time.sleep(0.05)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def pids() -> list[int]:  # the gateway and the OSD behind it (the monitor is idle during transfers)
        files = (d / "run" / f"{name}.pid" for name in ("client.rgw", "osd.0", "mon.a"))
        return [int(f.read_text().strip()) for f in files if f.exists() and f.read_text().strip()]

    return S3Server("rgw", f"127.0.0.1:{rgw_port}", access, secret, stop, pids)
