"""The soak's short version (bench/soak; `make soak` runs the long one): about a minute of mixed traffic on two
API instances, a worker, a private PostgreSQL and Ceph RGW, with one fault of each kind; nothing acknowledged
may be lost or duplicated and no answer may be a 500. Then the checker is shown to catch a planted loss."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from minio import Minio

from bench.soak import checker, faults, report
from bench.soak.history import History
from bench.soak.runner import SHORT, saved_target, soak
from tests.conftest import IN_CI
from tests.pg_cluster import bin_dir
from tests.s3servers import rgw_installed

pytestmark = pytest.mark.postgresql_only("the soak brings its own private PostgreSQL cluster and restarts it")


@pytest.fixture(scope="module")
def soaked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    missing = [name for name, ok in (("radosgw", rgw_installed()), ("initdb", bin_dir() is not None)) if not ok]
    if missing:
        if IN_CI:
            pytest.fail(f"the soak needs {', '.join(missing)}; .ci/run installs them")
        pytest.skip(f"the soak needs {', '.join(missing)} (Ceph RGW and the PostgreSQL server binaries)")
    workdir = Path(tmp_path_factory.mktemp("soak"))
    world, history, verdict = asyncio.run(soak(workdir, SHORT))
    try:
        yield world, history, verdict, workdir
    finally:
        world.stop()


def test_nothing_acknowledged_is_lost_or_duplicated_under_faults(soaked) -> None:
    _, history, verdict, _ = soaked
    print(report.markdown(history, verdict))
    assert {f.kind for f in history.faults} == set(faults.KINDS)
    assert sum(verdict.acknowledged.values()) >= 50, verdict.acknowledged
    assert {"upload_api", "upload_direct", "review", "score"} <= set(verdict.acknowledged), verdict.acknowledged
    assert verdict.lost == [] and verdict.duplicated == []
    assert not [op for op in history.ops if op.status is not None and op.status >= 500 and op.status != 503]
    assert verdict.problems == []
    assert verdict.events_checked > 0 and verdict.objects_checked > 0


def test_the_checker_catches_a_planted_loss(soaked) -> None:
    world, _, verdict, workdir = soaked
    saved = History.load(workdir / "history.jsonl")
    final = [op for op in checker.final_ops(saved) if op.acknowledged]
    files = [op.facts for op in final if op.kind in checker.FILE_KINDS]
    named = {(op.facts["evidence_id"], op.facts["version"]) for op in final if op.kind == "review"}
    named |= {(op.facts["evidence_id"], op.facts["withdrawn"]) for op in final if op.kind == "withdraw"}
    # a statement version no acknowledged review or withdrawal names (the checker reads those versions too: a
    # withdrawn one deleted would be a second finding): its loss is exactly one finding
    texts = [
        op.facts
        for op in final
        if op.kind in checker.TEXT_KINDS and (op.facts["evidence_id"], op.facts["version"]) not in named
    ]
    scores = [op.facts for op in final if op.kind == "score"]
    assert files and scores
    # a short run under load may leave no unreviewed statement: then only the file and the score are planted
    victim, text, score = files[0], (texts[0] if texts else None), scores[0]
    engine = sa.create_engine(world.database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        # behind the system's back, as a superuser can: triggers (append-only tables, foreign keys) off
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        key = conn.execute(
            sa.text("SELECT object_key FROM evidenceversion WHERE evidence_id = :e AND number = :n"),
            {"e": victim["evidence_id"], "n": victim["version"]},
        ).scalar()
        if text is not None:
            conn.execute(
                sa.text("DELETE FROM evidenceversion WHERE evidence_id = :e AND number = :n"),
                {"e": text["evidence_id"], "n": text["version"]},
            )
        conn.execute(
            sa.text("DELETE FROM score WHERE id = (SELECT min(id) FROM score WHERE comment = :c)"),
            {"c": f"soak {score['nonce']}"},
        )
    engine.dispose()
    s3 = Minio(world.s3.endpoint, world.s3.access_key, world.s3.secret_key, secure=False, region="us-east-1")
    s3.remove_object(world.bucket, key)
    # from the saved history alone (it names the world; the proxy lived in the run's loop: one API directly)
    again = checker.check(saved, saved_target(saved.meta))
    assert not again.ok
    assert any(victim["nonce"] in x and "unreadable" in x for x in again.lost), again.lost
    assert text is None or any(text["nonce"] in x and "missing" in x for x in again.lost), again.lost
    assert any(score["nonce"] in x for x in again.lost), again.lost
    assert len(again.lost) == len(verdict.lost) + (3 if text is not None else 2)
