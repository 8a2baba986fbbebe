"""Server time of a filter change on every page with filters, and the server's memory after
visiting every page in all three languages (issue 11), through Streamlit's own protocol.

One signed-in session per language (kk, ru, en), one after the other, on one server: each opens
Overview, Regions, Feedback, NGO and Drivers in turn (the first opening of a page in the first
language is timed apart: it may load data), and on each makes STEPS filter changes (random
combinations of regions, sexes, age groups and settlements, seeded). A filter change is timed from
sending the rerun to the run's ``script_finished``: the server's time plus a loopback hop, no
browser. Printed per page: p50/p95 over the three languages, exceptions shown; then the server's
resident memory (its process and children) after all pages in all languages, and its peak.

    .venv/bin/python bench/bench_page.py [--sizes 100000 1000000] [--steps 8] [--design now|before]
        [--against /tmp/tree-of-an-earlier-commit]

``--against``: another checkout of this repository (``git worktree add DIR COMMIT``) served on
the same database right before this tree, the two printed one above the other (a change to the
script around the statistics, measured in the same run).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ws_load import filter_widgets
from bench.common import demo_database, percentile
from bench.serving import (
    LANGUAGES,
    NOW,
    PAGES,
    PREVIOUS,
    USER,
    Design,
    add_bench_user,
    cpu_seconds,
    load_average,
    page_path,
    previous_design_database,
    serve,
)
from bench.walk import next_choice
from dashboard.i18n import translate
from tests.streamlit_ws import StreamlitSession

RUN_TIMEOUT = 120.0  # a run slower than this ends the page in that language (counted)


@dataclass(frozen=True)
class PageTimes:
    """One page: its first opening (first language) and its filter changes (all languages)."""

    page: str
    first_open_s: float | None  # None: the design has no such page
    changes_s: tuple[float, ...]
    cpu_s: tuple[float, ...]  # the server's CPU time during each change
    exceptions: int
    timeouts: int = 0  # languages in which a run of the page did not finish in RUN_TIMEOUT

    @property
    def p50_ms(self) -> float:
        return percentile(list(self.changes_s), 50) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(list(self.changes_s), 95) * 1000

    @property
    def cpu_ms(self) -> tuple[float, float]:
        """The server's CPU time per change, p50 and p95."""
        return percentile(list(self.cpu_s), 50) * 1000, percentile(list(self.cpu_s), 95) * 1000


@dataclass(frozen=True)
class PagesResult:
    """Every page of one server, and its memory after all pages in all languages."""

    pages: tuple[PageTimes, ...]
    rss_after_mb: float
    rss_peak_mb: float
    load: str

    def lines(self) -> list[str]:
        out = []
        for p in self.pages:
            if p.first_open_s is None and not p.timeouts:
                out.append(f"{p.page:<9} (no such page in this design)")
                continue
            if not p.changes_s:
                out.append(f"{p.page:<9} no run finished within {RUN_TIMEOUT:.0f} s")
                continue
            cpu50, cpu95 = p.cpu_ms
            out.append(f"{p.page:<9} first opening {p.first_open_s:6.2f} s; filter change p50 "
                       f"{p.p50_ms:6.0f} ms, p95 {p.p95_ms:6.0f} ms (server CPU p50 {cpu50:.0f}"
                       f" ms, p95 {cpu95:.0f} ms; {len(p.changes_s)} changes, exceptions shown"
                       f" {p.exceptions}, timed out in {p.timeouts} language(s))")  # fmt: skip
        languages = ", ".join(LANGUAGES)
        after, peak = self.rss_after_mb, self.rss_peak_mb
        out.append(f"server RSS (with children) after every page in {languages}: "
                   f"{after:,.0f} MB, peak {peak:,.0f} MB; {self.load}")  # fmt: skip
        return out


def _labels(lang: str) -> tuple[str, str, str]:
    return tuple(translate(f"auth.{k}", lang) for k in ("username", "password", "sign_in"))  # type: ignore[return-value]


@dataclass
class _Tally:
    """What visit_pages gathers per page."""

    first: dict[str, float | None] = field(default_factory=dict)
    changes: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    exceptions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAGES, 0))
    timeouts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAGES, 0))


def _signed_in(url: str, lang: str) -> StreamlitSession:
    session = StreamlitSession(url, timeout=RUN_TIMEOUT)
    signed_in = session.sign_in(*USER, lang=lang, labels=_labels(lang))
    if [e for e in signed_in.of_kind("text_input") if e.label == _labels(lang)[1]]:
        session.close()
        raise RuntimeError("the bench user could not sign in")
    return session


def _one_page(session: StreamlitSession, page: str, lang: str, *, steps: int, pid: int,
              rng: random.Random, tally: _Tally) -> None:  # fmt: skip
    """Open ``page`` and make ``steps`` filter changes on it, then clear the filters."""
    query = f"lang={lang}"
    started = time.perf_counter()
    opened = session.run(query_string=query, page_name=page_path(page))
    if opened.page_not_found:
        tally.first[page] = None
        return
    tally.first.setdefault(page, time.perf_counter() - started)
    tally.exceptions[page] += bool(opened.of_kind("exception"))
    widgets = filter_widgets(opened)
    chosen: dict[str, list[str]] = {}
    for _ in range(steps):
        key = rng.choice(sorted(widgets))
        widget_id, options = widgets[key]
        chosen[key] = next_choice(rng, chosen.get(key, []), options)
        session.set_strings(widget_id, chosen[key])
        started, cpu_before = time.perf_counter(), cpu_seconds(pid)
        result = session.run(query_string=query, page_name=page_path(page))
        tally.changes[page].append(time.perf_counter() - started)
        tally.cpu[page].append(cpu_seconds(pid) - cpu_before)
        tally.exceptions[page] += bool(result.of_kind("exception"))
    for widget_id, _options in widgets.values():  # the next page starts unfiltered
        session.set_strings(widget_id, [])


def visit_pages(url: str, pid: int, *, steps: int, seed: int = 11) -> list[PageTimes]:
    """Every filter page in every language on the server at ``url`` (process ``pid``), timed.
    A run that does not finish within RUN_TIMEOUT ends that page in that language (counted);
    a fresh session carries on with the next page."""
    rng, tally = random.Random(seed), _Tally()
    for lang in LANGUAGES:
        session = _signed_in(url, lang)
        try:
            for page in PAGES:
                try:
                    _one_page(session, page, lang, steps=steps, pid=pid, rng=rng, tally=tally)
                except TimeoutError:
                    tally.timeouts[page] += 1
                    session.close()
                    session = _signed_in(url, lang)
        finally:
            session.close()
    return [PageTimes(p, tally.first.get(p), tuple(tally.changes[p]), tuple(tally.cpu[p]),
                      tally.exceptions[p], tally.timeouts[p]) for p in PAGES]  # fmt: skip


def measure(design: Design, url: str, *, steps: int) -> PagesResult:
    """Serve ``design`` on ``url`` and time every page in every language."""
    add_bench_user(design, url)
    with serve(design, url, log_name=f"bench-page-{design.name}.log") as served:
        pages = visit_pages(served.url, served.process.pid, steps=steps)
        after = served.rss.now()
        peak = max(served.rss.peak, after)
    return PagesResult(tuple(pages), after, peak, load_average())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=8, help="filter changes per page and language")
    parser.add_argument("--design", choices=("now", "before"), default="now")
    parser.add_argument("--against", type=Path, help="an earlier checkout, served first")
    args = parser.parse_args()
    for size in args.sizes:
        if args.design == "before":
            runs = [(PREVIOUS, previous_design_database(size)[0])]
        else:
            url = demo_database(size)
            earlier = [Design(args.against.name, args.against)] if args.against else []
            runs = [(design, url) for design in (*earlier, NOW)]
        for design, url in runs:
            result = measure(design, url, steps=args.steps)
            print(f"{size:,} responses, {design.name} design, every page in "
                  f"{', '.join(LANGUAGES)}:")  # fmt: skip
            for line in result.lines():
                print(f"  {line}", flush=True)


if __name__ == "__main__":
    main()
