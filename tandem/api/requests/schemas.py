"""REST shapes of the request log: documentation of what `request_document` writes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RequestOut(BaseModel):
    id: str = Field(description="The line's id, also its cursor", examples=["req_1042"])
    created_at: datetime = Field(description="When the request finished")
    method: str = Field(examples=["POST"])
    route: str = Field(description="The route's template", examples=["/api/v1/items/{item_id}"])
    status: int = Field(examples=[422])
    error_code: str | None = Field(
        description="The answer's `code` (REST) or first error's `extensions.code` (GraphQL)",
        examples=["VALIDATION_FAILED"],
    )
    request_id: str = Field(description="The answer's X-Request-ID")
    idempotency_key: str | None
    duration_ms: float
    user_id: int
    client_id: str | None = Field(description="The partner API client that called, if one did")


class RequestPage(BaseModel):
    items: list[RequestOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `after` for older requests")
