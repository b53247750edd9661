"""PINs, passwords and tokens of both services: argon2id hashes for what a person types, SHA-256
for the long random tokens and keys, and the lockout's numbers (the rows live in each
service's own store)."""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=5)

# argon2id at OWASP's lower bound: a login on a Raspberry Pi stays well under a second
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown badges against, so timing does not tell which exist; made at
    the first login, not at import (every CLI command imports this module)."""
    return _hasher.hash("0000")


def hash_secret(value: str) -> str:
    """An argon2id hash of a PIN or password."""
    return _hasher.hash(value)


def check_secret(stored_hash: str, value: str) -> bool:
    try:
        return _hasher.verify(stored_hash, value)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Tokens and keys are random and long, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()
