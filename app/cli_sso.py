"""`shifan sso link|unlink`: an administrator stores (or removes) the external subject of an account, so its
unified login (统一身份认证, 钉钉免登) finds it without a matching username."""

from __future__ import annotations

import argparse


def link(args: argparse.Namespace) -> None:
    """Link an account to a provider's subject (OIDC sub, DingTalk userid or unionid)."""
    from app.db import session_scope
    from app.services.accounts.sso import identities

    with session_scope() as session:
        identities.link(session, username=args.username, provider=args.provider, subject=args.subject)
    print(f"linked {args.provider} subject {args.subject} to {args.username}")


def unlink(args: argparse.Namespace) -> None:
    """Remove the link of a provider's subject."""
    from app.db import session_scope
    from app.services.accounts.sso import identities

    with session_scope() as session:
        identities.unlink(session, provider=args.provider, subject=args.subject)
    print(f"unlinked {args.provider} subject {args.subject}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The sso subcommands."""
    cmds = sub.add_parser("sso", help="Unified login links (统一身份认证, 钉钉免登)").add_subparsers(
        dest="sso_command", required=True
    )
    for name, func in (("link", link), ("unlink", unlink)):
        p = cmds.add_parser(name, help=func.__doc__, description=func.__doc__)
        p.set_defaults(func=func)
        if name == "link":
            p.add_argument("--username", required=True)
        p.add_argument("--provider", required=True, choices=("oidc", "dingtalk"))
        p.add_argument("--subject", required=True, help="OIDC sub, or the DingTalk userid/unionid")
