"""Access tokens: JWTs (RFC 9068) signed by the authorisation server, bound to the client
certificate they were issued to (RFC 8705 ``cnf.x5t#S256``), and what they let a request do.

The authorisation server's signing key is ES256 (one of the algorithms the FAPI 2.0 security
profile allows, and one every JOSE library verifies), kept apart from the Ed25519 keys that sign
receipts: ``{data_dir}/oauth/signing-key.json`` (owner-only), in memory without a data
directory. It is published at ``/oauth/jwks``.

A token alone never makes a principal: the request must come with the very certificate the
token is bound to, that certificate must still authenticate (``registry.trust.authentication``), and
the token then narrows the certificate's scopes to those it was issued for.

>>> key = SigningKey(None)
>>> token = key.sign({"iss": "https://r.example/", "aud": "https://r.example/", "exp": 4e9})
>>> key.verify(token, audience="https://r.example/", issuer="https://r.example/")["aud"]
'https://r.example/'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from registry.base.errors import InvalidToken, UnusableInput
from registry.base.identity import Principal
from registry.trust.authentication import authenticate
from registry.trust.ca import load_certificate
from registry.trust.schemes import FDI_SCHEME, name_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry
    from registry.trust.ca import CertificateAuthority

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"
SCOPES = {name_of(s): s for s in FDI_SCHEME.scopes}


class SigningKey:
    """The authorisation server's ES256 key in ``directory`` (None: in memory)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._key: ECKey | None = None

    @property
    def key(self) -> ECKey:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_make()
            return self._key

    def jwks(self) -> dict[str, Any]:
        """The public key set (``/oauth/jwks``)."""
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.key.kid, "alg": ALGORITHM, "use": "sig"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": self.key.kid}
        return jwt.encode(header, claims, self.key, algorithms=[ALGORITHM])

    def verify(self, token: str, *, audience: str | None, issuer: str) -> dict[str, Any]:
        """The claims of a token this key signed, not expired, for ``audience`` (None: any).
        Raises InvalidToken."""
        try:
            decoded = jwt.decode(token, KeySet([self.key]), algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            raise InvalidToken("the access token is not one this registry signed") from None
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("this is not an access token (typ at+jwt)")
        claims = dict(decoded.claims)
        try:
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer},
                exp={"essential": True},
                aud={"essential": True},
                leeway=0,
            ).validate(claims)
        except JoseError as e:
            if e.error == "expired_token":
                raise InvalidToken("the access token has expired") from None
            raise InvalidToken(f"the access token's claims are not acceptable: {e}") from None
        if audience is None:
            return claims
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in audiences:
            raise InvalidToken(
                f"the access token was issued for {', '.join(map(str, audiences))}, "
                f"not for this registry ({audience})"
            )
        return claims

    def _load_or_make(self) -> ECKey:
        path = self.directory / "signing-key.json" if self.directory else None
        if path is not None and path.exists():
            return ECKey.import_key(json.loads(path.read_text()))
        key = ECKey.generate_key("P-256", auto_kid=True)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as f:
                json.dump(key.as_dict(private=True), f)
        return key


def thumbprint(certificate_pem: str | bytes) -> str:
    """The certificate's SHA-256 thumbprint as RFC 8705 puts it in ``cnf.x5t#S256``."""
    der = load_certificate(certificate_pem).public_bytes(Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def principal_for_bearer(
    registry: Registry,
    ca: CertificateAuthority,
    key: SigningKey,
    token: str,
    certificate_pem: str | None,
) -> Principal:
    """Who a request presenting ``token`` (with the client certificate ``certificate_pem``) is:
    the certificate's principal, its scopes narrowed to the token's.

    Raises InvalidToken (bad, expired, another audience, another or no certificate) and
    Unauthenticated (the certificate itself is no longer accepted).
    """
    base = registry.settings.base_iri
    claims = key.verify(token, audience=base, issuer=base)
    bound = (claims.get("cnf") or {}).get("x5t#S256")
    if certificate_pem is None:
        raise InvalidToken("the access token is bound to a certificate: present it with the token")
    try:
        presented = thumbprint(certificate_pem)
    except UnusableInput:
        raise InvalidToken("the client certificate presented cannot be read") from None
    if not bound or bound != presented:
        raise InvalidToken("the access token is bound to another certificate")
    principal = authenticate(registry, ca, certificate_pem)
    granted = {SCOPES[s] for s in str(claims.get("scope") or "").split() if s in SCOPES}
    return Principal(
        principal.organisation,
        principal.roles,
        frozenset(principal.scopes & granted),
        user=principal.user,
        certificate_serial=principal.certificate_serial,
    )
