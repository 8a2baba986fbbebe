"""`users`: local accounts — add (password from a prompt or stdin), list, set-role, disable,
enable, reset-password. Every change is written to the audit log as ``cli:<OS account>``, taken
from the process's user id: there is no option to name another actor."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from queries.access import accounts as auth
from queries.access.audit import os_actor
from queries.access.roles import grant_app_role
from queries.cli.common import add_db_option, engine_from
from queries.errors import SenimError
from queries.schema.access import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("users", help="manage local accounts")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, handler, help_text: str, *, name_arg: bool = True):
        p = actions.add_parser(name, help=help_text, description=help_text)
        if name_arg:
            p.add_argument("name", help="user name")
        add_db_option(p)
        p.set_defaults(handler=handler)
        return p

    p = action("add", _add, "add an account (password from a prompt, or stdin when piped)")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--email", help="e-mail, for sign-in through the identity provider")
    p = action("list", _list, "list accounts", name_arg=False)
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p = action("set-role", _set_role, "change an account's role")
    p.add_argument("role", choices=ROLES)
    action("disable", _disable, "stop an account from signing in")
    action("enable", _enable, "let a disabled or locked account sign in again")
    action("reset-password", _reset, "set a one-time password and print it")
    p = action(
        "grant-db-role",
        _grant_db_role,
        "PostgreSQL: give the app's login role its rights (audit_log: SELECT and INSERT only)",
        name_arg=False,
    )
    p.add_argument("role", help="an existing PostgreSQL login role, e.g. senim_app")


def _actor() -> str:
    return os_actor()  # the real OS account (not $USER), issue 13


def _read_password() -> str:
    """Twice at a prompt on a terminal; one line of stdin otherwise (scripts, provisioning)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat the password: "):
        raise SenimError("The two passwords differ.")
    return first


def _add(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    if auth.get_user(engine, args.name.strip()) is not None:  # before asking for a password
        raise SenimError(f"A user named {args.name.strip()!r} already exists.")
    password = _read_password()
    auth.create_user(engine, args.name, password, role=args.role, email=args.email, actor=_actor())
    print(f"User {args.name.strip()} added with role {args.role}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    frame = auth.list_users(engine_from(args))
    if args.json:
        print(json.dumps(frame.to_dicts(), default=str, ensure_ascii=False))
        return 0
    if frame.is_empty():
        print("No users.")
        return 0
    print(f"{'USER':<24} {'ROLE':<8} {'STATE':<9} {'LAST SIGN-IN':<19} E-MAIL")
    for row in frame.iter_rows(named=True):
        state = "disabled" if row["disabled"] else "active"
        last = row["last_login_at"].strftime("%Y-%m-%d %H:%M") if row["last_login_at"] else "-"
        print(f"{row['username']:<24} {row['role']:<8} {state:<9} {last:<19} {row['email'] or ''}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    auth.set_role(engine_from(args), args.name, args.role, actor=_actor())
    print(f"User {args.name} now has role {args.role}.")
    return 0


def _disable(args: argparse.Namespace) -> int:
    auth.disable(engine_from(args), args.name, actor=_actor())
    print(f"User {args.name} disabled.")
    return 0


def _enable(args: argparse.Namespace) -> int:
    auth.enable(engine_from(args), args.name, actor=_actor())
    print(f"User {args.name} enabled.")
    return 0


def _reset(args: argparse.Namespace) -> int:
    password = auth.reset_password(engine_from(args), args.name, actor=_actor())
    print(f"One-time password for {args.name}: {password}")
    print("The user must choose a new password at the next sign-in.")
    return 0


def _grant_db_role(args: argparse.Namespace) -> int:
    engine = engine_from(args)  # as the owner: migrations first, then the grants
    with engine.begin() as conn:
        grant_app_role(conn, role=args.role)
    print(f"Role {args.role} may read and write the data; audit_log: SELECT and INSERT only.")
    return 0
