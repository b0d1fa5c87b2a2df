"""Running a plan: the same domain calls the resolvers make, then rows straight to JSON.

`item` and `items` call the same services with the same arguments as
tandem/graphql/items/queries.py (so visibility, validation and errors are the
domain's); only the way rows become the response differs. Any exception leaves
the operation to graphql-core (see executor.py), which then reports the error
exactly as it always has.
"""

from __future__ import annotations

from typing import Any

from graphql.execution.values import get_argument_values

from tandem.domain import global_ids
from tandem.domain.errors import NotFound
from tandem.domain.items.records import DEFAULT_SORT
from tandem.domain.principal import signed_in
from tandem.graphql.items.inputs import item_query
from tandem.graphql.plan.build import ItemRoot, ItemsRoot, Plan
from tandem.graphql.relay import window


async def run(plan: Plan, executor: Any) -> dict[str, Any]:
    context = executor.context_value
    data: dict[str, Any] = {}
    for key, root in plan.roots:
        if isinstance(root, ItemRoot):
            data[key] = await _item(root, executor, context)
        elif isinstance(root, ItemsRoot):
            data[key] = await _items(root, executor, context)
        else:
            data[key] = root  # __typename
    return data


async def _item(root: ItemRoot, executor: Any, context: Any) -> dict[str, Any]:
    arguments = get_argument_values(root.field, root.node, executor.variable_values)
    principal, services = context.principal, context.services
    signed_in(principal)  # anonymous callers hear UNAUTHENTICATED first, as in relay.py
    item_id = global_ids.decode_as(arguments["id"], "Item")
    if item_id is None:
        raise NotFound("not an Item id")  # graphql-core words the error
    if root.owner:
        item, owner = await services.items.get_with_owner(principal, item_id)
        return root.row(item, owner, principal)
    return root.row(await services.items.get(principal, item_id), None, principal)


async def _items(root: ItemsRoot, executor: Any, context: Any) -> dict[str, Any]:
    arguments = get_argument_values(root.field, root.node, executor.variable_values)
    principal, services = context.principal, context.services
    query = item_query(None, DEFAULT_SORT)
    paging = window(arguments.get("first"), arguments.get("after"), None, None)
    context.connections_resolved += 1
    page = await services.items.slice(principal, query, paging, owners=root.owner)
    owners = page.owners
    items = page.items
    connection: dict[str, Any] = {}
    for key, what in root.parts:
        if what == "totalCount":
            connection[key] = await services.items.count(principal, query)
        elif what == "__typename":
            connection[key] = "ItemConnection"
        elif what[0] == "nodes":
            row = what[1]
            connection[key] = [row(item, owners.get(item.owner_id), principal) for item in items]
        elif what[0] == "edges":
            entries = what[1]
            connection[key] = [_edge(entries, page, item, owners, principal) for item in items]
        else:
            connection[key] = _page_info(what[1], page)
    return connection


def _edge(
    entries: list[tuple[str, Any]], page: Any, item: Any, owners: Any, principal: Any
) -> dict[str, Any]:
    edge: dict[str, Any] = {}
    for key, (name, extra) in entries:
        if name == "cursor":
            edge[key] = page.cursor_of(item)
        elif name == "node":
            edge[key] = extra(item, owners.get(item.owner_id), principal)
        else:
            edge[key] = extra  # __typename
    return edge


def _page_info(entries: list[tuple[str, Any]], page: Any) -> dict[str, Any]:
    """As PageInfo does: the page's first and last cursors, whether pages follow and precede."""
    items = page.items
    info: dict[str, Any] = {}
    for key, (name, extra) in entries:
        if name == "hasNextPage":
            info[key] = page.has_more
        elif name == "hasPreviousPage":
            info[key] = page.has_previous
        elif name == "startCursor":
            info[key] = page.cursor_of(items[0]) if items else None
        elif name == "endCursor":
            info[key] = page.cursor_of(items[-1]) if items else None
        else:
            info[key] = extra  # __typename
    return info
