"""Per-request DataLoaders: every relation is loaded in batches, one statement per batch.

Built for one request and one principal, never at import time. A batch runs in
a task of its own; over HTTP its statement takes its turn on the request's
connection (the request's database session, tandem/graphql/context.py), so a
request never holds one connection while waiting for a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from functools import cached_property
from typing import TypeVar

from aiodataloader import DataLoader

from tandem.domain.items.commands import ItemQuery
from tandem.domain.items.records import ItemRecord
from tandem.domain.pages import Slice, Window
from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tandem.domain.users.records import UserRecord

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)

# (owner id, window, query) and (owner id, query)
OwnerSliceKey = tuple[int, Window, ItemQuery]
OwnerCountKey = tuple[int, ItemQuery]


async def _grouped(
    keys: list[K],
    group_of: Callable[[K], G],
    fetch: Callable[[G, list[int]], Awaitable[dict[int, V]]],
    owner_of: Callable[[K], int],
) -> list[V]:
    """Batch keys that share everything but the owner into one fetch per group."""
    groups: dict[G, list[int]] = defaultdict(list)
    for key in keys:
        groups[group_of(key)].append(owner_of(key))
    results: dict[G, dict[int, V]] = {}
    for group, owner_ids in groups.items():
        results[group] = await fetch(group, sorted(set(owner_ids)))
    return [results[group_of(key)][owner_of(key)] for key in keys]


class Loaders:
    """Each loader is built on first use: a request pays only for the relations it asks for."""

    def __init__(self, services: Services, principal: Principal | None) -> None:
        self._services = services
        self._principal = principal

    @cached_property
    def user(self) -> DataLoader[int, UserRecord | None]:
        return DataLoader(self._users)

    @cached_property
    def item(self) -> DataLoader[int, ItemRecord | None]:
        return DataLoader(self._items)

    @cached_property
    def items_of_owner(self) -> DataLoader[OwnerSliceKey, Slice[ItemRecord]]:
        return DataLoader(self._owner_slices)

    @cached_property
    def item_count_of_owner(self) -> DataLoader[OwnerCountKey, int]:
        return DataLoader(self._owner_counts)

    async def _users(self, ids: list[int]) -> list[UserRecord | None]:
        found = {u.id: u for u in await self._services.users.get_many(self._principal, ids)}
        return [found.get(user_id) for user_id in ids]

    async def _items(self, ids: list[int]) -> list[ItemRecord | None]:
        found = {i.id: i for i in await self._services.items.get_many(self._principal, ids)}
        return [found.get(item_id) for item_id in ids]

    async def _owner_slices(self, keys: list[OwnerSliceKey]) -> list[Slice[ItemRecord]]:
        async def fetch(
            group: tuple[Window, ItemQuery], owner_ids: list[int]
        ) -> dict[int, Slice[ItemRecord]]:
            window, query = group
            return await self._services.items.slices_by_owner(
                self._principal, owner_ids, query, window
            )

        return await _grouped(keys, lambda k: (k[1], k[2]), fetch, lambda k: k[0])

    async def _owner_counts(self, keys: list[OwnerCountKey]) -> list[int]:
        async def fetch(query: ItemQuery, owner_ids: list[int]) -> dict[int, int]:
            return await self._services.items.counts_by_owner(self._principal, owner_ids, query)

        return await _grouped(keys, lambda k: k[1], fetch, lambda k: k[0])
