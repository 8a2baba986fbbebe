"""The ingest bench's tables (bench/bench_ingest.py): one column per design, stage by stage, each
earlier design's ratio to the last; with several loads a design, each figure's median, every
load's total and the ratios pair by pair."""

from __future__ import annotations

import statistics

STAGES = ("reading", "validating", "checking", "responses", "trust scores", "finishing")


def median_of_loads(runs: list[dict]) -> dict:
    """One design's loads as one: each number the median over the loads (a dict of numbers per
    key), and every load's total kept (``totals``) for the spread and the pairwise ratios."""
    merged: dict = {"totals": [r["total"] for r in runs]}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            merged[key] = {k: statistics.median(r[key].get(k, 0.0) for r in runs) for k in value}
        else:
            merged[key] = statistics.median(r[key] for r in runs)
    return merged


def ratio(a: float, b: float) -> str:
    """a/b, or blank when either is below the figures' resolution (a stage one design lacks)."""
    return f"{a / b:>7.1f}x" if min(a, b) >= 0.05 else f"{'':>8}"


def print_side_by_side(backend: str, results: dict[str, dict]) -> None:
    """One column per design (in the order run), and each earlier design's ratio to the last."""
    designs = list(results)
    runs = [results[d] for d in designs]
    last = designs[-1]
    print(
        f"\n{backend}: {int(runs[-1]['rows']):,} rows   "
        + "".join(f"{d:>11}" for d in designs)
        + "".join(f"  {f'{d}/{last}':>14}" for d in designs[:-1])
    )

    def line(name: str, values: list[float], unit: str = "s") -> None:
        shown = "".join(f"{v:>9.1f} {unit}" for v in values)
        print(
            f"  {name:<22}{shown}" + "".join(f"  {ratio(v, values[-1]):>14}" for v in values[:-1])
        )

    for stage in (*STAGES, "committing"):
        line(stage, [r["stages"].get(stage, 0.0) for r in runs])
    line("total", [r["total"] for r in runs])
    line("checkpoint after it", [r.get("after", 0.0) for r in runs])
    print(f"  {'rows/second':<22}" + "".join(f"{r['rows'] / r['total']:>11,.0f}" for r in runs))
    line("CPU, this process", [r["cpu"] for r in runs])
    for stage in (*STAGES, "committing"):
        line(f"  CPU {stage}", [r.get("stage_cpu", {}).get(stage, 0.0) for r in runs])
    if any(r["server_cpu"] for r in runs):
        line("CPU, database server", [r["server_cpu"] for r in runs])
    print(f"  {'peak RSS':<22}" + "".join(f"{r['peak_mb']:>8,.0f} MB" for r in runs))
    if len(runs[-1]["totals"]) > 1:  # --repeat: the figures above are medians
        print(f"  medians of {len(runs[-1]['totals'])} loads per design; every load's total:")
        for design, run in zip(designs, runs, strict=True):
            totals = ", ".join(f"{t:.1f}" for t in run["totals"])
            print(f"    {design:<10} {totals} s (min {min(run['totals']):.1f}, "
                  f"max {max(run['totals']):.1f})")  # fmt: skip
        for design, run in zip(designs[:-1], runs[:-1], strict=True):
            pairs = zip(run["totals"], runs[-1]["totals"], strict=True)
            ratios = [a / b for a, b in pairs]
            print(f"    {design}/{last} pair by pair: median {statistics.median(ratios):.2f}x "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")  # fmt: skip
    for design in designs:
        raised = ", ".join(f"{k} {v:,.0f}" for k, v in results[design]["peaks"].items())
        print(f"    {design} peak RSS (MB) by the end of: {raised}")
