"""A private PostgreSQL cluster for tests that stop the server: initdb in a temporary folder, its own free
port and socket folder, pg_ctl start/stop. The machine's PostgreSQL (127.0.0.1:5432), which other test runs
and processes share, is never touched."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.s3servers import free_port


def bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries (Debian's /usr/lib/postgresql/<version>/bin), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0]))
    for candidate in reversed(found):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres user then
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PrivateCluster:
    """A running PostgreSQL cluster of the test's own; stop()/start() are the fault, destroy() the cleanup."""

    bin: Path
    data: Path
    sockets: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-l", str(self.data.parent / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.data.parent, ignore_errors=True)


def start_private_cluster() -> PrivateCluster:
    """initdb a new cluster in a temporary folder (trust authentication, user postgres) and start it on a
    free port. The folder is made under the system's temporary folder, not pytest's: pytest's is private to
    root, and the server runs as postgres when the tests run as root."""
    binaries = bin_dir()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql")
    root = Path(tempfile.mkdtemp(prefix="shifan-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        for p in (root, sockets):
            shutil.chown(p, "postgres")
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-sync", "--no-instructions"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    cluster = PrivateCluster(bin=binaries, data=data, sockets=sockets, port=free_port())
    cluster.start()
    return cluster
