"""The four benchmark paths, as requests both load generators can send."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

VALUE = "@VALUE@"  # replaced by one of `values` per request, in turn

GRAPHQL_ITEM = "query($id: ID!) { item(id: $id) { id title price owner { name } } }"
GRAPHQL_ITEMS = "{ items(first: 50) { nodes { id title price owner { name } } } }"


def graphql_items(first: int) -> str:
    return f"{{ items(first: {first}) {{ nodes {{ id title price owner {{ name }} }} }} }}"


def global_id(type_name: str, database_id: int) -> str:
    return base64.b64encode(f"{type_name}:{database_id}".encode()).decode()


@dataclass(frozen=True)
class Target:
    """One request shape: a method, a path and a body, with VALUE filled in from `values`."""

    name: str
    label: str
    method: str
    path: str
    body: str = ""
    values: tuple[str, ...] = ()
    target_ratio: float | None = None
    graphql: bool = False

    def path_for(self, value: str) -> str:
        return self.path.replace(VALUE, value)

    def body_for(self, value: str) -> bytes:
        return self.body.replace(VALUE, value).encode()

    def first_value(self) -> str:
        return self.values[0] if self.values else ""


def _graphql_body(query: str, variables: dict[str, str] | None = None) -> str:
    document: dict[str, object] = {"query": query}
    if variables is not None:
        document["variables"] = variables
    return json.dumps(document, separators=(",", ":"))


def benchmark_targets(item_ids: list[int]) -> list[Target]:
    """The four paths, with the ratio to the floor each must reach: REST item 0.75 and list
    0.70 (the plain path made the fast one); GraphQL's bars are against PostGraphile
    (bench/peer), its floor ratios kept from before."""
    return [
        Target(
            name="rest-item",
            label="REST `GET /items/{id}`",
            method="GET",
            path=f"/api/v1/items/{VALUE}",
            values=tuple(str(i) for i in item_ids),
            target_ratio=0.75,
        ),
        Target(
            name="rest-list",
            label="REST `GET /items?size=50`",
            method="GET",
            path="/api/v1/items?page=1&size=50",
            target_ratio=0.70,
        ),
        Target(
            name="graphql-item",
            label="GraphQL `item(id)` + owner",
            method="POST",
            path="/graphql",
            body=_graphql_body(GRAPHQL_ITEM, {"id": VALUE}),
            values=tuple(global_id("Item", i) for i in item_ids),
            target_ratio=0.45,
            graphql=True,
        ),
        Target(
            name="graphql-list",
            label="GraphQL `items(first: 50)` + owners",
            method="POST",
            path="/graphql",
            body=_graphql_body(GRAPHQL_ITEMS),
            target_ratio=0.35,
            graphql=True,
        ),
    ]


def page_size_targets() -> list[Target]:
    """The list paths at other page sizes: statements per request must not grow with them."""
    targets = []
    for size in (5, 100):
        targets.append(
            Target(
                name=f"rest-list-{size}",
                label=f"REST list, size {size}",
                method="GET",
                path=f"/api/v1/items?page=1&size={size}",
            )
        )
        targets.append(
            Target(
                name=f"graphql-list-{size}",
                label=f"GraphQL items(first: {size})",
                method="POST",
                path="/graphql",
                body=_graphql_body(graphql_items(size)),
                graphql=True,
            )
        )
    return targets
