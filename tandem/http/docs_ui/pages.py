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
TOKEN_URL = "/api/v1/auth/token"  # where the GraphiQL page signs in
GRAPHIQL = f"vendor/graphiql-{versions.GRAPHIQL}"
EXPLORER = f"vendor/graphiql-plugin-explorer-{versions.GRAPHIQL_EXPLORER}"
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
    cache: str = "no-cache",
    body_class: str = "",
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
        f"<title>{escape(title)}</title>{links}</head>"
        f'<body class="{escape(body_class)}">{body}{tags}</body></html>'
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": policy,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": cache,
        },
    )


def graphiql_page(request: Request, *, endpoint: str, token_url: str = TOKEN_URL) -> HTMLResponse:
    """GraphiQL on `endpoint` with the Explorer plugin, and a sign-in form above it that
    gets a token from `token_url` and fills the Headers tab's `Authorization`.

    GraphiQL is served in development only, so the form is too.
    """
    root = request.scope.get("root_path", "")
    sign_in = (
        f'<form id="sign-in" class="sign-in" data-token-url="{escape(root + token_url)}">'
        "<strong>Tandem GraphiQL</strong>"
        '<label>Email <input name="username" type="email" autocomplete="username" '
        'required placeholder="grace@example.com"></label>'
        '<label>Password <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit">Sign in</button>'
        '<span id="sign-in-status" role="status" aria-live="polite">'
        "Signing in puts a token in the Headers tab.</span></form>"
    )
    return _page(
        request,
        title="Tandem GraphiQL",
        styles=(f"{GRAPHIQL}/graphiql.min.css", f"{EXPLORER}/style.css"),
        body=(
            f"{sign_in}"
            f'<div id="graphiql" data-endpoint="{escape(endpoint)}">'
            '<p class="tool-loading">Loading GraphiQL…</p></div>'
        ),
        scripts=(
            f"{REACT}/react.production.min.js",
            f"{REACT}/react-dom.production.min.js",
            f"{GRAPHIQL}/graphiql.min.js",
            f"{EXPLORER}/index.umd.js",
            "tandem/graphiql.js",
        ),
        body_class="graphiql-page",
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


def home_page(request: Request, *, rest_prefix: str) -> HTMLResponse:
    """Development's front door: where the tools are, and how a first session starts."""
    root = request.scope.get("root_path", "")
    links = "".join(
        f'<li><a href="{escape(root + href)}">{escape(label)}</a> {escape(what)}</li>'
        for href, label, what in (
            ("/docs", "Swagger UI", "— the REST face; sign in with Authorize, then Try it out"),
            ("/redoc", "ReDoc", "— the REST face, to read"),
            ("/graphql", "GraphiQL", "— the GraphQL face; sign in on the page, explore, run"),
            ("/openapi.json", "openapi.json", "— the REST face's OpenAPI document"),
        )
    )
    body = (
        '<main class="page"><h1>Tandem</h1>'
        "<p>One API with two faces over one domain: REST for partners "
        f"(<code>{escape(rest_prefix)}</code>), GraphQL for web clients "
        "(<code>/graphql</code>). This page is served in development only.</p>"
        f"<ul>{links}</ul>"
        "<h2>A first session</h2>"
        "<p>Load the demo accounts, from the repository's root:</p>"
        "<pre><code>.venv/bin/tandem seed-demo</code></pre>"
        "<p>then sign in as <code>grace@example.com</code> (a member) or "
        "<code>ada@example.com</code> (an administrator), password "
        "<code>tandem-demo-password</code>, in Swagger UI's Authorize or on the GraphiQL "
        "page. The whole walk, with <code>curl</code>, is in the repository's "
        "<code>README.md</code>, section <em>A first session</em>.</p></main>"
    )
    return _page(request, title="Tandem", styles=(), body=body, scripts=())


def reset_password_page(request: Request, *, reset_url: str) -> HTMLResponse:
    """Development's landing page for the mailed link `/reset-password?token=…`.

    The token is read from the address by the page's script (never echoed into the HTML),
    sent to the REST reset route with the new password, and dropped from the address bar.
    """
    body = (
        '<main class="page"><h1>Choose a new password</h1>'
        f'<form id="reset" data-reset-url="{escape(reset_url)}">'
        '<label for="new-password">New password (8 to 128 characters)</label>'
        '<input id="new-password" name="new_password" type="password" minlength="8" '
        'maxlength="128" autocomplete="new-password" required>'
        '<label for="again">The same again</label>'
        '<input id="again" type="password" autocomplete="new-password" required>'
        '<button type="submit">Set the password</button></form>'
        '<p id="outcome" role="status" aria-live="polite"></p></main>'
    )
    return _page(
        request,
        title="Tandem — choose a new password",
        styles=(),
        body=body,
        scripts=("tandem/reset-password.js",),
        cache="no-store",  # the address holds a live token
    )
