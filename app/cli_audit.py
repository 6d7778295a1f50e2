"""`shifan audit …`: verify (the chain, the daily roots and their time stamps), seal (today's root, stamped by
SHIFAN_TSA_URL), archive (older entries to a file with their roots) and prune (archived entries past retention)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from app.db import session_scope


def audit_verify(_: argparse.Namespace) -> None:
    """Recompute the audit hash chain and check the daily roots and their time stamps; name the first place that
    no longer matches (exit code 1)."""
    from app.services.platform import audit_verify as verification

    with session_scope() as session:
        verdict = verification.verify(session)
    for warning in verdict.warnings:
        print(f"警告：{warning}", file=sys.stderr)
    if verdict.ok:
        print(
            f"审计记录链完整：共 {verdict.checked} 条（自第 {verdict.start_seq} 条起），链头第 {verdict.head_seq} 条；"
            f"日根 {verdict.seals} 个，其中 {verdict.stamped} 个有时间戳。"
        )
        return
    bad = verdict.first_break
    assert bad is not None
    print(f"审计记录链在第 {bad.seq} 条（id {bad.entry_id}）处不符：{bad.reason}", file=sys.stderr)
    print(
        f"audit chain broken at seq {bad.seq} (entry id {bad.entry_id}); {verdict.checked} entries verified before it"
    )
    sys.exit(1)


def audit_seal(_: argparse.Namespace) -> None:
    """Seal the entries written since the last daily root (time-stamped when SHIFAN_TSA_URL is set); run daily."""
    from app.services.platform import audit_roots, timestamp

    try:
        made = audit_roots.seal(now=datetime.now(UTC))
    except timestamp.TimestampError as exc:
        print(f"未封存：{exc}", file=sys.stderr)
        sys.exit(1)
    if made is None:
        print("自上次封存以来没有新的审计记录。")
        return
    stamp = f"，时间戳 {made.stamped_at.isoformat()}" if made.stamped_at else "（未配置时间戳服务）"
    print(f"已封存第 {made.first_seq} 至 {made.last_seq} 条，日根摘要 {made.digest}{stamp}")


def audit_archive(args: argparse.Namespace) -> None:
    """Write the entries written before DATE (up to the last daily root before it) with their roots to FILE."""
    from app.services.platform import audit_archive as archiving

    with session_scope() as session:
        row = archiving.archive(session, before=args.before, out=Path(args.out), now=datetime.now(UTC))
    print(
        f"已归档第 {row.first_seq} 至 {row.last_seq} 条（{row.entries} 条）到 {args.out}，SHA-256 {row.sha256}；"
        f"核对后可运行 shifan audit prune --before {args.before.isoformat()}"
    )


def audit_prune(args: argparse.Namespace) -> None:
    """Remove archived entries written before DATE; refuses anything not archived or inside the retention period."""
    from app.services.platform import audit_archive as archiving
    from app.settings import get_settings

    with session_scope() as session:
        row, removed = archiving.prune(
            session,
            before=args.before,
            today=datetime.now(UTC).date(),
            retention_days=get_settings().audit_retention_days,
            now=datetime.now(UTC),
        )
    print(
        f"已删除已归档的审计记录 {removed} 条（至第 {row.last_seq} 条，归档文件 {row.filename}，SHA-256 {row.sha256}）"
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `audit` command and its subcommands."""
    audit = sub.add_parser("audit", help="Audit trail: verify, seal, archive, prune", description="审计记录")
    cmds = audit.add_subparsers(dest="audit_command", required=True)
    cmds.add_parser("verify", help=audit_verify.__doc__, description=audit_verify.__doc__).set_defaults(
        func=audit_verify
    )
    cmds.add_parser("seal", help=audit_seal.__doc__, description=audit_seal.__doc__).set_defaults(func=audit_seal)
    p = cmds.add_parser("archive", help=audit_archive.__doc__, description=audit_archive.__doc__)
    p.add_argument("--before", type=date.fromisoformat, required=True, metavar="DATE")
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(func=audit_archive)
    p = cmds.add_parser("prune", help=audit_prune.__doc__, description=audit_prune.__doc__)
    p.add_argument("--before", type=date.fromisoformat, required=True, metavar="DATE")
    p.set_defaults(func=audit_prune)
