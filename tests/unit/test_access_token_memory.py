"""The codec remembers verified access tokens, never past their expiry and never without bound."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt.api_jwt
import pytest

from tandem.domain.auth import tokens
from tandem.domain.auth.tokens import LEEWAY_SECONDS, AccessTokenCodec
from tandem.domain.errors import InvalidToken

KEY = "k" * 32


def codec() -> AccessTokenCodec:
    return AccessTokenCodec(keys=[KEY], issuer="tandem", audience="tandem-api", ttl_seconds=60)


def issue(subject: AccessTokenCodec, user_id: int = 1) -> str:
    return subject.issue(user_id=user_id, scopes=frozenset({"items:read"}), family_id=None).token


def travel(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move both clocks, ours and PyJWT's, `seconds` ahead."""
    later = time.time() + seconds

    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(later, UTC)

    monkeypatch.setattr(tokens.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)


def test_a_remembered_token_gives_the_same_claims():
    subject = codec()
    token = issue(subject, user_id=7)
    first = subject.decode(token)
    assert subject.decode(token) == first
    assert first.user_id == 7


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch):
    subject = codec()
    token = issue(subject)
    subject.decode(token)  # verified, and remembered
    travel(monkeypatch, 60 + LEEWAY_SECONDS + 1)
    with pytest.raises(InvalidToken):
        subject.decode(token)


def test_a_remembered_token_is_accepted_within_the_leeway(monkeypatch):
    subject = codec()
    token = issue(subject)
    subject.decode(token)
    travel(monkeypatch, 60 + LEEWAY_SECONDS - 2)
    assert subject.decode(token).user_id == 1


def test_a_forged_token_is_refused_even_when_the_real_one_is_remembered():
    subject = codec()
    token = issue(subject)
    subject.decode(token)
    header, payload, _signature = token.split(".")
    forged = jwt.encode(
        {"sub": "1", "exp": 2**40, "iat": 0, "jti": str(uuid.uuid4()), "iss": "tandem"},
        "wrong key " * 4,
        algorithm="HS256",
        headers={"typ": "at+jwt", "kid": jwt.get_unverified_header(token)["kid"]},
    )
    with pytest.raises(InvalidToken):
        subject.decode(forged)
    with pytest.raises(InvalidToken):
        subject.decode(f"{header}.{payload}.{'A' * 43}")


def test_memory_is_bounded_and_holds_only_verified_tokens(monkeypatch):
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    subject = codec()
    issued = [issue(subject, user_id=n) for n in range(1, 6)]
    for token in issued:
        subject.decode(token)
    for junk in ("a.b.c", issued[0] + "x"):
        with pytest.raises(InvalidToken):
            subject.decode(junk)
    assert len(subject._verified) == 3
    # The oldest were forgotten, not refused: they verify again.
    assert [subject.decode(token).user_id for token in issued] == [1, 2, 3, 4, 5]
