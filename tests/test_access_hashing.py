"""argon2 takes 64 MiB per hash: at most ``MAX_CONCURRENT_HASHES`` (5) run at once in a
process, however many sign-ins arrive together (issue 13, finding 5, last sentence)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from queries.access import hashing


class GatedHasher:
    """A stand-in hasher that holds every caller until released and counts how many are in."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.changed = threading.Condition()
        self.release = threading.Event()

    def _enter(self) -> None:
        with self.changed:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.changed.notify_all()
        self.release.wait(timeout=30)
        with self.changed:
            self.inside -= 1

    def verify(self, hashed: str, password: str) -> bool:
        self._enter()
        return True

    def hash(self, password: str) -> str:
        self._enter()
        return "hashed"


def test_at_most_five_hashes_run_at_once(monkeypatch):
    gated = GatedHasher()
    monkeypatch.setattr(hashing, "_hasher", gated)
    calls = [lambda: hashing.verify_password("h", "p"), lambda: hashing.hash_password("p")]
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(calls[i % 2]) for i in range(12)]
        with gated.changed:
            assert gated.changed.wait_for(lambda: gated.inside == 5, timeout=30)
            # The other seven are queued at the semaphore: none gets in while five are inside.
            assert not gated.changed.wait_for(lambda: gated.inside > 5, timeout=0.5)
        gated.release.set()
        results = [f.result(timeout=30) for f in futures]
    assert gated.most == hashing.MAX_CONCURRENT_HASHES == 5
    assert results.count(True) == 6 and results.count("hashed") == 6
