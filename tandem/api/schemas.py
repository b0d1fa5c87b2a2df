"""Shapes shared by every REST feature: the problem document and the offset page."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

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


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
    pages: int


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem documents a route may answer.

    Every route may answer 422 (its input) and 429: each REST call is charged to the
    caller's rate limit.
    """
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in (*statuses, 422, 429)
    }
