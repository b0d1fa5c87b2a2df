"""One admission step for every request on every transport: who is calling, and what it spends.

`RequestContext` (tandem/http/middleware.py) opens an `Admission` for each HTTP
request and WebSocket; a socket opens a fresh one for each operation it runs
(tandem/graphql/sockets.py), so every operation is admitted when it starts.
Everything that needs the caller or the rate limit asks the admission, and
nothing else reads `Authorization` or charges:

- `caller()` finds the caller from the token's current state (revoked, expired,
  deactivated, role, scopes), once per admission; a refusal (InvalidToken, or
  Unavailable when the database is away) is kept and raised again to whoever asks
  next, so every layer of one request hears the same answer for one lookup.
- `charge(points)` spends the caller's budget (the address's when anonymous, or
  before `caller()` has found one); the last quota goes on the answer's
  X-RateLimit headers; `refund(points)` gives points back.
- `request_id`, `address`, and `idempotency`: the key the request runs under, if any.
- `version`: the dated API version serving the request (tandem/http/versions): the
  `Tandem-Version` header's, else the calling client's pinned one, else the newest. The
  header is read with `Authorization`, in the same pass; `version_refused` holds the
  reason when it names no supported version (the REST face answers 400).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from tandem.domain.errors import DomainError, InvalidToken
from tandem.domain.principal import Principal
from tandem.domain.rate_limits import Quota, RateLimited, subject_of
from tandem.http.versions import HEADER_KEY, NEWEST, ApiVersion, UnknownVersion, parse, pinned
from tandem.observability.requests import note_principal

if TYPE_CHECKING:
    from tandem.domain.idempotency.records import IdempotentRequest
    from tandem.domain.services import Services

STATE_KEY = "admission"  # the one entry Tandem keeps in an ASGI scope's state
MALFORMED = "The Authorization header must be 'Bearer <access token>'."


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when it is not one."""
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class Admission:
    """One request's (or one socket operation's) admission; see the module's docstring."""

    __slots__ = (
        "_caller",
        "_found",
        "_refusal",
        "address",
        "credential",
        "idempotency",
        "paid",
        "quota",
        "request_id",
        "requested_version",
        "services",
        "version_refused",
    )

    def __init__(
        self,
        *,
        services: Services,
        request_id: str,
        address: str | None,
        credential: str | None,
        requested_version: ApiVersion | None = None,
        version_refused: str | None = None,
    ) -> None:
        self.services = services
        self.request_id = request_id
        self.address = address
        self.credential = credential  # the `Authorization` value: a header, or connection_init's
        self.quota: Quota | None = None
        self.paid = 0  # points this admission has spent, net of refunds
        self.idempotency: IdempotentRequest | None = None
        self.requested_version = requested_version  # the Tandem-Version header's, if any
        self.version_refused = version_refused  # why the header names no version we serve
        self._found = False
        self._caller: Principal | None = None
        self._refusal: DomainError | None = None

    @property
    def token(self) -> str | None:
        """The bearer token, if the credential is one (subscriptions check it as they run)."""
        return bearer_token(self.credential)

    async def caller(self) -> Principal | None:
        """None for an anonymous caller; InvalidToken for a bad, expired or revoked token, or
        an account deactivated; Unavailable when the token cannot be checked now."""
        if self._refusal is not None:
            raise self._refusal
        if self._found:
            return self._caller
        try:
            self._caller = await self._lookup()
        except DomainError as refusal:
            self._refusal = refusal
            raise
        self._found = True
        return self._caller

    async def _lookup(self) -> Principal | None:
        if self.credential is None:
            return None
        token = bearer_token(self.credential)
        if token is None:
            raise InvalidToken(MALFORMED)
        principal = await self.services.auth.authenticate(token)
        note_principal(principal.user_id, principal.client_id)  # for the request's log line
        return principal

    @property
    def version(self) -> ApiVersion:
        """The version serving this request: asked for, else the client's pin, else the newest.

        A route asks after its guard has found the caller, so a client's pin is known then.
        """
        if self.requested_version is not None:
            return self.requested_version
        caller = self._caller if self._found else None
        if caller is not None and caller.api_version is not None:
            return pinned(caller.api_version) or NEWEST
        return NEWEST

    @property
    def known_caller(self) -> Principal | None:
        """The caller if `caller()` has found one; else None (anonymous, refused or not asked)."""
        return self._caller if self._found else None

    def again(self, *, credential: str | None) -> Admission:
        """A fresh admission for the same connection: a socket's next operation."""
        return Admission(
            services=self.services,
            request_id=self.request_id,
            address=self.address,
            credential=credential,
            requested_version=self.requested_version,
        )

    def _subject(self) -> str:
        caller = self.known_caller
        return subject_of(caller.user_id if caller else None, self.address)

    async def charge(self, points: int, *, record_refusal: bool = True) -> None:
        """Spend `points` of the budget; RATE_LIMITED, spending nothing, when it is short.

        `record_refusal=False` leaves a refusal uncounted, for a caller that then hands the
        request to a path that charges (and counts) it again.
        """
        limiter = self.services.rate_limiter
        if limiter is None or points <= 0:
            return
        try:
            self.quota = await limiter.charge(
                self._subject(), points, record_refusal=record_refusal
            )
        except RateLimited as refused:
            if refused.quota is not None:
                self.quota = refused.quota
            raise
        self.paid += points

    async def refund(self, points: int | None = None) -> None:
        """Give back `points` (all this admission has spent, by default): work then refused."""
        limiter = self.services.rate_limiter
        points = self.paid if points is None else min(points, self.paid)
        if limiter is None or points <= 0:
            return
        self.quota = await limiter.refund(self._subject(), points)
        self.paid -= points


def admission_of(connection: Any) -> Admission:
    """The admission of an ASGI scope, or of a Starlette request or WebSocket.

    `RequestContext` opens it; an app served without that middleware gets one here.
    """
    scope = connection if isinstance(connection, dict) else connection.scope
    state = scope.setdefault("state", {})
    found = state.get(STATE_KEY)
    if found is None:
        found = open_admission(scope, request_id="")
    admission: Admission = found
    return admission


def open_admission(scope: MutableMapping[str, Any], *, request_id: str) -> Admission:
    """Open the request's admission: its id, its address, its `Authorization` and
    `Tandem-Version` headers."""
    credential = None
    requested: ApiVersion | None = None
    refused: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            credential = value.decode("latin-1")
        elif name == HEADER_KEY:
            try:
                requested = parse(value.decode("latin-1"))
            except UnknownVersion as unknown:
                refused = str(unknown)
    client = scope.get("client")
    admission = Admission(
        # Set by the app's lifespan before any request is served.
        services=getattr(scope["app"].state, "services", None),  # type: ignore[arg-type]
        request_id=request_id,
        address=client[0] if client else None,
        credential=credential,
        requested_version=requested,
        version_refused=refused,
    )
    scope.setdefault("state", {})[STATE_KEY] = admission
    return admission
