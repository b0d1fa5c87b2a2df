"""Webhook secrets are sealed at rest: AES-256-GCM under a key derived from the server's.

The HMAC that signs a delivery needs the secret itself, so it cannot be stored as a
hash; it is stored sealed instead, under HMAC(server secret, a fixed label): the key
stored idempotent answers derive theirs from (tandem/domain/idempotency/sealing.py).
A copy of the database alone opens nothing. During a key rotation (SECRET_KEYS)
every key is tried, newest first; a value without the prefix was written before
secrets were sealed, and is read as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
NONCE_BYTES = 12
LABEL = b"tandem webhook secret"


class SecretUnreadable(Exception):
    """No key this server holds opens a stored webhook secret (SECRET_KEY changed?)."""


class SecretSeal:
    def __init__(self, secrets: list[str]) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._keys = [
            AESGCM(hmac.new(secret.encode(), LABEL, hashlib.sha256).digest()) for secret in secrets
        ]

    def seal(self, secret: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        box = self._keys[0].encrypt(nonce, secret.encode(), LABEL)
        return PREFIX + base64.b64encode(nonce + box).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before secrets were sealed
        raw = base64.b64decode(stored.removeprefix(PREFIX))
        nonce, box = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        for key in self._keys:
            try:
                return key.decrypt(nonce, box, LABEL).decode()
            except InvalidTag:
                continue
        raise SecretUnreadable("no key this server holds opens this webhook secret")

    def open_all(self, stored: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.open(secret) for secret in stored)
