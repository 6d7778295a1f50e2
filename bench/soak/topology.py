"""The soak's private world, all on 127.0.0.1 and all started here: a PostgreSQL cluster of its own (initdb),
Ceph RGW, two API processes behind a round-robin TCP proxy, one worker, and a webhook receiver that counts
deliveries by event id. Each piece can be killed and started again: those are the faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.pg_cluster import PrivateCluster, start_private_cluster
from tests.s3servers import S3Server, _wait_port, free_port, start_rgw

SHIFAN = str(Path(sys.executable).parent / "shifan")
ROOT = Path(__file__).resolve().parents[2]


def _kill(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class _LoopbackServer:
    """An asyncio TCP server on a free loopback port; subclasses answer connections in _serve."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


class Proxy(_LoopbackServer):
    """A round-robin TCP proxy (asyncio): each client connection goes to the next API instance that accepts
    it. A connection the chosen instance refuses is tried on the other; one it drops mid-request is dropped."""

    def __init__(self, backends: list[int]) -> None:
        super().__init__()
        self.backends = backends
        self._next = 0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            port = self.backends[self._next % len(self.backends)]
            self._next += 1
            with contextlib.suppress(OSError):
                return await asyncio.open_connection("127.0.0.1", port)
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class Receiver(_LoopbackServer):
    """A webhook receiver: answers 200 after a short delay (so a delivery is in flight long enough for the
    worker to be killed in the middle of it) and counts every delivery by its webhook-id (the event id)."""

    def __init__(self, delay: float = 0.3) -> None:
        super().__init__()
        self.delay = delay
        self.counts: Counter[str] = Counter()
        self.in_flight = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.in_flight += 1
                try:
                    await asyncio.sleep(self.delay)
                    if "webhook-id" in headers:
                        self.counts[headers["webhook-id"]] += 1
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                    await writer.drain()
                finally:
                    self.in_flight -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


@dataclass
class World:
    """Everything the soak started, with the faults as methods."""

    workdir: Path
    cluster: PrivateCluster
    s3: S3Server
    env: dict[str, str]
    api_ports: list[int]
    proxy: Proxy
    receiver: Receiver
    bucket: str
    apis: list[subprocess.Popen | None] = field(default_factory=list)
    worker: subprocess.Popen | None = None
    logs: list = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    @property
    def database_url(self) -> str:
        return self.env["SHIFAN_DATABASE_URL"]

    def _log(self, name: str):  # noqa: ANN202 - an open binary file
        f = (self.workdir / f"{name}.log").open("ab")
        self.logs.append(f)
        return f

    def shifan(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run one shifan command against the soak's database and store."""
        return subprocess.run(
            [SHIFAN, *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, check=check, timeout=300
        )

    def start_api(self, n: int) -> None:
        port = self.api_ports[n]
        proc = subprocess.Popen(
            [SHIFAN, "serve", "--port", str(port)], env=self.env, cwd=self.workdir,
            stdout=self._log(f"api{n}"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.apis[n] = proc
        _wait_port(port, 60, proc)

    def kill_api(self, n: int) -> None:
        _kill(self.apis[n], signal.SIGKILL)

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [SHIFAN, "worker", "--poll-seconds", "0.5"], env=self.env, cwd=self.workdir,
            stdout=self._log("worker"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill_worker(self) -> None:
        _kill(self.worker, signal.SIGKILL)

    @property
    def _ceph(self) -> Path:
        return self.workdir / "ceph"

    def stop_rgw(self) -> None:
        """Stop the gateway only (the monitor and the memstore OSD keep the data)."""
        pid_file = self._ceph / "run" / "client.rgw.pid"
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def start_rgw(self) -> None:
        """Start the gateway again on the same configuration and port."""
        subprocess.run(["radosgw", "-n", "client.rgw", "-c", str(self._ceph / "ceph.conf")], check=True, timeout=60)
        _wait_port(int(self.s3.endpoint.rsplit(":", 1)[1]), 120)

    def stop(self) -> None:
        """Stop and remove everything (the processes first, then the servers)."""
        for proc in [*self.apis, self.worker]:
            _kill(proc)
        with contextlib.suppress(Exception):
            self.s3.stop()  # type: ignore[operator]
        self.cluster.destroy()
        for f in self.logs:
            f.close()


def soak_env(cluster: PrivateCluster, database_url: str, s3: S3Server, bucket: str) -> dict[str, str]:
    """The environment every shifan process of the soak runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFAN_")}
    env.update(
        PYTHONPATH=str(ROOT),
        SHIFAN_DATABASE_URL=database_url,
        SHIFAN_JWT_SECRET="soak-" + "x" * 40,
        SHIFAN_STORAGE_BACKEND="s3",
        SHIFAN_S3_ENDPOINT=s3.endpoint,
        SHIFAN_S3_ACCESS_KEY=s3.access_key,
        SHIFAN_S3_SECRET_KEY=s3.secret_key,
        SHIFAN_S3_BUCKET=bucket,
        SHIFAN_S3_SECURE="false",
        # the receiver listens on loopback, which the SSRF guard refuses unless the operator allows it
        SHIFAN_WEBHOOK_ALLOW_NETWORKS="127.0.0.1/32",
        # a delivery whose worker was killed is taken over after this lease (default 60 s)
        SHIFAN_WEBHOOK_LEASE_SECONDS="3",
        # the simulated devices log in once and never refresh: login sessions as long as a long soak
        SHIFAN_ACCESS_TOKEN_MINUTES="720",
        SHIFAN_SESSION_IDLE_MINUTES="720",
    )
    return env


async def start_world(workdir: Path) -> World:
    """Start every piece, migrate a fresh database and load the demo county (dates from today: the
    campaign's deadlines lie weeks ahead)."""
    workdir.mkdir(parents=True, exist_ok=True)

    def database() -> PrivateCluster:  # migrated while the gateway starts (the demo needs both)
        cluster = start_private_cluster()
        try:
            url = cluster.create_database("shifan_soak")
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHIFAN_")}, "PYTHONPATH": str(ROOT)}
            subprocess.run([SHIFAN, "migrate"], env={**env, "SHIFAN_DATABASE_URL": url}, cwd=workdir,
                           check=True, capture_output=True, timeout=300)  # fmt: skip
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    started = await asyncio.gather(
        asyncio.to_thread(database), asyncio.to_thread(start_rgw, workdir), return_exceptions=True
    )
    failed = [x for x in started if isinstance(x, BaseException)]
    if failed:
        for x in started:
            if isinstance(x, PrivateCluster):
                x.destroy()
            elif isinstance(x, S3Server):
                x.stop()  # type: ignore[operator]
        raise failed[0]
    cluster, s3 = started  # type: ignore[misc]
    url = cluster.url("shifan_soak")
    bucket = "soak-evidence"
    ports = [free_port(), free_port()]
    world = World(
        workdir=workdir, cluster=cluster, s3=s3, env=soak_env(cluster, url, s3, bucket), api_ports=ports,
        proxy=Proxy(ports), receiver=Receiver(), bucket=bucket, apis=[None, None],
    )  # fmt: skip
    try:
        world.shifan("demo")
        await asyncio.gather(*(asyncio.to_thread(world.start_api, n) for n in range(2)))
        await world.proxy.start()
        await world.receiver.start()
        world.start_worker()
    except BaseException:
        world.stop()
        raise
    return world
