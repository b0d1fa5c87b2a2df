"""Shapes shared by every REST feature: the problem document and the offset page."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tandem.domain.pages import MAX_OFFSET, MAX_PAGE_SIZE

T = TypeVar("T")
# The last page number whose offset PostgreSQL can take at any page size: documented, so a
# client never meets the domain's "page is too large" for a page the schema calls valid.
MAX_PAGE = MAX_OFFSET // MAX_PAGE_SIZE + 1


class Input(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error on the REST face is sent."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None
    errors: list[FieldProblem] | None = None


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


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem documents a route may answer.

    Every route may answer 422 (its input) and 429: each REST call is charged to the
    caller's rate limit.
    """
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in (*statuses, 422, 429)
    }
