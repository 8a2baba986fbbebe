"""Upload (staff): pick the kind, get the template, drop a file, preview, map headers, validate,
read the problems, then load (all or nothing) or load only the valid rows."""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import auth
from dashboard.components.report import error_report
from dashboard.data import engine
from dashboard.i18n import t
from queries import settings
from queries.contract import canonical_header, contract_columns, template_csv
from queries.csvfile import ROW, read_table
from queries.errors import SenimError
from queries.ingest import check_bytes, ingest_bytes
from queries.schema import SURVEY_SOURCES, UPLOAD_KINDS

IGNORE = "__ignore__"
DELIMITER_KEYS = {
    ",": "upload.delim_comma",
    ";": "upload.delim_semicolon",
    "\t": "upload.delim_tab",
}


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
    source = wave = None
    if kind == "survey":
        left, right = st.columns(2)
        source = left.selectbox(
            t("upload.source"),
            SURVEY_SOURCES,
            index=None,
            format_func=lambda s: t(f"source.{s}"),
            placeholder=t("upload.from_file"),
            key="upload_source",
        )
        wave = (
            right.text_input(
                t("upload.wave"), placeholder=t("upload.wave_hint"), max_chars=16, key="upload_wave"
            ).strip()
            or None
        )
    file = st.file_uploader(t("upload.file"), type=["csv", "txt"], key=f"upload_file_{kind}")
    if file is None:
        return
    content = file.getvalue()
    limit = settings.max_upload_mb() * 1_000_000
    header_map = _preview_and_map(kind, content, file.name, limit)
    if header_map is None:
        return
    token = hashlib.sha256(content).hexdigest() + kind + str(source) + str(wave) + str(header_map)
    bar = st.progress(0.0, text=t("upload.validating"))
    report = check_bytes(
        engine(),
        kind,
        content,
        file.name,
        source=source,
        wave=wave,
        header_map=header_map,
        max_bytes=limit,
    )
    bar.progress(1.0, text=t("upload.validated"))
    if report.status == "valid":
        st.success(t("upload.valid", rows=report.rows_read))
    else:
        error_report(report, key="upload_errors")
    whole_file_problem = (report.errors.get_column("row") == 0).any()
    left, right = st.columns(2)
    load_all = left.button(
        t("upload.load"), type="primary", disabled=report.status != "valid", key="upload_load"
    )
    load_valid = right.button(
        t("upload.load_valid"),
        key="upload_load_valid",
        disabled=report.status == "valid"
        or whole_file_problem
        or report.rows_rejected >= report.rows_read,
    )
    if load_all or load_valid:
        _load(kind, content, file.name, source, wave, header_map, load_valid, user.username, token)
    done = st.session_state.get("upload_done")
    if done and done["token"] == token:
        _result(done)


def _preview_and_map(kind: str, content: bytes, name: str, limit: int) -> dict | None:
    try:
        table = read_table(content, name, max_bytes=limit)
    except SenimError as exc:
        st.error(t("upload.unreadable", reason=str(exc)))
        return None
    st.subheader(t("upload.preview", rows=table.frame.height))
    delimiter = t(DELIMITER_KEYS.get(table.delimiter, "upload.delim_other"))
    st.caption(t("upload.detected", encoding=table.encoding, delimiter=delimiter))
    st.dataframe(table.frame.drop(ROW).head(10), hide_index=True, width="stretch")
    unknown = [h for h in table.frame.columns if h != ROW and canonical_header(kind, h) is None]
    if not unknown:
        return {}
    st.subheader(t("upload.map_title"))
    st.caption(t("upload.map_caption"))
    names = [IGNORE] + [spec.name for spec in contract_columns(kind)]
    header_map = {}
    for header in unknown[:50]:
        target = st.selectbox(
            header,
            names,
            key=f"map_{kind}_{header}",
            format_func=lambda n: t("upload.ignore") if n == IGNORE else n,
        )
        if target != IGNORE:
            header_map[header] = target
    return header_map


def _load(kind, content, name, source, wave, header_map, keep_valid, username, token) -> None:
    bar = st.progress(0.0, text=t("upload.loading"))
    try:
        report = ingest_bytes(
            engine(),
            kind,
            content,
            name,
            source=source,
            wave=wave,
            keep_valid=keep_valid,
            uploaded_by=username,
            header_map=header_map,
            max_bytes=settings.max_upload_mb() * 1_000_000,
            progress=lambda f, stage: bar.progress(min(1.0, f), text=t("upload.loading")),
        )
    except SenimError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.progress(1.0, text=t("upload.loaded"))
    st.session_state["upload_done"] = {
        "token": token,
        "status": report.status,
        "upload_id": report.upload_id,
        "loaded": report.rows_loaded,
        "rejected": report.rows_rejected,
        "new": report.rows_new,
        "updated": report.rows_updated,
        "rejected_csv": report.rejected_csv() if report.rows_rejected else None,
    }


def _result(done: dict) -> None:
    status = done["status"]
    if status in ("loaded", "partial"):
        st.success(
            t(
                f"upload.done_{status}",
                id=done["upload_id"],
                loaded=done["loaded"],
                rejected=done["rejected"],
                new=done["new"],
                updated=done["updated"],
            )
        )
    elif status == "unchanged":
        st.info(t("upload.done_unchanged"))
    else:
        st.error(t("upload.done_rejected"))
    if done["rejected_csv"]:
        st.download_button(
            t("upload.rejected_csv"),
            done["rejected_csv"],
            "senim-rejected-rows.csv",
            "text/csv",
            key="upload_rejected",
        )
