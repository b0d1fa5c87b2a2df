"""The engine, and the two ways to borrow a connection from it.

`transaction()` is the unit of work for writes: it commits once, when the block
ends, so a failed commit raises before any response is sent. `reader()` runs in
autocommit, so a read costs its statements and no BEGIN/ROLLBACK round trips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tandem.persistence.unit_of_work import UnitOfWork


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            connect_args={"server_settings": {"application_name": "tandem"}},
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self.engine.begin() as connection:
            yield UnitOfWork(connection)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        async with self._autocommit.connect() as connection:
            yield UnitOfWork(connection)

    async def is_ready(self) -> bool:
        """Reachable and migrated to the newest revision this code knows."""
        from tandem.persistence.migrate import head_revision

        try:
            async with self._autocommit.connect() as connection:
                current = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
        except Exception:  # any failure to reach or read the database means "not ready"
            return False
        return current == head_revision()

    async def dispose(self) -> None:
        await self.engine.dispose()
