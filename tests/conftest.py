"""Test fixtures: a migrated database, the app behind httpx (TestClient), a shared world of two provinces,
and real tokens per role.

The backend is chosen by SHIFAN_TEST_DB: `postgresql` (the default; with CI=true a PostgreSQL that does not
answer fails the run, off-CI the suite falls back to SQLite with a warning) or `sqlite` (a file database,
no server needed). `make test` runs the suite once on each. A test that needs a PostgreSQL-only mechanism
carries `@pytest.mark.postgresql_only("why")` and is skipped on SQLite with that reason."""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

os.environ.setdefault("SHIFAN_JWT_SECRET", "test-secret-" + uuid.uuid4().hex)
os.environ.setdefault("SHIFAN_OBJECT_DIR", tempfile.mkdtemp(prefix="shifan-objects-"))
# httpx's TestClient sends Host: testserver; the API builds links under named hosts only (loopback by default)
os.environ.setdefault("SHIFAN_ALLOWED_HOSTS", "testserver")
# Nothing a run writes lands in the checkout (tests/progress.py's guard fails a run that does): the made-once files
# (deployment id, JWT secret) of the app and of every CLI process a test starts, and hypothesis's example database
# (schemathesis), go to temporary folders.
os.environ.setdefault("SHIFAN_VAR_DIR", tempfile.mkdtemp(prefix="shifan-var-"))
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="shifan-hypothesis-"))
# Hundreds of logins and demo accounts: the cheapest argon2id cost for the suite (and the API and CLI processes
# it starts, which inherit the environment); tests/test_auth.py checks that the default is the standard one.
os.environ.setdefault("SHIFAN_PASSWORD_HASH_COST", "cheapest")
# The world's tokens are logged in once and used for the whole run, never refreshed: login sessions of a working day
# for the suite (deployments keep 15-minute access tokens and a 30-minute idle limit; tests/test_sessions.py works
# at those defaults and checks them).
os.environ.setdefault("SHIFAN_ACCESS_TOKEN_MINUTES", "600")
os.environ.setdefault("SHIFAN_SESSION_IDLE_MINUTES", "600")
# `shifan serve` runs one server process per core unless WEB_CONCURRENCY says otherwise (as uvicorn's own CLI): the
# API processes tests start run one (each more is a whole application started again); tests of the workers pass
# --workers.
os.environ.setdefault("WEB_CONCURRENCY", "1")

from app import db as app_db  # noqa: E402
from app import settings as app_settings  # noqa: E402
from app.api import deps  # noqa: E402
from app.cli import migrate  # noqa: E402

PG_ADMIN_URL = os.environ.get("SHIFAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DB = os.environ.get("SHIFAN_TEST_DB", "postgresql").strip().lower()
if TEST_DB not in ("postgresql", "sqlite"):
    raise pytest.UsageError(f"SHIFAN_TEST_DB must be postgresql or sqlite, not {TEST_DB!r}")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def use_database(url: str) -> None:
    """Point the app (settings, engine) at url."""
    os.environ["SHIFAN_DATABASE_URL"] = url
    app_settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()


_on_sqlite: bool | None = None


def on_sqlite() -> bool:
    """Whether this run's database is SQLite (asked for, or the off-CI fallback)."""
    global _on_sqlite
    if _on_sqlite is None:
        _on_sqlite = TEST_DB == "sqlite" or (not IN_CI and not _pg_available())
    return _on_sqlite


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only(reason): needs a PostgreSQL-only mechanism; skipped on SQLite")
    config.addinivalue_line(
        "markers",
        "one_pass(reason, where='sqlite'): the same test whatever SHIFAN_TEST_DB says (its own SQLite file, no "
        "database, a tool over the committed files), or one whose subject is not the database (a sandbox, a "
        "browser, a process's flags); `make test` runs it in the pass named by where (sqlite or postgresql) only",
    )
    from tests import progress

    progress.register(config)


def make_test_pass() -> str | None:
    """The pass of `make test` this run is ("postgresql" or "sqlite": the one asked for by SHIFAN_TEST_DB, even when a
    PostgreSQL pass fell back to SQLite outside CI), or None for a pass run on its own, which runs everything."""
    from tests.progress import BOTH_PASSES

    if os.environ.get(BOTH_PASSES) != "1":
        return None
    return "sqlite" if TEST_DB == "sqlite" else "postgresql"


def one_pass_where(marker: pytest.Mark) -> str:
    """The pass of `make test` a one_pass test runs in: where= (sqlite by default), checked on every run."""
    where = marker.kwargs.get("where", "sqlite")
    if len(marker.args) > 1 or where not in ("sqlite", "postgresql"):
        raise pytest.UsageError(
            f"one_pass(reason, where='sqlite' or 'postgresql'), not {marker.args!r} {marker.kwargs!r}"
        )
    return where


# True when `make test`'s placement of one_pass tests left this pass nothing to run (PYTEST_ARGS naming a file whose
# tests all run in the other pass): the pass then ends as passed, not as pytest's "no tests collected".
_placed_away_all = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `make test` (tests/passes.py) runs both passes at once: a test that would do the very same thing in each runs
    # in the pass its one_pass marker names. A pass run on its own (`make test-postgresql`) still runs every test.
    # The pass is the one asked for (SHIFAN_TEST_DB), not where it ended up: a PostgreSQL pass that fell back to
    # SQLite (no server, outside CI) still runs the tests placed in the PostgreSQL pass.
    global _placed_away_all
    placed = [(item, one_pass_where(m)) for item in items if (m := item.get_closest_marker("one_pass"))]
    if (here := make_test_pass()) is not None:
        elsewhere = [item for item, where in placed if where != here]
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            gone = {id(item) for item in elsewhere}
            items[:] = [item for item in items if id(item) not in gone]
            _placed_away_all = not items
    marked = [item for item in items if item.get_closest_marker("postgresql_only")]
    if not marked or not on_sqlite():
        return
    for item in marked:
        marker = item.get_closest_marker("postgresql_only")
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "needs PostgreSQL")
        item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'SQLite' if on_sqlite() else 'PostgreSQL ' + PG_ADMIN_URL} (SHIFAN_TEST_DB={TEST_DB})"


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine | None]:
    """An AUTOCOMMIT engine on the PostgreSQL server, or None on SQLite (asked for, or off-CI without one)."""
    if TEST_DB == "sqlite":
        yield None
        return
    if not _pg_available():
        if IN_CI:
            pytest.exit(f"PostgreSQL is required in CI but {PG_ADMIN_URL} does not answer", returncode=2)
        yield None
        return
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def fresh_database(pg_admin: sa.Engine | None, tmp: Path, tag: str) -> tuple[str, callable]:
    """A new empty database (PostgreSQL, else SQLite) and a function that drops it."""
    if pg_admin is None:
        path = tmp / f"{tag}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"shifan_test_{tag}_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        app_db.get_engine.cache_clear()
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture(scope="session")
def database_url(pg_admin_engine, tmp_path_factory) -> Iterator[str]:
    """The session's database, migrated with `alembic upgrade head` (so migrations run every time)."""
    if pg_admin_engine is None and TEST_DB != "sqlite":
        warnings.warn("PostgreSQL not reachable: running on SQLite (CI requires PostgreSQL)", stacklevel=1)
    url, drop = fresh_database(pg_admin_engine, tmp_path_factory.mktemp("db"), "main")
    use_database(url)
    migrate()
    yield url
    app_db.get_engine().dispose()
    drop()


@pytest.fixture(scope="session")
def app(database_url):
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    """An httpx client talking to the app; `today` is pinned per test through client.today."""
    app.dependency_overrides.pop(deps._today, None)
    with TestClient(app) as c:
        yield c
    app.dependency_overrides.pop(deps._today, None)


def app_with_cors(monkeypatch, origins: str):
    """A new app built with SHIFAN_CORS_ORIGINS=origins (the middleware is chosen when the app is made); the
    settings go back to the environment's afterwards."""
    from app.main import create_app

    monkeypatch.setenv("SHIFAN_CORS_ORIGINS", origins)
    app_settings.get_settings.cache_clear()
    try:
        return create_app()
    finally:
        monkeypatch.delenv("SHIFAN_CORS_ORIGINS")
        app_settings.get_settings.cache_clear()


def pin_today(app, day: date) -> None:
    """Make the API judge 'overdue' as of day."""
    app.dependency_overrides[deps._today] = lambda: day


@pytest.fixture
def session(database_url) -> Iterator[Session]:
    with Session(app_db.get_engine(), expire_on_commit=False) as s:
        yield s


@dataclass
class World:
    """Ids and tokens of the shared test world."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="session")
def world(app, database_url) -> World:
    """Two provinces, three counties, the 陵川 demo campaign and a second county's campaign."""
    from tests.world import build

    w = World()
    with Session(app_db.get_engine(), expire_on_commit=False) as s:
        w.ids = build(s)
        s.commit()
    with TestClient(app) as c:
        for username in (
            "sysadmin",
            "secadmin",
            "auditadmin",
            "lc-office",
            "lc-sfj",
            "lc-gaj",
            "evaluator",
            "evaluator-b",
            "sx-province",
            "gp-office",
            "gp-sfj",
            "yn-province",
            "idle-evaluator",
        ):
            r = c.post("/api/v1/auth/token", data={"username": username, "password": "shifan-demo"})
            assert r.status_code == 200, r.text
            w.tokens[username] = r.json()["access_token"]
    return w


@pytest.fixture
def retire_webhooks(database_url) -> Iterator[None]:
    """Webhooks registered during the test are switched off when it ends. Left on, every later event of their
    county (a deadline scan makes hundreds) would fan out to receivers that are gone, each delivery a request
    and a transaction in whichever test drains the outbox next."""
    from app.models.outbox import Webhook

    def newest() -> int:
        with Session(app_db.get_engine()) as s:
            return s.exec(sa.select(sa.func.max(Webhook.id))).one()[0] or 0

    before = newest()
    yield
    with app_db.get_engine().begin() as conn:
        conn.execute(sa.update(Webhook).where(Webhook.id > before).values(active=False))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    from tests.s3servers import start_moto

    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


_RGW_FIXTURES = {"rgw_server", "rgw_store", "rgw_api_store"}
_rgw_starting: Future | None = None  # Ceph takes ~15 s to start: begun in the background after collection


def _needs_rgw(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return bool(_RGW_FIXTURES & set(getattr(item, "fixturenames", ()))) or "rgw" in params


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a selected test needs Ceph RGW, start it now in a thread, while the tests before it run."""
    global _rgw_starting
    from tests.s3servers import rgw_installed, start_rgw

    runs = [item for item in session.items if not item.get_closest_marker("skip")]
    if _rgw_starting is None and rgw_installed() and any(_needs_rgw(item) for item in runs):
        workdir = session.config._tmp_path_factory.mktemp("rgw")  # noqa: SLF001 - pytest's own factory
        _rgw_starting = ThreadPoolExecutor(1, thread_name_prefix="rgw-start").submit(start_rgw, workdir)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop a Ceph that was started in the background but never used (every RGW test deselected or failed
    before it asked). A pass whose every selected test runs in the other pass has passed."""
    if _placed_away_all and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
    if _rgw_starting is not None and not _rgw_handed_out:
        with suppress(Exception):  # it failed to start: nothing to stop
            _rgw_starting.result().stop()


_rgw_handed_out = False


@pytest.fixture(scope="session")
def rgw_server(tmp_path_factory):
    """Ceph RGW: required in CI (security checks need a server that verifies signatures)."""
    global _rgw_handed_out
    from tests.s3servers import rgw_installed, start_rgw

    if not rgw_installed():
        if IN_CI:
            pytest.fail("Ceph RGW (radosgw, ceph-mon, ceph-osd) is required in CI; .ci/run installs it")
        pytest.skip("Ceph RGW not installed: apt-get install radosgw ceph-mon ceph-osd (required in CI)")
    _rgw_handed_out = True
    server = _rgw_starting.result() if _rgw_starting is not None else start_rgw(tmp_path_factory.mktemp("rgw"))
    yield server
    server.stop()


def s3_client(endpoint: str, access_key: str = "a", secret_key: str = "b"):
    """A minio client with the API's own connection policy (S3Store.http_client)."""
    from minio import Minio

    from app.services.storage import S3Store

    return Minio(
        endpoint, access_key=access_key, secret_key=secret_key, secure=False, region="us-east-1",
        http_client=S3Store.http_client(),
    )  # fmt: skip


def unreachable_store(bucket: str = "shifan-evidence"):
    """An S3Store whose server is not there (a free port on 127.0.0.1)."""
    from app.services.storage import S3Store
    from tests.s3servers import free_port

    return S3Store(s3_client(f"127.0.0.1:{free_port()}"), bucket)


def s3_store_for(server, bucket: str | None = None):
    from app.services.storage import S3Store

    client = s3_client(server.endpoint, server.access_key, server.secret_key)
    store = S3Store(client, bucket or f"t-{uuid.uuid4().hex[:12]}")
    store.ensure_ready()
    return store


@pytest.fixture(params=["local", "moto", "rgw"])
def any_store(request, tmp_path):
    """Each object-store backend in turn, with a fresh bucket (or folder)."""
    from app.services.storage import LocalStore

    if request.param == "local":
        store = LocalStore(tmp_path / "objects")
        store.ensure_ready()
        return store
    return s3_store_for(request.getfixturevalue(f"{request.param}_server"))


@pytest.fixture
def rgw_store(rgw_server):
    return s3_store_for(rgw_server)


def use_store(app, store) -> None:
    """Make the API use store (a LocalStore or an S3Store on a test server)."""
    app.dependency_overrides[deps._store] = lambda: store


@pytest.fixture(params=["local", "moto", "rgw"])
def api_store(request, app, tmp_path):
    """The API on each object-store backend in turn."""
    from app.services.storage import LocalStore

    if request.param == "local":
        store = LocalStore(tmp_path / "objects")
        store.ensure_ready()
    else:
        store = s3_store_for(request.getfixturevalue(f"{request.param}_server"))
    use_store(app, store)
    yield store
    app.dependency_overrides.pop(deps._store, None)


def _api_on(app, server):
    store = s3_store_for(server)
    use_store(app, store)
    yield store
    app.dependency_overrides.pop(deps._store, None)


@pytest.fixture
def moto_api_store(app, moto_server):
    """The API on moto's S3 server (the fast one, for workflow tests)."""
    yield from _api_on(app, moto_server)


@pytest.fixture
def rgw_api_store(app, rgw_server):
    """The API on Ceph RGW (signatures checked: presigned URLs, security)."""
    yield from _api_on(app, rgw_server)


@contextmanager
def serving(asgi_app):
    """asgi_app on a real socket (uvicorn in a thread); yields its base URL."""
    import threading
    import time

    import uvicorn

    from tests.s3servers import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def served_demo(
    database_url: str, tmp: Path, setup: tuple[tuple[str, ...], ...] = (("demo",),), serve_args: tuple[str, ...] = ()
):
    """`shifan demo` (or the setup commands given) then `shifan serve` (with serve_args) as a real process on
    database_url; yields (base URL, log path). The demo alone is a copy of the session's (tests/demo_template.py)
    where the database can take one."""
    import subprocess
    import sys

    from tests import demo_template
    from tests.s3servers import _wait_port, free_port

    root = Path(__file__).resolve().parents[1]
    secret = uuid.uuid4().hex
    if setup == (("demo",),) and demo_template.copyable(database_url):
        secret, setup = demo_template.clone(database_url, tmp / "objects"), ()
    env = {**os.environ, "SHIFAN_DATABASE_URL": database_url, "SHIFAN_JWT_SECRET": secret,
           "SHIFAN_OBJECT_DIR": str(tmp / "objects"), "SHIFAN_STORAGE_BACKEND": "local"}  # fmt: skip
    for command in setup:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *command], cwd=root, env=env, capture_output=True, timeout=300
        )
        if done.returncode != 0:  # say why, not only that it failed
            tail = (done.stderr or done.stdout).decode(errors="replace")[-3000:]
            raise RuntimeError(f"shifan {' '.join(command)} exited with {done.returncode}:\n{tail}")
    port = free_port()
    log_path = tmp / "api.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *serve_args],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_port(port, 60, proc)
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            proc.terminate()
            proc.wait(20)
