"""Password hashing: argon2id (argon2-cffi defaults), at most ``MAX_CONCURRENT_HASHES`` at a time.

Each hash takes 64 MiB: forty sign-ins at once took 2.4 GB (issue 13). A bounded semaphore makes
the 6th concurrent hash wait instead of allocating.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT_HASHES = 5
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_hasher = PasswordHasher()
_dummy: list[str] = []  # made on first use (costs one hash)


def hash_password(password: str) -> str:
    """argon2 hash, at most ``MAX_CONCURRENT_HASHES`` at a time in this process."""
    with _hashing:
        return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (bounded like ``hash_password``)."""
    with _hashing:
        try:
            return _hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False


def dummy_hash() -> str:
    """A hash to verify against for unknown names, so they cost the same work as real ones."""
    if not _dummy:
        _dummy.append(hash_password("not-a-real-password"))
    return _dummy[0]
