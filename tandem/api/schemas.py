"""Shapes shared by every REST feature: the problem documents and the page."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tandem.domain.pages import MAX_OFFSET, MAX_PAGE_SIZE

T = TypeVar("T")
# The last page number whose offset PostgreSQL can take at any page size: documented, so a
# client never meets the domain's "page is too large" for a page the schema calls valid.
MAX_PAGE = MAX_OFFSET // MAX_PAGE_SIZE + 1


# Text rules the domain enforces (tandem/domain/values.py), written where clients and
# generators read them: PostgreSQL text holds no NUL, and a name or title is never blank.
NO_NUL: dict[str, Any] = {"pattern": "^[^\\u0000]*$"}
NOT_BLANK: dict[str, Any] = {"pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"}


class Input(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class FieldProblem(BaseModel):
    """One field's problem: where it is (`["body", "title"]`), what is wrong, its kind."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error on the REST face is sent.

    Documentation only: problem documents are written by `tandem.http.problems`.
    """

    type: str = Field(examples=["about:blank"])
    title: str = Field(description="The status' reason phrase", examples=["Not Found"])
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong, for a person")
    code: str = Field(description="Stable, for code: the contract's table", examples=["NOT_FOUND"])
    request_id: str | None = Field(description="As the X-Request-ID header: quote it in reports")


class ValidationProblem(Problem):
    """A 422: the problem document, and every field's problem."""

    errors: list[FieldProblem]


OFFSET_ONLY = "Offset pages only (absent from a page read with `cursor`)"


class PageOut(BaseModel, Generic[T]):
    """A page: by number (`page`, with `total` and `pages`) or after a `cursor`."""

    items: list[T]
    total: int | None = Field(None, description=OFFSET_ONLY)
    page: int | None = Field(None, description=OFFSET_ONLY)
    size: int
    pages: int | None = Field(None, description=OFFSET_ONLY)
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
    has_more: bool = Field(description="Whether a next page exists")


def page_body(out: PageOut[Any], *, cursor_mode: bool, exclude_items: Any = None) -> bytes:
    """The page as JSON: a cursor page leaves out what only offset pages can tell."""
    exclude: dict[str, Any] = {}
    if cursor_mode:
        exclude.update(dict.fromkeys(("total", "page", "pages"), True))
    if exclude_items is not None:
        exclude["items"] = {"__all__": exclude_items}
    return out.model_dump_json(exclude=exclude or None).encode()
