"""Values that are right only against the server's state, which no schema can say.

schemathesis' `positive_data_acceptance` expects every schema-valid request to succeed
(or answer 401, 403, 404, 409, 429). A few values are valid only against what the
server holds, so a generator cannot make them, and the schema cannot express them:

- an `Idempotency-Key` means one request: the generator reuses a key with a new body,
  which the contract answers 422 `IDEMPOTENCY_KEY_REUSED` (tests/partners/test_idempotency.py);
- a `cursor` (items, users) and an events `after` are made by the server: a generated one
  is forged, which answers the documented 422;
- `page` and `cursor` both, and `sort=relevance` with no word in `q`: OpenAPI has no rule
  across parameters (each is refused with a documented 422, tests/api/);
- `current_password`: a credential the schema cannot know (schemathesis exempts token
  endpoints from this check for the same reason);
- a new API client's `user_id` names an existing user: an unknown one is a field error,
  422 (tests/partners/test_clients.py), as a path's unknown id is a 404;
- an `api_version` pin only moves forward: one older than the stored pin is a field
  error, 422 (tests/versions/test_resolution.py); the newest is never older.

So, for positive cases only, these are made what a real client sends: a fresh key, the
first page, one of the two page parameters, a word to rank by, the account's password,
the account's own id.
Negative cases keep every generated value, so each refusal is still fuzzed. A stale
`If-Match` (412) is state too: `targets.py` lets positive cases answer 412.
"""

from __future__ import annotations

import uuid
from typing import Any

from schemathesis import Case
from schemathesis.generation.modes import GenerationMode

from tandem.http.versions import NEWEST
from tests.factories import Account

CURSOR_LISTS = {"/api/v1/items", "/api/v1/users"}


def is_positive(case: Case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode is GenerationMode.POSITIVE


def settle(case: Case, account: Account | None = None) -> None:
    """Make a positive case's state-bound values real (see the module's docstring)."""
    if not is_positive(case):
        return
    path = case.operation.path
    headers = case.headers
    if headers is not None and "Idempotency-Key" in headers:
        case.headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    query = case.query
    if query:
        settled = dict(query)
        if path in CURSOR_LISTS and settled.get("cursor") is not None:
            settled["cursor"] = ""  # the first page, as a cursor page
            settled.pop("page", None)
        if path == "/api/v1/events" and settled.get("after") is not None:
            settled.pop("after")
        if settled.get("sort") == "relevance" and not str(settled.get("q") or "").split():
            settled["q"] = "lamp"
        if settled != query:
            case.query = settled
    body = case.body
    if isinstance(body, dict) and body.get("api_version") is not None:
        case.body = body = {**body, "api_version": str(NEWEST)}
    if account is None or not isinstance(body, dict):
        return
    if path == "/api/v1/users/me" and isinstance(body.get("password"), str):
        case.body = {**body, "current_password": account.password}
    if path == "/api/v1/clients" and "user_id" in body:
        case.body = {**body, "user_id": account.id}


def remember(case: Case, status: int, account: Account | None) -> None:
    """After a password change the account's password is the new one."""
    body: Any = case.body
    if (
        account is not None
        and status == 200
        and case.operation.path == "/api/v1/users/me"
        and case.operation.method.upper() == "PATCH"
        and isinstance(body, dict)
        and isinstance(body.get("password"), str)
    ):
        account.password = body["password"]
