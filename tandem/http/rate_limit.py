"""Every REST call spends one point of its principal's budget (its address's when anonymous).

Each REST router declares one of the two dependencies below, so FastAPI solves
one dependency per call for the face's rules, not one per rule.
"""

from __future__ import annotations

from fastapi import Request

from tandem.domain.principal import Principal, signed_in
from tandem.domain.rate_limits import REST_CALL_COST, subject_of
from tandem.http.guard import CurrentPrincipal, services_of


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def charge_rest_call(request: Request, principal: CurrentPrincipal) -> None:
    """Charge the call, or answer 429; the quota goes into the response's X-RateLimit headers."""
    await charge(request, principal, REST_CALL_COST)


async def charge(request: Request, principal: Principal | None, cost: int) -> None:
    """Spend `cost` points of the caller's budget (a route's extra work, e.g. a search)."""
    limiter = services_of(request).rate_limiter
    if limiter is None:
        return
    subject = subject_of(principal.user_id if principal else None, client_address(request))
    quota = await limiter.charge(subject, cost)
    request.scope.setdefault("state", {})["rate_limit"] = quota


async def charge_signed_in_call(request: Request, principal: CurrentPrincipal) -> None:
    """Charge the call, then answer 401 to an anonymous caller, before the body is read.

    So an anonymous caller hears 401 before any validation error. The rule is the
    domain's (`signed_in`); this only asks it first.
    """
    await charge_rest_call(request, principal)
    signed_in(principal)
