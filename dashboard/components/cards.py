"""Headline cards: the latest value with its 95% CI, and the change since the previous wave
coloured only when it is statistically significant."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.i18n import fmt_number, t


def _value(kind: str, value: float | None) -> str:
    if value is None:
        return t("common.too_few")
    if kind in ("share", "register"):
        return f"{fmt_number(value * 100, 0)}%"
    if kind == "density":
        return fmt_number(value, 1)
    return f"{fmt_number(value, 1)} / 10"


def _change(kind: str, change: float | None) -> str | None:
    if change is None:
        return None
    if kind in ("share", "register"):
        return signed(change * 100, 1) + f" {t('cards.pp')}"
    return signed(change, 2)


def signed(value: float, decimals: int) -> str:
    """A change with its sign ("+0,42", "-2,34"; "0,00" when it rounds to nothing). An ASCII
    minus: Streamlit reads the arrow's direction from a leading "-"."""
    if round(value, decimals) == 0:
        return fmt_number(0, decimals)
    return f"{'+' if value > 0 else '-'}{fmt_number(abs(value), decimals)}"


def _help(card: dict) -> str:
    lines = [t(f"cards.{card['card']}_help")]
    if card["previous_wave"]:
        lines.append(t("cards.since", wave=card["previous_wave"]))
    if card["kind"] in ("score", "share") and not card["suppressed"]:
        scale = 100 if card["kind"] == "share" else 1
        lines.append(
            t(
                "cards.ci",
                low=fmt_number(card["ci_low"] * scale, 1),
                high=fmt_number(card["ci_high"] * scale, 1),
                n=fmt_number(card["n"]),
            )
        )
    if card["p_value"] is not None:
        lines.append(t("cards.p_value", p=fmt_number(card["p_value"], 3)))
    return "  \n".join(lines)


def metric_cards(cards: pl.DataFrame, columns: int = 3) -> None:
    """Draw the cards in rows of ``columns``."""
    rows = cards.to_dicts()
    for start in range(0, len(rows), columns):
        for col, card in zip(st.columns(columns), rows[start : start + columns], strict=False):
            value = None if card["suppressed"] else card["estimate"]
            delta = _change(card["kind"], card["change"])
            if delta and card["significant"] is not None:
                delta += " · " + (
                    t("cards.significant") if card["significant"] else t("cards.not_significant")
                )
            col.metric(
                f"{t('cards.' + card['card'])} · {card['wave']}",
                _value(card["kind"], value),
                delta=delta,
                delta_color="normal" if card["significant"] in (True, None) else "off",
                delta_arrow="off" if delta and delta[0] not in "+-" else "auto",
                delta_description=_interval(card),
                help=_help(card),
                border=True,
            )


def _interval(card: dict) -> str | None:
    """The 95% CI, short, under the value: uncertainty in plain sight, not only in a tooltip."""
    if card["kind"] not in ("score", "share") or card["suppressed"] or card["ci_low"] is None:
        return None
    scale, decimals = (100, 0) if card["kind"] == "share" else (1, 1)
    low = fmt_number(card["ci_low"] * scale, decimals)
    high = fmt_number(card["ci_high"] * scale, decimals)
    return t("cards.ci_short", low=low, high=high) + ("%" if card["kind"] == "share" else "")
