"""Log output: one JSON object per line in production, readable text in development.

The standard library's `logging` with a JSON formatter of our own, not structlog:
uvicorn, asyncpg, Strawberry and Alembic all log through `logging` already, so one
formatter on the root handler puts every line, theirs and ours, in one format, with
no bridge between two logging systems and no new dependency.

Every line passes through `redact` on the way out, whatever its source: request
logs are built from chosen fields (never headers, bodies or query strings), and
redaction is the second wall, for an exception message that quotes what it should not.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Literal

import orjson

from tandem.observability import tracing

LogFormat = Literal["json", "text"]

# Bearer tokens, JWTs, refresh and reset tokens, client secrets, passwords, keys.
_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    (
        re.compile(
            r"(?i)([\"']?\b(?:password|new_password|current_password|currentPassword|newPassword"
            r"|secret|client_secret|secret_key|refresh_token|access_token|token|api_key"
            r"|authorization)[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\1[redacted]",
    ),
)
# Set on a record whose fields its maker chose (the request line): only its message and any
# exception are redacted, not each field again.
TRUSTED_FIELDS = "_trusted_fields"
# A record's own attributes: anything else on it was passed as `extra=` and is a field.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)


# Every pattern above needs one of these words: most lines are cleared by one search.
_SUSPECT = re.compile(r"(?i)bearer|basic|eyJ|whsec_|password|secret|token|api_key|authorization")


def redact(text: str) -> str:
    """The text with anything shaped like a credential replaced."""
    if _SUSPECT.search(text) is None:
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a field, not more lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which worker of `tandem serve --workers N`
            "message": redact(record.getMessage()),
            **tracing.log_ids(),  # trace_id, span_id: when traces are on and a span is current
        }
        checked = not getattr(record, TRUSTED_FIELDS, False)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "color_message" and not key.startswith("_"):
                line[key] = redact(value) if checked and isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger message`, for a person reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (uvicorn applies it in every worker).

    uvicorn's access log is off: Tandem's own request line (tandem.request) replaces it,
    with the route template in place of a path and query string that may carry a token.
    """
    formatter = "tandem.observability.logs.JsonFormatter"
    if log_format == "text":
        formatter = "tandem.observability.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tandem": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "tandem",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "tandem": {"level": level.upper()},
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
