"""plan/start.py builds graphql-core's executor as `Executor.build` does: the same data, the
same refusals in the same words, the same variables handed to resolvers, whether a request's
variables take the fast way (a value GraphQL's own scalars take as it is) or graphql-core's."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, execute, parse, print_ast
from graphql.execution.incremental.incremental_executor import IncrementalExecutor

from tandem.graphql.plan import start

SDL = """
type Query {
  echo(id: ID, s: String, n: Int, b: Boolean, f: Float, ids: [ID!]): String
}
"""
SCHEMA = build_schema(SDL)


def _echo(_source: Any, info: Any, **arguments: Any) -> str:
    # Every variable as the executor holds it: coerced value and source, in order.
    held = info.variable_values
    sources = [
        (
            name,
            source.signature.name,
            str(source.signature.type),
            print_ast(source.signature.default.literal) if source.signature.default else None,
            source.value,
        )
        for name, source in held.sources.items()
    ]
    return repr((sorted(arguments.items()), sources, list(held.coerced.items())))


SCHEMA.query_type.fields["echo"].resolve = _echo  # type: ignore[union-attr]

CASES: list[tuple[str, str | None, dict[str, Any] | None]] = [
    ("query($id: ID!) { echo(id: $id) }", None, {"id": "SXRlbTox"}),
    ("query($id: ID!) { echo(id: $id) }", None, {"id": 7}),  # graphql-core makes it "7"
    ("query($id: ID!) { echo(id: $id) }", None, {"id": 1.5}),
    ("query($id: ID!) { echo(id: $id) }", None, {"id": True}),
    ("query($id: ID!) { echo(id: $id) }", None, {"id": None}),
    ("query($id: ID!) { echo(id: $id) }", None, {}),
    ("query($id: ID!) { echo(id: $id) }", None, None),
    ("query($id: ID!) { echo(id: $id) }", None, {"id": "x", "other": [1]}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": 3}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": 2**31}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": -(2**31)}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": 3.0}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": True}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": "3"}),
    ("query($n: Int) { echo(n: $n) }", None, {"n": None}),
    ("query($n: Int) { echo(n: $n) }", None, {}),
    ('query($s: String = "x") { echo(s: $s) }', None, {}),
    ('query($s: String = "x") { echo(s: $s) }', None, {"s": None}),
    ('query($s: String = "x") { echo(s: $s) }', None, {"s": "y"}),
    ("query($b: Boolean!) { echo(b: $b) }", None, {"b": False}),
    ("query($b: Boolean!) { echo(b: $b) }", None, {"b": 1}),
    ("query($f: Float) { echo(f: $f) }", None, {"f": 2}),  # not a fast type: graphql-core's
    ("query($ids: [ID!]) { echo(ids: $ids) }", None, {"ids": ["a", 2]}),
    ("query($id: ID!, $n: Int!) { echo(id: $id, n: $n) }", None, {"id": "a", "n": "no"}),
    ("query A { a: echo } query B { b: echo }", None, {}),  # several, no name
    ("query A { a: echo } query B { b: echo }", "B", {}),
    ("query A { a: echo } query B { b: echo }", "C", {}),
    ("{ ...F } fragment F on Query { echo }", None, None),
    ("fragment F on Query { echo }", None, None),  # no operation
]


def _outcome(result: Any) -> tuple[Any, Any]:
    return result.data, [error.formatted for error in result.errors or ()]


@pytest.mark.parametrize(("text", "name", "variables"), CASES)
def test_as_graphql_core_builds_it(
    text: str, name: str | None, variables: dict[str, Any] | None
) -> None:
    document = parse(text, experimental_fragment_arguments=True)
    expected = _outcome(execute(SCHEMA, document, variable_values=variables, operation_name=name))
    for _ in range(2):  # prepared, then from the cache
        found = start.execute(
            SCHEMA,
            document,
            context_value=None,
            variable_values=variables,
            operation_name=name,
            executor_class=IncrementalExecutor,
            is_awaitable=lambda _value: False,
        )
        assert _outcome(found) == expected


def test_fast_way_taken_only_for_scalars_it_knows() -> None:
    """The cases above would pass with no fast way at all: these say it is there."""
    fast = start._prepare(SCHEMA, parse("query($id: ID!, $n: Int) { echo }"), None)
    assert fast is not None and fast.variables is not None
    other = start._prepare(SCHEMA, parse("query($id: ID!, $f: Float) { echo }"), None)
    assert other is not None and other.variables is None


def test_a_document_refused_is_graphql_cores() -> None:
    assert start._prepare(SCHEMA, parse("query A { echo } query B { echo }"), None) is None
    assert start._prepare(SCHEMA, parse("query A { echo }"), "B") is None
