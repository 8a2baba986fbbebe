"""The column tables of docs/data-contract.md, written from the contract so that the document
cannot drift from what validation does (``python -m queries contract-docs`` rewrites them; a test
checks they are current)."""

from __future__ import annotations

import re

from queries.contract.columns import CONTRACTS, TRUST_PREFIX
from queries.contract.model import Column, Parser, Storage
from queries.vocab import UploadKind

_BLOCK = re.compile(r"(<!-- contract:(\w+) -->\n).*?(<!-- /contract:\2 -->)", re.S)


def _values(column: Column) -> str:
    match column.parser:
        case Parser.CHOICE:
            shown = ", ".join(f"`{v}`" for v in dict.fromkeys(column.choices.values()))
            text = f"one of {shown} (or the names staff write for them)"
        case Parser.WAVE:
            text = "`2025-Q3`, `2025-10` or `2025`"
        case Parser.PERIOD:
            text = "`2025` or `2025-Q3`"
        case Parser.DATE:
            text = "date: `2025-08-14`, `14.08.2025` or `14/08/2025`"
        case Parser.REGION:
            text = "region name (kk/ru/en, see Regions) or code"
        case Parser.INTEGER if column.high is not None:
            text = f"integer {column.low:g}–{column.high:g}"
        case Parser.INTEGER:
            text = "integer ≥ 0"
        case Parser.NUMBER if column.positive:
            text = "number > 0"
        case Parser.NUMBER:
            text = "number ≥ 0"
        case Parser.SCORE:
            text = "integer 0–10; missing-answer codes (DK, 99, не знаю…) count as blank"
        case Parser.YES_NO:
            text = "yes/no (да/нет, иә/жоқ, 1/0)"
        case _:
            text = "text"
    if column.default is not None:
        text += f"; blank = {column.default:g}"
    if column.file_wide:
        text += "; may be chosen once for the whole file on the upload form"
    return text


def column_table(kind: str) -> str:
    """The Markdown table of one upload kind's columns."""
    spec = CONTRACTS[UploadKind(kind)]
    lines = ["| column | required | key | values | meaning |", "|---|---|---|---|---|"]
    for c in spec.columns:
        required = "yes" if c.required else "no"
        key = "yes" if c.key else ""
        lines.append(f"| {c.name} | {required} | {key} | {_values(c)} | {c.description} |")
    if any(c.storage is Storage.LONG for c in spec.columns):
        lines.append(
            f"| {TRUST_PREFIX}* (any other institution) | no |  | integer 0–10 | "
            "trust in that institution (a new institution needs no schema change) |"
        )
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """``text`` with every ``<!-- contract:KIND -->`` block replaced by the current table."""
    return _BLOCK.sub(lambda m: m.group(1) + column_table(m.group(2)) + m.group(3), text)
