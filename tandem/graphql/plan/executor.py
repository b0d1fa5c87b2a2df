"""The one hook: graphql-core's executor, which runs a planned operation without resolvers.

Strawberry builds one executor per operation (`execution_context_class` in
tandem/graphql/schema.py). For a query whose shape the planner covers
(tandem/graphql/plan/build.py) it runs the plan; for anything else, and whenever
the plan raises (a hidden item, a bad cursor, an anonymous caller), it runs the
operation the plain way, from the start, so every error reads exactly as before.
A query reads only, so running it again after a failed plan changes nothing.
"""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tandem.graphql.plan.build import PlanCache
from tandem.graphql.plan.run import run

PLANS = PlanCache()


class PlannedExecution(StrawberryGraphQLCoreExecutionContext):
    """Plans hot queries; graphql-core runs everything else (and anything that fails)."""

    planning = True  # the differential test turns it off to get the plain path

    def execute_operation(self, serially: bool | None = None) -> Any:
        if (
            self.planning
            and serially is None
            and self.operation.operation is OperationType.QUERY
            and self.abort_signal is None
            and not getattr(self.middleware_manager, "middlewares", ())
            and getattr(self.context_value, "planned", False)
        ):
            plan = PLANS.plan_for(self)
            if plan is not None:
                return self._planned(plan)
        return super().execute_operation(serially)

    async def _planned(self, plan: Any) -> Any:
        context = self.context_value
        spent = context.connections_resolved
        try:
            data = await run(plan, self)
        except Exception:  # graphql-core runs it again and reports the error
            context.connections_resolved = spent
            result = super().execute_operation()
            return await result if self.is_awaitable(result) else result
        return ExecutionResult(data, None)
