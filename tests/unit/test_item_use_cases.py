"""The item and event use cases on in-memory ports (tests/unit/fakes.py): the domain's rules
(scopes, visibility, ownership, versions, validation, the outbox) with no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tandem.domain.errors import (
    Forbidden,
    InvalidToken,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
    ValidationFailed,
)
from tandem.domain.events.service import EventService
from tandem.domain.items.commands import CreateItem, ItemQuery, UpdateItem
from tandem.domain.items.records import DOCUMENT, ItemSort
from tandem.domain.items.service import ItemService
from tandem.domain.pages import Window
from tandem.domain.principal import ITEMS_READ, LOGIN_SCOPES, Principal
from tandem.domain.users.records import Role, UserRecord
from tests.unit.fakes import FakeStore

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def person(store: FakeStore, user_id: int, role: Role = Role.MEMBER) -> Principal:
    store.state.users[user_id] = UserRecord(
        id=user_id,
        email=f"u{user_id}@example.com",
        name=f"User {user_id}",
        role=role,
        is_active=True,
        created_at=NOW,
        updated_at=NOW,
    )
    return Principal(user_id=user_id, role=role, scopes=LOGIN_SCOPES, token_id=uuid.uuid4())


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def items(store: FakeStore) -> ItemService:
    return ItemService(database=store)


async def test_creating_an_item_announces_it_in_the_same_transaction(store, items):
    alice = person(store, 1)
    item = await items.create(alice, CreateItem(title="  Lamp ", price=Decimal("19.9")))
    assert item.title == "Lamp"  # trimmed by the rule
    assert item.price == Decimal("19.90")
    assert item.owner_id == alice.user_id
    assert store.commits == 1
    [event] = store.state.events
    assert event.type == "item.created"
    assert event.data == {"item": DOCUMENT.encode(item)}


async def test_a_refused_create_writes_nothing(store, items):
    alice = person(store, 1)
    with pytest.raises(ValidationFailed) as raised:
        await items.create(alice, CreateItem(title="", price=Decimal("-1"), status="lost"))
    assert [error.loc for error in raised.value.errors] == [("title",), ("price",), ("status",)]
    assert store.state.items == {} and store.state.events == []


async def test_an_account_deleted_meanwhile_cannot_create(store, items):
    alice = person(store, 1)
    del store.state.users[1]
    with pytest.raises(InvalidToken):
        await items.create(alice, CreateItem(title="Lamp"))
    assert store.state.items == {} and store.state.events == []


async def test_scopes_and_signing_in_are_checked_first(store, items):
    alice = person(store, 1)
    reader = Principal(
        user_id=1, role=Role.MEMBER, scopes=frozenset({ITEMS_READ}), token_id=uuid.uuid4()
    )
    with pytest.raises(Unauthenticated):
        await items.create(None, CreateItem(title="Lamp"))
    with pytest.raises(Forbidden):
        await items.create(reader, CreateItem(title="Lamp"))
    await items.create(alice, CreateItem(title="Lamp"))


async def test_a_draft_is_seen_by_its_owner_and_admins_only(store, items):
    alice, bob, admin = person(store, 1), person(store, 2), person(store, 3, Role.ADMIN)
    draft = await items.create(alice, CreateItem(title="Secret", status="draft"))
    assert (await items.get(alice, draft.id)).id == draft.id
    assert (await items.get(admin, draft.id)).id == draft.id
    with pytest.raises(NotFound):
        await items.get(bob, draft.id)
    assert (await items.page(bob, ItemQuery(), page=1, size=20)).total == 0
    assert (await items.page(admin, ItemQuery(), page=1, size=20)).total == 1


async def test_only_the_owner_or_an_admin_changes_an_item(store, items):
    alice, bob, admin = person(store, 1), person(store, 2), person(store, 3, Role.ADMIN)
    item = await items.create(alice, CreateItem(title="Lamp"))
    with pytest.raises(Forbidden):
        await items.update(bob, item.id, UpdateItem(title="Mine"))
    with pytest.raises(Forbidden):
        await items.delete(bob, item.id)
    changed = await items.update(admin, item.id, UpdateItem(title="Fixed"))
    assert changed.title == "Fixed" and changed.version == 2


async def test_an_update_that_changes_nothing_keeps_the_version_and_announces_nothing(store, items):
    alice = person(store, 1)
    item = await items.create(alice, CreateItem(title="Lamp", tags=["a"]))
    same = await items.update(alice, item.id, UpdateItem(title="Lamp", tags=["a", "a"]))
    assert same.version == 1
    assert [event.type for event in store.state.events] == ["item.created"]


async def test_a_stale_version_is_a_failed_precondition(store, items):
    alice = person(store, 1)
    item = await items.create(alice, CreateItem(title="Lamp"))
    await items.update(alice, item.id, UpdateItem(title="Desk"), expected_version=1)
    with pytest.raises(PreconditionFailed):
        await items.update(alice, item.id, UpdateItem(title="Chair"), expected_version=1)
    with pytest.raises(PreconditionFailed):
        await items.delete(alice, item.id, expected_version=1)
    gone = await items.delete(alice, item.id, expected_version=2)
    assert gone.title == "Desk"
    with pytest.raises(PreconditionFailed):  # If-Match on an item already gone
        await items.delete(alice, item.id, expected_version=2)
    with pytest.raises(NotFound):
        await items.delete(alice, item.id)
    deleted = store.state.events[-1]
    assert deleted.type == "item.deleted"
    assert deleted.data == {"item": {"id": item.id, "node_id": DOCUMENT.encode(item)["node_id"]}}


async def test_lists_filter_order_and_page_with_their_cursors(store, items):
    alice, bob = person(store, 1), person(store, 2)
    for number, price in enumerate(["5", "1", None, "3"]):
        await items.create(
            alice,
            CreateItem(title=f"Lamp {number}", price=None if price is None else Decimal(price)),
        )
    await items.create(bob, CreateItem(title="Desk", tags=["wood"]))
    by_price = ItemQuery(owner_id=alice.user_id, sort=ItemSort.PRICE_DESC)
    first = await items.page(bob, by_price, page=1, size=2)
    assert [item.price for item in first.items] == [Decimal("5"), Decimal("3")]
    assert first.total == 4 and first.next_cursor is not None
    rest = await items.slice(bob, by_price, Window(size=10, cursor=first.next_cursor))
    assert [item.price for item in rest.items] == [Decimal("1"), None]  # no price sorts lowest
    assert not rest.has_more
    tagged = await items.page(alice, ItemQuery(tag="wood"), page=1, size=20, owners=True)
    assert [item.title for item in tagged.items] == ["Desk"]
    assert tagged.owners[bob.user_id].name == "User 2"
    found = await items.page(alice, ItemQuery(q="lamp 3"), page=1, size=20)
    assert [item.title for item in found.items] == ["Lamp 3"]


async def test_a_cursor_of_another_list_is_refused(store, items):
    alice = person(store, 1)
    for number in range(3):
        await items.create(alice, CreateItem(title=f"Lamp {number}"))
    page = await items.page(alice, ItemQuery(), page=1, size=1)
    assert page.next_cursor is not None
    for other in (ItemQuery(status="published"), ItemQuery(sort=ItemSort.TITLE_ASC)):
        with pytest.raises(ValidationFailed):
            await items.slice(alice, other, Window(size=1, cursor=page.next_cursor))


async def test_bad_list_arguments_are_refused_before_any_read(store, items):
    alice = person(store, 1)
    for query in (ItemQuery(status="lost"), ItemQuery(tag="a\x00b"), ItemQuery(q="x" * 201)):
        with pytest.raises(ValidationFailed):
            await items.page(alice, query, page=1, size=20)
    with pytest.raises(ValidationFailed):
        await items.page(alice, ItemQuery(sort=ItemSort.RELEVANCE), page=1, size=20)
    with pytest.raises(ValidationFailed):
        await items.page(alice, ItemQuery(), page=0, size=20)


async def test_events_of_a_draft_are_its_owners_and_admins(store, items):
    alice, bob, admin = person(store, 1), person(store, 2), person(store, 3, Role.ADMIN)
    events = EventService(database=store)
    await items.create(alice, CreateItem(title="Secret", status="draft"))
    await items.create(alice, CreateItem(title="Open"))
    shown = await events.list(bob, type=None, after=None, limit=10)
    assert [event.data["item"]["title"] for event in shown.events] == ["Open"]
    assert len((await events.list(alice, type=None, after=None, limit=10)).events) == 2
    assert len((await events.list(admin, type="item.*", after=None, limit=10)).events) == 2
    with pytest.raises(ValidationFailed):
        await events.list(bob, type="item.moved", after=None, limit=10)
