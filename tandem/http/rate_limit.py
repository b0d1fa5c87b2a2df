"""Every REST call spends one point of its principal's budget (its address's when anonymous).

Each REST router declares one of the two dependencies below. Each is an admission
step: its work is `admit_rest_call` or `admit_signed_in_call` on the request's
admission (tandem/http/admission.py), which the REST route class runs directly
(tandem/http/routes.py) and the FastAPI form runs when FastAPI's handler serves.
"""

from __future__ import annotations

from fastapi import Request

from tandem.domain.principal import Principal, signed_in
from tandem.domain.rate_limits import REST_CALL_COST, RateLimited
from tandem.http.admission import Admission, admission_of
from tandem.http.guard import CurrentPrincipal
from tandem.http.routes import admission_step


def client_address(request: Request) -> str | None:
    return admission_of(request).address


async def admit_rest_call(admission: Admission) -> None:
    """Charge the call, or answer 429; the quota goes into the response's X-RateLimit headers.

    The caller is found first (401 for a bad token), so a signed-in caller spends its own
    budget.
    """
    await admission.caller()
    await admission.charge(REST_CALL_COST)


async def admit_signed_in_call(admission: Admission) -> None:
    """Charge the call, then answer 401 to an anonymous caller, before the parameters or
    the body are read, so an anonymous caller hears 401 before any validation error. The
    rule is the domain's (`signed_in`); this only asks it first."""
    await admit_rest_call(admission)
    signed_in(admission.known_caller)


@admission_step(admit_rest_call)
async def charge_rest_call(request: Request, principal: CurrentPrincipal) -> None:
    """The dependency form of `admit_rest_call`; `principal` is its guard (OpenAPI's bearer)."""
    await admit_rest_call(admission_of(request))


async def charge(request: Request, principal: Principal | None, cost: int) -> None:
    """Spend `cost` points of the caller's budget (a route's extra work, e.g. a search).

    `principal` is the admission's caller, already found: the admission charges it. A
    refusal gives back the call's point too, so a 429 costs nothing, as on GraphQL.
    """
    admission = admission_of(request)
    try:
        await admission.charge(cost)
    except RateLimited:
        await admission.refund()
        raise


@admission_step(admit_signed_in_call)
async def charge_signed_in_call(request: Request, principal: CurrentPrincipal) -> None:
    """The dependency form of `admit_signed_in_call`."""
    await admit_signed_in_call(admission_of(request))
