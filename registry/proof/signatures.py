"""Signed statements: a JSON object with a detached JWS (RFC 7515 Appendix F) in ``signature``.

What is signed is the statement without its ``signature`` member, serialised canonically
(keys sorted, no insignificant white space, UTF-8: RFC 8785 for the strings and integers the
registry's statements hold). The JWS header names the key (``kid``), the algorithm (``Ed25519``,
RFC 9864) and what kind of statement it is (``typ``), so a receipt can never pass for a
checkpoint. Verification needs nothing but the statement and the published key set.

>>> from registry.proof.keys import KeyRing
>>> ring = KeyRing(None)
>>> signed = sign({"seq": 1}, ring.active(), "fdi-receipt+json")
>>> verify(signed, ring.jwks(), "fdi-receipt+json") == ring.active().kid
True
>>> verify({**signed, "seq": 2}, ring.jwks(), "fdi-receipt+json")
Traceback (most recent call last):
...
registry.base.errors.BadSignature: the signature does not match the statement
"""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from registry.base.errors import BadSignature
from registry.proof.keys import ALGORITHM, StoredKey


def canonical_json(statement: dict[str, Any]) -> bytes:
    """The bytes that are signed: the statement without ``signature``, canonically."""
    unsigned = {k: v for k, v in statement.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(statement: dict[str, Any], key: StoredKey, typ: str) -> dict[str, Any]:
    """The statement with a detached compact JWS over it in ``signature``."""
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": typ}
    token = jws.serialize_compact(
        header, canonical_json(statement), key.key, algorithms=[ALGORITHM]
    )
    return {**statement, "signature": jws.detach_content(token)}


def verify(statement: dict[str, Any], jwks: dict[str, Any], typ: str) -> str:
    """Check a signed statement against a published key set; returns the signing key's ``kid``.

    Raises BadSignature if it is unsigned, signed by a key not in the set, of another kind,
    or altered since it was signed.
    """
    token = statement.get("signature")
    if not isinstance(token, str) or token.count(".") != 2 or token.split(".")[1]:
        raise BadSignature("the statement carries no detached JWS in 'signature'")
    header = _header(token)
    if header.get("typ") != typ:
        raise BadSignature(f"this is a {header.get('typ')!r} statement, not {typ!r}")
    key = _key(jwks, header.get("kid"))
    try:
        jws.deserialize_compact(
            token, key, payload=canonical_json(statement), algorithms=[ALGORITHM]
        )
    except JoseError as e:
        raise BadSignature("the signature does not match the statement") from e
    return str(header["kid"])


def _key(jwks: dict[str, Any], kid: Any) -> OKPKey:
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if jwk.get("kid") == kid:
            try:
                found = KeySet.import_key_set({"keys": [jwk]}).keys[0]
            except (JoseError, ValueError, KeyError, TypeError) as e:
                raise BadSignature(f"key {kid} in the key set is unusable: {e}") from e
            if not isinstance(found, OKPKey):
                raise BadSignature(f"key {kid} is not an Ed25519 key")
            return found
    raise BadSignature(f"signed by key {kid!r}, which is not in the key set")


def _header(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError as e:  # binascii.Error and JSONDecodeError are ValueErrors
        raise BadSignature(f"the signature's header is unreadable: {e}") from e
    if not isinstance(header, dict):
        raise BadSignature("the signature's header is not a JSON object")
    return header
