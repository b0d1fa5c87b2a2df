"""The browser tools' pages and files, as a browser fetches them (the Chromium test runs them)."""

from __future__ import annotations

import re

import pytest

from tandem.app import create_app
from tandem.http.docs_ui.pages import STATIC_DIRECTORY

PAGES = {"/docs": "swagger-ui", "/redoc": "redoc"}
THIRD_PARTY = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (directive.split() for directive in policy.split(";") if directive)
    }


async def page(client, path: str):
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/graphql", "/", "/reset-password"])
async def test_each_tool_page_is_under_a_strict_content_security_policy(client, path):
    response = await page(client, path)
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert all("unsafe" not in value for values in policy.values() for value in values)
    assert all("//" not in value for values in policy.values() for value in values)
    # Nothing on the page runs inline or loads from elsewhere.
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.text)
    assert not THIRD_PARTY.search(response.text)


async def test_redoc_styles_carry_a_fresh_nonce(client):
    first, second = await page(client, "/redoc"), await page(client, "/redoc")
    nonces = [
        re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1)
        for r in (first, second)
    ]
    assert nonces[0] != nonces[1]
    assert f'data-nonce="{nonces[0]}"' in first.text


async def test_every_file_a_page_names_is_served_from_the_package(client):
    for path in ("/docs", "/redoc", "/graphql", "/", "/reset-password"):
        response = await page(client, path)
        for url in re.findall(r"""(?:src|href)="(/static/[^"]+)""", response.text):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url


def test_each_vendored_tool_ships_its_licence():
    vendored = sorted((STATIC_DIRECTORY / "vendor").iterdir())
    assert [folder.name.rsplit("-", 1)[0] for folder in vendored] == [
        "graphiql",
        "graphiql-plugin-explorer",
        "react",
        "redoc",
        "swagger-ui",
    ]
    for folder in vendored:
        assert (folder / "LICENSE").read_text().strip(), folder


async def test_graphiql_opens_only_for_a_browser_asking_for_a_page(client):
    assert "GraphiQL" in (await page(client, "/graphql")).text
    for accept in ("*/*", "application/json", "application/graphql-response+json"):
        response = await client.get("/graphql", headers={"Accept": accept})
        assert response.status_code == 400, accept
        assert "errors" in response.json()


async def test_production_serves_the_rest_docs_but_no_graphiql(settings, services):
    import httpx

    production = settings.model_copy(update={"tandem_env": "production"})
    app = create_app(production, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/redoc")).status_code == 200
        graphiql = await client.get("/graphql", headers={"Accept": "text/html"})
        assert graphiql.status_code == 404 and "GraphiQL" not in graphiql.text
        # `/` points to the documents, in JSON; the reset link is the product's front end's.
        home = await client.get("/", headers={"Accept": "text/html"})
        assert home.status_code == 200
        assert home.json() == {
            "name": "Tandem",
            "rest": "/api/v1",
            "openapi": "/openapi.json",
            "docs": "/docs",
            "redoc": "/redoc",
            "graphql": "/graphql",
        }
        reset = await client.get("/reset-password?token=x", headers={"Accept": "text/html"})
        assert reset.status_code == 404
