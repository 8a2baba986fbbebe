"""Charts that always show their uncertainty: CI bands and error bars, suppressed estimates left
out (and said so), every label translated."""

from __future__ import annotations

import itertools
import textwrap
from functools import lru_cache

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.theme import (
    CHART_CONFIG,
    house_layout,
    merged,
    rgba,
    spec_figure,
)
from dashboard.i18n import fmt_number, region_name, t
from queries.reference.reform import before_reform, period_end


def show(fig: go.Figure, key: str) -> None:
    """Draw a figure with the PNG download in its toolbar."""
    st.plotly_chart(fig, key=key, config=CHART_CONFIG, width="stretch")


def trend_chart(
    trend: pl.DataFrame,
    *,
    series: str,
    label,
    colour,
    y_title: str,
    title: str,
    percent: bool = False,
    reform_break: bool = False,
) -> go.Figure:
    """Lines over waves (x in time order) with 95% CI bands; suppressed points are gaps.
    ``reform_break``: mark where the 2022 regional reform falls between two waves."""
    data = []
    scale = 100 if percent else 1
    # a chart has tens of rows: one pass out of polars, then plain Python (issue 11: a join,
    # a partition and five operations per line cost ~0.5 ms a line)
    wanted = (series, "wave", "period_start", "estimate", "ci_low", "ci_high", "n")
    rows = trend.select(*wanted).rows()
    in_time = sorted(rows, key=lambda row: row[2])
    order = sorted({(row[1], row[2]) for row in rows}, key=lambda wave: (wave[1], wave[0]))
    # Legend top to bottom as the lines stand at the latest wave with an estimate.
    rank = {row[0]: row[3] for row in in_time if row[3] is not None}
    names = list(dict.fromkeys(row[0] for row in rows))
    names.sort(key=lambda name: -(rank.get(name) or float("-inf")))
    found = {row[:3]: row for row in rows}
    x = [wave for wave, _ in order]
    for name in names:
        line = [found.get((name, *wave)) for wave in order]
        est, low, high = (_scaled(_picked(line, i), scale) for i in (3, 4, 5))
        counts = _picked(line, 6)
        c = colour(name)
        data.append(
            {
                "type": "scatter",
                "x": x + x[::-1],
                "y": high + low[::-1],
                "fill": "toself",
                "fillcolor": rgba(c, 0.15),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": name,
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": est,
                "mode": "lines+markers",
                "name": label(name),
                "line": {"color": c, "width": 2},
                "legendgroup": name,
                "customdata": list(zip(low, high, counts, strict=True)),
                "hovertemplate": (
                    f"<b>{label(name)}</b><br>%{{x}}: %{{y:.2f}}<br>"
                    f"{t('charts.ci')}: %{{customdata[0]:.2f}}–%{{customdata[1]:.2f}}"
                    f"<br>n = %{{customdata[2]}}<extra></extra>"
                ),
            }
        )
    layout = merged(
        house_layout(title=title),
        {
            "xaxis": {"title": {"text": t("charts.wave")}, "type": "category"},
            "yaxis": {"title": {"text": y_title}, "ticksuffix": "%" if percent else ""},
            # Beside the plot, not under it: rotated wave labels would run into a legend below.
            "showlegend": len(data) > 2,
            "legend": {"orientation": "v", "x": 1.01, "y": 1, "yanchor": "top",
                       "xanchor": "left"},
        },
    )  # fmt: skip
    if reform_break:  # region-reform
        layout = _mark_reform(layout, x)
    if all(row[3] is None for row in rows):  # no rows, or no estimate
        layout = empty_note(layout)
    return spec_figure(data, layout)


def _mark_reform(layout: dict, waves: list[str]) -> dict:
    """A dashed line between the last wave before the 2022 reform and the first after it."""
    before = _coded_before_reform(tuple(waves))
    if not any(before) or all(before):
        return layout
    x = before.index(False) - 0.5  # category axis: wave i sits at i
    line = {"color": "#D55E00", "dash": "dash", "width": 1.5}
    shape = {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
             "line": line}  # fmt: skip
    note = {
        "x": x,
        "y": 1,
        "xref": "x",
        "yref": "paper",
        "text": t("reform.break_label"),
        "showarrow": False,
        "yanchor": "bottom",
        "font": {"size": 11, "color": "#D55E00"},
    }
    return {**layout, "shapes": [*layout.get("shapes", ()), shape],
            "annotations": [*layout.get("annotations", ()), note]}  # fmt: skip


@lru_cache(maxsize=256)
def _coded_before_reform(waves: tuple[str, ...]) -> tuple[bool, ...]:
    # once per set of wave labels (issue 11): a polars pass per redraw was slow on a busy machine
    return tuple(before_reform(period_end(pl.Series(waves, dtype=pl.String))).to_list())


def empty_note(layout: dict) -> dict:
    """Say "too few responses" across an empty plot (rather than draw bare axes)."""
    note = {
        "text": t("common.too_few"),
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 15, "color": "#666"},
    }
    layout = merged(layout, {"xaxis": {"visible": False}, "yaxis": {"visible": False},
                             "showlegend": False})  # fmt: skip
    return {**layout, "annotations": [*layout.get("annotations", ()), note]}


def _ci_dots(
    est: list,
    names: list,
    low: list,
    high: list,
    *,
    colours,
    bar_colour: str,
    customdata: list,
    hovertemplate: str,
) -> dict:
    """A scatter trace of horizontal dots at ``est``, one per name, with asymmetric error bars
    to ``low`` and ``high`` (a plain spec, as ``spec_figure`` takes it)."""
    return {
        "type": "scatter",
        "x": est,
        "y": names,
        "mode": "markers",
        "marker": {"color": colours, "size": 10},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [_minus(h, e) for e, h in zip(est, high, strict=True)],
            "arrayminus": [_minus(e, lo) for e, lo in zip(est, low, strict=True)],
            "color": bar_colour,
        },
        "customdata": customdata,
        "hovertemplate": hovertemplate,
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _picked(rows: list, i: int) -> list:
    """Field ``i`` of each row, None where the row is missing (a wave without it: a gap)."""
    return [None if r is None else r[i] for r in rows]


def _scaled(values: list, scale: int) -> list:
    return [None if v is None else v * scale for v in values]


def bar_ci(
    frame: pl.DataFrame,
    *,
    category: str,
    label,
    title: str,
    x_title: str,
    percent: bool = False,
    colour: str = "#0072B2",
    height: int | None = None,
    order: list | None = None,
    colours: dict[str, str] | None = None,
) -> go.Figure:
    """Horizontal dots with 95% CI error bars, one per category, suppressed ones marked.
    Largest on top, or in ``order`` (top first) for ordered categories such as age groups.
    ``colours``: a colour per value of the frame's ``group`` column (e.g. above / same / below
    the country), instead of one ``colour`` for all."""
    scale = 100 if percent else 1
    # a chart has tens of rows: one pass out of polars, then plain Python (issue 11: a dozen
    # polars operations cost ~2 ms a chart, five charts a Regions filter change)
    wanted = [category, "estimate", "ci_low", "ci_high", "n", "suppressed"]
    columns = frame.select(*wanted, *(["group"] if colours is not None else [])).to_dict(
        as_series=False
    )
    flags = columns["suppressed"]
    shown = [i for i, s in enumerate(flags) if s is False]
    hidden = [i for i, s in enumerate(flags) if s is True]
    if order is None:  # as polars sorts: nulls first
        estimates = columns["estimate"]
        shown.sort(key=lambda i: (estimates[i] is not None, estimates[i] or 0.0))
    else:  # plotly draws the first row at the bottom
        rank = {value: i for i, value in enumerate(order)}
        shown.sort(key=lambda i: rank.get(columns[category][i], len(rank)), reverse=True)
    kept = {name: [values[i] for i in shown] for name, values in columns.items()}
    names = [label(v) for v in kept[category]]
    est = _scaled(kept["estimate"], scale)
    dots = colour
    if colours is not None:
        dots = [colours.get(g or "", colour) for g in kept["group"]]
    dot = _ci_dots(
        est, names, _scaled(kept["ci_low"], scale), _scaled(kept["ci_high"], scale),
        colours=dots, bar_colour=rgba(colour, 0.6), customdata=kept["n"],
        hovertemplate="%{y}: %{x:.2f}<br>n = %{customdata}<extra></extra>",
    )  # fmt: skip
    layout = house_layout(title=title, height=height or max(260, 28 * len(names) + 90))
    layout = merged(layout, {"xaxis": {"title": {"text": x_title},
                                       "ticksuffix": "%" if percent else ""}})  # fmt: skip
    if not shown:
        layout = empty_note(layout)
    elif hidden:  # named under the title, never over the axis
        labels = ", ".join(label(columns[category][i]) for i in hidden)
        lines = textwrap.wrap(f"{t('common.too_few')}: {labels}", 60)  # plotly never wraps
        subtitle = {"text": "<br>".join(lines), "font": {"size": 11, "color": "#666"}}
        layout = merged(
            layout,
            {
                "title": {"subtitle": subtitle},
                "margin": {"t": 72 + 16 * len(lines)},
                # the note's lines add to the figure, so the dots keep their room below it
                "height": layout["height"] + 16 * len(lines),
            },
        )
    return spec_figure([dot], layout)


def funnel_chart(funnel: pl.DataFrame, *, title: str) -> go.Figure:
    """The register funnel: received → answered → accepted → implemented."""
    stages = funnel.get_column("stage").to_list()
    trace = {
        "type": "funnel",
        "y": [t(f"feedback.stage_{s}") for s in stages],
        "x": funnel.get_column("count").to_list(),
        "texttemplate": "%{value:,}<br>%{percentInitial:.0%}",
        "marker": {"color": "#0072B2"},
        "hovertemplate": "%{y}: %{x:,}<extra></extra>",
    }
    return spec_figure([trace], house_layout(title=title, height=320))


def histogram(
    counts: pl.DataFrame, *, title: str, x_title: str, cutoff: int | None = None
) -> go.Figure:
    """A distribution of day counts from its histogram (``days``, ``n``: plotly bins and sums
    the counts), with an optional marker line (e.g. the 30-day target)."""
    days, n = counts.get_column("days").to_list(), counts.get_column("n").to_list()
    bars = {
        "type": "histogram",
        "x": days,
        "y": n,
        "histfunc": "sum",
        "nbinsx": 60,
        "marker": {"color": "#56B4E9"},
        "hovertemplate": f"{x_title}: %{{x}}<br>%{{y}}<extra></extra>",
    }
    layout = merged(
        house_layout(title=title, height=320),
        {"xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": t("charts.count")}}},
    )
    if cutoff:  # as add_vline(..., annotation_text=...) writes it
        line = {"type": "line", "x0": cutoff, "x1": cutoff, "xref": "x", "y0": 0, "y1": 1,
                "yref": "y domain", "line": {"color": "#D55E00", "dash": "dash"}}  # fmt: skip
        note = {"showarrow": False, "text": t("feedback.target_days", days=cutoff),
                "x": cutoff, "xanchor": "left", "xref": "x", "y": 1, "yanchor": "top",
                "yref": "y domain"}  # fmt: skip
        layout = {**layout, "shapes": [line], "annotations": [note]}
    tail = counted_quantile(days, n, 0.99)
    if tail is not None and tail > 0:  # a few very late answers would squash the rest
        layout = merged(layout, {"xaxis": {"range": [0, max(tail, cutoff or 0) * 1.1]}})
    return spec_figure([bars], layout)


def counted_quantile(values: list, counts: list[int], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (sorted) each repeated ``counts`` times, as polars'
    default ("nearest") gives it on the repeated values; None when nothing is counted."""
    total = sum(counts)
    if total == 0:
        return None
    position = (total - 1) * q
    index = int(position + 0.5)  # polars rounds half away from zero (positions are >= 0)
    for value, seen in zip(values, itertools.accumulate(counts), strict=True):
        if seen > index:
            return float(value)
    return None


def scatter_fit(points: pl.DataFrame, *, title: str, x_title: str, y_title: str) -> go.Figure:
    """Regions as points (with trust CI) and the weighted fitted line."""
    ordered = points.sort("x")
    x = ordered.get_column("x").to_list()
    dots = {
        "type": "scatter",
        "x": x,
        "y": ordered.get_column("y").to_list(),
        "mode": "markers",
        "marker": {"size": 10, "color": "#0072B2"},
        "error_y": {  # each region's own 95% CI (t interval, from queries)
            "type": "data",
            "symmetric": False,
            "array": (ordered.get_column("y_high") - ordered.get_column("y")).to_list(),
            "arrayminus": (ordered.get_column("y") - ordered.get_column("y_low")).to_list(),
            "color": rgba("#0072B2", 0.4),
        },
        "text": [region_name(r) for r in ordered.get_column("region").to_list()],
        "hovertemplate": "<b>%{text}</b><br>%{x:.1f}; %{y:.2f}<extra></extra>",
        "name": y_title,
    }
    fitted = {
        "type": "scatter",
        "x": x,
        "y": ordered.get_column("fitted").to_list(),
        "mode": "lines",
        "line": {"color": "#D55E00"},
        "name": t("ngo.fitted_line"),
    }
    axes = {"xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}}}
    return spec_figure([dots, fitted], merged(house_layout(title=title), axes))


def format_estimate(value: float | None, percent: bool = False, decimals: int = 1) -> str:
    """A number for a table cell or card, or the "too few" text."""
    if value is None:
        return t("common.too_few")
    return fmt_number(value * 100, decimals) + "%" if percent else fmt_number(value, decimals)


def bar_values(
    frame: pl.DataFrame, *, category: str, value: str, label, title: str, x_title: str,
    decimals: int = 1, colour: str = "#0072B2",
) -> go.Figure:  # fmt: skip
    """Horizontal bars, largest on top, one per category (complete counts: no error bars)."""
    ordered = frame.sort(value, nulls_last=False)
    bars = {
        "type": "bar",
        "x": ordered.get_column(value).to_list(),
        "y": [label(v) for v in ordered.get_column(category).to_list()],
        "orientation": "h",
        "marker": {"color": colour},
        "hovertemplate": f"%{{y}}: %{{x:,.{decimals}f}}<extra></extra>",
    }
    layout = merged(
        house_layout(title=title, height=max(260, 24 * ordered.height + 110)),
        {"xaxis": {"title": {"text": x_title}, "tickformat": ","},
         "yaxis": {"automargin": True}},
    )  # fmt: skip
    return spec_figure([bars], layout)


# --- issue 12 (inference): p-values and coefficient plots -------------------------------------
def fmt_p(p: float | None) -> str:
    """A p-value as people read it: three decimals, or "< 0.001"."""
    if p is None:
        return "—"
    return f"< {fmt_number(0.001, 3)}" if p < 0.001 else fmt_number(p, 3)


def coefficient_plot(terms: pl.DataFrame, *, label, title: str, x_title: str) -> go.Figure:
    """Regression coefficients as dots with their CI, a line at zero; the terms that are
    significant (the frame's ``significant``) in colour, the others grey. First row on top."""
    ordered = terms.reverse()  # plotly draws the first row at the bottom
    names = [label(key) for key in ordered.get_column("key").to_list()]
    colours = ["#0072B2" if s else "#999999" for s in ordered.get_column("significant")]
    est = ordered.get_column("estimate").to_list()
    low, high = ordered.get_column("ci_low").to_list(), ordered.get_column("ci_high").to_list()
    dots = _ci_dots(
        est, names, low, high, colours=colours, bar_colour="#666666",
        customdata=list(zip(low, high, strict=True)),
        hovertemplate=(f"%{{y}}: %{{x:+.2f}}<br>{t('charts.ci')}: "
                       "%{customdata[0]:.2f}…%{customdata[1]:.2f}<extra></extra>"),
    )  # fmt: skip
    zero = {"type": "line", "x0": 0, "x1": 0, "xref": "x", "y0": 0, "y1": 1,
            "yref": "y domain", "line": {"color": "#333333", "width": 1}}  # fmt: skip
    layout = merged(
        house_layout(title=title, height=max(280, 30 * len(names) + 110)),
        {"xaxis": {"title": {"text": x_title}}, "yaxis": {"automargin": True},
         "shapes": [zero]},
    )  # fmt: skip
    return spec_figure([dots], layout)
