"""What the items use cases need from storage; persistence implements it."""

from __future__ import annotations

from typing import Any, Protocol

from tandem.domain.items.records import ItemFilters, ItemRecord, ItemSort, Keyset
from tandem.domain.pages import EVERYTHING, Reads, Rows
from tandem.domain.principal import Viewer
from tandem.domain.users.records import UserRecord


class ItemRepository(Protocol):
    async def get_visible(
        self, item_id: int, viewer: Viewer, *, for_update: bool = False
    ) -> ItemRecord | None: ...

    async def get_visible_with_owner(
        self, item_id: int, viewer: Viewer
    ) -> tuple[ItemRecord, UserRecord] | None: ...

    async def get_many_visible(self, item_ids: list[int], viewer: Viewer) -> list[ItemRecord]: ...

    async def count(self, viewer: Viewer, filters: ItemFilters) -> int: ...

    async def offset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        offset: int,
        limit: int,
        owners: bool = False,
    ) -> Rows[ItemRecord]:
        """Up to `limit` items from `offset`; `owners` fills `Rows.owners` from the same read."""
        ...

    async def keyset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
        owners: bool = False,
        reads: Reads = EVERYTHING,
    ) -> Rows[ItemRecord]:
        """With `owners`, fills `Rows.owners`; of the rows, at least the fields `reads` names."""
        ...

    async def keyset_pages_by_owner(
        self,
        viewer: Viewer,
        owner_ids: list[int],
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
    ) -> dict[int, Rows[ItemRecord]]: ...

    async def count_by_owner(
        self, viewer: Viewer, owner_ids: list[int], filters: ItemFilters
    ) -> dict[int, int]: ...

    async def add(self, *, owner_id: int, values: dict[str, Any]) -> ItemRecord | None:
        """The new item; None when its owner no longer exists (deleted meanwhile)."""
        ...

    async def update(
        self, item_id: int, *, expected_version: int, values: dict[str, Any]
    ) -> ItemRecord | None: ...

    async def delete(self, item_id: int, *, expected_version: int | None) -> bool: ...
