"""The import rules, read from the source with ``ast`` (nothing is imported or run):

- ``dashboard/`` never imports SQLAlchemy and writes no SQL (no ``text(...)``, no SQL strings);
- ``queries/`` never imports Streamlit;
- the parts of ``queries/`` only import downward, in the order of ``LAYERS`` below; a part may
  import itself, never a part of its own layer or a higher one, and every part must be declared.

The checker runs over the real tree and over small synthetic trees, so it is seen to fail when
the layering breaks. The real tree has no excused exception.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A part is a top-level module or sub-package of queries/ (its name without .py).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"settings", "errors", "vocab", "export"}),
    frozenset({"reference"}),
    frozenset({"contract"}),  # the data contract: read by the schema, validation and the store
    frozenset({"schema"}),
    frozenset({"db"}),
    frozenset({"survey", "access"}),
    frozenset({"metrics"}),
    frozenset({"summaries"}),  # sums the metrics' variables; written by ingest in its transaction
    frozenset({"ingest"}),
    frozenset({"demo"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
# Alembic revisions and env.py may read the schema and the engine helpers (and what they stand
# on); nothing imports the migrations: db.py runs them through Alembic's script directory.
MIGRATIONS = "migrations"
MIGRATIONS_CEILING = "db"

FORBIDDEN_IN_DASHBOARD = ("sqlalchemy",)
FORBIDDEN_IN_QUERIES = ("streamlit",)
SQL_CALLS = frozenset({"text", "literal_column", "exec_driver_sql"})
# A statement starts with its keyword (any case); upper-case keywords are SQL anywhere.
SQL_STATEMENT = re.compile(
    r"^\s*(select\s.+?\sfrom\s+\S+(\s+(where|join|group|order|limit)\b|\s*;?\s*$)"
    r"|insert\s+into|update\s+\S+\s+set|delete\s+from"
    r"|(create|drop|alter)\s+(table|index|view))\b",
    re.IGNORECASE | re.DOTALL,
)
SQL_UPPER = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.DOTALL
)


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place of the tree."""

    path: str  # relative to the tree's root, with forward slashes
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.detail}"


@dataclass(frozen=True)
class Import:
    """One imported module, fully resolved (relative imports and ``from pkg import module``)."""

    module: str
    line: int


def python_files(root: Path, package: str) -> Iterator[Path]:
    yield from sorted((root / package).rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(root: Path, path: Path, tree: ast.AST) -> Iterator[Import]:
    """Every import in the file, including those inside functions and TYPE_CHECKING blocks."""
    package = module_name(root, path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield Import(target if is_module(root, target) else base, node.lineno)


def part_of(module: str) -> str | None:
    """The part of queries/ a module belongs to (``queries.ingest.store`` -> ``ingest``)."""
    parts = module.split(".")
    if parts[0] != "queries":
        return None
    return parts[1] if len(parts) > 1 else ""


def layer_of(part: str) -> int | None:
    return next((i for i, parts in enumerate(LAYERS) if part in parts), None)


def allowed(importer: str, imported: str) -> bool:
    if imported in ("", importer):  # the bare package, or the part itself
        return True
    if imported == MIGRATIONS:
        return False
    target = layer_of(imported)
    if target is None:
        return False
    if importer == MIGRATIONS:
        return target <= layer_of(MIGRATIONS_CEILING)
    own = layer_of(importer)
    return own is not None and target < own


def top_level(module: str) -> str:
    return module.split(".")[0]


def queries_violations(root: Path) -> list[Violation]:
    """Streamlit imports and imports that run up (or sideways) the layers of queries/."""
    found = []
    for path in python_files(root, "queries"):
        rel = path.relative_to(root).as_posix()
        importer = part_of(module_name(root, path))
        if importer and importer != MIGRATIONS and layer_of(importer) is None:
            found.append(Violation(rel, 1, f"part {importer!r} has no declared layer"))
        for imp in imports(root, path, ast.parse(path.read_text(encoding="utf-8"))):
            if top_level(imp.module) in FORBIDDEN_IN_QUERIES:
                found.append(Violation(rel, imp.line, f"imports {imp.module}"))
            imported = part_of(imp.module)
            if importer and imported is not None and not allowed(importer, imported):
                found.append(Violation(rel, imp.line, f"{importer} imports {imp.module}"))
    return found


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes, which may describe SQL without writing any."""
    kinds = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    nodes = (node for node in ast.walk(tree) if isinstance(node, kinds))
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def dashboard_violations(root: Path) -> list[Violation]:
    """SQLAlchemy imports, ``text(...)``-style SQL calls and SQL statements in strings."""
    found = []
    for path in python_files(root, "dashboard"):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for imp in imports(root, path, tree):
            if top_level(imp.module) in FORBIDDEN_IN_DASHBOARD:
                found.append(Violation(rel, imp.line, f"imports {imp.module}"))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if isinstance(node.func, ast.Attribute) and node.func.attr == "exec_driver_sql":
                    name = node.func.attr
                if name in SQL_CALLS:
                    found.append(Violation(rel, node.lineno, f"calls {name}()"))
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and (SQL_STATEMENT.search(node.value) or SQL_UPPER.search(node.value))
            ):
                found.append(Violation(rel, node.lineno, "writes SQL text"))
    return found


def listed(violations: list[Violation]) -> list[str]:
    return sorted({str(v) for v in violations})


# --- the real tree ------------------------------------------------------------------------------


def test_queries_never_imports_streamlit_and_only_imports_downward():
    assert listed(queries_violations(ROOT)) == []


def test_the_dashboard_never_imports_sqlalchemy_nor_writes_sql():
    assert listed(dashboard_violations(ROOT)) == []


def test_every_part_of_queries_is_declared_once():
    declared = [part for layer in LAYERS for part in layer]
    assert len(declared) == len(set(declared))
    present = {part_of(module_name(ROOT, p)) for p in python_files(ROOT, "queries")}
    assert present - {"", MIGRATIONS} <= set(declared)


# --- synthetic trees: the checker fails when the layering breaks ---------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


CLEAN = {
    "queries/__init__.py": "",
    "queries/__main__.py": "from queries.cli import main\n",
    "queries/settings.py": "import os\n",
    "queries/errors.py": "",
    "queries/vocab.py": "from enum import StrEnum\n",
    "queries/schema.py": "import sqlalchemy\nfrom queries.vocab import StrEnum\n",
    "queries/db.py": "from queries import settings\nfrom queries.reference.regions import x\n",
    "queries/reference/__init__.py": "from .regions import x\n",
    "queries/reference/regions.py": "from queries import settings\nx = 1\n",
    "queries/survey/__init__.py": "",
    "queries/survey/design.py": "from queries.errors import SenimError\nfrom . import sums\n",
    "queries/survey/sums.py": "",
    "queries/access/__init__.py": "",
    "queries/access/accounts.py": "from queries.schema import users\n",
    "queries/ingest/__init__.py": "",
    "queries/ingest/pipeline.py": "from queries.access import accounts\nfrom ..db import make\n",
    "queries/metrics/__init__.py": "from queries.survey import design\n",
    "queries/metrics/overview.py": "from queries.survey import design\nfrom . import trust\n",
    "queries/metrics/trust.py": "",
    "queries/demo/__init__.py": "from queries.ingest.pipeline import ingest_bytes\n",
    "queries/cli/__init__.py": "def main():\n    from queries.demo import load_demo\n",
    "queries/migrations/env.py": "from queries.db import make\nfrom queries.schema import meta\n",
    "dashboard/__init__.py": "",
    "dashboard/views/overview.py": (
        '"""Reads the cards; a docstring may say SELECT x FROM y."""\n'
        "import streamlit as st\n"
        "from queries.metrics.overview import cards\n"
        "st.text('Select a region from the list')\n"
        "label = f'Delete {1} from the view'\n"
    ),
}


def test_a_clean_tree_has_no_violations(tmp_path):
    root = write(tmp_path, CLEAN)
    assert queries_violations(root) == []
    assert dashboard_violations(root) == []


@pytest.mark.parametrize(
    ("name", "source", "detail"),
    [
        ("queries/schema.py", "from queries.metrics import overview\n", "schema imports"),
        ("queries/vocab.py", "import queries.reference.regions\n", "vocab imports"),
        ("queries/survey/design.py", "from queries.access import accounts\n", "survey imports"),
        ("queries/metrics/trust.py", "from queries.summaries import cells\n", "metrics imp"),
        ("queries/metrics/overview.py", "from ..ingest import store\n", "metrics imports"),
        ("queries/ingest/store.py", "def f():\n    from queries.demo import x\n", "ingest imp"),
        ("queries/demo/ngo.py", "from queries.cli import main\n", "demo imports"),
        ("queries/migrations/env.py", "from queries.ingest import pipeline\n", "migrations"),
        ("queries/db.py", "from queries.migrations import env\n", "db imports"),
        ("queries/metrics/trust.py", "import streamlit as st\n", "imports streamlit"),
        ("queries/reference/geo.py", "from streamlit import cache_data\n", "imports streamlit"),
        ("queries/population.py", "", "has no declared layer"),
    ],
)
def test_a_broken_rule_in_queries_is_found(tmp_path, name, source, detail):
    root = write(tmp_path, {**CLEAN, name: source})
    found = queries_violations(root)
    assert any(v.path == name and detail in v.detail for v in found), found


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("from sqlalchemy.exc import SQLAlchemyError\n", "imports sqlalchemy.exc"),
        ("import sqlalchemy as sa\n", "imports sqlalchemy"),
        ("def f():\n    from sqlalchemy import select\n", "imports sqlalchemy"),
        ("from queries.db import text\nq = text('x')\n", "calls text()"),
        ("def f(conn):\n    conn.exec_driver_sql('x')\n", "calls exec_driver_sql()"),
        ("q = 'select id from users where role = :r'\n", "writes SQL text"),
        ("q = f'SELECT * FROM {table}'\n", "writes SQL text"),
        ("q = 'DELETE FROM uploads'\n", "writes SQL text"),
        ("q = 'update uploads set status = 1'\n", "writes SQL text"),
    ],
)
def test_a_database_detail_in_the_dashboard_is_found(tmp_path, source, detail):
    root = write(tmp_path, {**CLEAN, "dashboard/views/history.py": source})
    found = dashboard_violations(root)
    assert any(v.path == "dashboard/views/history.py" and v.detail == detail for v in found), found
