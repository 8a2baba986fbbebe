"""`python -m queries`: exit codes, the --json shapes, one-line errors (no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.uploads_helpers import survey_csv, survey_rows

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "queries", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_ingest_json_status_and_exit_codes(db_url, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(survey_csv(survey_rows(31)))
    bad = tmp_path / "bad.csv"
    rows = survey_rows(3, start=100)
    rows[0] = rows[0].replace(",1.5,", ",zero,")
    bad.write_bytes(survey_csv(rows))

    loaded = cli("ingest", "--kind", "survey", "--json", "--db", db_url, str(good))
    assert loaded.returncode == 0, loaded.stderr
    out = json.loads(loaded.stdout)
    assert (out["status"], out["rows_read"], out["rows_loaded"], out["errors"]) == (
        "loaded",
        31,
        31,
        [],
    )

    again = cli("ingest", "--kind", "survey", "--json", "--db", db_url, str(good))
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unchanged"

    rejected = cli("ingest", "--kind", "survey", "--json", "--db", db_url, str(bad))
    assert rejected.returncode == 1
    out = json.loads(rejected.stdout)
    assert out["status"] == "rejected" and out["rows_rejected"] == 1
    assert out["errors"][0]["row"] == 1 and out["errors"][0]["column"] == "weight"
    assert out["errors"][0]["value"] == "zero"

    rejected_file = tmp_path / "rejected.csv"
    partial = cli(
        "ingest",
        "--kind",
        "survey",
        "--keep-valid",
        "--rejected",
        str(rejected_file),
        "--db",
        db_url,
        str(bad),
    )
    assert partial.returncode == 0 and partial.stdout.startswith("partial")
    assert "zero" in rejected_file.read_text(encoding="utf-8-sig")

    status = json.loads(cli("status", "--json", "--db", db_url).stdout)
    assert status["tables"]["responses"] == 33 and status["last_upload_at"]
    uploads = json.loads(cli("uploads", "--json", "--db", db_url).stdout)
    assert [u["status"] for u in uploads] == ["partial", "rejected", "unchanged", "loaded"]

    undo = cli("rollback", str(uploads[0]["id"]), "--db", db_url)
    assert undo.returncode == 0 and "rolled back" in undo.stdout
    twice = cli("rollback", str(uploads[0]["id"]), "--db", db_url)
    assert twice.returncode == 2
    assert twice.stderr.startswith("error: ") and "Traceback" not in twice.stderr
    assert json.loads(cli("status", "--json", "--db", db_url).stdout)["tables"]["responses"] == 31


def test_errors_are_one_line_without_traceback(tmp_path):
    missing = cli(
        "ingest",
        "--kind",
        "ngo",
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        str(tmp_path / "nope.csv"),
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "nope.csv" in missing.stderr
    down = cli("status", "--db", "postgresql+psycopg://senim@127.0.0.1:1/none")
    assert down.returncode == 2 and "database unavailable" in down.stderr
    assert "Traceback" not in down.stderr


@pytest.mark.slow
def test_template_and_demo(tmp_path):
    template = cli("export-template", "--kind", "proposals")
    assert template.stdout.lstrip("\ufeff").startswith("proposal_id,source,region,topic")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = cli("demo", "--responses", "3000", "--db", url)
    assert demo.returncode == 0 and "3,000 survey responses" in demo.stdout
    refused = cli("demo", "--responses", "3000", "--db", url)
    assert refused.returncode == 2 and "empty database" in refused.stderr


def test_keep_valid_json_is_one_object_with_the_rejected_rows(db_url, tmp_path):
    rows = survey_rows(4)
    rows[2] = rows[2].replace("Алматы", "=HYPERLINK(1)")
    path = tmp_path / "mixed.csv"
    path.write_bytes(survey_csv(rows))
    result = cli("ingest", "--kind", "survey", "--keep-valid", "--json", "--db", db_url, str(path))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)  # the whole output is one JSON object
    assert (out["status"], out["kind"], out["rows_read"]) == ("partial", "survey", 4)
    assert (out["rows_loaded"], out["rows_rejected"]) == (3, 1)
    assert isinstance(out["upload_id"], int)
    assert [set(e) for e in out["errors"]] == [{"row", "column", "value", "message"}]
    assert (out["errors"][0]["row"], out["errors"][0]["value"]) == (3, "=HYPERLINK(1)")
    template = cli("export-template", "--kind", "ngo", "--db", db_url)
    assert template.returncode == 0 and "registered_ngos" in template.stdout
