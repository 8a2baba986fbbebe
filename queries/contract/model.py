"""The shape of the data contract: a ``Column`` (name, parser, storage type, key, synonyms, the
vocabulary it is read with) and a ``Contract`` (an upload kind's columns and table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl
from sqlalchemy import Boolean, Date, Float, Integer, SmallInteger, String, Text
from sqlalchemy.types import TypeEngine

from queries.contract.labels import LABELS
from queries.vocab import UploadKind

ROW = "_row"  # the 1-based data row of the file, carried through validation


class Parser(StrEnum):
    """How a column's text is read (queries/ingest/validate.py has one routine per parser)."""

    TEXT = "text"
    CHOICE = "choice"  # one of a vocabulary (``Column.choices``)
    WAVE = "wave"  # 2025-Q3 or 2025-10
    PERIOD = "period"  # 2025 or 2025-Q3
    DATE = "date"
    REGION = "region"  # a region's name in any language, or its code
    INTEGER = "integer"  # within ``Column.low``..``Column.high`` when given
    NUMBER = "number"  # > 0 when ``Column.positive``; >= ``Column.low`` when given
    SCORE = "score"  # 0-10, survey missing-answer codes blank
    YES_NO = "yes_no"


class Storage(StrEnum):
    """Where a column's values are kept in the database."""

    ROW = "row"  # a column of the kind's own table
    WAVE = "wave"  # the survey_waves table (a response refers to its wave)
    # a trust item: the contract's institutions are columns of responses (migration 0010),
    # any other trust_<word> of a file goes to the long trust_scores table
    LONG = "long"


_DTYPES: dict[type[TypeEngine], pl.DataType] = {
    Text: pl.String(),
    String: pl.String(),
    Date: pl.Date(),
    Boolean: pl.Boolean(),
    SmallInteger: pl.Int16(),
    Integer: pl.Int64(),
    Float: pl.Float64(),
}


@dataclass(frozen=True)
class Column:
    """One contract column; ``name`` is the same in the file, the clean frame and the database."""

    name: str
    parser: Parser
    sql: TypeEngine
    description: str
    example: str = ""
    synonyms: tuple[str, ...] = ()
    required: bool = False
    key: bool = False
    storage: Storage = Storage.ROW
    choices: Mapping[str, str] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    positive: bool = False
    default: object = None  # the value of a blank cell (survey weight: 1)
    lower: bool = False  # stored lower-cased (proposal topics)
    file_wide: bool = False  # may be given once for the whole file on the upload form

    @property
    def dtype(self) -> pl.DataType:
        """The polars type of the column in the clean frame (follows the storage type)."""
        if self.parser is Parser.SCORE:
            return pl.Int8()  # 0-10
        return next(d for t, d in _DTYPES.items() if isinstance(self.sql, t))

    @property
    def label_key(self) -> str:
        """The translation key of the column's name (the dashboard's catalogue reads LABELS)."""
        return f"contract.{label_name(self.name)}"


@dataclass(frozen=True)
class Contract:
    """The columns of one upload kind and the table its rows are stored in."""

    kind: UploadKind
    table: str
    columns: tuple[Column, ...]

    @property
    def key(self) -> tuple[str, ...]:
        """The natural key: a row with the same key is the same row."""
        return tuple(c.name for c in self.columns if c.key)

    @property
    def stored(self) -> tuple[str, ...]:
        """Columns of the kind's own table, in contract order."""
        return tuple(c.name for c in self.columns if c.storage is Storage.ROW)

    @property
    def values(self) -> tuple[str, ...]:
        """Stored columns outside the key (what a re-upload of the same key may change)."""
        return tuple(n for n in self.stored if n not in self.key)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def clean_schema(self, trust_items: tuple[str, ...] = ()) -> dict[str, pl.DataType]:
        """Columns and types of validate()'s clean frame: the row number, the contract columns
        (survey: the wave's start date after the wave) and any trust items last."""
        schema: dict[str, pl.DataType] = {ROW: pl.Int64()}
        item_type = None
        for c in self.columns:
            if c.storage is Storage.LONG:
                item_type = c.dtype  # every item is typed as the contract's own items
                continue
            schema[c.name] = c.dtype
            if c.parser is Parser.WAVE:
                schema["period_start"] = pl.Date()
        return schema | {item: item_type for item in trust_items}


def label_name(column: str) -> str:
    """The LABELS entry of a column: its own, or for a trust item outside the contract
    (any ``trust_<word>`` a file brings) the generic one."""
    if column in LABELS or not column.startswith("trust_"):
        return column
    return "trust_item"
