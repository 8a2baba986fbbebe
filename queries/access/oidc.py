"""Sign-in through the organisation's identity provider (OpenID Connect), checked here rather
than trusted.

``st.login`` accepts whatever claims the provider sends. Senim signs someone in only when:
- the ID token's signature verifies against the provider's published keys (JWKS), its ``iss`` is
  one of ``settings.oidc_issuers()``, its ``aud`` is our client id and it has not expired;
- ``email_verified`` is true;
- the account is found by the provider's stable ``iss`` + ``sub`` — or, on the very first
  provider sign-in, by the e-mail (compared exactly after normalising), and then bound to that
  ``iss`` + ``sub`` for good. A bound account refuses any other ``sub``, whatever the e-mail says.

The token checks use joserfc (Authlib's JOSE implementation, installed with ``Authlib``).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
import urllib.request
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine, select, update

from queries.access import audit
from queries.access.accounts import User
from queries.errors import SenimError
from queries.schema.access import users

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
LEEWAY_SECONDS = 60  # clock skew allowed between the provider and us


@dataclass(frozen=True)
class Identity:
    """The verified facts of an ID token that Senim uses."""

    issuer: str
    subject: str
    email: str
    email_verified: bool


class OidcError(SenimError):
    """Provider sign-in refused. ``reason``: invalid_token, foreign_issuer, unverified_email,
    no_account, bound_elsewhere, disabled (the UI shows one translated message per reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normal_email(email: str) -> str:
    """Trimmed, Unicode NFC, domain in lower case (domains are case-blind; the local part is
    compared exactly: ``BOSS@gov.kz`` is not ``boss@gov.kz``)."""
    email = unicodedata.normalize("NFC", (email or "").strip())
    local, at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if at else email


def verify_id_token(
    token: str,
    *,
    jwks: dict,
    issuers: tuple[str, ...],
    audience: str,
    now: int | None = None,
) -> Identity:
    """The identity in a signed ID token, after checking signature, issuer, audience, expiry."""
    if not issuers:
        raise OidcError("foreign_issuer", "No identity-provider issuer is allowed (setting).")
    try:
        keys = KeySet.import_key_set(jwks)
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        registry = jwt.JWTClaimsRegistry(
            now=now if now is not None else int(time.time()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "values": list(issuers)},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
        )
        registry.validate(decoded.claims)
    except JoseError as exc:
        reason = "foreign_issuer" if "iss" in str(exc) else "invalid_token"
        raise OidcError(reason, f"The identity token was refused ({exc.error}).") from None
    except (ValueError, TypeError, KeyError) as exc:  # malformed token or key set
        raise OidcError("invalid_token", f"The identity token was refused ({exc}).") from None
    claims = decoded.claims
    verified = claims.get("email_verified")
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        email_verified=verified is True or verified == "true",
    )


def sign_in(
    engine: Engine, identity: Identity, *, issuers: tuple[str, ...], now: dt.datetime | None = None
) -> User:
    """The Senim account for a verified identity (binding it at the first sign-in); every
    outcome is in the audit log."""
    now = now or dt.datetime.now(dt.UTC)
    detail = {"method": "oidc", "iss": identity.issuer, "sub": identity.subject}

    def refuse(reason: str, message: str, actor: str | None = None) -> OidcError:
        audit.record(
            engine,
            actor=actor or identity.email or identity.subject,
            action="sign_in_failed",
            target=actor or identity.email,
            detail={**detail, "reason": reason, "email": identity.email},
        )
        return OidcError(reason, message)

    if identity.issuer not in issuers:
        raise refuse("foreign_issuer", "This identity provider is not allowed.")
    if not identity.email_verified:
        raise refuse("unverified_email", "The provider has not verified this e-mail.")
    email = normal_email(identity.email)
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        bound = (
            conn.execute(
                select(users).where(
                    users.c.oidc_issuer == identity.issuer, users.c.oidc_subject == identity.subject
                )
            )
            .mappings()
            .first()
        )
        row = bound
        if row is None:
            candidates = conn.execute(select(users).where(users.c.email.is_not(None))).mappings()
            row = next((r for r in candidates if normal_email(r["email"]) == email), None)
            if row is not None and row["oidc_subject"] is None:
                conn.execute(
                    update(users)
                    .where(users.c.id == row["id"])
                    .values(oidc_issuer=identity.issuer, oidc_subject=identity.subject)
                )
                audit.record(
                    actor=row["username"],
                    action="identity_bound",
                    target=row["username"],
                    detail=detail,
                    conn=conn,
                )
                bound = row
    if row is None:
        raise refuse("no_account", "There is no account for this e-mail.")
    if bound is None:
        raise refuse(
            "bound_elsewhere",
            "This account is bound to another identity at the provider.",
            row["username"],
        )
    if row["disabled"]:
        raise refuse("disabled", "This account is disabled.", row["username"])
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == row["id"]).values(last_login_at=now))
        audit.record(
            actor=row["username"], action="sign_in", target=row["username"], detail=detail,
            conn=conn,
        )  # fmt: skip
    return User(row["username"], row["role"], row["email"])


_jwks_cache: dict[str, tuple[float, dict]] = {}
JWKS_TTL_SECONDS = 3600


def provider_keys(metadata_url: str) -> dict:
    """The provider's JWKS (from its discovery document), kept for an hour."""
    cached = _jwks_cache.get(metadata_url)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        with urllib.request.urlopen(metadata_url, timeout=10) as response:
            jwks_uri = json.load(response)["jwks_uri"]
        with urllib.request.urlopen(jwks_uri, timeout=10) as response:
            keys = json.load(response)
    except (OSError, ValueError, KeyError) as exc:
        raise OidcError("invalid_token", f"The provider's keys cannot be read ({exc}).") from None
    _jwks_cache[metadata_url] = (time.monotonic() + JWKS_TTL_SECONDS, keys)
    return keys
