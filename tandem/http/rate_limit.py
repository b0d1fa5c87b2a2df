"""Every REST call spends one point of its principal's budget (its address's when anonymous).

Each REST router declares one of the two dependencies below, so FastAPI solves
one dependency per call for the face's rules, not one per rule. The charge is the
request's admission's (tandem/http/admission.py).
"""

from __future__ import annotations

from fastapi import Request

from tandem.domain.principal import Principal, signed_in
from tandem.domain.rate_limits import REST_CALL_COST
from tandem.http.admission import admission_of
from tandem.http.guard import CurrentPrincipal


def client_address(request: Request) -> str | None:
    return admission_of(request).address


async def charge_rest_call(request: Request, principal: CurrentPrincipal) -> None:
    """Charge the call, or answer 429; the quota goes into the response's X-RateLimit headers.

    `principal` is asked first, so a signed-in caller spends its own budget.
    """
    await charge(request, principal, REST_CALL_COST)


async def charge(request: Request, principal: Principal | None, cost: int) -> None:
    """Spend `cost` points of the caller's budget (a route's extra work, e.g. a search).

    `principal` is the admission's caller, already found: the admission charges it.
    """
    await admission_of(request).charge(cost)


async def charge_signed_in_call(request: Request, principal: CurrentPrincipal) -> None:
    """Charge the call, then answer 401 to an anonymous caller, before the body is read.

    So an anonymous caller hears 401 before any validation error. The rule is the
    domain's (`signed_in`); this only asks it first.
    """
    await charge_rest_call(request, principal)
    signed_in(principal)
