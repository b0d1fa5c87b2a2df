"""Fuzz the REST face from its own OpenAPI document: no 5xx, and every answer as documented.

One test per caller, each run once per operation (`test_member[GET /api/v1/items]`, ...).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from schemathesis import Case

from tests.factories import Account
from tests.fuzz.contract import request_id_is_sent, rest_errors_are_problems
from tests.fuzz.state_bound import remember, settle
from tests.fuzz.targets import rest_anonymous, rest_signed_in, rest_turned_away

from .conftest import World

CHECKS = [request_id_is_sent, rest_errors_are_problems]
# `world` is built once per operation, not per example: examples may change it (a delete,
# a rename), which is fine, since no check assumes the world is as it was built.
FIXTURES_PER_OPERATION = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def call_as(case: Case, account: Account) -> None:
    settle(case, account)
    response = case.call_and_validate(headers=account.headers, additional_checks=CHECKS)
    remember(case, response.status_code, account)


@rest_signed_in.parametrize()
@FIXTURES_PER_OPERATION
def test_member(case: Case, world: World) -> None:
    call_as(case, world.member)


@rest_signed_in.parametrize()
@FIXTURES_PER_OPERATION
def test_admin(case: Case, world: World) -> None:
    call_as(case, world.admin)


@rest_anonymous.parametrize()
@FIXTURES_PER_OPERATION
def test_anonymous(case: Case, world: World) -> None:
    settle(case)
    case.call_and_validate(additional_checks=CHECKS)


@rest_turned_away.parametrize()
@FIXTURES_PER_OPERATION
def test_forged_token(case: Case, world: World) -> None:
    """A bad token is a 401 wherever the guard runs, in the shape each endpoint speaks."""
    settle(case)
    case.call_and_validate(headers=world.forged_headers, additional_checks=CHECKS)


@rest_turned_away.parametrize()
@FIXTURES_PER_OPERATION
def test_member_over_budget(case: Case, world: World, spent_budgets: None) -> None:
    """Past the rate limit every answer is a documented 429 with Retry-After."""
    settle(case)
    case.call_and_validate(headers=world.member.headers, additional_checks=CHECKS)
