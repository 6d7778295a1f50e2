"""Restoring a backup into an empty database and store. Everything is checked before anything is written: the
manifest is there and signed with this deployment's key, every file it names is present with its size and
SHA-256, the backup's database kind and schema suit this installation, and the database and the store are
empty. Then the objects go back first (the long part: if it is cut short the database is still empty, so the
same restore can simply be run again) and the database last, in one transaction."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.services.backup import database, manifest, objects
from app.services.backup.objects import Progress
from app.services.errors import Conflict, DomainError, Invalid
from app.services.storage import LocalStore, ObjectStore
from app.settings import Settings


def verify(settings: Settings, source: Path, *, jobs: int = 4, on_bytes: Progress | None = None) -> manifest.Manifest:
    """The backup's manifest once the backup is proven whole and suited to this installation; Invalid naming
    what is wrong otherwise. Reads only."""
    found = manifest.read_verified(source, manifest.signing_key(settings))
    manifest.check_files(source, found, jobs=jobs, on_bytes=on_bytes)
    here = database.backend_of(settings.database_url)
    if found.database.backend != here:
        names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
        raise Invalid(
            f"这份备份来自 {names[found.database.backend]} 数据库，而本系统现在配置的是 {names[here]}："
            "不支持跨数据库种类恢复，请把 SHIFAN_DATABASE_URL 指向同一种数据库",
            code="backup_backend_mismatch",
        )
    database.check_revision(found.database.schema_revision)
    return found


def check_targets_empty(
    settings: Settings, store: ObjectStore, found: manifest.Manifest, *, resume: bool = False
) -> None:
    """Refuse a database that has tables, or a store that holds any object (with resume: any object that is not
    one of this backup's, as an interrupted restore of it leaves). A store shared with a running deployment
    must never be restored into: the other's sweeper would remove what this one's rows do not name."""
    tables = database.table_count(settings.database_url)
    if tables:
        raise Conflict(
            f"要恢复到的数据库不是空的（已有 {tables} 张表）：恢复只写入新建的空数据库，不会覆盖现有数据。"
            "请新建一个空数据库（PostgreSQL：createdb；SQLite：换一个新的文件名），把 SHIFAN_DATABASE_URL 指向它后重试",
            code="restore_database_not_empty",
        )
    other = objects.foreign_key_in(store, {f.key for f in found.objects() if f.key} if resume else set())
    if other is not None:
        where = settings.s3_bucket if settings.storage_backend == "s3" else str(settings.object_dir)
        raise Conflict(
            f"要恢复到的文件存储（{where}）不是空的（例如已有 {other}）："
            "恢复只写入空的存储桶或文件夹，不会覆盖现有文件。"
            "请换一个新的存储桶（SHIFAN_S3_BUCKET）或文件夹（SHIFAN_OBJECT_DIR）后重试；"
            "若是同一份备份上次恢复中途中断留下的文件，可加 --resume 继续恢复",
            code="restore_store_not_empty",
        )


def restore(
    settings: Settings,
    store: ObjectStore,
    source: Path,
    *,
    jobs: int = 4,
    resume: bool = False,
    on_checked: Progress | None = None,
    on_restored: Progress | None = None,
) -> manifest.Manifest:
    """Put the backup in source back into the configured (empty) database and store."""
    found = verify(settings, source, jobs=jobs, on_bytes=on_checked)
    check_targets_empty(settings, store, found, resume=resume)
    objects.copy_in(store, source, found.objects(), jobs=jobs, on_bytes=on_restored)
    if isinstance(store, LocalStore):  # an S3 server keeps what it acknowledged; a folder needs flushing
        objects.flush_to_disk(store.root)
    database.restore(settings.database_url, source, found.database.file)
    engine = sa.create_engine(settings.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            counts = database.row_counts(conn)
    finally:
        engine.dispose()
    if counts != found.database.row_counts:
        differ = sorted(
            t for t in {*counts, *found.database.row_counts} if counts.get(t) != found.database.row_counts.get(t)
        )
        raise DomainError(
            f"恢复后的数据与备份清单不一致（表 {', '.join(differ)} 的行数不同），请勿使用该数据库，并联系技术人员",
            code="restore_counts_differ",
        )
    return found
