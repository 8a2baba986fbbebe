"""Many users at once, without browsers (issue 11): SESSIONS signed-in sessions speaking
Streamlit's own websocket protocol (tests/streamlit_ws.py, its protobuf messages), all on one
asyncio event loop, each changing a sidebar filter every EVERY seconds for SECONDS seconds.

Per rerun: the time from sending the rerun (``BackMsg`` with the widget states) to the run's
``script_finished``. Printed: reruns, p50/p95/max, errors (exceptions the app showed, runs that
did not finish within the timeout, dropped connections), and the server's resident memory (its
process and children, sampled every 0.25 s): peak and at the end.

    .venv/bin/python bench/bench_ws_load.py [--size 1000000] [--sessions 50] [--seconds 180]
        [--pages overview regions ...] [--design now|before] [--processes N] [--repeat N]

``--against DIR``: another checkout of this repository (``git archive COMMIT | tar -x -C DIR``)
loaded the same way right before this tree, the two printed one above the other.

``--repeat N`` runs the load N times (with ``--against``, the two designs in turn, the order
reversed every other time) and ends with each design's p95 over the runs: median, min and max.
This machine's speed drifts up to twofold within minutes, so one run's p95 says little alone.

``--processes N`` serves the app from N processes on the same database and pins session i to
process i mod N, as the sticky proxy of docs/deploy.md section 6 does; the server's CPU and
memory are then the sum over the processes (and the printed RSS is the total).

The sessions are spread over the pages with filters (Overview, Regions, Feedback, NGO, Drivers)
unless ``--pages`` names fewer.

Sessions sign in through the app's own form (two at a time: a sign-in costs an argon2 hash),
then the measured period starts for all of them at once; each waits a random part of EVERY
before its first change so they do not arrive in step. The client shares the machine's cores
with the server: on this 2-core machine its own work is part of the times it reports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.exceptions import ConnectionClosed

from bench.common import demo_database, percentile
from bench.serving import (
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
from tests.streamlit_ws import AsyncStreamlitSession, RunResult

FILTER_KEYS = ("f_region", "f_sex", "f_age", "f_settlement")  # sidebar multiselects changed
SIGN_IN_AT_ONCE = 2
WINDOW_S = 30.0  # the measured period is also printed in slices this long


@dataclass(frozen=True)
class Window:
    """One slice of the measured period: the reruns that started in it and the CPU spent."""

    start_s: float
    reruns: int
    p50_s: float
    p95_s: float
    server_cpu_s: float
    client_cpu_s: float  # this load generator's own CPU (it shares the machine's cores)

    def line(self) -> str:
        per = self.server_cpu_s / max(self.reruns, 1) * 1000
        return (
            f"{self.start_s:4.0f}-{self.start_s + WINDOW_S:.0f} s: {self.reruns} reruns, "
            f"p50 {self.p50_s * 1000:.0f} ms, p95 {self.p95_s * 1000:.0f} ms, server CPU "
            f"{self.server_cpu_s:.1f} s ({per:.0f} ms a rerun), "
            f"client CPU {self.client_cpu_s:.1f} s"
        )


@dataclass
class Tally:
    """What all sessions saw during the measured period."""

    times: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)  # monotonic start of each rerun
    exceptions: int = 0  # runs that showed an exception element
    timeouts: int = 0  # runs that did not finish within the timeout
    disconnects: int = 0  # connections that dropped (or could not be reopened)
    failed_opens: int = 0  # sessions that could not sign in and open their page
    by_page: dict[str, list[float]] = field(default_factory=dict)
    server_cpu_s: float = float("nan")  # the server's CPU time in the measured period
    windows: list[Window] = field(default_factory=list)  # the period in WINDOW_S slices

    @property
    def errors(self) -> int:
        return self.exceptions + self.timeouts + self.disconnects + self.failed_opens


@dataclass(frozen=True)
class LoadResult:
    """One load run, as printed."""

    processes: int
    sessions: int
    seconds: float
    pages: tuple[str, ...]
    reruns: int
    p50_s: float
    p95_s: float
    max_s: float
    exceptions: int
    timeouts: int
    disconnects: int
    failed_opens: int
    rss_peak_mb: float
    rss_end_mb: float
    server_cpu_s: float
    load: str
    windows: tuple[Window, ...] = ()

    @property
    def errors(self) -> int:
        return self.exceptions + self.timeouts + self.disconnects + self.failed_opens

    def lines(self) -> list[str]:
        return [*self._summary(), *(f"  {w.line()}" for w in self.windows)]

    def _summary(self) -> list[str]:
        return [
            f"{self.sessions} sessions x {self.seconds:.0f} s on {self.processes} process"
            f"{'es' if self.processes > 1 else ''} ({', '.join(self.pages)}): "
            f"{self.reruns} reruns, p50 {self.p50_s * 1000:.0f} ms, p95 {self.p95_s * 1000:.0f} ms"
            f", max {self.max_s * 1000:.0f} ms",
            f"errors {self.errors} (exceptions shown {self.exceptions}, timeouts {self.timeouts},"
            f" disconnects {self.disconnects}, sessions that could not sign in and open their"
            f" page {self.failed_opens}); server RSS (all processes, with children) peak "
            f"{self.rss_peak_mb:,.0f} MB, at the end {self.rss_end_mb:,.0f} MB",
            f"server CPU {self.server_cpu_s:.0f} s in {self.seconds:.0f} s "
            f"({self.server_cpu_s / max(self.reruns, 1) * 1000:.0f} ms per rerun); {self.load}",
        ]


def filter_widgets(result: RunResult) -> dict[str, tuple[str, list[str]]]:
    """The sidebar multiselects of a run: key -> (widget id, options as shown)."""
    found = {}
    for shown in result.of_kind("multiselect"):
        for key in FILTER_KEYS:
            if shown.widget_id.endswith(f"-{key}"):
                found[key] = (shown.widget_id, list(shown.proto.options))
    return found


class LoadSession:
    """One simulated user: signs in, opens a page, changes a filter on every tick."""

    def __init__(self, url: str, page: str, *, seed: int, timeout: float) -> None:
        self.url, self.page, self.timeout = url, page, timeout
        self.rng = random.Random(seed)
        self.session: AsyncStreamlitSession | None = None
        self.widgets: dict[str, tuple[str, list[str]]] = {}
        self.chosen: dict[str, list[str]] = {}

    async def open(self, gate: asyncio.Semaphore) -> None:
        """A fresh connection, signed in, on its page (the filters reset, as in a new tab)."""
        if self.session is not None:
            await self.session.close()
        async with gate:
            self.session = await AsyncStreamlitSession.open(self.url, timeout=self.timeout)
            signed_in = await self.session.sign_in(*USER)
        if signed_in.of_kind("text_input"):  # still the form: the account is missing
            raise RuntimeError("the bench user could not sign in")
        if signed_in.of_kind("exception"):
            raise RuntimeError("the app showed an exception at sign-in")
        page = await self.session.run(query_string="lang=en", page_name=page_path(self.page))
        self.widgets = filter_widgets(page)
        self.chosen = {}
        if not self.widgets:
            raise RuntimeError(f"no filters on the page {self.page!r}")

    async def change(self) -> RunResult:
        """Change one filter and rerun; returns when the run has finished."""
        assert self.session is not None
        key = self.rng.choice(sorted(self.widgets))
        widget_id, options = self.widgets[key]
        self.chosen[key] = next_choice(self.rng, self.chosen.get(key, []), options)
        self.session.set_strings(widget_id, self.chosen[key])
        return await self.session.run(query_string="lang=en", page_name=page_path(self.page))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def _drive(user: LoadSession, *, until: float, every: float, tally: Tally,
                 gate: asyncio.Semaphore) -> None:  # fmt: skip
    await asyncio.sleep(user.rng.uniform(0, every))
    while time.monotonic() < until:
        tick = time.monotonic()
        try:
            result = await user.change()
        except (TimeoutError, ConnectionClosed, OSError) as exc:
            if isinstance(exc, TimeoutError):
                tally.timeouts += 1
            else:
                tally.disconnects += 1
            try:  # a fresh tab, as a person would reload
                await user.open(gate)
            except (TimeoutError, ConnectionClosed, OSError, RuntimeError, KeyError):
                tally.failed_opens += 1
                return
            continue
        elapsed = time.monotonic() - tick
        tally.times.append(elapsed)
        tally.started.append(tick)
        tally.by_page.setdefault(user.page, []).append(elapsed)
        if result.of_kind("exception"):
            tally.exceptions += 1
        await asyncio.sleep(max(0.0, every - (time.monotonic() - tick)))


async def _within(jobs: list, seconds: float, tally: Tally, counter: str) -> list:
    """Run ``jobs`` at once for at most ``seconds``; those still running are cancelled and
    counted in ``tally.<counter>``. The finished ones' results (None for the cancelled)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    _done, pending = await asyncio.wait(tasks, timeout=seconds) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    setattr(tally, counter, getattr(tally, counter) + len(pending))
    await asyncio.gather(*pending, return_exceptions=True)
    return [None if t in pending else t.result() for t in tasks]


async def _sample_cpu(pids: tuple[int, ...], seconds: float) -> list[tuple[float, float]]:
    """(server CPU, this process's CPU) at the start of each WINDOW_S slice and at the end."""
    samples = []
    for _ in range(int(seconds // WINDOW_S) + 1):
        samples.append((sum(cpu_seconds(pid) for pid in pids), time.process_time()))
        await asyncio.sleep(WINDOW_S)
    return samples


def _windows(tally: Tally, start: float, samples: list[tuple[float, float]]) -> list[Window]:
    out = []
    for i, (now, later) in enumerate(itertools.pairwise(samples)):
        low, high = start + i * WINDOW_S, start + (i + 1) * WINDOW_S
        times = [t for s, t in zip(tally.started, tally.times, strict=True) if low <= s < high]
        out.append(Window(start_s=i * WINDOW_S, reruns=len(times), p50_s=percentile(times, 50),
                          p95_s=percentile(times, 95), server_cpu_s=later[0] - now[0],
                          client_cpu_s=later[1] - now[1]))  # fmt: skip
    return out


async def run_load(url: str | tuple[str, ...], *, sessions: int, seconds: float,
                   every: float = 2.0, pages: tuple[str, ...] = PAGES, timeout: float = 60.0,
                   seed: int = 11, pids: tuple[int, ...] = ()) -> Tally:  # fmt: skip
    """Sign ``sessions`` users in (session i on ``pages[i % len(pages)]``, served by
    ``urls[i % len(urls)]`` when ``url`` names several processes), then let each change a
    filter every ``every`` seconds for ``seconds`` seconds (a page the design lacks shows its
    default page, the Overview, whose filters are then changed). ``pids``: the servers'
    processes, whose CPU time in the measured period is kept (summed)."""
    urls = (url,) if isinstance(url, str) else url
    gate = asyncio.Semaphore(SIGN_IN_AT_ONCE)
    users = [LoadSession(urls[i % len(urls)], pages[i % len(pages)], seed=seed + i,
                         timeout=timeout) for i in range(sessions)]  # fmt: skip
    tally = Tally()

    async def opened(user: LoadSession) -> LoadSession | None:
        try:
            await user.open(gate)
        except (TimeoutError, ConnectionClosed, OSError, RuntimeError, KeyError):
            tally.failed_opens += 1  # KeyError: no sign-in form (the first run failed)
            return None
        return user

    try:
        # Bounded phases: against a server that stops answering, the sign-ins (two at a time,
        # each up to three runs of ``timeout``) would otherwise take many minutes.
        opening = [opened(u) for u in users]
        signed_in = await _within(opening, max(120.0, 5.0 * sessions), tally, "failed_opens")
        users_in = [u for u in signed_in if u]
        start = time.monotonic()
        until = start + seconds
        print(f"measured period: {len(users_in)} sessions signed in", file=sys.stderr, flush=True)
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        sampling = asyncio.ensure_future(_sample_cpu(pids, seconds))
        driving = [_drive(u, until=until, every=every, tally=tally, gate=gate) for u in users_in]
        await _within(driving, seconds + 2 * timeout + every, tally, "timeouts")
        if pids:
            tally.server_cpu_s = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        tally.windows = _windows(tally, start, await sampling)
    finally:
        await asyncio.gather(*(u.close() for u in users))
    return tally


def measure(design: Design, url: str, *, sessions: int, seconds: float,
            pages: tuple[str, ...] = PAGES, every: float = 2.0,
            processes: int = 1) -> LoadResult:  # fmt: skip
    """Serve ``design`` on ``url`` from ``processes`` processes and run the load against them."""
    add_bench_user(design, url)
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(serve(design, url, log_name=f"bench-ws-load-{design.name}-{i}.log"))
            for i in range(processes)
        ]
        tally = asyncio.run(run_load(tuple(s.url for s in servers), sessions=sessions,
                                     seconds=seconds, every=every, pages=pages,
                                     pids=tuple(s.process.pid for s in servers)))  # fmt: skip
        end_mb = sum(s.rss.now() for s in servers)
        # the sum of the peaks: an upper bound of the total's peak (sampled apart)
        peak_mb = max(sum(s.rss.peak for s in servers), end_mb)
    times = tally.times
    return LoadResult(
        processes=processes, sessions=sessions, seconds=seconds, pages=pages, reruns=len(times),
        p50_s=percentile(times, 50), p95_s=percentile(times, 95),
        max_s=max(times, default=float("nan")), exceptions=tally.exceptions,
        timeouts=tally.timeouts, disconnects=tally.disconnects,
        failed_opens=tally.failed_opens, rss_peak_mb=peak_mb,
        rss_end_mb=end_mb, server_cpu_s=tally.server_cpu_s, load=load_average(),
        windows=tuple(tally.windows),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="demo survey responses")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between changes")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--design", choices=("now", "before"), default="now")
    parser.add_argument("--processes", type=int, default=1, help="app processes, sticky")
    parser.add_argument("--repeat", type=int, default=1, help="runs per design, in turn")
    parser.add_argument("--against", type=Path, help="an earlier checkout, loaded first")
    parser.add_argument(
        "--against-last",
        action="store_true",
        help="load the earlier checkout after this tree (an order check)",
    )
    args = parser.parse_args()
    if args.design == "before":
        runs = [(PREVIOUS, previous_design_database(args.size)[0])]
    else:
        url = demo_database(args.size)
        earlier = [Design(args.against.name, args.against.resolve())] if args.against else []
        order = (NOW, *earlier) if args.against_last else (*earlier, NOW)
        runs = [(design, url) for design in order]
    results: dict[str, list[LoadResult]] = {}
    for i in range(args.repeat):
        for design, url in runs if i % 2 == 0 else runs[::-1]:
            result = measure(design, url, sessions=args.sessions, seconds=args.seconds,
                             pages=tuple(args.pages), every=args.every,
                             processes=args.processes)  # fmt: skip
            results.setdefault(design.name, []).append(result)
            print(f"{args.size:,} responses, {design.name} design, websocket load:")
            for line in result.lines():
                print(f"  {line}", flush=True)
    if args.repeat > 1:
        for name, found in results.items():
            print(over_runs(name, found))


def over_runs(name: str, results: list[LoadResult]) -> str:
    """One design's runs in a line: the p95 and the CPU a rerun, median (min-max), errors."""
    p95 = sorted(r.p95_s * 1000 for r in results)
    cpu = sorted(r.server_cpu_s / max(r.reruns, 1) * 1000 for r in results)
    return (
        f"{name}: p95 over {len(results)} runs median {statistics.median(p95):,.0f} ms "
        f"({', '.join(f'{v:,.0f}' for v in p95)}), CPU a rerun median "
        f"{statistics.median(cpu):.0f} ms ({cpu[0]:.0f}-{cpu[-1]:.0f}), errors "
        f"{sum(r.errors for r in results)}"
    )


if __name__ == "__main__":
    main()
