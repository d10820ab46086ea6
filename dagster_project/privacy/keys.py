"""The secret key of the pseudonyms (HMAC-SHA256): where it comes from, never where it goes.

The key is read from CSAT_PSEUDONYM_KEY, else from the file CSAT_PSEUDONYM_KEY_FILE (default
`data/privacy/pseudonym.key`, git-ignored). The file holds the current key on its first line and,
after a rotation, retired keys on the following lines: retired keys are only used to recognise the
customers of the erasure register that were erased under them, never to compute a published value.
The key is never logged, printed or put in an error message; only its fingerprint (an HMAC of a
fixed text, which reveals nothing about the key) is shown.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dagster_project import settings


class MissingKeyError(RuntimeError):
    """No pseudonymisation key is configured."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes

    @property
    def fingerprint(self) -> str:
        """Identifies the key in the erasure register and in messages without revealing it."""
        return hmac.new(self.secret, b"csat pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, value: str) -> str:
        """HMAC-SHA256 of `value` (UTF-8) as 64 hex digits: the same value always gives the same
        pseudonym under one key; without the key a dictionary of values cannot be matched."""
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never show the secret, not even in a traceback's locals
        return f"PseudonymKey(fingerprint={self.fingerprint})"


@dataclass(frozen=True)
class KeyRing:
    current: PseudonymKey
    retired: tuple[PseudonymKey, ...] = ()

    @property
    def all(self) -> tuple[PseudonymKey, ...]:
        return (self.current, *self.retired)


def _key(text: str) -> PseudonymKey:
    return PseudonymKey(text.strip().encode("utf-8"))


def load_keys() -> KeyRing:
    """The configured keys; raises MissingKeyError with what to do when there is none."""
    lines: list[str] = []
    path = settings.pseudonym_key_file()
    if path.is_file():
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    from_env = settings.pseudonym_key()
    if from_env:
        current, retired = from_env, [line for line in lines if line != from_env.strip()]
    elif lines:
        current, retired = lines[0], lines[1:]
    else:
        raise MissingKeyError(
            "no pseudonymisation key: set CSAT_PSEUDONYM_KEY (a secret of at least 32 characters) or put it in "
            f"the file CSAT_PSEUDONYM_KEY_FILE (now {path}); `csat generate` creates a local key for the demo. "
            "See SECURITY.md."
        )
    if len(current.strip()) < 32:
        raise MissingKeyError("the pseudonymisation key is shorter than 32 characters: use a long random secret")
    return KeyRing(_key(current), tuple(_key(r) for r in retired))


def ensure_local_key() -> Path | None:
    """Create a random key in CSAT_PSEUDONYM_KEY_FILE (owner-only) when no key is configured: the demo's
    key. Returns the file when it was created, None when a key was already configured."""
    if settings.pseudonym_key():
        return None
    path = settings.pseudonym_key_file()
    if path.exists():
        return None
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path
