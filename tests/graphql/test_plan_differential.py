"""The planned path (tandem/graphql/plan/) against graphql-core's, byte for byte.

Generated documents (aliases, repeated fields, inline fragments and named fragments,
`... on Node`, `@skip`/`@include` with literals and variables, `__typename` at every
level, nulls, errors, cursors good and bad, nested connections) are sent by
several callers, each once with the plan and once without; the HTTP answers must be
identical: status, headers (but the request id) and body bytes. With the plan on,
each query's root fields are run by its root plan and their values completed by the
plan (tandem/graphql/plan/); with it off, by graphql-core and Strawberry's resolver
wrappers. The test also checks that the root plan ran every document, and that the
plan completed many and declined none, so it cannot pass by never planning.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain import global_ids
from tandem.domain.services import Services
from tandem.graphql.plan import executor as planned
from tests.factories import Account, make_account, make_item

DOCUMENTS = 400
SEED = 20261201

ITEM_LEAVES = [
    "id",
    "databaseId",
    "title",
    "description",
    "price",
    "tags",
    "status",
    "createdAt",
    "updatedAt",
    "version",
    "__typename",
]
USER_LEAVES = ["id", "databaseId", "name", "createdAt", "email", "role", "__typename"]
PAGE_INFO = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]


@dataclass
class World:
    callers: dict[str, Account | None]
    item_ids: list[str]  # global ids: visible, drafts of each member, deleted, garbage


@pytest.fixture
async def plain_client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An app without rate limits: a quota left would differ between the two requests."""
    quiet = settings.model_copy(update={"rate_limit": "off"})
    app = create_app(quiet, services=services_for(quiet, services.database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _world(services: Services, client: httpx.AsyncClient) -> World:
    owner = await make_account(services, client)
    other = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    ids = []
    for index in range(7):
        ids.append(
            (
                await make_item(
                    client,
                    owner if index % 2 else other,
                    price=None if index % 3 == 0 else f"{index}.50",
                    description=None if index % 2 else "with a description",
                    tags=["a", "b"][: index % 3],
                    status=["published", "draft", "archived"][index % 3],
                )
            )["node_id"]
        )
    ids += [global_ids.encode("Item", 999_999), global_ids.encode("User", 1), "not-an-id"]
    return World({"owner": owner, "other": other, "admin": admin, "anonymous": None}, ids)


class Generator:
    """Random valid documents over item, items and their nested selections."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng = rng
        self.world = world
        self.aliases = 0
        self.fragments: dict[str, str] = {}
        self.variables: dict[str, Any] = {}
        self.declared: dict[str, str] = {}

    def alias(self, name: str) -> str:
        if self.rng.random() < 0.25:
            self.aliases += 1
            return f"a{self.aliases}: {name}"
        return name

    def directive(self) -> str:
        roll = self.rng.random()
        if roll < 0.08:
            return " @skip(if: true)"
        if roll < 0.14:
            return " @include(if: false)"
        if roll < 0.2:
            return " @include(if: true)"
        if roll < 0.3:
            self.declared["flag"] = "Boolean!"
            self.variables.setdefault("flag", self.rng.random() < 0.5)
            return self.rng.choice([" @skip(if: $flag)", " @include(if: $flag)"])
        return ""

    def pick(self, names: list[str], low: int = 1) -> list[str]:
        return self.rng.sample(names, self.rng.randint(low, min(len(names), 5)))

    def user(self, depth: int) -> str:
        parts = [self.alias(n) + self.directive() for n in self.pick(USER_LEAVES)]
        if depth < 2 and self.rng.random() < 0.12:  # a nested connection
            parts.append(f"items(first: 2) {{ {self.connection(depth + 1)} }}")
        return " ".join(parts)

    def item(self, depth: int) -> str:
        parts = [self.alias(n) + self.directive() for n in self.pick(ITEM_LEAVES)]
        if self.rng.random() < 0.6:
            parts.append(f"{self.alias('owner')}{self.directive()} {{ {self.user(depth)} }}")
            if self.rng.random() < 0.15:  # the same field again: selections merge
                parts.append(f"owner {{ {self.user(depth)} }}")
        roll = self.rng.random()
        if roll < 0.15:
            parts.append(f"... on Item{self.directive()} {{ {self.alias('title')} }}")
        elif roll < 0.25:
            parts.append("... on Node { id __typename }")
        elif roll < 0.35:
            name = f"F{len(self.fragments)}"
            self.fragments[name] = (
                f"fragment {name} on Item {{ {' '.join(self.pick(ITEM_LEAVES))} }}"
            )
            parts.append(f"...{name}{self.directive()}")
        self.rng.shuffle(parts)
        return " ".join(parts)

    def connection(self, depth: int) -> str:
        parts = []
        for _ in range(self.rng.randint(1, 3)):
            roll = self.rng.random()
            if roll < 0.45:
                parts.append(f"{self.alias('nodes')} {{ {self.item(depth)} }}")
            elif roll < 0.65:
                edge = ["cursor", f"node {{ {self.item(depth)} }}", "__typename"]
                parts.append(f"{self.alias('edges')} {{ {' '.join(self.pick(edge))} }}")
            elif roll < 0.8:
                parts.append(f"pageInfo {{ {' '.join(self.pick(PAGE_INFO))} }}")
            elif roll < 0.92:
                parts.append("totalCount" + self.directive())
            else:
                parts.append("__typename")
        return " ".join(parts)

    def root(self) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            value = self.rng.choice(self.world.item_ids)
            if self.rng.random() < 0.5:
                self.declared["id"] = "ID!"
                self.variables["id"] = value
                argument = "$id"
            else:
                argument = f'"{value}"'
            return f"{self.alias('item')}(id: {argument}) {{ {self.item(0)} }}"
        if roll < 0.9:
            first = self.rng.choice(["", "(first: 3)", "(first: 1)", "(first: 0)", "(first: 500)"])
            if self.rng.random() < 0.15:
                first = self.rng.choice(['(first: 2, after: "garbage")', "(first: null)"])
            elif self.rng.random() < 0.25:  # arguments the root plan converts per request
                first = self.arguments()
            return f"{self.alias('items')}{first} {{ {self.connection(0)} }}"
        return "__typename"

    def arguments(self) -> str:
        """A list's filter and order, as literals (converted once per plan) or variables."""
        order = self.rng.choice(["TITLE_ASC", "PRICE_DESC", "CREATED_AT_ASC"])
        status = self.rng.choice(["PUBLISHED", "ARCHIVED"])
        if self.rng.random() < 0.5:
            return f"(first: 2, orderBy: {order}, filter: {{status: {status}}})"
        self.declared.update(first="Int", order="ItemOrder!", filter="ItemFilter")
        self.variables.update(first=2, order=order, filter={"status": status})
        return "(first: $first, orderBy: $order, filter: $filter)"

    def document(self) -> tuple[str, dict[str, Any]]:
        self.fragments, self.variables, self.declared, self.aliases = {}, {}, {}, 0
        roots = " ".join(self.root() for _ in range(self.rng.choice([1, 1, 1, 2])))
        declared = ", ".join(f"${name}: {kind}" for name, kind in self.declared.items())
        head = f"query Q({declared})" if declared else "query Q"
        return " ".join([f"{head} {{ {roots} }}", *self.fragments.values()]), self.variables


async def test_planned_answers_are_the_plain_answers_byte_for_byte(
    services: Services,
    client: httpx.AsyncClient,
    plain_client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await _world(services, client)
    generator = Generator(random.Random(SEED), world)
    completions = _Completions(monkeypatch)
    rng = random.Random(SEED + 1)
    differences = []
    planned_documents = rooted_documents = 0  # refused ones (validation) count as rooted
    for _ in range(DOCUMENTS):
        query, variables = generator.document()
        caller = world.callers[rng.choice(list(world.callers))]
        headers = caller.headers if caller else {}
        if rng.random() < 0.2:  # GraphQL over HTTP's own media type
            headers = {**headers, "Accept": "application/graphql-response+json"}
        body = {"query": query, "variables": variables}
        monkeypatch.setattr(planned.PlannedExecution, "planning", True)
        completions.reset()
        fast = await plain_client.post("/graphql", json=body, headers=headers)
        if completions.planned and not completions.declined:
            planned_documents += 1  # 194 of the 400 (main before: 160, graphql-core the rest)
        if completions.roots or "data" not in fast.json():
            rooted_documents += 1  # each query executed ran by its root plan
        monkeypatch.setattr(planned.PlannedExecution, "planning", False)
        plain = await plain_client.post("/graphql", json=body, headers=headers)
        if _seen(fast) != _seen(plain):
            differences.append((query, variables, _seen(fast), _seen(plain)))
    assert not differences, (len(differences), differences[:3])
    # The plan completed every root value of every document: nothing was declined (a
    # root resolver's error, such as an anonymous caller's, leaves no value to
    # complete; graphql-core reports it, once).
    assert not completions.reasons, completions.reasons
    assert planned_documents > DOCUMENTS // 3, planned_documents
    assert rooted_documents == DOCUMENTS, rooted_documents


class _Completions:
    """Counts the root fields the plan completed, and those it handed to graphql-core."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.planned = 0
        self.declined = 0
        self.roots = 0
        self.reasons: dict[str, int] = {}
        real_init = planned.Run.__init__
        real_decline = planned.PlannedExecution._decline
        real_again = planned.PlannedExecution._again
        real_roots = planned.PlannedExecution._execute_roots
        real_decline_roots = planned.PlannedExecution._decline_roots
        completions = self

        def init(run: Any, executor: Any) -> None:
            completions.planned += 1
            real_init(run, executor)

        def decline(executor: Any, reason: str, *arguments: Any) -> Any:
            completions.count(reason)
            return real_decline(executor, reason, *arguments)

        def again(executor: Any, error: Exception, *arguments: Any) -> Any:
            completions.count(getattr(error, "reason", "field_error"))
            return real_again(executor, error, *arguments)

        def roots(executor: Any, plan: Any) -> Any:
            completions.roots += 1
            return real_roots(executor, plan)

        def decline_roots(executor: Any, reason: str) -> Any:
            completions.count(reason)
            return real_decline_roots(executor, reason)

        monkeypatch.setattr(planned.Run, "__init__", init)
        monkeypatch.setattr(planned.PlannedExecution, "_execute_roots", roots)
        monkeypatch.setattr(planned.PlannedExecution, "_decline_roots", decline_roots)
        monkeypatch.setattr(planned.PlannedExecution, "_decline", decline)
        monkeypatch.setattr(planned.PlannedExecution, "_again", again)

    def count(self, reason: str) -> None:
        self.declined += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def reset(self) -> None:
        self.planned = self.declined = self.roots = 0


def _seen(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """What a client sees: the status, the headers in order (but the request id), the body."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
    return response.status_code, headers, response.content
