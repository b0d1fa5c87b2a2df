"""A small, realistic demo data set for exploring Tandem (loaded by `tandem seed-demo`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from tandem.domain.errors import Conflict
from tandem.domain.items.commands import CreateItem
from tandem.domain.principal import LOGIN_SCOPES, Principal
from tandem.domain.services import Services
from tandem.domain.users.commands import RegisterUser
from tandem.domain.users.records import Role

# Seeding acts as each user from the command line, not through any token.
COMMAND_LINE = uuid.UUID(int=0)

USERS: list[tuple[str, str, Role]] = [
    ("ada@example.com", "Ada Lovelace", Role.ADMIN),
    ("grace@example.com", "Grace Hopper", Role.MEMBER),
    ("alan@example.com", "Alan Turing", Role.MEMBER),
]

ITEMS: dict[str, list[tuple[str, str, str | None, list[str], str]]] = {
    "ada@example.com": [
        (
            "Analytical Engine notes",
            "Translated, with notes A to G.",
            "120.00",
            ["math", "books"],
            "published",
        ),
        ("Bernoulli numbers program", "The first published algorithm.", None, ["math"], "draft"),
    ],
    "grace@example.com": [
        (
            "COBOL field guide",
            "Pocket reference for business programs.",
            "24.50",
            ["books", "cobol"],
            "published",
        ),
        ("A nanosecond of wire", "11.8 inches, for lectures.", "0.99", ["hardware"], "published"),
        (
            "Moth from the Mark II",
            "The first actual case of bug being found.",
            "999.99",
            ["history"],
            "archived",
        ),
    ],
    "alan@example.com": [
        (
            "Enigma rotor set",
            "Three rotors, a reflector, a plugboard.",
            "450.00",
            ["hardware", "crypto"],
            "published",
        ),
        (
            "Morphogenesis draft",
            "Reaction-diffusion, not yet for others.",
            None,
            ["biology"],
            "draft",
        ),
    ],
}


@dataclass(frozen=True)
class Seeded:
    users: int
    items: int
    already_there: int  # demo users found, left as they were

    def summary(self) -> str:
        """What a person running `tandem seed-demo` is told."""
        if not self.users:
            return (
                f"the demo data is already there ({self.already_there} demo users); "
                "nothing was added"
            )
        loaded = f"demo data loaded ({self.users} users, {self.items} items)"
        if self.already_there:
            loaded += f"; {self.already_there} demo users were already there, left as they are"
        return loaded


def accounts() -> list[str]:
    """One line per demo account: address, role, name (what `tandem seed-demo` prints)."""
    width = max(len(email) for email, _, _ in USERS)
    return [f"{email:<{width}}  {role.value:<6}  {name}" for email, name, role in USERS]


async def seed(services: Services, *, password: str) -> Seeded:
    """Create the demo users and their items; users that already exist are left alone."""
    created_users = created_items = already_there = 0
    for email, name, role in USERS:
        try:
            user = await services.users.register(
                RegisterUser(email=email, name=name, password=password), role=role, welcome=False
            )
        except Conflict:
            already_there += 1
            continue
        created_users += 1
        owner = Principal(user_id=user.id, role=role, scopes=LOGIN_SCOPES, token_id=COMMAND_LINE)
        for title, description, price, tags, status in ITEMS[email]:
            await services.items.create(
                owner,
                CreateItem(
                    title=title,
                    description=description,
                    price=Decimal(price) if price else None,
                    tags=tags,
                    status=status,
                ),
            )
            created_items += 1
    return Seeded(users=created_users, items=created_items, already_there=already_there)
