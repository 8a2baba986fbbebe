"""What filter changes make is kept bounded by dropping the oldest entry, never the whole store
(``queries.summaries.kept``, issue 11): a cleared store made every session miss at once."""

from __future__ import annotations

import threading

from queries.summaries.kept import make_room


def test_a_full_store_loses_its_oldest_entry_only():
    kept = {key: key * 10 for key in range(4)}
    make_room(kept, 4)
    assert kept == {1: 10, 2: 20, 3: 30}  # room for one, the newest three stay
    kept[4] = 40
    make_room(kept, 3)  # a smaller limit: as many go as needed
    assert list(kept) == [3, 4]
    make_room(kept, 10)
    assert list(kept) == [3, 4]


def test_threads_making_room_and_adding_at_once_keep_the_bound():
    kept: dict[int, int] = {}
    failures: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for key in range(start, start + 20_000):
                make_room(kept, 64)
                kept[key] = key
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i * 100_000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(kept) <= 64 + len(threads)  # each thread may add after another made room
