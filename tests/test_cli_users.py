"""`python -m queries users ...` on both databases: the password from stdin or a prompt, and
one clear line for every mistake."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from queries.access import signin
from queries.access.audit import list_events
from queries.cli import main
from queries.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(db_url, capsys, monkeypatch, *args, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["users", *args, "--db", db_url])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_from_piped_stdin_then_list_in_a_real_process(db_url):
    def cli(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "-m", "queries", "--db", db_url, "users", *args],
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    added = cli(
        "add", "staff1", "--role", "staff", "--email", "s1@gov.kz", stdin="a-long-password\n"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "User staff1 added with role staff."
    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["username"], row["role"], row["email"], row["disabled"]) == (
        "staff1",
        "staff",
        "s1@gov.kz",
        False,
    )
    engine = make_engine(db_url)
    try:
        assert signin.authenticate(engine, "staff1", "a-long-password", now=NOW).role == "staff"
        assert list_events(engine, action="user_created").item(0, "actor").startswith("cli")
    finally:
        engine.dispose()


def test_set_role_disable_enable_reset(db_url, capsys, monkeypatch):
    assert run(db_url, capsys, monkeypatch, "add", "aida", "--role", "viewer",
               stdin="aida-password-1\n")[0] == 0  # fmt: skip
    code, out, _ = run(db_url, capsys, monkeypatch, "set-role", "aida", "analyst")
    assert (code, out.strip()) == (0, "User aida now has role analyst.")
    assert run(db_url, capsys, monkeypatch, "disable", "aida")[0] == 0
    code, out, _ = run(db_url, capsys, monkeypatch, "list")
    assert out.splitlines()[1].split()[:3] == ["aida", "analyst", "disabled"]
    assert run(db_url, capsys, monkeypatch, "enable", "aida")[0] == 0
    code, out, _ = run(db_url, capsys, monkeypatch, "reset-password", "aida")
    one_time = out.splitlines()[0].rsplit(": ", 1)[1]
    engine = make_engine(db_url)
    try:
        user = signin.authenticate(engine, "aida", one_time, now=NOW)
        assert (user.role, user.must_change_password) == ("analyst", True)
        actor = list_events(engine, action="password_set").item(0, "actor")
        assert actor.startswith("cli")
        actions = list_events(engine, actor=actor)
        assert actions.get_column("action").to_list()[:4] == [
            "password_set", "user_enabled", "user_disabled", "role_changed"
        ]  # fmt: skip
    finally:
        engine.dispose()


def test_prompt_asks_twice_on_a_terminal(db_url, capsys, monkeypatch):
    answers = iter(["typed-password-1", "typed-password-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", Terminal())
    code = main(["users", "add", "bolat", "--role", "staff", "--db", db_url])
    assert (code, capsys.readouterr().err) == (2, "error: The two passwords differ.\n")
    answers = iter(["typed-password-1", "typed-password-1"])
    assert main(["users", "add", "bolat", "--role", "staff", "--db", db_url]) == 0
    engine = make_engine(db_url)
    try:
        assert signin.authenticate(engine, "bolat", "typed-password-1", now=NOW).role == "staff"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "x", "--role", "staff"), "short\n", "error: The password must have at least 10"),
        (("add", "x", "--role", "staff"), "", "error: The password must have at least 10"),
        (
            ("add", "a b", "--role", "staff"),
            "long-enough-pw\n",
            "error: The user name 'a b' must not",
        ),
        (("set-role", "ghost", "admin"), "", "error: There is no user named 'ghost'."),
        (("disable", "ghost"), "", "error: There is no user named 'ghost'."),
        (("enable", "ghost"), "", "error: There is no user named 'ghost'."),
        (("reset-password", "ghost"), "", "error: There is no user named 'ghost'."),
        (
            ("add", "root", "--role", "admin"),
            "whatever-long\n",
            "error: A user named 'root' already",
        ),
        (("disable", "root"), "", "error: 'root' is the last active administrator"),
    ],
)
def test_mistakes_give_one_clear_line(db_url, capsys, monkeypatch, args, stdin, message):
    assert run(db_url, capsys, monkeypatch, "add", "root", "--role", "admin",
               stdin="root-password-1\n")[0] == 0  # fmt: skip
    code, _, err = run(db_url, capsys, monkeypatch, *args, stdin=stdin)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_role_is_refused_by_the_parser(db_url, capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        run(db_url, capsys, monkeypatch, "add", "x", "--role", "king", stdin="long-enough-pw\n")
    assert stop.value.code == 2
    assert "invalid choice: 'king'" in capsys.readouterr().err


def os_account() -> str:
    import os
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.slow  # five CLI processes
def test_the_actor_is_the_real_os_account_whatever_the_environment_says(db_url, tmp_path):
    """$USER/$LOGNAME can be set by the caller; the audit log takes the process's user id."""
    import os

    from tests.uploads_helpers import survey_csv, survey_rows

    env = {**os.environ, "USER": "boss", "LOGNAME": "boss", "USERNAME": "boss"}

    def cli(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "-m", "queries", *args, "--db", db_url],
            cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip

    added = cli("users", "add", "aida", "--role", "viewer", stdin="aida-password-1\n")
    assert added.returncode == 0, added.stderr
    data = tmp_path / "wave.csv"
    data.write_bytes(survey_csv(survey_rows(5)))
    assert cli("ingest", "--kind", "survey", str(data)).returncode == 0
    # No option names another actor any more.
    refused = cli("ingest", "--kind", "survey", "--by", "boss", str(data))
    assert refused.returncode == 2 and "--by" in refused.stderr
    assert cli("rollback", "1", "--by", "boss").returncode == 2
    engine = make_engine(db_url)
    try:
        actors = set(list_events(engine).get_column("actor"))
    finally:
        engine.dispose()
    assert actors == {f"cli:{os_account()}"}
