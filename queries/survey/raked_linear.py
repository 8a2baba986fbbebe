"""The rake-aware linearised variable from per-cell sums (``calibrated_sums``' core, apart so
both the raw-row path and the summary store's kept layouts call the same code).

Per domain d, e_i = 1_d (y_i − r_d)/W_d on every respondent, R's ten backfitting sweeps of the
UNWEIGHTED category means of e over the margins give per-category shifts a_m, and
z_i = w_i·g·(e_i − s_c) with s_c = Σ_m a_m[category of the cell] (R's ``svyrecvar`` after
``rake()``). Per cell that needs the domain's n, Σy, Σw, Σwy, Σw², Σw²y, Σw²y² and every
respondent's count, Σw, Σw²; per stratum the result is Σz, Σz² and the raked sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

__all__ = ["RakingCells", "linearise"]

_SWEEPS = 10  # as R's svyrecvar and queries.survey.calibration


@dataclass(frozen=True)
class RakingCells:
    """The cells of one or more units (sorted by unit) and what linearising them needs.

    ``unit``, ``stratum``: per cell, its unit (0, 1, ...) and stratum (0 .. ``strata`` − 1);
    ``count``, ``sw``, ``sw2``: every respondent's n, Σw, Σw² per cell (``CELL_TOTALS``);
    ``g``: the raking factor per cell (1 where a unit keeps its delivered weights);
    ``groups``: per set of raked units with the same margin columns (in one order), the
    positions of their cells and per margin each cell's category code, unique across the
    units (R's sweeps run on each unit's own categories, so the units stay independent).
    What no domain changes (the one-hot sums, the sweeps' matrices) is made on first use and
    kept with the cells (issue 11: a kept layout linearises every filter change)."""

    unit: np.ndarray
    stratum: np.ndarray
    strata: int
    count: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    g: np.ndarray
    groups: tuple[tuple[np.ndarray, tuple[np.ndarray, ...]], ...] = ()

    @cached_property
    def by_unit(self) -> _Groups:
        """Which cells each unit sums."""
        return _Groups(self.unit, int(self.unit.max()) + 1 if len(self.unit) else 0)

    @cached_property
    def by_stratum(self) -> _Groups:
        """Which cells each stratum sums."""
        return _Groups(self.stratum, self.strata)

    @cached_property
    def sweeps(self) -> tuple[_Sweeps, ...]:
        """Per group of ``groups``, the matrices of its sweeps (``_Sweeps``)."""
        return tuple(_sweeps(at, self.count[at], codes) for at, codes in self.groups)

    @cached_property
    def g_sw(self) -> np.ndarray:
        """g·Σw per cell (every respondent's), as the shift's term of Σz takes it."""
        return (self.g * self.sw)[None, :, None]

    @cached_property
    def g2_sw2(self) -> np.ndarray:
        """g²·Σw² per cell (every respondent's), as the shift's term of Σz² takes it."""
        return (self.g**2 * self.sw2)[None, :, None]


class _Groups:
    """Cells grouped by an index (unit or stratum): summed as runs when each group's cells
    follow each other (the layouts are sorted so; ``np.add.reduceat`` along the cells, no
    copy of the arrays), else by a one-hot product."""

    def __init__(self, index: np.ndarray, size: int) -> None:
        self.size = size
        starts = np.flatnonzero(np.diff(index, prepend=-1))
        runs = len(index) > 0 and np.array_equal(index[starts], np.arange(size))
        self.starts = starts if runs and np.all(np.diff(index) >= 0) else None
        self.hot = None if self.starts is not None else _hot(index, size)

    def sum(self, *values: np.ndarray) -> list[np.ndarray]:
        """Arrays variables × cells × domains summed over cells per group (variables ×
        groups × domains)."""
        if self.starts is not None:
            return [np.add.reduceat(x, self.starts, axis=1) for x in values]
        v, c, d = values[0].shape
        flat = np.concatenate([x.transpose(1, 0, 2).reshape(c, -1) for x in values], axis=1)
        out = (self.hot @ flat).reshape(self.size, len(values), v, d)
        return [out[:, i].transpose(1, 0, 2) for i in range(len(values))]


def _hot(index: np.ndarray, size: int) -> sparse.csr_array:
    """size × cells: which cells each group (unit, stratum) sums."""
    return sparse.csr_array((np.ones(len(index)), (index, np.arange(len(index)))),
                            shape=(size, len(index)))  # fmt: skip


def linearise(a: Mapping[str, np.ndarray], cells: RakingCells) -> dict[str, np.ndarray]:
    """Per (variable, domain, stratum): the raked sums and Σz, Σz² of the rake-aware
    linearised variable, for every variable, domain and unit at once (variables × domains ×
    strata). ``a``: per column of ``("n", "sy", *SUM_COLUMNS)``, the domains' rows with a
    value summed per (variable, cell, domain); a domain is local to its unit."""
    g = cells.g[None, :, None]
    g2 = g * g
    sw, swy = g * a["sw"], g * a["swy"]  # the raked sums of each cell
    sw2, sw2y, sw2y2 = g2 * a["sw2"], g2 * a["sw2y"], g2 * a["sw2y2"]
    total, wy = cells.by_unit.sum(sw, swy)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.nan_to_num(wy / total)[:, cells.unit]  # variables × units × domains, per cell
        inv = np.where(total > 0, 1 / total, 0.0)[:, cells.unit]
    # z = w·g·(e − s) per respondent, e = (y − r)/W in the domain: per cell Σz and Σz²
    z1 = (swy - r * sw) * inv
    z2 = (sw2y2 - 2 * r * sw2y + r * r * sw2) * inv**2
    if cells.groups:
        s = _shift(a, r, inv, cells)
        z1 -= s * cells.g_sw
        z2 += s * (s * cells.g2_sw2 - 2 * inv * (sw2y - r * sw2))
    per_cell = {"sz": z1, "sz2": z2, "n": a["n"], "sw": sw, "swy": swy, "sw2": sw2,
                "sw2y": sw2y, "sw2y2": sw2y2}  # fmt: skip
    summed = cells.by_stratum.sum(*per_cell.values())
    return {name: x.transpose(0, 2, 1) for name, x in zip(per_cell, summed, strict=True)}


@dataclass(frozen=True)
class _Sweeps:
    """One group's sweeps: per margin, the cells' categories one-hot (cells × categories),
    the respondents per category and the cross shares of each pair of margins."""

    at: np.ndarray
    codes: tuple[np.ndarray, ...]
    hots_t: tuple[sparse.csr_array, ...]
    sizes: tuple[np.ndarray, ...]
    cross: tuple[tuple[sparse.csr_array | None, ...], ...]


def _sweeps(at: np.ndarray, count: np.ndarray, codes: Sequence[np.ndarray]) -> _Sweeps:
    """``_Sweeps`` of the cells ``at`` (``count``: their respondents, ``codes``: per margin
    each cell's category; one-hot as sparse matrices, so the categories of many units are
    swept at once: a unit's categories touch only its own cells)."""
    rows = np.arange(len(count))
    hots = [
        sparse.csr_array((np.ones(len(c)), (rows, c)), shape=(len(c), int(c.max()) + 1))
        for c in codes
    ]
    sizes = [hot.T @ count for hot in hots]
    weighted = sparse.diags_array(count)
    cross = tuple(
        tuple(
            None if q == m else sparse.csr_array(sparse.diags_array(1 / n) @ (hm.T @ weighted @ hq))
            for q, hq in enumerate(hots)
        )
        for m, (hm, n) in enumerate(zip(hots, sizes, strict=True))
    )
    hots_t = tuple(sparse.csr_array(hot.T) for hot in hots)
    return _Sweeps(at, tuple(codes), hots_t, tuple(sizes), cross)


def _shift(
    a: Mapping[str, np.ndarray], r: np.ndarray, inv: np.ndarray, cells: RakingCells
) -> np.ndarray:
    """s per (variable, cell, domain): R's ten sweeps e ← e − ave(e, margin) of the domain's
    e = (y − r)/W, run on per-category sums (e per cell: Σe = (Σy − r·n)/W over its rows)."""
    shape = a["n"].shape
    s = np.zeros(shape)
    for sweeps in cells.sweeps:  # the cells as rows, every (variable, domain) a column
        at = sweeps.at
        e = (a["sy"][:, at] - r[:, at] * a["n"][:, at]) * inv[:, at]
        flat = e.transpose(1, 0, 2).reshape(len(at), -1)
        shift = _residual_shift(flat, sweeps)
        s[:, at] = shift.reshape(len(at), shape[0], shape[2]).transpose(1, 0, 2)
    return s


def _residual_shift(e: np.ndarray, sweeps: _Sweeps) -> np.ndarray:
    """s (cells × columns): R's ten sweeps e ← e − ave(e, margin) run on per-category sums
    (``e``: Σe per (cell, column); the unweighted ave over each category's respondents)."""
    margins = range(len(sweeps.codes))
    base = [(h @ e) / n[:, None] for h, n in zip(sweeps.hots_t, sweeps.sizes, strict=True)]
    shift = [np.zeros_like(b) for b in base]
    for _ in range(_SWEEPS):
        for m in margins:
            others = sum(sweeps.cross[m][q] @ shift[q] for q in margins if q != m)
            shift[m] = base[m] - others
    return sum(a[c] for c, a in zip(sweeps.codes, shift, strict=True))
