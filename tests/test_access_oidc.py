"""Identity-provider sign-in (issue 13, finding 1) against a fake provider: ID tokens signed
with an RSA key made here, published as a local JWKS. Signature, issuer, audience and expiry are
checked in our code; only verified e-mails from an allowed issuer sign in; accounts are bound to
the provider's iss+sub at the first sign-in and matched on that afterwards."""

from __future__ import annotations

import time

import pytest

from queries.access import accounts as auth
from queries.access import oidc
from queries.access.audit import list_events
from tests.access_helpers import CLIENT, ISSUER, FakeProvider, fast_hashing  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")
FOREIGN = "https://evil.example/"
ALLOWED = (ISSUER,)


@pytest.fixture(scope="module")
def provider() -> FakeProvider:
    return FakeProvider()


def verify(provider: FakeProvider, token: str, **kwargs) -> oidc.Identity:
    options = {"jwks": provider.jwks, "issuers": ALLOWED, "audience": CLIENT, **kwargs}
    return oidc.verify_id_token(token, **options)


def sign_in(engine, provider: FakeProvider, **claims):
    identity = verify(provider, provider.token(**claims))
    return oidc.sign_in(engine, identity, issuers=ALLOWED)


def reason(call) -> str:
    with pytest.raises(oidc.OidcError) as caught:
        call()
    return caught.value.reason


def test_token_checks_signature_issuer_audience_expiry(provider):
    good = provider.token(email="boss@gov.kz", email_verified=True)
    identity = verify(provider, good)
    assert identity == oidc.Identity(ISSUER, "u-1", "boss@gov.kz", True)
    forger = FakeProvider(kid="k1")  # same key id, different key: signature must fail
    assert reason(lambda: verify(provider, forger.token(email="boss@gov.kz"))) == "invalid_token"
    assert reason(lambda: verify(provider, provider.token(iss=FOREIGN))) == "foreign_issuer"
    assert reason(lambda: verify(provider, provider.token(aud="other-app"))) == "invalid_token"
    expired = provider.token(exp=int(time.time()) - 3600)
    assert reason(lambda: verify(provider, expired)) == "invalid_token"
    assert reason(lambda: verify(provider, "not.a.token")) == "invalid_token"
    assert reason(lambda: verify(provider, good, issuers=())) == "foreign_issuer"


def test_first_verified_sign_in_binds_the_account_to_iss_and_sub(engine, provider):
    auth.create_user(engine, "boss", None, role="admin", email="boss@gov.kz")
    user = sign_in(engine, provider, sub="u-1", email="boss@GOV.KZ", email_verified=True)
    assert (user.username, user.role) == ("boss", "admin")
    assert list_events(engine, action="identity_bound").item(0, "target") == "boss"
    # Afterwards the binding decides, not the e-mail (which may change at the provider).
    again = sign_in(engine, provider, sub="u-1", email="b.oss@gov.kz", email_verified=True)
    assert again.username == "boss"


def test_unverified_or_foreign_or_case_variant_emails_are_refused(engine, provider):
    auth.create_user(engine, "boss", None, role="admin", email="boss@gov.kz")
    claims = {"sub": "attacker", "email": "boss@gov.kz"}
    assert reason(lambda: sign_in(engine, provider, **claims, email_verified=False)) == (
        "unverified_email"
    )
    assert reason(lambda: sign_in(engine, provider, **claims)) == "unverified_email"  # absent
    # The review's case: "BOSS@gov.kz", unverified, from a foreign issuer.
    foreign = oidc.Identity(FOREIGN, "attacker", "BOSS@gov.kz", False)
    assert reason(lambda: oidc.sign_in(engine, foreign, issuers=ALLOWED)) == "foreign_issuer"
    # Verified, but the local part differs in case: not the same mailbox.
    variant = {"sub": "attacker", "email": "BOSS@gov.kz", "email_verified": True}
    assert reason(lambda: sign_in(engine, provider, **variant)) == "no_account"
    assert list_events(engine, action="identity_bound").is_empty()
    assert list_events(engine, action="sign_in").is_empty()
    assert list_events(engine, action="sign_in_failed").height == 4


def test_a_bound_account_refuses_another_subject(engine, provider):
    auth.create_user(engine, "boss", None, role="admin", email="boss@gov.kz")
    sign_in(engine, provider, sub="u-1", email="boss@gov.kz", email_verified=True)
    rebind = {"sub": "u-2", "email": "boss@gov.kz", "email_verified": True}
    assert reason(lambda: sign_in(engine, provider, **rebind)) == "bound_elsewhere"
    assert sign_in(engine, provider, sub="u-1", email="boss@gov.kz", email_verified=True)


def test_a_disabled_account_cannot_sign_in_through_the_provider(engine, provider):
    auth.create_user(engine, "admin2", "admin2-password", role="admin")
    auth.create_user(engine, "dana", None, role="viewer", email="dana@gov.kz")
    sign_in(engine, provider, sub="d-1", email="dana@gov.kz", email_verified=True)
    auth.disable(engine, "dana", actor="admin2")
    claims = {"sub": "d-1", "email": "dana@gov.kz", "email_verified": True}
    assert reason(lambda: sign_in(engine, provider, **claims)) == "disabled"


def test_email_normalising():
    assert oidc.normal_email("  Boss@GOV.kz ") == "Boss@gov.kz"
    assert oidc.normal_email("boss@gov.kz") != oidc.normal_email("BOSS@gov.kz")
