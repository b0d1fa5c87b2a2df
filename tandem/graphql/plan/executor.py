"""The one hook: graphql-core's executor, completing each root field with compiled completers.

Strawberry builds one executor per operation (`execution_context_class` in
tandem/graphql/schema.py), for every transport: HTTP, WebSocket and SSE, queries,
mutations and each event of a subscription. graphql-core still runs the root
fields itself (their resolvers, the serial order of mutations, and their errors,
in its own words); what this class changes is how a root field's value becomes
the response: by the completers build.py derived from the schema, planned once per
document and cached, rather than graphql-core's field-by-field completion.

If a completion meets anything it does not take (an error raised below the root,
a null where the schema promises a value, a value graphql-core would refuse), the
field is completed again by graphql-core from the same root value, and reports
the error exactly as it always has; resolvers below the root may run twice then
(they read; loads come from the DataLoaders' caches). What could not be planned
at all is counted in `tandem_graphql_plan_declines_total`, by reason.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import OperationDefinitionNode, VariableNode, visit
from graphql.language import DirectiveNode, Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tandem.graphql.plan.build import Compiler, Completer, Unplannable
from tandem.graphql.plan.run import Run
from tandem.observability.metrics import GRAPHQL_PLAN_DECLINES

PLAN_CACHE_SIZE = 256


class PlanCache:
    """Root fields' completers by (schema, operation, directive variables' values, key).

    The parser's cache hands the same document (so the same operation node) to every
    request with the same text, so a hot document is planned once; bounded, oldest out.
    """

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._directives: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
        self._plans: OrderedDict[tuple[Any, ...], tuple[Any, Completer | str]] = OrderedDict()

    def completer(self, executor: Any, parent: Any, key: str, details: Any) -> Completer | str:
        """The completer of root field `key`, or why it has none."""
        operation: OperationDefinitionNode = executor.operation
        known = self._directives.get(id(operation))
        if known is None or known[0] is not operation:
            if len(self._directives) >= self.size:
                self._directives.clear()
                self._plans.clear()
            known = (operation, _directive_variables(executor))
            self._directives[id(operation)] = known
        coerced = executor.variable_values.coerced
        try:
            cache_key = (
                id(executor.schema),
                id(operation),
                key,
                tuple(coerced.get(name) for name in known[1]),
            )
            hash(cache_key)
        except TypeError:
            return _compile(executor, parent, details)
        cached = self._plans.get(cache_key)
        if cached is not None and cached[0] is executor.schema:
            self._plans.move_to_end(cache_key)
            return cached[1]
        compiled = _compile(executor, parent, details)
        self._plans[cache_key] = (executor.schema, compiled)
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return compiled


def _compile(executor: Any, parent: Any, details: Any) -> Completer | str:
    try:
        completer, _ = Compiler(executor).field(parent, details)
    except Unplannable as refusal:
        return refusal.reason
    return completer


PLANS = PlanCache()


class PlannedExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor; root fields' values completed by the plan (see the module)."""

    planning = True  # the differential test turns it off to get graphql-core's completion

    def build_per_event_executor(self, payload: Any) -> Any:
        """A subscription event's executor, with a field-collection cache of its own.

        graphql-core's copy shares the operation's cache, keyed by field lists made
        afresh for each event: it gained entries with every event and never lost one
        (memory grew for as long as a subscription stayed open). The event's own
        cache goes with the event.
        """
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor

    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if path.prev is not None or not self.planning or isinstance(result, Exception):
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        if getattr(self.middleware_manager, "middlewares", None) or self.abort_signal is not None:
            return self._decline(
                "middleware",
                return_type,
                field_details_list,
                info,
                path,
                result,
                position_context,
            )
        completer = PLANS.completer(self, info.parent_type, path.key, field_details_list)
        if isinstance(completer, str):
            return self._decline(
                completer, return_type, field_details_list, info, path, result, position_context
            )
        context = self.context_value
        spent = _spent(context)
        run = Run(self)
        box: list[Any] = [None]
        try:
            completer(result, box, 0, path, run)
        except Exception as error:
            run.close()
            return self._again(
                error,
                spent,
                return_type,
                field_details_list,
                info,
                path,
                result,
                position_context,
            )
        if run.pending:
            return self._drained(
                run,
                box,
                spent,
                return_type,
                field_details_list,
                info,
                path,
                result,
                position_context,
            )
        return box[0]

    async def _drained(
        self, run: Run, box: list[Any], spent: tuple[int, int] | None, *arguments: Any
    ) -> Any:
        try:
            await run.drain()
        except Exception as error:
            run.close()
            completed = self._again(error, spent, *arguments)
            return await completed if self.is_awaitable(completed) else completed
        return box[0]

    def _again(self, error: Exception, spent: tuple[int, int] | None, *arguments: Any) -> Any:
        """graphql-core completes the field from the same value, and words any error."""
        if spent is not None:  # what the failed completion's resolvers counted, forgotten
            self.context_value.connections_resolved, self.context_value.searches_resolved = spent
        reason = error.reason if isinstance(error, Unplannable) else "field_error"
        GRAPHQL_PLAN_DECLINES.labels(reason=reason).inc()
        return super().complete_value(*arguments)

    def _decline(self, reason: str, *arguments: Any) -> Any:
        GRAPHQL_PLAN_DECLINES.labels(reason=reason).inc()
        return super().complete_value(*arguments)


def _directive_variables(executor: Any) -> tuple[str, ...]:
    """The variables any directive of the operation or its fragments reads."""
    names: set[str] = set()

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)

    visit(executor.operation, Finder())
    for fragment in executor.fragment_definitions.values():
        visit(fragment, Finder())
    return tuple(sorted(names))


def _spent(context: Any) -> tuple[int, int] | None:
    """What the context has counted so far (extensions.cost), to forget a failed attempt's."""
    if not hasattr(context, "connections_resolved"):
        return None
    return context.connections_resolved, context.searches_resolved
