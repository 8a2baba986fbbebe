"""`users`: local accounts — add (password from a prompt or stdin), list, set-role, disable,
enable, reset-password."""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys

from queries import auth
from queries.cli.common import add_db_option, engine_from
from queries.errors import SenimError
from queries.schema import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="manage local accounts")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="add an account (password from a prompt or stdin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--email")
    add_db_option(p)
    p.set_defaults(handler=_add)
    p = actions.add_parser("list", help="list accounts")
    p.add_argument("--json", action="store_true")
    add_db_option(p)
    p.set_defaults(handler=_list)
    p = actions.add_parser("set-role", help="change an account's role")
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    add_db_option(p)
    p.set_defaults(handler=lambda a: auth.set_role(engine_from(a), a.name, a.role))
    for name, function in (("disable", auth.disable), ("enable", auth.enable)):
        p = actions.add_parser(name, help=f"{name} an account")
        p.add_argument("name")
        add_db_option(p)
        p.set_defaults(handler=lambda a, f=function: f(engine_from(a), a.name))
    p = actions.add_parser("reset-password", help="set a one-time password and print it")
    p.add_argument("name")
    add_db_option(p)
    p.set_defaults(handler=_reset)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat the password: "):
        raise SenimError("The two passwords differ.")
    return first


def _add(args) -> int:
    engine = engine_from(args)
    auth.create_user(engine, args.name, _read_password(), role=args.role, email=args.email)
    print(f"User {args.name} added with role {args.role}.")
    return 0


def _list(args) -> int:
    frame = auth.list_users(engine_from(args))
    if args.json:
        print(json.dumps(frame.to_dicts(), default=str))
        return 0
    for row in frame.iter_rows(named=True):
        state = "disabled" if row["disabled"] else "active"
        print(f"{row['username']:<24} {row['role']:<8} {state:<9} {row['email'] or ''}")
    return 0


def _reset(args) -> int:
    password = secrets.token_urlsafe(12)
    auth.set_password(engine_from(args), args.name, password, must_change=True)
    print(f"One-time password for {args.name}: {password}")
    return 0
