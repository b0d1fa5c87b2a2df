"""Stored answers are sealed: AES-256-GCM under a key that only a retry of the request rebuilds.

An answer may hold a secret shown once (a new API client's, a rotated one), and it is
kept for a day. The table holds the key only as its SHA-256 and the answer only
sealed, under HMAC(server secret, subject + key): a copy of the database alone opens
nothing, and neither does the server without the caller's key. The fingerprint is the
associated data, so an answer opens only for the very request that produced it.
During a key rotation every verification key is tried, newest first.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tandem.domain.idempotency.records import IdempotentRequest

NONCE_BYTES = 12


class AnswerSeal:
    def __init__(self, secrets: list[str]) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._secrets = [secret.encode() for secret in secrets]

    @staticmethod
    def _key(secret: bytes, request: IdempotentRequest) -> AESGCM:
        material = f"{request.subject}\x00{request.key}".encode()
        return AESGCM(hmac.new(secret, material, hashlib.sha256).digest())

    def seal(self, request: IdempotentRequest, body: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._key(self._secrets[0], request).encrypt(nonce, body, request.fingerprint)
        return nonce + sealed

    def open(self, request: IdempotentRequest, sealed: bytes) -> bytes | None:
        """The body, or None when no key this server holds opens it."""
        nonce, box = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        for secret in self._secrets:
            try:
                return self._key(secret, request).decrypt(nonce, box, request.fingerprint)
            except InvalidTag:
                continue
        return None
