"""The HTML pages of the browser tools, each under a strict Content-Security-Policy.

No page has inline script: every script is a file under /static, so `script-src 'self'`
holds with no nonce or hash. Styles come from files too; ReDoc alone writes <style>
elements at run time, and those carry the page's nonce (or, for the two it writes before
it knows the nonce, their hash). Nothing may load from another origin, be framed, or post
a form elsewhere.
"""

from __future__ import annotations

import secrets
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

from tandem.http.docs_ui import versions

STATIC_DIRECTORY = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"
GRAPHIQL = f"vendor/graphiql-{versions.GRAPHIQL}"
REACT = f"vendor/react-{versions.REACT}"
SWAGGER_UI = f"vendor/swagger-ui-{versions.SWAGGER_UI}"
REDOC = f"vendor/redoc-{versions.REDOC}"


# ReDoc 2.5.2 writes two <style> elements as its bundle loads, before it knows the nonce:
# an empty one (styled-components fills it through the CSSOM) and one fixed sheet. The
# browser test fails on any violation, naming the hash a new version would need.
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)


def content_security_policy(
    *, style_sources: tuple[str, ...] = (), worker_sources: tuple[str, ...] = ()
) -> str:
    """This origin's files only; `data:` images and fonts, which the tools' CSS embeds."""
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        " ".join(("style-src 'self'", *style_sources)),
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if worker_sources:
        directives.append(" ".join(("worker-src", *worker_sources)))
    return "; ".join(directives)


def _page(
    request: Request,
    *,
    title: str,
    styles: tuple[str, ...],
    body: str,
    scripts: tuple[str, ...],
    policy: str = content_security_policy(),
) -> HTMLResponse:
    static = request.scope.get("root_path", "") + STATIC_PATH
    links = "".join(
        f'<link rel="stylesheet" href="{static}/{href}">' for href in (*styles, "tandem/tools.css")
    )
    tags = "".join(f'<script src="{static}/{src}"></script>' for src in scripts)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title>{links}</head><body>{body}{tags}</body></html>"
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": policy,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def graphiql_page(request: Request, *, endpoint: str) -> HTMLResponse:
    """GraphiQL on `endpoint`, with its headers editor open for an Authorization header."""
    return _page(
        request,
        title="Tandem GraphiQL",
        styles=(f"{GRAPHIQL}/graphiql.min.css",),
        body=(
            f'<div id="graphiql" data-endpoint="{escape(endpoint)}">'
            '<p class="tool-loading">Loading GraphiQL…</p></div>'
        ),
        scripts=(
            f"{REACT}/react.production.min.js",
            f"{REACT}/react-dom.production.min.js",
            f"{GRAPHIQL}/graphiql.min.js",
            "tandem/graphiql.js",
        ),
    )


def swagger_ui_page(request: Request, *, openapi_url: str) -> HTMLResponse:
    return _page(
        request,
        title="Tandem REST API — Swagger UI",
        styles=(f"{SWAGGER_UI}/swagger-ui.css",),
        body=f'<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>',
        scripts=(f"{SWAGGER_UI}/swagger-ui-bundle.js", "tandem/swagger.js"),
    )


def redoc_page(request: Request, *, openapi_url: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(18)
    return _page(
        request,
        title="Tandem REST API — ReDoc",
        styles=(),
        body=(
            f'<div id="redoc" data-openapi-url="{escape(openapi_url)}" data-nonce="{nonce}">'
            '<p class="tool-loading">Loading ReDoc…</p></div>'
        ),
        scripts=(f"{REDOC}/redoc.standalone.js", "tandem/redoc.js"),
        # Its search index runs in a worker made from a blob of its own bundle.
        policy=content_security_policy(
            style_sources=(f"'nonce-{nonce}'", *REDOC_STYLE_HASHES), worker_sources=("blob:",)
        ),
    )
