"""The registry's signing keys: Ed25519, the newest one signs, every public key stays published.

Receipts and journal checkpoints are signed with the active key; anyone verifies them offline
with the JSON Web Key Set the registry publishes (``/.well-known/jwks.json``). Rotation adds a
new key and strips the private half of the old ones, whose public halves stay in the set for
ever, so a receipt signed years ago still verifies.

On disk (``{data_dir}/keys/``) each key is one file, ``{created}-{kid}.json``, readable by the
owner only; in memory when there is no data directory. Another process (``fdi keys rotate``)
may rotate the keys of a running registry: the directory is re-read whenever it changes.

>>> ring = KeyRing(None)
>>> kid = ring.active().kid
>>> [k["kid"] for k in ring.jwks()["keys"]] == [kid]
True
>>> ring.rotate() != kid and len(ring.jwks()["keys"])
2
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from registry.base import clock

ALGORITHM = "Ed25519"  # RFC 9864's fully specified name for EdDSA over Ed25519


@dataclass(frozen=True)
class StoredKey:
    created: str
    key: OKPKey

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def private(self) -> bool:
        return self.key.is_private

    def public_jwk(self) -> dict[str, Any]:
        jwk = self.key.as_dict(private=False)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


class KeyRing:
    """The signing keys in ``directory`` (None: in memory). A key is made on first use."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._keys: list[StoredKey] = []
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def active(self) -> StoredKey:
        """The key that signs: the newest one holding its private half."""
        with self._lock:
            self._refresh()
            signing = [k for k in self._keys if k.private]
            if not signing:
                self._add(_new_key())
                signing = [k for k in self._keys if k.private]
            return signing[-1]

    def jwks(self) -> dict[str, Any]:
        """The published key set: every key's public half, oldest first."""
        self.active()  # a registry always publishes the key it will sign with
        with self._lock:
            return {"keys": [k.public_jwk() for k in self._keys]}

    def rotate(self) -> str:
        """Make a new signing key and retire the others; returns the new key's ``kid``."""
        with self._lock:
            self._refresh()
            fresh = _new_key()
            self._add(fresh)
            for old in self._keys[:-1]:
                if old.private:
                    self._retire(old)
            return fresh.kid

    # --- storage ---------------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.directory is None or not self.directory.exists():
            return
        stat = self.directory.stat()
        seen = (stat.st_mtime_ns, stat.st_ino)
        if seen == self._seen:
            return
        keys = []
        for path in sorted(self.directory.glob("*.json")):
            data = json.loads(path.read_text())
            keys.append(StoredKey(data["created"], OKPKey.import_key(data["jwk"])))
        self._keys = sorted(keys, key=lambda k: (k.created, k.kid))
        self._seen = seen

    def _add(self, key: StoredKey) -> None:
        self._keys.append(key)
        self._write(key, private=True)

    def _retire(self, key: StoredKey) -> None:
        public = StoredKey(key.created, OKPKey.import_key(key.public_jwk()))
        self._keys[self._keys.index(key)] = public
        self._write(public, private=False)

    def _write(self, key: StoredKey, *, private: bool) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        jwk = {**key.key.as_dict(private=private), "kid": key.kid}
        path = self.directory / f"{key.created.replace(':', '')}-{key.kid}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"created": key.created, "jwk": jwk}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
        self._seen = None


def _new_key() -> StoredKey:
    created = clock.now()
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    return StoredKey(created, key)
