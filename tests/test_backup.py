"""Backup and restore a clerk can run (issue 24, point 5), through the real CLI in its own processes: the demo
county with real evidence (uploads through a served API, previews made by the worker, a direct upload not yet
completed) in the local folder store and in a real S3 server (moto), backed up, restored into a fresh database
and a fresh store, and proven the same: every version's bytes match their SHA-256, the audit chain verifies,
every table has the same rows and the region overview reads the same. A damaged, partial or forged backup and
a non-empty target are refused before anything is written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.services.storage import LocalStore, ObjectStore, S3Store
from tests.conftest import fresh_database, on_sqlite, s3_client
from tests.evidence_kit import box, pdf, png
from tests.graphql_kit import OVERVIEW
from tests.s3servers import S3Server, _wait_port, free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "backup-test-" + uuid.uuid4().hex
MiB = 1024 * 1024


@dataclass
class Deployment:
    """One installation: a database, an object store and the environment its commands run with."""

    url: str
    env: dict[str, str]
    store: ObjectStore
    drop: Callable[[], None]

    def shifan(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, f"shifan {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    @contextmanager
    def served(self, tmp: Path) -> Iterator[str]:
        """`shifan serve` as its own process; its base URL."""
        port = free_port()
        with (tmp / f"api-{port}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                _wait_port(port, 60, proc)
                yield f"http://127.0.0.1:{port}"
            finally:
                proc.terminate()
                proc.wait(20)


def deployment(kind: str, pg_admin, tmp: Path, tag: str, moto: S3Server | None = None) -> Deployment:
    """A fresh, empty database and a fresh store (a new folder, or a new bucket on moto)."""
    url, drop = fresh_database(pg_admin, tmp, tag)
    env = {**os.environ, "SHIFAN_DATABASE_URL": url, "SHIFAN_JWT_SECRET": SECRET}
    if kind == "local":
        folder = tmp / f"objects-{tag}"
        env |= {"SHIFAN_STORAGE_BACKEND": "local", "SHIFAN_OBJECT_DIR": str(folder)}
        return Deployment(url, env, LocalStore(folder), drop)
    assert moto is not None
    bucket = f"bk-{tag}-{uuid.uuid4().hex[:8]}"
    env |= {"SHIFAN_STORAGE_BACKEND": "s3", "SHIFAN_S3_ENDPOINT": moto.endpoint, "SHIFAN_S3_BUCKET": bucket,
            "SHIFAN_S3_ACCESS_KEY": moto.access_key, "SHIFAN_S3_SECRET_KEY": moto.secret_key,
            "SHIFAN_S3_SECURE": "false"}  # fmt: skip
    return Deployment(url, env, S3Store(s3_client(moto.endpoint, moto.access_key, moto.secret_key), bucket), drop)


@pytest.fixture
def deployments(pg_admin_engine, tmp_path, request) -> Iterator[Callable[..., Deployment]]:
    """Makes deployments for the test and drops their databases afterwards."""
    made: list[Deployment] = []

    def make(kind: str, tag: str) -> Deployment:
        moto = request.getfixturevalue("moto_server") if kind == "moto" else None
        made.append(deployment(kind, pg_admin_engine, tmp_path, tag, moto))
        return made[-1]

    yield make
    for d in made:
        d.drop()


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def sha256_in(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in store.iter_bytes(key):
        digest.update(chunk)
    return digest.hexdigest()


def big_mp4() -> bytes:
    """A 6 MiB video (more than one S3 multipart part), random so it cannot compress."""
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isom")
    return ftyp + box(b"moov", box(b"mvhd", bytes(100))) + box(b"mdat", os.urandom(6 * MiB))


def login(api: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{api}/auth/token", data={"username": username, "password": "shifan-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def overview(base: str) -> dict:
    """The province's and the county office's region overview (GraphQL), as they read it."""
    seen = {}
    for who in ("sx-province", "lc-office"):
        r = httpx.post(f"{base}/graphql", json={"query": OVERVIEW, "variables": {"first": 50}},
                       headers=login(f"{base}/api/v1", who))  # fmt: skip
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        seen[who] = r.json()["data"]
    return seen


def hand_in_evidence(base: str) -> tuple[str, bytes]:
    """Files a liaison uploads (a PDF, a PNG, a 6 MiB video) and a direct upload sent but not completed;
    (the direct upload's id, its bytes)."""
    api = f"{base}/api/v1"
    liaison = login(api, "lc-sfj")
    todo = httpx.get(f"{api}/me/assignments", params={"status": "not_started", "limit": 10}, headers=liaison)
    open_ones = [a for a in todo.json()["items"] if not a["overdue"]]
    files = [("方案.pdf", pdf("backup me")), ("照片.png", png(40, 30)), ("录像.mp4", big_mp4())]
    for assignment, (name, data) in zip(open_ones, files, strict=False):
        r = httpx.post(f"{api}/assignments/{assignment['id']}/evidence/file", files={"file": (name, data)},
                       headers=liaison, timeout=60)  # fmt: skip
        assert r.status_code == 201, r.text
    body = pdf("direct, not yet completed")
    intent = httpx.post(
        f"{api}/assignments/{open_ones[3]['id']}/evidence/uploads", headers=liaison,
        json={"filename": "直传.pdf", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()},
    )  # fmt: skip
    assert intent.status_code == 201, intent.text
    target = intent.json()["upload_url"]
    if not urllib.parse.urlsplit(target).netloc:  # the local store's signed link is the API's own path
        target = base + target
    assert httpx.put(target, content=body, headers=intent.json()["headers"]).status_code == 200
    return intent.json()["id"], body


# Each pass of `make test` takes one store (the database's backup path differs by pass, the store's copy does not):
# PostgreSQL with the S3 server, SQLite with the local folder — so both stores and both databases are proven.
@pytest.mark.parametrize("kind", ["local" if on_sqlite() else "moto"])
def test_a_restored_backup_is_the_same_deployment(kind, deployments, tmp_path) -> None:
    original = deployments(kind, "orig")
    original.shifan("demo")
    with original.served(tmp_path) as base:
        intent_id, direct_body = hand_in_evidence(base)
        original.shifan("worker", "--once")
        seen_before = overview(base)
    previews = rows(original.url, "SELECT preview_key FROM evidenceversion WHERE preview_key IS NOT NULL")
    assert len(previews) >= 2  # the demo's and the uploaded PDF and PNG got first-page previews
    counts_before = row_counts(original.url)

    out = tmp_path / "backup"
    made = original.shifan("backup", "--out", str(out))
    assert "备份完成" in made.stdout and "SHIFAN_JWT_SECRET" in made.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["row_counts"] == counts_before and manifest["signature"]
    assert manifest["missing_objects"] == [] == manifest["mismatched_objects"]

    copy = deployments(kind, "copy")
    restored = copy.shifan("restore", str(out))
    assert "恢复完成" in restored.stdout, restored.stderr
    assert row_counts(copy.url) == counts_before

    versions = rows(copy.url, "SELECT object_key, sha256, size FROM evidenceversion WHERE object_key IS NOT NULL")
    assert len(versions) >= 5 and any(size > 5 * MiB for _, _, size in versions)
    for key, sha, _ in versions:
        assert sha256_in(copy.store, key) == sha, key
    pending = rows(copy.url, "SELECT object_key FROM uploadintent WHERE completed_at IS NULL")
    named = {k for k, _, _ in versions} | {k for (k,) in previews} | {k for (k,) in pending}
    assert set(copy.store.keys("")) == named
    assert sha256_in(copy.store, pending[0][0]) == hashlib.sha256(direct_body).hexdigest()

    verified = copy.shifan("audit", "verify")
    assert "审计记录链完整" in verified.stdout

    with copy.served(tmp_path) as base:
        assert overview(base) == seen_before
        api, liaison = f"{base}/api/v1", login(f"{base}/api/v1", "lc-sfj")
        # the restored deployment goes on working: the direct upload completes from the restored object, and a
        # new upload gets fresh ids (PostgreSQL's sequences came back with the rows)
        done = httpx.post(f"{api}/uploads/{intent_id}/complete", headers=liaison)
        assert done.status_code == 201, done.text
        assert done.json()["current"]["sha256"] == hashlib.sha256(direct_body).hexdigest()
        todo = httpx.get(f"{api}/me/assignments", params={"status": "not_started", "limit": 10}, headers=liaison)
        fresh = next(a for a in todo.json()["items"] if not a["overdue"])
        r = httpx.post(f"{api}/assignments/{fresh['id']}/evidence/file", files={"file": ("新.pdf", pdf("after"))},
                       headers=liaison)  # fmt: skip
        assert r.status_code == 201, r.text


@pytest.fixture
def cli(monkeypatch, capsys) -> Iterator[Callable[..., tuple[int, str]]]:
    """Runs a shifan command in this process (app.cli.main, a dozen times faster than a new interpreter) with a
    deployment's environment; (exit code, stderr)."""
    from app.cli import main
    from app.services.storage import get_store
    from app.settings import get_settings

    def run(target: Deployment, *args: str) -> tuple[int, str]:
        for name, value in target.env.items():
            if name.startswith("SHIFAN_"):
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        get_store.cache_clear()
        code = 0
        try:
            main(list(args))
        except SystemExit as exited:
            code = exited.code  # type: ignore[assignment]
        return code, capsys.readouterr().err

    yield run
    monkeypatch.undo()
    get_settings.cache_clear()  # the rest of the session reads its own settings again
    get_store.cache_clear()


@pytest.fixture
def refused(cli) -> Callable[..., str]:
    """`shifan restore` refused with the code and named what was wrong; its stderr."""

    def run(target: Deployment, backup: Path, code: str, *names: str) -> str:
        exit_code, err = cli(target, "restore", str(backup))
        assert exit_code == 1 and f"[{code}]" in err, err
        for name in names:
            assert name in err, (name, err)
        return err

    return run


def _untouched(target: Deployment) -> None:
    """Nothing written: no table in the database, no object in the store."""
    assert row_counts(target.url) == {}
    assert list(target.store.keys("")) == []


def test_restore_refuses_a_damaged_partial_or_forged_backup_and_a_target_in_use(
    deployments, cli, refused, tmp_path
) -> None:
    original = deployments("local", "orig")
    original.shifan("demo")
    # a backup that fails half-way (the database dumped, the store not answering) leaves an empty directory
    broken = tmp_path / "broken"
    away = {
        "SHIFAN_STORAGE_BACKEND": "s3",
        "SHIFAN_S3_ENDPOINT": f"127.0.0.1:{free_port()}",
        "SHIFAN_S3_SECURE": "false",
    }
    code, err = cli(Deployment(original.url, {**original.env, **away}, original.store, original.drop),
                    "backup", "--out", str(broken))  # fmt: skip
    assert code == 1 and "storage" in err and list(broken.iterdir()) == [], err
    good = tmp_path / "good"
    original.shifan("backup", "--out", str(good))
    code, err = cli(original, "backup", "--out", str(good))  # never mixed into another backup's files
    assert code == 1 and "[backup_target_not_empty]" in err
    objects = sorted(p for p in (good / "objects").rglob("*") if p.is_file())
    assert len(objects) >= 2
    target = deployments("local", "target")

    def variant(name: str, change: Callable[[Path], object]) -> Path:
        path = tmp_path / name
        shutil.copytree(good, path)
        change(path)
        return path

    def flip_byte(file: Path) -> None:
        data = bytearray(file.read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit: the size stays, only the SHA-256 can tell
        file.write_bytes(bytes(data))

    first = objects[0].relative_to(good).as_posix()
    damaged = variant("damaged", lambda p: flip_byte(p / first))
    refused(target, damaged, "backup_file_damaged", first, "内容已改变")
    database_file = json.loads((good / "manifest.json").read_text())["database"]["file"]
    refused(target, variant("damaged-db", lambda p: flip_byte(p / database_file)), "backup_file_damaged",
             database_file)  # fmt: skip
    missing = variant("missing", lambda p: (p / first).unlink())
    refused(target, missing, "backup_file_missing", first, "缺少文件")
    refused(target, variant("no-manifest", lambda p: (p / "manifest.json").unlink()), "backup_manifest_missing")

    def forge(path: Path) -> None:  # a figure changed in the manifest, its old signature kept
        data = json.loads((path / "manifest.json").read_text())
        data["database"]["row_counts"]["app_user"] += 1
        (path / "manifest.json").write_text(json.dumps(data))

    refused(target, variant("forged", forge), "backup_signature_invalid", "SHIFAN_JWT_SECRET")
    stranger = Deployment(target.url, {**target.env, "SHIFAN_JWT_SECRET": "another-deployment"}, target.store,
                          target.drop)  # fmt: skip
    refused(stranger, good, "backup_signature_invalid")
    _untouched(target)

    # a target in use: the original database itself, then an empty database with the original's store
    refused(original, good, "restore_database_not_empty", "空数据库")
    other_store = Deployment(target.url, {**target.env, "SHIFAN_OBJECT_DIR": original.env["SHIFAN_OBJECT_DIR"]},
                             original.store, target.drop)  # fmt: skip
    refused(other_store, good, "restore_store_not_empty", "不是空的")
    _untouched(target)

    # the refusals left the target as they found it; --check reads the good backup and writes nothing
    assert "备份完好" in target.shifan("restore", str(good), "--check").stdout
    _untouched(target)
    # a restore cut short left one of the backup's objects: refused as it is, continued with --resume
    with (good / first).open("rb") as f:
        target.store.put_stream(first.removeprefix("objects/"), f, content_type="image/png", max_bytes=MiB * 100)
    refused(target, good, "restore_store_not_empty", "--resume")
    target.shifan("restore", str(good), "--resume")
    assert row_counts(target.url) == row_counts(original.url)
    assert sorted(target.store.keys("")) == sorted(p.relative_to(good / "objects").as_posix() for p in objects)
