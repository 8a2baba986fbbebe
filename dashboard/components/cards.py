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
        return f"{'+' if change >= 0 else '-'}{fmt_number(abs(change) * 100, 1)} {t('cards.pp')}"
    # An ASCII minus: Streamlit reads the arrow's direction from a leading "-".
    return f"{'+' if change >= 0 else '-'}{fmt_number(abs(change), 2)}"


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
                help=_help(card),
                border=True,
            )
