"""The load's random walk over the sidebar's filters (issue 11), in one place for the websocket
load, the page bench and the miss benches. Plain Python only: the miss benches import it before
putting an earlier tree's ``queries`` on the path."""

from __future__ import annotations

import random

OPTIONS = {  # the sidebar's options (dashboard/components/filters.py), regions added per data
    "sexes": ("female", "male"),
    "age_groups": ("18-29", "30-44", "45-59", "60+"),
    "settlements": ("urban", "rural"),
}


def next_choice(rng: random.Random, chosen: list[str], options: list[str]) -> list[str]:
    """A person's next step in one filter: add an option, or start over when three are chosen
    (or the options are used up)."""
    left = [o for o in options if o not in chosen]
    if len(chosen) >= 3 or not left:
        return []
    return [*chosen, rng.choice(left)]


def selections(regions: list[str], changes: int, seed: int) -> list[dict[str, tuple[str, ...]]]:
    """``changes`` successive selections of the walk over the four filters (Filters' names)."""
    rng = random.Random(seed)
    options = {"regions": list(regions), **{k: list(v) for k, v in OPTIONS.items()}}
    chosen: dict[str, list[str]] = {key: [] for key in options}
    out = []
    for _ in range(changes):
        key = rng.choice(sorted(options))
        chosen[key] = next_choice(rng, chosen[key], options[key])
        out.append({k: tuple(v) for k, v in chosen.items()})
    return out
