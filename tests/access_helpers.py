"""Shared by the access tests: cheap argon2 parameters (the tests are about who may sign in,
not about the hash's strength, which test_auth.py checks with the real parameters)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from queries.access import accounts


@pytest.fixture
def fast_hashing(monkeypatch):
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("not-a-real-password"))
