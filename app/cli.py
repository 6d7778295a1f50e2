"""The one command-line entry point: serve, migrate, demo, import-framework, export, create-user, token, worker
(app/cli_worker.py), audit verify|seal|archive|prune (app/cli_audit.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlmodel import Session

from app import cli_audit, cli_backup, cli_export, cli_sso, cli_worker
from app.db import session_scope
from app.services.errors import DomainError

ROOT = Path(__file__).resolve().parents[1]  # the checkout, for `shifan openapi`; run-time files: app.resources


def _session_do(work: Callable[[Session], object]) -> object:
    """Run work in one transaction, exactly as a request does."""
    with session_scope() as session:
        return work(session)


def migrate(_: argparse.Namespace | None = None) -> None:
    """Bring the configured database to the newest schema (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    from app.resources import ALEMBIC_INI

    command.upgrade(Config(str(ALEMBIC_INI)), "head")


def serve(args: argparse.Namespace) -> None:
    """Run the API with uvicorn, logging JSON lines (with the request id) to stdout.

    With --with-worker (and always under `shifan demo --serve`, unless --no-worker) a `shifan worker` child runs
    beside the API, started again if it exits. X-Forwarded-For is believed only from the addresses in
    FORWARDED_ALLOW_IPS (the proxy's own; default 127.0.0.1): from any other peer the header is ignored and the
    peer's address is the client's."""
    import os

    import uvicorn

    from app.observability import LOGGING, configure_logging

    configure_logging()
    with cli_worker.supervised_worker() if args.with_worker else contextlib.nullcontext():
        uvicorn.run(
            "app.main:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=LOGGING,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        )


def demo(args: argparse.Namespace) -> None:
    """Migrate, load the 陵川 demo county (once, dated from today and brought to life), say what to try
    first, optionally serve."""
    from app.services import demo as demo_service
    from app.services.storage import ObjectStore, get_store

    if args.reset:
        from app.services.demo import reset

        reset.wipe()  # refuses (demo_reset_refused) a database with accounts the demo did not create
        print("已清空演示数据库，重新载入演示数据（旧的演示文件由 shifan sweep 清理）。")
    migrate()
    store: ObjectStore | None = get_store()
    try:
        store.ensure_ready()  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - the demo still loads, only without its sample files and activity
        print(f"文件存储不可用，演示活动（上传、审核、评分）未生成：{type(exc).__name__}: {exc}", file=sys.stderr)
        store = None
    result = _session_do(lambda s: demo_service.load(s, today=date.today(), store=store))
    assert isinstance(result, dict)
    if result.get("already_loaded"):
        print("演示数据已存在（demo data already loaded）。")
    else:
        launch = result["launch"]
        print(f"陵川县演示活动已启动：{launch['total_assignments']} 条任务分工，材料报送截止于三周后。")
        names = launch["unresolved_names"]
        print(
            f"启动报告列出 {len(names)} 个未能解析的单位名称"
            f"（/api/v1/campaigns/{result['campaign_id']}/launch-report）："
            "这是有意的：指标体系里写的“各相关单位”“相关审批部门”“重大行政决策承办单位”等，"
            "需由县依法治县办按实际确定具体单位，演示中未设成员（另有个别指标未写责任单位）；"
            f"请用 POST /api/v1/campaigns/{result['campaign_id']}/assignments 手工分配。"
        )
    print(WHAT_TO_TRY.format(password=demo_service.DEMO_PASSWORD, base=f"http://{args.host}:{args.port}"))
    if args.serve:
        serve(args)


# the account roles (app/models/user.py Role), spelled out so `shifan --help` does not import the models
ROLES = ["system_admin", "security_admin", "audit_admin", "office", "liaison", "evaluator", "province"]

WHAT_TO_TRY = """
演示账号（密码均为 {password}）：
  sysadmin     系统管理员          secadmin     安全管理员          auditadmin   安全审计员
  lc-office    陵川县委依法治县办（审核、评分）
  lc-sfj       县司法局联络员      lc-gaj       县公安局联络员（有逾期事项）
  evaluator    第三方评估机构      evaluator-b  第三方评估机构（第二组）
  sx-province  山西省委依法治省办  yc-office    阳城县委依法治县办
先试试：
  1. 打开接口文档 {base}/docs
  2. 以县司法局联络员登录（表单字段 username / password）：
     TOKEN=$(curl -s -X POST {base}/api/v1/auth/token -d username=lc-sfj -d password={password} \\
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  3. 本人信息和待办：curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/me
     curl -H "Authorization: Bearer $TOKEN" "{base}/api/v1/me/assignments?status=returned"
  4. 上传一份资料（替换 ID 为待办中的任务编号）：
     curl -H "Authorization: Bearer $TOKEN" -F file=@some.pdf {base}/api/v1/assignments/ID/evidence/file
"""


def import_framework(args: argparse.Namespace) -> None:
    """Validate a framework file whole and import it as a new version, or list what is wrong."""
    from app.services.indicators import frameworks

    def work(session: Session) -> object:
        doc = frameworks.parse(Path(args.file).read_bytes())
        fw = frameworks.import_document(session, doc=doc, principal=None)
        return frameworks.to_public(session, fw)

    public = _session_do(work)
    print(json.dumps(public.model_dump(mode="json"), ensure_ascii=False, indent=1))  # type: ignore[attr-defined]


def create_user(args: argparse.Namespace) -> None:
    """Create an account."""
    from app.models.user import UserCreate
    from app.services.accounts import users

    data = UserCreate(
        username=args.username,
        display_name=args.display_name or args.username,
        role=args.role,
        password=args.password,
        county_id=args.county_id,
        unit_id=args.unit_id,
        region_id=args.region_id,
    )
    user = _session_do(lambda s: users.create(s, data=data))
    print(f"created user {user.username} (id {user.id}, role {user.role})")  # type: ignore[attr-defined]


def reset_password(args: argparse.Namespace) -> None:
    """Set an account's password on the server (an administrator's too); its holder changes it at the next login."""
    from app.services.accounts import passwords

    user = _session_do(lambda s: passwords.reset_on_server(s, username=args.username, new_password=args.password))
    print(f"password of {user.username} set; it must be changed at the next login")  # type: ignore[attr-defined]


def token(args: argparse.Namespace) -> None:
    """Mint a long-lived, revocable token for an integration script."""
    from app.services.accounts import users

    tok, row = _session_do(  # type: ignore[misc]
        lambda s: users.mint_script_token(s, username=args.username, name=args.name, days=args.days)
    )
    print(f"# token id {row.id}, expires {row.expires_at.isoformat()}; revoke: shifan revoke-token {row.id}")
    print(tok)


def revoke_token(args: argparse.Namespace) -> None:
    """Revoke a script token by id."""
    from app.services.accounts import users

    _session_do(lambda s: users.revoke_script_token(s, token_id=args.token_id))
    print(f"revoked token {args.token_id}")


def sweep(args: argparse.Namespace) -> None:
    """Remove expired direct uploads, objects no evidence row refers to, and day-old idempotency records."""
    from datetime import UTC, datetime, timedelta

    from app.services.accounts import login_throttle
    from app.services.platform import idempotency
    from app.services.storage import get_store
    from app.services.submission import uploads
    from app.settings import get_settings

    # --grace-minutes 0 means no grace (sweep everything unreferenced), not "the default"
    minutes = args.grace_minutes if args.grace_minutes is not None else get_settings().orphan_grace_minutes
    grace = timedelta(minutes=minutes)
    report = _session_do(lambda s: uploads.sweep(s, get_store(), now=datetime.now(UTC), grace=grace))
    print(f"expired uploads removed: {report.expired_intents}, orphaned objects removed: {report.orphans}")  # type: ignore[attr-defined]
    print(f"abandoned multipart uploads aborted: {report.abandoned_parts}")  # type: ignore[attr-defined]
    print(f"idempotency records older than a day removed: {idempotency.purge()}")
    print(f"login attempts older than a day removed: {login_throttle.purge()}")


def calendar_load(args: argparse.Namespace) -> None:
    """Load a year's holiday notice from a data file (data/calendar/2026.json); it wins over the built-in calendar."""
    from app.services.calendar import holidays

    with session_scope() as session:
        public = holidays.load_file(session, path=Path(args.file))
    days = f"放假 {public.holidays} 天，调休上班 {public.make_up_workdays} 天"
    print(f"{public.year} 年节假日安排已载入：{public.title}，{days}")


def search_reread(args: argparse.Namespace) -> None:
    """Have the worker read evidence for search again: the failed ones, or (--all) every version."""
    from app.models.evidence import TextStatus
    from app.services.search import indexing

    with session_scope() as session:
        n = indexing.forget(session, statuses=None if args.all else [TextStatus.failed])
    print(f"{n} 个资料版本将由 worker 重新读取（检索文字）")


def calendar_list(_: argparse.Namespace) -> None:
    """The loaded years, and which years the built-in calendar covers."""
    from app.services.calendar import holidays, workdays

    with session_scope() as session:
        years = holidays.list_years(session)
    print(f"内置日历覆盖 {workdays.LIBRARY_FIRST_YEAR}—{workdays.LIBRARY_LAST_YEAR} 年；已载入的年份优先：")
    for y in years:
        print(f"  {y.year}  {y.title}  放假 {y.holidays} 天，调休上班 {y.make_up_workdays} 天")


def export_openapi(args: argparse.Namespace) -> None:
    """Write openapi/openapi.json and openapi/schema.graphql from the code."""
    from app.api.graphql import sdl
    from app.main import create_app

    text = json.dumps(create_app().openapi(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.graphql_out).write_text(sdl(), encoding="utf-8")
    print(f"wrote {args.out} and {args.graphql_out}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="shifan", description="Shifan 示范 backend")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], None], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    for p in (srv := add("serve", serve, "Run the API server"), d := add("demo", demo, "Load the demo county")):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        # the API is stateless: `serve` runs one process per core by default (uvicorn's workers), or as many as
        # WEB_CONCURRENCY says (uvicorn's and gunicorn's variable: a container sets it without a command line); the
        # demo one
        cores = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1) if p is srv else 1
        p.add_argument(
            "--workers", type=int, default=cores, help="server processes (serve: WEB_CONCURRENCY, else one per core)"
        )
    d.add_argument("--serve", action="store_true", help="start the API (and the worker) after loading")
    d.add_argument("--reset", action="store_true", help="empty a demo-only database first and load the demo afresh")
    d.add_argument("--no-worker", dest="with_worker", action="store_false", help="serve without the worker")
    d.set_defaults(with_worker=True)
    srv.add_argument("--with-worker", action="store_true", help="also run the worker, as a supervised child process")
    add("migrate", migrate, "Migrate the database to the newest schema")
    p = add("import-framework", import_framework, "Import a framework data file (JSON or .xlsx)")
    p.add_argument("file")
    p = add("create-user", create_user, "Create an account")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--display-name")
    p.add_argument("--county-id", type=int)
    p.add_argument("--unit-id", type=int)
    p.add_argument("--region-id", type=int)
    p = add("reset-password", reset_password, "Set an account's password (changed at its next login)")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p = add("token", token, "Mint a long-lived script token for a user")
    p.add_argument("--username", required=True)
    p.add_argument("--name", required=True, help="what the script is, e.g. 'nightly-sync'")
    p.add_argument("--days", type=int)
    p = add("revoke-token", revoke_token, "Revoke a script token")
    p.add_argument("token_id", type=int)
    p = add("sweep", sweep, "Remove expired direct uploads and orphaned objects (run e.g. hourly from cron)")
    p.add_argument("--grace-minutes", type=int, help="leave objects younger than this alone (default from settings)")
    cal = sub.add_parser("calendar", help="Holiday notices (放假调休安排) by year", description="节假日安排")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    p = cal_sub.add_parser("load", help="Load a year's notice from a data file (data/calendar/*.json)")
    p.add_argument("file")
    p.set_defaults(func=calendar_load)
    cal_sub.add_parser("list", help="The loaded years").set_defaults(func=calendar_list)
    search_cmd = sub.add_parser("search", help="Evidence search (检索)", description="资料检索")
    p = search_cmd.add_subparsers(dest="search_command", required=True).add_parser("reread", help=search_reread.__doc__)
    p.add_argument("--all", action="store_true", help="every version, e.g. after an upgrade of the word list")
    p.set_defaults(func=search_reread)
    cli_export.add_parser(sub)
    cli_backup.add_parser(sub)
    cli_worker.add_parser(sub)
    cli_sso.add_parser(sub)
    cli_audit.add_parser(sub)
    p = add("openapi", export_openapi, "Write openapi/openapi.json and openapi/schema.graphql from the code")
    p.add_argument("--out", default=str(ROOT / "openapi" / "openapi.json"))
    p.add_argument("--graphql-out", default=str(ROOT / "openapi" / "schema.graphql"))
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the CLI."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DomainError as exc:
        print(f"错误 [{exc.code}] {exc.message}", file=sys.stderr)
        for err in exc.errors:
            print(f"  - {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
