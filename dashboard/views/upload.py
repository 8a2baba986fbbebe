"""Upload (staff): pick the kind, get the template, drop a file, preview it, map unknown headers,
validate, read the problems, then load (all or nothing) or load only the valid rows.

UI only: reading and validating the file is ``queries.ingest.pipeline.check_bytes``; loading is
``ingest_bytes``. A check's small summary (counts, errors, ten preview rows; never the parsed
table) is kept in the session per file, settings and data version, so clicking a button does not
validate a large file again. A check or load holds one of the process's slots
(``server_guard.check_slot``): one per user, ``SENIM_MAX_CHECKS`` in all. File names, headers and
messages quoting them are escaped before they reach Markdown."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from dashboard import auth, server_guard
from dashboard.components.plain import escape_markdown
from dashboard.components.table import CSV, download
from dashboard.components.upload_report import CheckSummary, error_report, summarise
from dashboard.data import engine
from dashboard.i18n import fmt_number, t
from queries import settings
from queries.contract import contract_columns, template_csv
from queries.db import data_version
from queries.errors import DatabaseUnavailable, SenimError
from queries.ingest.pipeline import check_bytes, ingest_bytes
from queries.schema.data import SURVEY_SOURCES, UPLOAD_KINDS
from queries.vocab import DONE_STATUSES

IGNORE = "__ignore__"
CHECKS_KEY = "upload_checks"  # {token: CheckSummary} of the file on screen
DONE_KEY = "upload_done"
MAX_MAPPED_HEADERS = 50
DELIMITER_KEYS = {
    ",": "upload.delim_comma",
    ";": "upload.delim_semicolon",
    "\t": "upload.delim_tab",
}
STAGE_KEYS = {
    "reading": "upload.stage_reading",
    "validating": "upload.stage_validating",
    "checking": "upload.stage_checking",
    "responses": "upload.stage_responses",
    "trust scores": "upload.stage_trust_scores",
    "finishing": "upload.stage_finishing",
    "committing": "upload.stage_committing",
}
CHECK_STAGES = ("reading", "validating", "checking")


def render() -> None:
    user = auth.require_role("staff")
    st.title(t("upload.title"))
    st.caption(t("upload.subtitle"))
    kind = st.segmented_control(
        t("upload.kind"),
        UPLOAD_KINDS,
        default="survey",
        required=True,
        format_func=lambda k: t(f"upload.kind_{k}"),
        key="upload_kind",
    )
    st.download_button(
        t("upload.template"),
        template_csv(kind),
        f"senim-{kind}-template.csv",
        "text/csv",
        icon=":material/download:",
        key="upload_template",
    )
    source, wave = _source_and_wave(kind)
    limit_mb = settings.max_upload_mb()
    file = st.file_uploader(
        t("upload.file"),
        type=["csv", "txt"],
        key=f"upload_file_{kind}",
        help=t("upload.limit", mb=limit_mb),
    )
    if file is None:
        st.session_state.pop(DONE_KEY, None)
        st.session_state.pop(CHECKS_KEY, None)
        return
    content = file.getvalue()
    if len(content) > limit_mb * 1_000_000:
        name = escape_markdown(file.name)
        st.error(t("upload.too_large", name=name, size=_megabytes(len(content)), mb=limit_mb))
        return
    try:
        _upload_steps(kind, content, file.name, source, wave, user.username)
    except DatabaseUnavailable:
        st.error(t("upload.db_error"), icon=":material/cloud_off:")
    except server_guard.Busy as busy:
        st.warning(t("security.busy_mine" if busy.mine else "security.busy_all"),
                   icon=":material/hourglass_top:")  # fmt: skip


def _source_and_wave(kind: str) -> tuple[str | None, str | None]:
    """The survey source and wave chosen for the whole file (None: taken from the file)."""
    if kind != "survey":
        return None, None
    left, right = st.columns(2)
    source = left.selectbox(
        t("upload.source"),
        SURVEY_SOURCES,
        index=None,
        format_func=lambda s: t(f"source.{s}"),
        placeholder=t("upload.from_file"),
        key="upload_source",
    )
    wave = right.text_input(
        t("upload.wave"), placeholder=t("upload.wave_hint"), max_chars=16, key="upload_wave"
    )
    return source, wave.strip() or None


def _upload_steps(kind, content: bytes, name: str, source, wave, username: str) -> None:
    """Check (kept per file and settings), preview, map, show problems, then the load buttons."""
    digest = hashlib.sha256(content).hexdigest()
    file_token = json.dumps([digest, kind, source, wave])
    done = st.session_state.get(DONE_KEY)
    if done and done["token"] == file_token:
        _result(done)  # this very file was just loaded: say so instead of checking it again
        return
    base = _check(kind, content, name, source, wave, {}, digest, username)
    if not base.readable:  # not a table at all (binary, empty, ...): one clear sentence
        reason = escape_markdown(base.message)
        st.error(t("upload.unreadable", reason=reason), icon=":material/block:")
        return
    _preview(base)
    header_map = _map_headers(kind, base)
    report = (
        _check(kind, content, name, source, wave, header_map, digest, username)
        if header_map
        else base
    )
    if report.status == "valid":
        st.success(t("upload.valid", rows=fmt_number(report.rows_read)))
    else:
        error_report(report, key="upload_errors")
    file_wide = report.file_wide
    left, right = st.columns(2)
    load_all = left.button(
        t("upload.load"), type="primary", disabled=report.status != "valid", key="upload_load"
    )
    load_valid = right.button(
        t("upload.load_valid"),
        key="upload_load_valid",
        disabled=report.status == "valid" or file_wide or report.rows_rejected >= report.rows_read,
        help=t("upload.load_valid_help"),
    )
    if load_all or load_valid:
        options = {"source": source, "wave": wave, "header_map": header_map or None}
        done = _load(kind, content, name, options, keep_valid=load_valid, username=username)
        if done is not None and done["status"] == "rejected":
            _result(done)  # e.g. the database was busy: say why, and leave the buttons to retry
        elif done is not None:
            st.session_state[DONE_KEY] = {**done, "token": file_token}
            st.session_state.pop(CHECKS_KEY, None)  # the data changed: checks are stale
            st.rerun()  # the page then shows the outcome alone


def _check(
    kind, content, name, source, wave, header_map: dict, digest: str, username: str
) -> CheckSummary:
    """``check_bytes`` once per file, settings and data version (its summary kept in the
    session); one check per user and a few per process at a time (``server_guard.Busy``)."""
    version = data_version(engine())
    token = json.dumps([digest, kind, source, wave, sorted(header_map.items()), version])
    checks: dict = st.session_state.setdefault(CHECKS_KEY, {})
    if token in checks:
        return checks[token]
    with server_guard.check_slot(username):
        bar = st.progress(0.0, text=t("upload.validating"))

        def progress(_fraction: float, stage: str) -> None:
            step = CHECK_STAGES.index(stage) + 1 if stage in CHECK_STAGES else 1
            bar.progress(step / (len(CHECK_STAGES) + 1), text=_stage(stage))

        try:
            report = summarise(
                check_bytes(
                    engine(),
                    kind,
                    content,
                    name,
                    source=source,
                    wave=wave,
                    header_map=header_map or None,
                    max_bytes=settings.max_upload_mb() * 1_000_000,
                    progress=progress,
                )
            )
        finally:
            bar.empty()
    # Keep only this file's checks (one without and one with a header map) to bound memory.
    kept = {k: v for k, v in checks.items() if json.loads(k)[0] == digest}
    kept[token] = report
    st.session_state[CHECKS_KEY] = dict(list(kept.items())[-4:])
    return report


def _stage(stage: str) -> str:
    key = STAGE_KEYS.get(stage)
    return t(key) if key else t("upload.loading")


def _preview(report: CheckSummary) -> None:
    if report.preview is None:  # refused from its header alone: there are no rows to show
        return
    st.subheader(t("upload.preview", rows=fmt_number(report.rows_read)))
    delimiter = t(DELIMITER_KEYS.get(report.delimiter, "upload.delim_other"))
    st.caption(t("upload.detected", encoding=report.encoding, delimiter=delimiter))
    st.dataframe(report.preview, hide_index=True, width="stretch", key="upload_preview")


def _map_headers(kind: str, report: CheckSummary) -> dict[str, str]:
    """Selectboxes for the headers the contract does not know -> ``header_map``."""
    unknown = list(report.unknown_columns)
    if not unknown:
        return {}
    st.subheader(t("upload.map_title"))
    st.caption(t("upload.map_caption"))
    columns = {spec.name: spec for spec in contract_columns(kind)}
    names = [IGNORE, *columns]
    header_map: dict[str, str] = {}
    for header in unknown[:MAX_MAPPED_HEADERS]:
        target = st.selectbox(
            escape_markdown(header),  # a header is the file's text: never Markdown
            names,
            key=f"map_{kind}_{header}",
            format_func=lambda n: (
                t("upload.ignore") if n == IGNORE else f"{n} — {t(columns[n].label_key)}"
            ),
        )
        if target != IGNORE:
            header_map[header] = target
    if len(unknown) > MAX_MAPPED_HEADERS:
        st.caption(t("upload.more_unknown", n=len(unknown) - MAX_MAPPED_HEADERS))
    return header_map


def _load(kind, content, name, options: dict, *, keep_valid: bool, username: str) -> dict | None:
    """Run the load with a progress bar; the outcome for ``_result`` (None: it did not run)."""
    bar = st.progress(0.0, text=t("upload.loading"))
    try:
        with server_guard.check_slot(username):
            report = ingest_bytes(
                engine(),
                kind,
                content,
                name,
                keep_valid=keep_valid,
                uploaded_by=username,
                max_bytes=settings.max_upload_mb() * 1_000_000,
                progress=lambda f, stage: bar.progress(max(0.0, min(1.0, f)), text=_stage(stage)),
                **options,
            )
    except SenimError as exc:
        st.error(t("upload.failed", reason=escape_markdown(exc)))
        return None
    finally:
        bar.empty()
    return {
        "status": report.status,
        "upload_id": report.upload_id,
        "loaded": report.rows_loaded,
        "rejected": report.rows_rejected,
        "new": report.rows_new,
        "updated": report.rows_updated,
        "message": report.message,
        "rejected_csv": report.rejected_csv() if report.rows_rejected else None,
    }


def _result(done: dict) -> None:
    """The outcome of the last load: counts, and the rejected rows when some were left out."""
    status = done["status"]
    counts = {k: fmt_number(done[k]) for k in ("loaded", "rejected", "new", "updated")}
    if status in DONE_STATUSES:
        st.success(t(f"upload.done_{status}", id=done["upload_id"], **counts))
        if done["new"] or done["updated"]:
            st.caption(t("upload.new_updated", new=counts["new"], updated=counts["updated"]))
    elif status == "unchanged":
        st.info(t("upload.done_unchanged"))
    else:
        st.error(t("upload.done_rejected"))
        if done["message"]:
            st.caption(escape_markdown(done["message"]))
    if done["rejected_csv"]:
        download(
            t("upload.rejected_csv"),
            done["rejected_csv"],
            "senim-rejected-rows.csv",
            CSV,
            key="upload_rejected",
            rows=done["rejected"],
            icon=":material/download:",
        )
    st.caption(t("upload.next_file"))


def _megabytes(size: int) -> str:
    return fmt_number(size / 1_000_000, 1)
