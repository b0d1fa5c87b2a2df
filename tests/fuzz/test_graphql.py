"""Fuzz the GraphQL face from its own schema: no 5xx, no INTERNAL, every error coded.

One test per caller, each run once per root field (`test_member[Query.items]`, ...).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from schemathesis import Case

from tests.fuzz.contract import graphql_answers_with_codes, request_id_is_sent
from tests.fuzz.targets import graphql_signed_in, graphql_turned_away

from .conftest import World

CHECKS = [request_id_is_sent, graphql_answers_with_codes]
FIXTURES_PER_OPERATION = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@graphql_signed_in.parametrize()
@FIXTURES_PER_OPERATION
def test_member(case: Case, world: World) -> None:
    case.call_and_validate(headers=world.member.headers, additional_checks=CHECKS)


@graphql_signed_in.parametrize()
@FIXTURES_PER_OPERATION
def test_admin(case: Case, world: World) -> None:
    case.call_and_validate(headers=world.admin.headers, additional_checks=CHECKS)


@graphql_turned_away.parametrize()
@FIXTURES_PER_OPERATION
def test_anonymous(case: Case, world: World) -> None:
    case.call_and_validate(additional_checks=CHECKS)


@graphql_turned_away.parametrize()
@FIXTURES_PER_OPERATION
def test_member_over_budget(case: Case, world: World, spent_budgets: None) -> None:
    """Past the rate limit every answer is RATE_LIMITED, in GraphQL's shape."""
    case.call_and_validate(headers=world.member.headers, additional_checks=CHECKS)
