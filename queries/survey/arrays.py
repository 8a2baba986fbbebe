"""The estimators' arithmetic on numpy arrays (issue 11): ``design.combine_sums``, ``finish``
and the Regions page's contrasts run on frames of a few dozen to a few thousand per-stratum
rows, where every polars operation costs a fixed ~0.1-1 ms; the same formulas on arrays cost
microseconds. Null is NaN here (an estimate, SE or bound that polars would leave null).

The formulas are ``design``'s, written in the same order of operations: the ratio estimate
of a group and its linearised variable z = w(y − r)/Σw per stratum (Σz, Σz²), each stratum's
variance contribution (fpc, R's lonely-PSU "adjust"), the interval (normal, t with the design
df, R's logit interval for shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl
from scipy import special

__all__ = [
    "Groups",
    "Interval",
    "difference_parts",
    "grouped",
    "groups_of",
    "interval",
    "normal_quantile",
    "ratio_parts",
    "sorted_frame",
    "stratum_variance",
    "t_critical",
    "two_sided_p",
]

_SMALL = 4096  # rows up to which Python's dict factorises faster than a polars pass


@dataclass(frozen=True)
class Groups:
    """Rows factorised by key columns: each row's group (−1: a null key, left out), the first
    row of every group and its key (groups in order of first appearance)."""

    code: np.ndarray
    first: np.ndarray
    keys: list[tuple]

    @property
    def size(self) -> int:
        return len(self.first)


def grouped(rows: Iterable[tuple], *, nullable: int = 0) -> Groups:
    """``rows`` (key tuples) factorised; a row with a null among its first ``nullable``
    values belongs to no group."""
    rows = rows if isinstance(rows, list) else list(rows)
    if nullable:
        left_out = np.array([None in row[:nullable] for row in rows], dtype=bool)
        if left_out.any():
            kept = np.flatnonzero(~left_out)
            inner = grouped([rows[i] for i in kept])
            code = np.full(len(rows), -1, dtype=np.int64)
            code[kept] = inner.code
            return Groups(code, kept[inner.first], inner.keys)
    # dict.fromkeys and the lookups run in C: a per-row Python loop was ~1 us a row, the
    # largest single cost of an Overview miss (issue 11)
    index = {key: i for i, key in enumerate(dict.fromkeys(rows))}
    code = np.fromiter(map(index.__getitem__, rows), dtype=np.int64, count=len(rows))
    # codes are numbered in order of first appearance: the first row of each is its first index
    first = np.unique(code, return_index=True)[1] if len(rows) else np.empty(0, np.int64)
    return Groups(code, first.astype(np.int64), list(index))


def groups_of(frame: pl.DataFrame, columns: Sequence[str], *, nullable: int = 0) -> Groups:
    """``frame``'s rows grouped on ``columns``; a row whose first ``nullable`` columns hold a
    null belongs to no group (code −1), as polars' ``filter(is_not_null)`` before grouping."""
    if frame.height <= _SMALL:
        values = (frame.get_column(c).to_list() for c in columns)
        return grouped(list(zip(*values, strict=True)), nullable=nullable)
    return _ranked(frame, columns, nullable=nullable)


def _ranked(frame: pl.DataFrame, columns: Sequence[str], *, nullable: int) -> Groups:
    """``groups_of`` through one polars pass (large frames)."""
    valid = pl.all_horizontal(pl.col(columns[:nullable]).is_not_null()) if nullable else True
    ranked = frame.select(pl.when(valid).then(pl.struct(columns).rank("dense")).alias("_g"))
    dense = ranked.get_column("_g").fill_null(0).cast(pl.Int64).to_numpy() - 1  # −1: a null key
    present, first = np.unique(dense, return_index=True)
    keep = present >= 0
    index = np.full(int(present.max()) + 2 if len(present) else 1, -1, dtype=np.int64)
    index[present[keep]] = np.arange(int(keep.sum()))
    rows = frame.select(columns)[first[keep]].rows()
    return Groups(index[dense], first[keep], rows)


_PLAIN = (pl.String, pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt64, pl.UInt32, pl.Date)


def sorted_frame(
    keys: Sequence[tuple], schema: Mapping[str, pl.DataType], columns: Sequence[pl.Series]
) -> pl.DataFrame:
    """The key columns (``schema``: their names and types; ``keys``: a tuple per row, no
    null) then ``columns``, sorted on the keys as polars' ``sort`` orders them: plain key
    types (text, integers, dates, which Python orders alike) in Python, no polars pass."""
    made = [pl.Series(n, [k[j] for k in keys], d) for j, (n, d) in enumerate(schema.items())]
    frame = pl.DataFrame([*made, *columns])
    if any(d not in _PLAIN for d in schema.values()):
        return frame.sort(list(schema))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return frame if order == list(range(len(keys))) else frame[order]


def ratio_parts(
    sums: Mapping[str, np.ndarray], group: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group, the ratio estimate Σwy/Σw (NaN when Σw is not positive) and, per stratum
    row of ``sums`` (its group ``group``), Σz and Σz² of z = w(y − r)/Σw."""
    total_w = np.bincount(group, sums["sw"], groups)
    total_wy = np.bincount(group, sums["swy"], groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total_wy / total_w
        r, tw = ratio[group], total_w[group]
        s1 = (sums["swy"] - r * sums["sw"]) / tw
        s2 = (sums["sw2y2"] - 2 * r * sums["sw2y"] + r * r * sums["sw2"]) / tw**2
    return np.where(total_w > 0, ratio, np.nan), s1, s2


def stratum_variance(
    s1: np.ndarray, s2: np.ndarray, n_h: np.ndarray, big_n: np.ndarray
) -> np.ndarray:
    """Each stratum's variance contribution from Σz and Σz² (zero-padded to n_h PSUs);
    ``big_n``: the stratum's population (fpc), NaN for none."""
    n_h = n_h.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        fpc = np.where(np.isnan(big_n), 1.0, 1.0 - n_h / big_n)
        lonely = fpc * s1 * s1  # survey.lonely.psu = "adjust"
        return np.where(n_h > 1, fpc * n_h / (n_h - 1) * (s2 - s1 * s1 / n_h), lonely)


def normal_quantile(level: float) -> float:
    """The two-sided normal quantile (``design.z_value`` checks the level first)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def t_critical(level: float, df: np.ndarray) -> np.ndarray:
    """R's ``qt(0.5 + level/2, df)`` per row, NaN when df < 1: scipy's own function behind
    ``scipy.stats.t.ppf`` (the same numbers without its per-call argument handling), each
    (level, df) solved once per process (the df are counts: a few thousand values)."""
    dof = np.asarray(df, dtype=np.float64)
    known = [_T_KNOWN.get((level, d)) for d in dof.tolist()]
    if None in known:
        with np.errstate(invalid="ignore"):
            made = special.stdtrit(np.where(dof >= 1, dof, np.nan), 0.5 + level / 2)
        if len(_T_KNOWN) > _T_MOST:
            _T_KNOWN.clear()
        _T_KNOWN.update(zip(((level, d) for d in dof.tolist()), made.tolist(), strict=True))
        return made
    return np.array(known, dtype=np.float64)


_T_KNOWN: dict[tuple[float, float], float] = {}
_T_MOST = 100_000


def two_sided_p(stat: np.ndarray, df: np.ndarray | None = None) -> np.ndarray:
    """2·(1 − Φ(|z|)), or Student's t tail with ``df`` (NaN when df < 1): scipy's functions
    behind ``norm.sf`` / ``t.sf``."""
    stat = np.abs(np.asarray(stat, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        if df is None:
            return 2 * special.ndtr(-stat)
        dof = np.asarray(df, dtype=np.float64)
        return 2 * special.stdtr(np.where(dof >= 1, dof, np.nan), -stat)


@dataclass(frozen=True)
class Interval:
    """``design.finish``'s columns as arrays (NaN: null)."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    suppressed: np.ndarray


def interval(
    est: np.ndarray,
    var: np.ndarray,
    n: np.ndarray,
    *,
    level: float,
    ci: str,
    share: np.ndarray,
    df: np.ndarray | None,
    min_n: int,
) -> Interval:
    """SE and interval of estimates ``est`` with variances ``var``; small cells (n < min_n)
    and missing estimates hidden. ``share``: per row, a proportion (interval within [0, 1],
    the logit one when ``ci == "logit"``); ``df``: the design df (for ``ci`` t or logit)."""
    small = n < min_n
    se = np.sqrt(np.clip(var, 0.0, None))
    crit = np.full(len(est), normal_quantile(level)) if ci == "normal" else t_critical(level, df)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        low, high = est - crit * se, est + crit * se
        low = np.where(share, np.clip(low, 0.0, 1.0), low)
        high = np.where(share, np.clip(high, 0.0, 1.0), high)
        if ci == "logit":
            # R: svyciprop(method = "logit") = expit(logit(p) ± t·SE/(p(1-p))); p = 0 or 1
            # has SE 0 and the interval shrinks to the point
            p = est
            inner = (p > 0) & (p < 1)
            eta, half = np.log(p / (1 - p)), crit * se / (p * (1 - p))
            expit = [1 / (1 + np.exp(-(eta + sign * half))) for sign in (-1, 1)]
            logit = share & ~np.isnan(p)
            low = np.where(logit, np.where(inner, expit[0], p), low)
            high = np.where(logit, np.where(inner, expit[1], p), high)
    hide = small | np.isnan(est)
    return Interval(*(np.where(hide, np.nan, x) for x in (est, se, low, high)), suppressed=small)


@dataclass(frozen=True)
class Difference:
    """Per key group: the two sides' estimates (NaN: none), respondents, and the variance and
    design df of estimate_b − estimate_a (``design.difference_from_sums``)."""

    estimate_a: np.ndarray
    estimate_b: np.ndarray
    n_a: np.ndarray
    n_b: np.ndarray
    var: np.ndarray
    df: np.ndarray


def difference_parts(
    sums: Mapping[str, np.ndarray],
    key: np.ndarray,
    keys: int,
    side: np.ndarray,
    stratum: np.ndarray,
    n_h: np.ndarray,
    big_n: np.ndarray,
) -> Difference:
    """The linearised contrast b − a per key group from per-stratum rows: each row's group
    ``key`` (0 .. ``keys`` − 1), ``side`` (True: b), ``stratum`` (a code), its sums (``sw``,
    ``swy``, ``sw2``, ``sw2y``, ``sw2y2``, ``n``) and its stratum's n_h and population. Per
    stratum z = z_b − z_a from both sides' sums (disjoint domains: no cross term in Σz²)."""
    strata = int(stratum.max()) + 1 if len(stratum) else 1
    code = (key * 2 + side) * strata + stratum
    cells, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    per = {c: np.bincount(inverse, x, len(cells)) for c, x in sums.items()}
    halves = cells // strata  # key * 2 + side
    ratio, s1, s2 = ratio_parts(per, halves, 2 * keys)
    signed = np.where(halves % 2 == 1, s1, -s1)
    pairs, at, joined = np.unique(cells // (2 * strata) * strata + cells % strata,
                                  return_index=True, return_inverse=True)  # fmt: skip
    z1, z2, n = (np.bincount(joined, x, len(pairs)) for x in (signed, s2, per["n"]))
    rows = first[at]
    contribution = stratum_variance(z1, z2, n_h[rows], big_n[rows])
    of_key = pairs // strata
    counts = np.bincount(halves, per["n"], 2 * keys)
    return Difference(
        estimate_a=ratio[0::2],
        estimate_b=ratio[1::2],
        n_a=counts[0::2],
        n_b=counts[1::2],
        var=np.bincount(of_key, contribution, keys),
        df=np.bincount(of_key, n, keys) - np.bincount(of_key, n > 0, keys),
    )
