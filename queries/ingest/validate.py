"""Check a read table against the data contract: one error row per problem (row, column, value,
message), and the clean, typed rows that passed. Vectorised: no Python loop per row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from queries.ingest import values as v
from queries.ingest.contract import (
    CLEAN_ORDER,
    PROPOSAL_SOURCE_NAMES,
    STATUS_NAMES,
    TRUST_PREFIX,
    canonical_header,
    contract_columns,
)
from queries.ingest.messages import (
    ERROR_SCHEMA,
    MAX_REPORTED_ERRORS,
    ErrorCollector,
    empty_errors,
)
from queries.ingest.reading import ROW, RawTable
from queries.reference.regions import region_label, resolve_column, suggest_region
from queries.schema import PROPOSAL_STATUSES

ANSWERED_STATUSES = ("answered", "accepted", "implemented", "rejected")
KINDS = ("survey", "ngo", "proposals")
MAX_SUGGESTIONS = 2_000  # distinct unknown region spellings given a "did you mean"
__all__ = [
    "ERROR_SCHEMA",
    "MAX_REPORTED_ERRORS",
    "Validation",
    "empty_errors",
    "validate",
]


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one file: clean typed rows and one error row per problem."""

    kind: str
    clean: pl.DataFrame
    errors: pl.DataFrame
    rows_read: int
    error_count: int = 0
    unknown_columns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def _rename(kind: str, table: RawTable, header_map: dict[str, str] | None, errors: ErrorCollector):
    renames: dict[str, str] = {}
    unknown: list[str] = []
    for header in table.frame.columns:
        if header == ROW:
            continue
        mapped = (header_map or {}).get(header)
        # A mapping may only point at a contract column; anything else stays unknown.
        target = canonical_header(kind, mapped) if mapped else canonical_header(kind, header)
        if target is None:
            unknown.append(header)
        elif target in renames.values():
            errors.file("duplicate_column", column=target)
        else:
            renames[header] = target
    frame = table.frame.select(ROW, *renames).rename(renames)
    return frame, tuple(unknown)


def _required(frame: pl.DataFrame, kind: str, given: dict[str, str | None], errors: ErrorCollector):
    for spec in contract_columns(kind):
        if spec.required and spec.name not in frame.columns and not given.get(spec.name):
            found = ", ".join(c for c in frame.columns if c != ROW) or "none"
            errors.file("missing_column", column=spec.name, found=found)
    if kind == "survey" and not any(c.startswith(TRUST_PREFIX) for c in frame.columns):
        errors.file("no_trust_column")


def _params(**columns: pl.Series | object) -> pl.Series:
    """Per-row message parameters as JSON text."""
    exprs = [(c if isinstance(c, pl.Series) else pl.lit(c)).alias(k) for k, c in columns.items()]
    return pl.select(pl.struct(exprs).struct.json_encode()).to_series()


def _col(frame: pl.DataFrame, name: str) -> pl.Series:
    if name in frame.columns:
        return frame.get_column(name)
    return pl.Series(name, [None] * frame.height, dtype=pl.String)


def _blank_required(frame: pl.DataFrame, name: str, errors: ErrorCollector) -> None:
    col = _col(frame, name)
    errors.add(col.is_null(), name, col, "missing_value")


def _region(frame: pl.DataFrame, errors: ErrorCollector, *, required: bool) -> pl.Series:
    raw = _col(frame, "region")
    codes = resolve_column(raw)
    unknown = raw.is_not_null() & codes.is_null()
    if unknown.any():
        hints = {}
        for value in raw.filter(unknown).unique(maintain_order=True).head(MAX_SUGGESTIONS):
            code = suggest_region(value)
            suggestion = f"{code} ({region_label(code)})" if code else ""
            hints[value] = json.dumps({"suggestion": suggestion, "suggested_code": code or ""})
        params = raw.replace_strict(hints, default="{}", return_dtype=pl.String)
        errors.add(unknown & params.str.contains('"KZ-'), "region", raw, "unknown_region", params)
        errors.add(
            unknown & ~params.str.contains('"KZ-'), "region", raw, "unknown_region_no_hint", params
        )
    if required:
        _blank_required(frame, "region", errors)
    return codes.rename("region_code")


def _number(frame, name, errors, decimal_comma, *, integer, low=None, high=None, positive=False):
    raw = _col(frame, name)
    if integer:
        parsed, bad = v.parse_integer(raw, decimal_comma)
        errors.add(bad, name, raw, "bad_integer")
    else:
        parsed, bad = v.parse_number(raw, decimal_comma)
        errors.add(bad, name, raw, "bad_number")
    if positive:
        errors.add(parsed <= 0, name, raw, "not_positive")
    elif low is not None and high is not None:
        errors.add(
            (parsed < low) | (parsed > high), name, raw, "out_of_range", {"low": low, "high": high}
        )
    elif low == 0:
        errors.add(parsed < 0, name, raw, "negative")
    return parsed


def _given(name: str, given: str | None, mapping, errors, *, pattern=None) -> str | None:
    """The source or wave chosen for the whole file, canonical; a file error when invalid."""
    if given is None or not str(given).strip():
        return None
    parsed, bad = (
        v.parse_pattern(pl.Series(name, [str(given)]), pattern)
        if pattern
        else v.parse_choice(pl.Series(name, [str(given)]), mapping)
    )
    if bad.item():
        if pattern:
            errors.file("bad_wave", column=name, value=str(given))
        else:
            allowed = ", ".join(sorted(set(mapping.values())))
            errors.file("bad_choice", column=name, value=str(given), allowed=allowed)
        return None
    return parsed.item()


def _fixed(frame, name, given, mapping, errors, *, pattern=None) -> pl.Series:
    """source/wave: from the column or the value chosen for the whole file; a cell that
    differs from the chosen value is an error (neither silently wins)."""
    raw = _col(frame, name)
    if pattern:
        parsed, bad = v.parse_pattern(raw, pattern)
        errors.add(bad, name, raw, "bad_wave")
    else:
        parsed, bad = v.parse_choice(raw, mapping)
        errors.add(
            bad, name, raw, "bad_choice", {"allowed": ", ".join(sorted(set(mapping.values())))}
        )
    if given:
        errors.add(
            parsed.is_not_null() & (parsed != given), name, raw, "conflict", {"given": given}
        )
        parsed = parsed.fill_null(given)
    else:
        errors.add(raw.is_null(), name, raw, "missing_value")
    return parsed.rename(name)


def _duplicates(
    frame: pl.DataFrame, keys: list[str], column: str, errors: ErrorCollector, value: str = ""
) -> None:
    """Every repeat of a key after its first row is an error naming that first row."""
    repeat = frame.select(
        ~pl.struct(keys).is_first_distinct() & pl.all_horizontal(pl.col(keys).is_not_null())
    ).to_series()
    if not repeat.any():
        return  # the usual case, without the two window passes below
    keyed = frame.select(ROW, *keys).with_columns(
        first=pl.col(ROW).first().over(keys), rank=pl.int_range(pl.len()).over(keys)
    )
    dup = (keyed.get_column("rank") > 0) & pl.all_horizontal(
        [keyed.get_column(k).is_not_null() for k in keys]
    ).pipe(lambda e: keyed.select(e).to_series())
    key_text = keyed.select(
        pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=" / ")
    )
    params = _params(first=keyed.get_column("first"), key=key_text.to_series())
    errors.add(dup, column, frame.get_column(value or column), "duplicate_in_file", params)


def _survey(frame, table, errors, source, wave) -> pl.DataFrame:
    dc = table.decimal_comma
    _blank_required(frame, "respondent_id", errors)
    src = _fixed(frame, "source", source, v.SURVEY_SOURCE, errors)
    wav = _fixed(frame, "wave", wave, {}, errors, pattern=v.WAVE_PATTERN)
    date_raw = _col(frame, "interview_date")
    date, bad_date = v.parse_date(date_raw)
    errors.add(bad_date, "interview_date", date_raw, "bad_date")
    out = {
        ROW: frame.get_column(ROW),
        "respondent_id": _col(frame, "respondent_id"),
        "source": src,
        "wave": wav,
        "period_start": v.wave_start(wav).rename("period_start"),
        "interview_date": date.rename("interview_date"),
        "region_code": _region(frame, errors, required=True),
    }
    for name, mapping in (("settlement", v.SETTLEMENT), ("sex", v.SEX)):
        raw = _col(frame, name)
        parsed, bad = v.parse_choice(raw, mapping)
        errors.add(
            bad, name, raw, "bad_choice", {"allowed": ", ".join(sorted(set(mapping.values())))}
        )
        out[name] = parsed.rename(name)
    out["age"] = _number(frame, "age", errors, dc, integer=True, low=16, high=110).cast(
        pl.Int16, strict=False
    )  # out-of-range ages are already errors; never overflow
    weight = _number(frame, "weight", errors, dc, integer=False, positive=True)
    out["weight"] = weight.fill_null(1.0).rename("weight")
    scores = [c for c in frame.columns if c.startswith(TRUST_PREFIX)]
    for name in ("state_listens", "response_satisfaction", *scores):
        raw = _col(frame, name)
        parsed, bad, out_of_range = v.parse_score(raw)
        errors.add(bad, name, raw, "bad_score")
        errors.add(out_of_range, name, raw, "out_of_range", {"low": 0, "high": 10})
        out[name] = parsed
    for name in (
        "participated_consultation",
        "submitted_proposal",
        "received_response",
        "ngo_involvement",
    ):
        raw = _col(frame, name)
        parsed, bad = v.parse_yes_no(raw)
        errors.add(bad, name, raw, "bad_yes_no")
        out[name] = parsed.rename(name)
    orphan = out["received_response"].is_not_null() & ~out["submitted_proposal"].fill_null(False)
    errors.add(
        orphan, "received_response", _col(frame, "received_response"), "received_without_proposal"
    )
    clean = pl.DataFrame(out)
    _duplicates(clean, ["source", "wave", "respondent_id"], "respondent_id", errors)
    return clean


def _ngo(frame, table, errors) -> pl.DataFrame:
    dc = table.decimal_comma
    period_raw = _col(frame, "period")
    period, bad = v.parse_pattern(period_raw, v.PERIOD_PATTERN)
    errors.add(bad, "period", period_raw, "bad_period")
    _blank_required(frame, "period", errors)
    _blank_required(frame, "registered_ngos", errors)
    out = {
        ROW: frame.get_column(ROW),
        "region_code": _region(frame, errors, required=True),
        "period": period.rename("period"),
    }
    for name in ("registered_ngos", "active_ngos", "grants_count", "volunteers", "beneficiaries"):
        out[name] = _number(frame, name, errors, dc, integer=True, low=0)
    out["grants_kzt"] = _number(frame, "grants_kzt", errors, dc, integer=False, low=0)
    over = out["active_ngos"] > out["registered_ngos"]
    params = _params(registered=out["registered_ngos"])
    errors.add(over, "active_ngos", _col(frame, "active_ngos"), "active_over_registered", params)
    clean = pl.DataFrame(out)
    _duplicates(clean, ["region_code", "period"], "region", errors, "region_code")
    return clean


def _proposals(frame, errors) -> pl.DataFrame:
    for name in ("proposal_id", "topic", "submitted_on", "status"):
        _blank_required(frame, name, errors)
    out = {ROW: frame.get_column(ROW), "proposal_id": _col(frame, "proposal_id")}
    out["source"] = _fixed(frame, "source", None, PROPOSAL_SOURCE_NAMES, errors)
    out["region_code"] = _region(frame, errors, required=False)
    out["topic"] = _col(frame, "topic").str.to_lowercase().rename("topic")
    for name in ("submitted_on", "answered_on", "implemented_on"):
        raw = _col(frame, name)
        parsed, bad = v.parse_date(raw)
        errors.add(bad, name, raw, "bad_date")
        out[name] = parsed
    raw_status = _col(frame, "status")
    status, bad = v.parse_choice(raw_status, STATUS_NAMES)
    errors.add(bad, "status", raw_status, "bad_choice", {"allowed": ", ".join(PROPOSAL_STATUSES)})
    out["status"] = status.rename("status")
    status_params = _params(status=status)
    errors.add(
        status.is_in(ANSWERED_STATUSES)
        & out["answered_on"].is_null()
        & _col(frame, "answered_on").is_null(),
        "answered_on",
        _col(frame, "answered_on"),
        "answered_on_required",
        status_params,
    )
    errors.add(
        (status == "implemented") & _col(frame, "implemented_on").is_null(),
        "implemented_on",
        _col(frame, "implemented_on"),
        "implemented_on_required",
    )
    for later, earlier in (("answered_on", "submitted_on"), ("implemented_on", "answered_on")):
        before = out[later] < out[earlier]
        params = _params(other=earlier, other_value=out[earlier].cast(pl.String))
        errors.add(before, later, out[later].cast(pl.String), "date_before", params)
    clean = pl.DataFrame(out)
    _duplicates(clean, ["source", "proposal_id"], "proposal_id", errors)
    return clean


def validate(
    kind: str,
    table: RawTable,
    *,
    source: str | None = None,
    wave: str | None = None,
    header_map: dict[str, str] | None = None,
) -> Validation:
    """Check ``table`` against the contract of ``kind``; never raises for bad content.

    ``source``/``wave`` (survey only) apply to the whole file: they fill blank cells, and a
    cell that says otherwise is a row error. ``header_map`` maps file headers (normalised) to
    contract columns, for headers the built-in synonyms do not know."""
    if kind not in KINDS:
        raise ValueError(f"unknown upload kind {kind!r}; expected one of {', '.join(KINDS)}")
    errors = ErrorCollector(table.frame.get_column(ROW))
    frame, unknown = _rename(kind, table, header_map, errors)
    if kind == "survey":
        source = _given("source", source, v.SURVEY_SOURCE, errors)
        wave = _given("wave", wave, {}, errors, pattern=v.WAVE_PATTERN)
    else:
        source = wave = None
    _required(frame, kind, {"source": source, "wave": wave}, errors)
    if frame.height == 0:
        errors.file("no_rows")
    if errors.file_level:
        # Nothing is checked row by row; the clean frame is empty but has its usual columns.
        parsed = _parse(kind, frame.clear(), table, ErrorCollector(frame.clear()[ROW]), None, None)
        report, count = errors.table()
        return Validation(kind, parsed, report, frame.height, count, unknown)
    parsed = _parse(kind, frame, table, errors, source, wave)
    clean = parsed.filter(~pl.col(ROW).is_in(errors.bad_rows().implode()))
    report, count = errors.table()
    return Validation(kind, clean, report, frame.height, count, unknown)


def _parse(kind, frame, table, errors, source, wave) -> pl.DataFrame:
    """The typed columns of ``kind`` in the documented order (trust items last)."""
    if kind == "survey":
        parsed = _survey(frame, table, errors, source, wave)
    elif kind == "ngo":
        parsed = _ngo(frame, table, errors)
    else:
        parsed = _proposals(frame, errors)
    first = [c for c in CLEAN_ORDER[kind] if c in parsed.columns]
    return parsed.select(*first, *[c for c in parsed.columns if c not in first])
