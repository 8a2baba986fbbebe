"""Shared by the access tests: cheap argon2 parameters (the tests are about who may sign in,
not about the hash's strength, which test_auth.py checks with the real parameters)."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from queries.access import hashing

ISSUER = "https://idp.gov.kz/realms/senim"
CLIENT = "senim-dashboard"


@pytest.fixture
def fast_hashing(monkeypatch):
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(hashing, "_hasher", hasher)
    monkeypatch.setattr(hashing, "_dummy", [hasher.hash("not-a-real-password")])


class FakeProvider:
    """An identity provider in the test: signs ID tokens with its own RSA key; ``jwks`` is what
    it publishes."""

    def __init__(self, kid: str = "k1") -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)
        self.jwks = {"keys": [self.key.as_dict(private=False)]}

    def token(self, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": CLIENT, "sub": "u-1", "iat": now, "exp": now + 300}
        body.update(claims)
        header = {"alg": "RS256", "kid": self.key.kid}
        return jwt.encode(header, body, KeySet([self.key]))
