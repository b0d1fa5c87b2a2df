"""Fuzz REST call sequences: create an item, then read, change and delete that very item.

Stateless fuzzing mostly meets 404s, since generated ids rarely exist. Schemathesis infers
links from the document (POST /items answers the id that /items/{item_id} takes) and
chains calls along them, with its stateful checks on top (a deleted item stays gone, a
created one can be read).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case, CheckFunction, Response

from tests.factories import PASSWORD
from tests.fuzz.contract import request_id_is_sent, rest_errors_are_problems
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.state_bound import remember, settle
from tests.fuzz.targets import MAX_EXAMPLES, rest_signed_in

from .conftest import World

# The member never deletes their own account here: every later scenario would be a 401.
# (DELETE /users/me is fuzzed on its own in test_rest.py.)
MemberMachine = rest_signed_in.exclude(method="DELETE", path="/api/v1/users/me").as_state_machine()
SCENARIOS = settings(
    max_examples=2 * MAX_EXAMPLES,
    stateful_step_count=8,
    phases=[Phase.generate],
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_member_scenarios(world: World, database_url: str) -> None:
    """Each scenario starts from the world's own rows (see snapshot.py): links drawn from
    earlier answers meet the same answers, so Hypothesis sees no flaky strategy."""
    snapshot = Snapshot(database_url)
    snapshot.take()

    class Scenario(MemberMachine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            snapshot.restore()
            world.member.password = PASSWORD  # as the world made it, whatever came before

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": world.member.headers}

        def before_call(self, case: Case) -> None:
            settle(case, world.member)

        def after_call(self, response: Response, case: Case) -> None:
            remember(case, response.status_code, world.member)

        def validate_response(
            self,
            response: Response,
            case: Case,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            checks = [request_id_is_sent, rest_errors_are_problems]
            super().validate_response(response, case, additional_checks=checks, **kwargs)

    try:
        Scenario.run(settings=SCENARIOS)
    finally:
        snapshot.drop()
