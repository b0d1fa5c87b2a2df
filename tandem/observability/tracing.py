"""OpenTelemetry traces: off unless the standard OTEL_* variables ask for them.

Off (no OTLP endpoint set), nothing is imported or wrapped: every hook below is one test of
a module flag. On, `configure` installs the SDK's tracer provider with an OTLP/HTTP exporter
and the well-kept instrumentations: ASGI (a server span per request on both faces, the
caller's W3C `traceparent` continued; `create_app` wraps the app), asyncpg (a client span
per SQL statement, `db.system` `postgresql`) and httpx (webhook requests carry
`traceparent`). What is Tandem's own:

- `name_request`: the server span is named by what answered: the route template
  (`GET /api/v1/items/{item_id}`) or the GraphQL operation (`query ItemPage`), the fast
  GraphQL route included (tandem/http/telemetry.py calls it for every request).
- `stamp`: a write transaction records the current trace context in the database session
  (`tandem.traceparent`), from which the outbox rows written in it (events, webhook
  deliveries, mail) take it by column default: the change's trace travels with its rows.
- `job_span`: a worker job (a webhook delivery, a mail) runs in a span whose parent is the
  trace stored on its row; the webhook request made inside it sends that trace on.
- `log_ids`: log lines carry the current `trace_id` and `span_id`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tandem.config import Settings

# The session setting a write transaction carries its trace context in; the outbox tables'
# `traceparent` columns default to it (migration 0012).
SESSION_SETTING = "tandem.traceparent"
_STAMP = f"SELECT set_config('{SESSION_SETTING}', $1, true)"

_enabled = False


def enabled() -> bool:
    return _enabled


def traces_endpoint(settings: Settings) -> str | None:
    """The OTLP/HTTP URL spans go to, or None when tracing is off (the spec's precedence)."""
    if settings.otel_sdk_disabled or settings.otel_traces_exporter == "none":
        return None
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def configure(settings: Settings) -> bool:
    """Install the SDK and the instrumentations in this process, once; False when off."""
    global _enabled
    if _enabled:
        return True
    endpoint = traces_endpoint(settings)
    if endpoint is None:
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _enabled = True
    return True


def shutdown() -> None:
    """Send the spans still buffered (the SDK also does it at exit)."""
    if _enabled:
        from opentelemetry import trace

        provider: Any = trace.get_tracer_provider()
        provider.force_flush()


def asgi_middleware_class() -> Any:
    """OpenTelemetry's ASGI middleware (a server span per request or socket), for
    `add_middleware(..., exclude_spans=["receive", "send"])`: no span per ASGI message."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware


def name_request(method: str, route: str, operation: tuple[str, str] | None) -> None:
    """Name the request's server span by its route template or its GraphQL operation."""
    if not _enabled:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("http.route", route)
    if operation is None:
        span.update_name(f"{method} {route}")
        return
    name, operation_type = operation
    span.update_name(f"{operation_type} {name}")
    span.set_attribute("graphql.operation.name", name)
    span.set_attribute("graphql.operation.type", operation_type)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, when it is sampled (else None)."""
    if not _enabled:
        return None
    from opentelemetry import trace
    from opentelemetry.propagate import inject

    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return None
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


async def stamp(connection: Any) -> None:
    """Carry the current trace in this transaction (an asyncpg connection's), for the outbox
    rows it writes."""
    traceparent = current_traceparent()
    if traceparent is not None:
        await connection.execute(_STAMP, traceparent)


def job_span(
    name: str, traceparent: str | None, **attributes: str | int
) -> contextlib.AbstractContextManager[Any]:
    """A worker's job's span, continuing the trace stored on its row (if any); when tracing
    is off, a context that does nothing."""
    if not _enabled:
        return contextlib.nullcontext()
    from opentelemetry import trace
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    parent = extract({"traceparent": traceparent}) if traceparent else None
    tracer = trace.get_tracer("tandem.worker")
    return tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    )


def log_ids() -> dict[str, str]:
    """`trace_id` and `span_id` of the current span, for a log line ({} when none)."""
    if not _enabled:
        return {}
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
