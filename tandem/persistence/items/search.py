"""What `q` matches, and how well: trigram statements over the title and description.

Every word of `q` must be found, as a substring (`ILIKE`) or nearly (pg_trgm's
word similarity, `<%`, which forgives a wrong, missing or extra letter); both
are answered by the trigram GIN index on `search_text`. pg_trgm sees only
letters and digits, so a word with neither (an emoji, a symbol) is looked up in
`search_symbols` (a GIN index of the text's non-ASCII symbols) and then
confirmed as a substring (`strpos`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Double,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
)

from tandem.domain.items.rules import search_terms
from tandem.persistence.items.models import NOT_A_SYMBOL, Item

# Per word of `q`, in order: True when it has a letter or digit (a trigram word), False
# when it is symbols only. With the viewer's kind and the filters, a statement's shape.
TermKinds = tuple[bool, ...]


def _like(text: str) -> str:
    """`%text%` for ILIKE, with the pattern's own characters escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_params(q: str) -> tuple[TermKinds, dict[str, Any]]:
    """The kinds of the words of `q` and the values the statement binds for them."""
    terms = search_terms(q)
    whole = " ".join(terms)
    params: dict[str, Any] = {"q": whole, "q_like": _like(whole)}
    for index, term in enumerate(terms):
        params[f"q_term_{index}"] = term
        params[f"q_like_{index}"] = _like(term)
    return tuple(any(c.isalnum() for c in term) for term in terms), params


def _similar(term: ColumnElement[str], text: Any) -> ColumnElement[bool]:
    """pg_trgm's `<%`: `term` is nearly a word of `text` (at the database's threshold)."""
    return term.bool_op("<%")(text)


def matches(kinds: TermKinds) -> ColumnElement[bool]:
    """Every word is found: as a substring or nearly, or (symbols) among the symbols."""
    conditions: list[ColumnElement[bool]] = []
    for index, has_letters in enumerate(kinds):
        term = bindparam(f"q_term_{index}", type_=String)
        if has_letters:
            like = bindparam(f"q_like_{index}", type_=String)
            conditions.append(or_(Item.search_text.ilike(like), _similar(term, Item.search_text)))
        else:
            # Computed in SQL from the word, so it splits symbols exactly as the column does.
            symbols = func.string_to_array(
                func.regexp_replace(term, NOT_A_SYMBOL, "", "g"),
                literal(None, type_=Text),
                type_=ARRAY(Text),
            )
            # strpos, not ILIKE: symbols have no case, and a pattern with no trigram would
            # make a generic plan scan the whole trigram index.
            found = func.strpos(Item.search_text, term) > 0
            conditions.append(and_(Item.search_symbols.contains(symbols), found))
    return and_(*conditions)


def relevance() -> ColumnElement[float]:
    """How well an item matches `q`: the exact title first, then titles holding `q`, ...

    ... then everything else by trigram similarity of the title, and of the best
    stretch of title and description. Deterministic, so it can position a cursor.
    """
    q = bindparam("q", type_=String)
    q_like = bindparam("q_like", type_=String)

    def bonus(condition: ColumnElement[bool], points: float) -> ColumnElement[float]:
        return case((condition, literal(points, type_=Double)), else_=literal(0.0, type_=Double))

    return cast(
        bonus(func.lower(Item.title) == func.lower(q), 4.0)
        + bonus(cast(Item.title.ilike(q_like), Boolean), 2.0)
        + bonus(cast(Item.search_text.ilike(q_like), Boolean), 1.0)
        + cast(func.similarity(q, Item.title), Double)
        + cast(func.word_similarity(q, Item.search_text), Double),
        Double,
    )
