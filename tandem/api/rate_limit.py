"""Every REST call spends one point of its principal's budget (its address's when anonymous)."""

from __future__ import annotations

from fastapi import Request

from tandem.api.guard import CurrentPrincipal, services_of
from tandem.domain.rate_limits import REST_CALL_COST, subject_of


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def charge_rest_call(request: Request, principal: CurrentPrincipal) -> None:
    """Charge the call, or answer 429; the quota goes into the response's X-RateLimit headers."""
    limiter = services_of(request).rate_limiter
    if limiter is None:
        return
    subject = subject_of(principal.user_id if principal else None, client_address(request))
    quota = await limiter.charge(subject, REST_CALL_COST)
    request.scope.setdefault("state", {})["rate_limit"] = quota
