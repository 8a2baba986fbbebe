"""Check a read table against the data contract: one error row per problem (row, column, value,
message), and the clean, typed rows that passed. Vectorised: no Python loop per row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import polars as pl

from queries.contract import (
    TRUST_PREFIX,
    Column,
    Contract,
    Parser,
    Storage,
    canonical_header,
    contract,
)
from queries.contract.columns import WAVE_PATTERNS
from queries.ingest import values as v
from queries.ingest.messages import (
    ERROR_SCHEMA,
    MAX_REPORTED_ERRORS,
    ErrorCollector,
    empty_errors,
)
from queries.ingest.reading import ROW, RawTable
from queries.reference.reform import before_reform_errors, period_end
from queries.reference.regions import region_hint, resolve_column
from queries.vocab import ProposalStatus, UploadKind

ANSWERED_STATUSES = (
    ProposalStatus.ANSWERED,
    ProposalStatus.ACCEPTED,
    ProposalStatus.IMPLEMENTED,
    ProposalStatus.REJECTED,
)
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


def _required(frame: pl.DataFrame, spec: Contract, given: dict[str, str | None], errors):
    for name in spec.required:
        if name not in frame.columns and not given.get(name):
            found = ", ".join(c for c in frame.columns if c != ROW) or "none"
            errors.file("missing_column", column=name, found=found)
    if any(c.storage is Storage.LONG for c in spec.columns) and not any(
        c.startswith(TRUST_PREFIX) for c in frame.columns
    ):
        errors.file("no_trust_column")


def _params(**columns: pl.Series | object) -> pl.Series:
    """Per-row message parameters as JSON text."""
    exprs = [(c if isinstance(c, pl.Series) else pl.lit(c)).alias(k) for k, c in columns.items()]
    return pl.select(pl.struct(exprs).struct.json_encode()).to_series()


def _col(frame: pl.DataFrame, name: str) -> pl.Series:
    if name in frame.columns:
        return frame.get_column(name)
    return pl.Series(name, [None] * frame.height, dtype=pl.String)


def _region(frame: pl.DataFrame, errors: ErrorCollector, column: Column) -> pl.Series:
    raw = _col(frame, column.name)
    codes = resolve_column(raw)
    unknown = raw.is_not_null() & codes.is_null()
    if unknown.any():
        hints = {}
        for value in raw.filter(unknown).unique(maintain_order=True).head(MAX_SUGGESTIONS):
            hints[value] = json.dumps(region_hint(value), ensure_ascii=False)
        params = raw.replace_strict(hints, default="{}", return_dtype=pl.String)
        # region-spelling: several units fit -> refused naming them (queries/reference/regions)
        ambiguous = params.str.contains('"candidates": "KZ-')
        has_hint = params.str.contains('"suggested_code": "KZ-') & ~ambiguous
        errors.add(unknown & ambiguous, column.name, raw, "ambiguous_region", params)
        errors.add(unknown & has_hint, column.name, raw, "unknown_region", params)
        errors.add(
            unknown & ~has_hint & ~ambiguous, column.name, raw, "unknown_region_no_hint", params
        )
    return codes


def _number(frame: pl.DataFrame, column: Column, errors: ErrorCollector, decimal_comma: bool):
    raw = _col(frame, column.name)
    if column.parser is Parser.INTEGER:
        parsed, bad = v.parse_integer(raw, decimal_comma)
        errors.add(bad, column.name, raw, "bad_integer")
    else:
        parsed, bad = v.parse_number(raw, decimal_comma)
        errors.add(bad, column.name, raw, "bad_number")
    low, high = column.low, column.high
    if column.positive:
        errors.add(parsed <= 0, column.name, raw, "not_positive")
    elif low is not None and high is not None:
        out = (parsed < low) | (parsed > high)
        errors.add(out, column.name, raw, "out_of_range", {"low": low, "high": high})
        parsed = pl.select(pl.when(~out).then(parsed)).to_series()  # never overflow the type
    elif low == 0:
        errors.add(parsed < 0, column.name, raw, "negative")
    return parsed


def _allowed(column: Column) -> str:
    return ", ".join(sorted(set(column.choices.values())))


def _given(column: Column, given: str | None, errors: ErrorCollector) -> str | None:
    """The source or wave chosen for the whole file, canonical; a file error when invalid."""
    if given is None or not str(given).strip():
        return None
    parsed, bad = _parse_text(column, pl.Series(column.name, [str(given)]))
    if bad.item():
        if column.parser is Parser.WAVE:
            errors.file("bad_wave", column=column.name, value=str(given))
        else:
            errors.file(
                "bad_choice", column=column.name, value=str(given), allowed=_allowed(column)
            )
        return None
    return parsed.item()


def _parse_text(column: Column, raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    if column.parser in WAVE_PATTERNS:
        return v.parse_pattern(raw, WAVE_PATTERNS[column.parser])
    return v.parse_choice(raw, column.choices)


def _choice(frame: pl.DataFrame, column: Column, errors: ErrorCollector, given: str | None):
    """A vocabulary or label column; a file-wide value fills blanks, and a cell that differs
    from it is an error (neither silently wins)."""
    raw = _col(frame, column.name)
    parsed, bad = _parse_text(column, raw)
    if column.parser is Parser.WAVE:
        errors.add(bad, column.name, raw, "bad_wave")
    elif column.parser is Parser.PERIOD:
        errors.add(bad, column.name, raw, "bad_period")
    else:
        errors.add(bad, column.name, raw, "bad_choice", {"allowed": _allowed(column)})
    if given:
        conflict = parsed.is_not_null() & (parsed != given)
        errors.add(conflict, column.name, raw, "conflict", {"given": given})
        parsed = parsed.fill_null(given)
    return parsed


def _parse_column(frame, column: Column, table: RawTable, errors, given) -> pl.Series:
    """One contract column, typed, by its parser; problems go to ``errors``."""
    raw = _col(frame, column.name)
    if column.required and not given:
        errors.add(raw.is_null(), column.name, raw, "missing_value")
    match column.parser:
        case Parser.TEXT:
            parsed = raw.str.to_lowercase() if column.lower else raw
        case Parser.CHOICE | Parser.WAVE | Parser.PERIOD:
            parsed = _choice(frame, column, errors, given)
        case Parser.REGION:
            parsed = _region(frame, errors, column)
        case Parser.DATE:
            parsed, bad = v.parse_date(raw)
            errors.add(bad, column.name, raw, "bad_date")
        case Parser.INTEGER | Parser.NUMBER:
            parsed = _number(frame, column, errors, table.decimal_comma)
        case Parser.SCORE:
            parsed, bad, out_of_range = v.parse_score(raw)
            errors.add(bad, column.name, raw, "bad_score")
            errors.add(out_of_range, column.name, raw, "out_of_range", {"low": 0, "high": 10})
        case Parser.YES_NO:
            parsed, bad = v.parse_yes_no(raw)
            errors.add(bad, column.name, raw, "bad_yes_no")
    if column.default is not None:
        parsed = parsed.fill_null(column.default)
    return parsed.cast(column.dtype, strict=False).rename(column.name)


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


# region-reform: a pre-2022 row cannot name Abai, Jetisu or Ulytau (queries/reference/reform)
def _reform_rule(out: dict[str, pl.Series], frame, errors: ErrorCollector, ends) -> None:
    bad, params = before_reform_errors(out["region"], ends)
    errors.add(bad, "region", _col(frame, "region"), "region_before_reform", params)


def _period_bounds(labels: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Each label's first and last day, computed once per distinct label (a million rows name
    a few waves: per row, these two date calculations were half the validation's time)."""
    start, end = v.by_distinct(labels, lambda d: (v.wave_start(d), period_end(d)))
    return start.rename("period_start"), end.rename("period_end")


def _survey_rules(out: dict[str, pl.Series], frame: pl.DataFrame, errors: ErrorCollector) -> None:
    out["period_start"], ends = _period_bounds(out["wave"])
    _reform_rule(out, frame, errors, ends)  # region-reform
    orphan = out["received_response"].is_not_null() & ~out["submitted_proposal"].fill_null(False)
    raw = _col(frame, "received_response")
    errors.add(orphan, "received_response", raw, "received_without_proposal")


def _ngo_rules(out: dict[str, pl.Series], frame: pl.DataFrame, errors: ErrorCollector) -> None:
    _reform_rule(out, frame, errors, _period_bounds(out["period"])[1])  # region-reform
    over = out["active_ngos"] > out["registered_ngos"]
    params = _params(registered=out["registered_ngos"])
    errors.add(over, "active_ngos", _col(frame, "active_ngos"), "active_over_registered", params)


def _proposal_rules(out: dict[str, pl.Series], frame: pl.DataFrame, errors: ErrorCollector) -> None:
    _reform_rule(out, frame, errors, out["submitted_on"])  # region-reform
    status = out["status"]
    errors.add(
        status.is_in(ANSWERED_STATUSES)
        & out["answered_on"].is_null()
        & _col(frame, "answered_on").is_null(),
        "answered_on",
        _col(frame, "answered_on"),
        "answered_on_required",
        _params(status=status),
    )
    errors.add(
        (status == ProposalStatus.IMPLEMENTED) & _col(frame, "implemented_on").is_null(),
        "implemented_on",
        _col(frame, "implemented_on"),
        "implemented_on_required",
    )
    for later, earlier in (("answered_on", "submitted_on"), ("implemented_on", "answered_on")):
        before = out[later] < out[earlier]
        params = _params(other=earlier, other_value=out[earlier].cast(pl.String))
        errors.add(before, later, out[later].cast(pl.String), "date_before", params)


# Rules across columns, per kind (the single-column rules come from the contract; population
# rows have none).
RULES = {
    UploadKind.SURVEY: _survey_rules,
    UploadKind.NGO: _ngo_rules,
    UploadKind.PROPOSALS: _proposal_rules,
}


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
    spec = contract(kind)  # a ValueError naming the kinds for an unknown one
    errors = ErrorCollector(table.frame.get_column(ROW))
    frame, unknown = _rename(kind, table, header_map, errors)
    chosen = {"source": source, "wave": wave}
    given = {c.name: _given(c, chosen.get(c.name), errors) for c in spec.columns if c.file_wide}
    _required(frame, spec, given, errors)
    if frame.height == 0:
        errors.file("no_rows")
    if errors.file_level:
        # Nothing is checked row by row; the clean frame is empty but has its usual columns.
        empty = frame.clear()
        parsed = _parse(kind, empty, table, ErrorCollector(empty[ROW]), given)
        report, count = errors.table()
        return Validation(kind, parsed, report, frame.height, count, unknown)
    parsed = _parse(kind, frame, table, errors, given)
    clean = parsed.filter(~pl.col(ROW).is_in(errors.bad_rows().implode()))
    report, count = errors.table()
    return Validation(kind, clean, report, frame.height, count, unknown)


def _parse(kind, frame, table, errors, given: dict[str, str | None]) -> pl.DataFrame:
    """The typed columns of ``kind`` in the contract's clean order (trust items last)."""
    spec = contract(kind)
    out: dict[str, pl.Series] = {ROW: frame.get_column(ROW)}
    items = tuple(c for c in frame.columns if c.startswith(TRUST_PREFIX))
    long_done = False
    for column in spec.columns:
        if column.storage is not Storage.LONG:
            out[column.name] = _parse_column(frame, column, table, errors, given.get(column.name))
        elif not long_done:  # the file's items (any trust_<word>) where the contract lists them
            long_done = True
            for item in items:
                out[item] = _parse_column(frame, replace(column, name=item), table, errors, None)
    if spec.kind in RULES:
        RULES[spec.kind](out, frame, errors)
    clean = pl.DataFrame(out).select(list(spec.clean_schema(items)))
    key = list(spec.key)
    shown = next(c for c in key if c not in given)  # the key column a person recognises
    _duplicates(clean, key, shown, errors)
    return clean
