"""The one hook: graphql-core's executor, running a query's root fields by their root plan
and completing each root field's value with compiled completers.

Strawberry builds one executor per operation (`execution_context_class` in
tandem/graphql/schema.py), for every transport: HTTP, WebSocket and SSE, queries,
mutations and each event of a subscription. graphql-core builds it (the operation
found, the variables coerced, refusing bad ones in its own words). A query's root
fields are then run by their root plan (roots.py, cached with the completers):
each resolver called directly, with the info graphql-core would give it and its
arguments converted as Strawberry converts them, its errors and nulls handled by
graphql-core's own `handle_field_error`. A mutation (serial), a subscription, and a
query the root plan declines (`@defer`) run graphql-core's own root loop. Either way
a root field's value becomes the response by the completers build.py derived from
the schema, planned once per document and cached, rather than graphql-core's
field-by-field completion.

If a completion meets anything it does not take (an error raised below the root,
a null where the schema promises a value, a value graphql-core would refuse), the
field is completed again by graphql-core from the same root value, and reports
the error exactly as it always has; resolvers below the root may run twice then
(they read; loads come from the DataLoaders' caches). What could not be planned
at all is counted in `tandem_graphql_plan_declines_total`, by reason.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError, OperationDefinitionNode, OperationType, VariableNode, visit
from graphql.language import DirectiveNode, Visitor
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tandem.graphql.plan.build import Compiler, Completer, Unplannable
from tandem.graphql.plan.roots import Root, Roots, plan_roots
from tandem.graphql.plan.run import Run
from tandem.observability.metrics import GRAPHQL_PLAN_DECLINES

PLAN_CACHE_SIZE = 256
ROOTS_KEY = "<roots>"  # beside the root fields' response keys, which are GraphQL names
T = TypeVar("T")


class PlanCache:
    """Root plans (roots.py) and root fields' completers, by (schema, operation, directive
    variables' values, key).

    The parser's cache hands the same document (so the same operation node) to every
    request with the same text, so a hot document is planned once; bounded, oldest out.
    """

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._directives: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
        self._plans: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()

    def completer(self, executor: Any, parent: Any, key: str, details: Any) -> Completer | str:
        """The completer of root field `key`, or why it has none."""
        return self._cached(executor, key, lambda: _compile(executor, parent, details))

    def roots(self, executor: Any) -> Roots | str:
        """The root plan of the executor's query (roots.py), or why it has none."""
        return self._cached(executor, ROOTS_KEY, lambda: _plan_roots(executor))

    def _cached(self, executor: Any, key: str, build: Callable[[], T]) -> T:
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
            return build()
        cached = self._plans.get(cache_key)
        if cached is not None and cached[0] is executor.schema:
            self._plans.move_to_end(cache_key)
            found: T = cached[1]
            return found
        built = build()
        self._plans[cache_key] = (executor.schema, built)
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return built


def _plan_roots(executor: Any) -> Roots | str:
    try:
        return plan_roots(executor)
    except Unplannable as refusal:
        return refusal.reason


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

    def execute_operation(self, serially: bool | None = None) -> Any:
        """A query by its root plan (roots.py); anything else, or a query the plan declines,
        by graphql-core's own root loop."""
        if (
            serially is not None
            or not self.planning
            or self.operation.operation is not OperationType.QUERY
            or getattr(self.middleware_manager, "middlewares", None)
            or self.abort_signal is not None
        ):
            return super().execute_operation(serially)
        roots = PLANS.roots(self)
        if isinstance(roots, str):
            return self._decline_roots(roots)
        return self._execute_roots(roots)

    def _decline_roots(self, reason: str) -> Any:
        GRAPHQL_PLAN_DECLINES.labels(reason=reason).inc()
        return super().execute_operation()

    def _execute_roots(self, roots: Roots) -> Any:
        """graphql-core's `execute_fields` for the root, each field as its plan calls it; a
        non-null root field's error nulls the whole data, as graphql-core's does."""
        data: dict[str, Any] = {}
        awaiting: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for root in roots.fields:
                value = self._execute_root(roots, root)
                data[root.key] = value
                if is_awaitable(value):
                    awaiting.append(root.key)
        except GraphQLError as error:
            if awaiting:
                self.settle_in_background([data[key] for key in awaiting])
            self.collected_errors.add(error, None)
            return self.build_response(None)
        if not awaiting:
            return self.build_response(data)
        return self._awaited_roots(data, awaiting)

    async def _awaited_roots(self, data: dict[str, Any], awaiting: list[str]) -> Any:
        try:
            if len(awaiting) == 1:
                data[awaiting[0]] = await data[awaiting[0]]
            else:
                values = await gather_with_cancel(*(data[key] for key in awaiting))
                data.update(zip(awaiting, values, strict=True))
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data)

    def _execute_root(self, roots: Roots, root: Root) -> Any:
        """graphql-core's `execute_field` for one planned root field."""
        path = Path(None, root.key, roots.type.name)
        info = self.build_resolve_info(root.field, root.nodes, roots.type, path)
        try:
            result = root.call(self, self.root_value, info)
            if self.is_awaitable(result):
                return self._completed_root(root, info, path, result)
            completed = self.complete_value(root.field.type, root.details, info, path, result, None)
            if self.is_awaitable(completed):
                return self._completed_root(root, info, path, None, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, root.field.type, root.details, path)
            return None
        return completed

    async def _completed_root(
        self,
        root: Root,
        info: Any,
        path: Path,
        result: Awaitable[Any] | None,
        completing: Awaitable[Any] | None = None,
    ) -> Any:
        try:
            if completing is None:
                assert result is not None
                resolved = await result
                completed = self.complete_value(
                    root.field.type, root.details, info, path, resolved, None
                )
                completing = completed if self.is_awaitable(completed) else None
                if completing is None:
                    return completed
            return await completing
        except Exception as raw_error:
            self.handle_field_error(raw_error, root.field.type, root.details, path)
            return None

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
