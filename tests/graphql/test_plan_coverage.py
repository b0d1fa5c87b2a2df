"""The plan is derived from the schema: every field of Item and User plans, and so would a new one.

No table in tandem/graphql/plan/ names a field. These tests hold that: each field
the schema gives `Item` and `User` (read from the schema itself, so a field added
later is in the list) is completed by the plan, with no decline counted in
`tandem_graphql_plan_declines_total` and the same bytes as graphql-core's own
completion; and a schema the planner has never seen (plain fields, resolvers with
arguments, enums, custom scalars, lists, nested objects, an interface, an
awaitable attribute) plans the same way, with no edit to the planner; its root fields
(input objects, variables, defaults, a permission) run by the root plan as
Strawberry's wrappers would call them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLObjectType, execute, get_named_type, is_leaf_type, parse
from prometheus_client import REGISTRY

from tandem.graphql.plan import executor as planned
from tandem.graphql.schema import build_schema
from tests.factories import make_account, make_item


def _declines() -> float:
    """Every decline counted so far, whatever its reason."""
    total = 0.0
    for family in REGISTRY.collect():
        if family.name == "tandem_graphql_plan_declines":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


@pytest.fixture
def completions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many root fields the plan completed (one entry each)."""
    runs: list[int] = []
    real = planned.Run.__init__

    def counted(run: Any, executor: Any) -> None:
        runs.append(1)
        real(run, executor)

    monkeypatch.setattr(planned.Run, "__init__", counted)
    yield runs


def _selection(object_type: GraphQLObjectType, name: str) -> str:
    """The field, with `__typename` under it when it is not a leaf; no arguments."""
    field = object_type.fields[name]
    required = [a for a, arg in field.args.items() if arg.type.to_kwargs().get("of_type")]
    assert not required, f"{object_type.name}.{name} needs arguments: {required}"
    if is_leaf_type(get_named_type(field.type)):
        return name
    return f"{name} {{ __typename }}"


def _fields(type_name: str) -> list[str]:
    schema = build_schema()._schema
    object_type = schema.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    return [_selection(object_type, name) for name in object_type.fields]


@pytest.mark.parametrize("selection", _fields("Item"))
async def test_every_field_of_item_plans(client, services, completions, monkeypatch, selection):
    await _plans(client, services, completions, monkeypatch, f"item(id: $id) {{ {selection} }}")


@pytest.mark.parametrize("selection", _fields("User"))
async def test_every_field_of_user_plans(client, services, completions, monkeypatch, selection):
    await _plans(
        client, services, completions, monkeypatch, f"item(id: $id) {{ owner {{ {selection} }} }}"
    )


async def _plans(
    client: httpx.AsyncClient,
    services: Any,
    completions: list[int],
    monkeypatch: pytest.MonkeyPatch,
    root: str,
) -> None:
    ada = await make_account(services, client)
    item = await make_item(client, ada, price="2.50", tags=["a"])
    body = {"query": f"query Q($id: ID!) {{ {root} }}", "variables": {"id": item["node_id"]}}
    before = _declines()
    answer = await client.post("/graphql", json=body, headers=ada.headers)
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json(), answer.json()
    assert completions, "the plan did not complete the field"
    assert _declines() == before
    monkeypatch.setattr(planned.PlannedExecution, "planning", False)
    plain = await client.post("/graphql", json=body, headers=ada.headers)
    # The same bytes, up to the cost (the two requests left different budgets).
    assert answer.content.split(b',"extensions"')[0] == plain.content.split(b',"extensions"')[0]


# --- a schema the planner has never seen ----------------------------------------------------


@strawberry.enum
class Shade(Enum):
    LIGHT = "light"
    DARK = "dark"


@strawberry.interface
class Thing:
    id: strawberry.ID


class Later:
    """An attribute that is awaited, as a DataLoader's load is."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        async def ready() -> Any:
            await asyncio.sleep(0)
            return self.value

        return ready().__await__()


@strawberry.type
class Gadget(Thing):
    quantity: int  # the kind of field issue 21 added by hand in 20 files
    shade: Shade
    price: Decimal | None
    made: datetime
    tags: list[str]
    maker: Maker

    @strawberry.field
    def doubled(self, times: int = 2) -> int:
        return self.quantity * times

    @strawberry.field
    async def parts(self) -> list[Gadget]:
        return [_gadget(self.quantity + n) for n in (1, 2)]


@strawberry.type
class Maker:
    name: str


def _gadget(quantity: int) -> Gadget:
    return Gadget(
        id=strawberry.ID(f"g{quantity}"),
        quantity=quantity,
        shade=Shade.DARK,
        price=Decimal("1.50") if quantity % 2 else None,
        made=datetime(2026, 12, 7, 1, 2, 3, 456, tzinfo=UTC),
        tags=["x", "y"],
        maker=Later(Maker(name=f"m{quantity}")),  # type: ignore[arg-type]
    )


@strawberry.type
class Query:
    @strawberry.field
    async def gadget(self) -> Gadget:
        return _gadget(3)

    @strawberry.field
    def things(self) -> list[Thing]:
        return [_gadget(5), _gadget(6)]


NEW_DOCUMENT = """
query {
  gadget { id quantity shade price made tags doubled(times: 3) maker { name }
           parts { quantity maker { name } parts { doubled } } __typename }
  things { id __typename ... on Gadget { quantity shade } }
}
"""


async def test_a_schema_the_planner_never_saw_plans_with_no_edit(completions, monkeypatch):
    schema = strawberry.Schema(query=Query, execution_context_class=planned.PlannedExecution)
    before = _declines()
    answer = await schema.execute(NEW_DOCUMENT)
    assert answer.errors is None
    assert len(completions) == 2  # both root fields, by the plan
    assert _declines() == before
    monkeypatch.setattr(planned.PlannedExecution, "planning", False)
    plain = await schema.execute(NEW_DOCUMENT)
    assert answer.data == plain.data
    assert list(answer.data["gadget"]) == list(plain.data["gadget"])  # the order of the keys
    assert answer.data["gadget"]["made"] == "2026-12-07T01:02:03.000456+00:00"
    assert answer.data["gadget"]["parts"][1]["maker"] == {"name": "m5"}


async def test_the_introspection_query_plans_as_graphql_core_answers_it(
    client, completions, monkeypatch
):
    """graphql-core's own types (`__schema`, `__type`) plan by the same rules: their fields
    have resolvers of graphql-core's, which the plan calls."""
    from graphql import get_introspection_query

    body = {"query": get_introspection_query(descriptions=True)}
    before = _declines()
    answer = await client.post("/graphql", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert completions and _declines() == before
    monkeypatch.setattr(planned.PlannedExecution, "planning", False)
    plain = await client.post("/graphql", json=body)
    assert answer.content.split(b',"extensions"')[0] == plain.content.split(b',"extensions"')[0]


@strawberry.input
class Range:
    low: int
    high: int | None = None
    shades: list[Shade] | None = None


class Refused(strawberry.BasePermission):
    message = "Not for you."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


SEEN: list[Any] = []


@strawberry.type
class Arguments:
    @strawberry.field
    async def within(self, info: strawberry.Info, range: Range, shade: Shade = Shade.DARK) -> str:
        SEEN.append(range)
        return f"{range.low}-{range.high} {range.shades} {shade.name} {info.path.key}"

    @strawberry.field
    def counted(self, numbers: list[int], label: str | None = None) -> str:
        return f"{label}: {sum(numbers)}"

    @strawberry.field(permission_classes=[Refused])
    def secret(self) -> str | None:
        return "never"


ARGUMENTS_DOCUMENT = """
query Q($range: Range!, $numbers: [Int!]!) {
  a: within(range: {low: 1, high: 2, shades: [DARK]}, shade: LIGHT)
  b: within(range: $range)
  counted(numbers: $numbers, label: "sum")
  fixed: counted(numbers: [4, 5])
  secret
}
"""


async def test_root_fields_run_by_the_root_plan_as_strawberry_calls_them(monkeypatch):
    """Arguments converted as Strawberry converts them (literals and variables, input
    objects, enums, lists, defaults), `info` passed, a permission refused in Strawberry's
    words; an input object is never shared between two requests of the same plan (one
    parsed document, as the document cache hands every request of the same text)."""
    schema = strawberry.Schema(query=Arguments, execution_context_class=planned.PlannedExecution)
    document = parse(ARGUMENTS_DOCUMENT)
    roots: list[int] = []
    real = planned.PlannedExecution._execute_roots

    def counted(executor: Any, plan: Any) -> Any:
        roots.append(1)
        return real(executor, plan)

    async def run() -> Any:
        result = execute(
            schema._schema,
            document,
            variable_values={"range": {"low": 3, "shades": ["LIGHT", "DARK"]}, "numbers": [1, 2]},
            executor_class=planned.PlannedExecution,
        )
        return await result if asyncio.iscoroutine(result) else result

    monkeypatch.setattr(planned.PlannedExecution, "_execute_roots", counted)
    before = _declines()
    SEEN.clear()
    first, second = await run(), await run()
    assert roots == [1, 1] and _declines() == before
    assert (
        first.data
        == second.data
        == {
            "a": "1-2 [<Shade.DARK: 'dark'>] LIGHT a",
            "b": "3-None [<Shade.LIGHT: 'light'>, <Shade.DARK: 'dark'>] DARK b",
            "counted": "sum: 3",
            "fixed": "None: 9",
            "secret": None,
        }
    )
    assert [error.message for error in first.errors or ()] == ["Not for you."]
    literal_ranges = [SEEN[0], SEEN[2]]  # `a` of each request
    assert literal_ranges[0] == literal_ranges[1] and literal_ranges[0] is not literal_ranges[1]
    monkeypatch.setattr(planned.PlannedExecution, "planning", False)
    plain = await run()
    assert plain.data == first.data
    assert [e.formatted for e in plain.errors or ()] == [e.formatted for e in first.errors or ()]
