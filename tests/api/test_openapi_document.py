"""The served OpenAPI document says what generated clients need: names, answers, headers, rules.

Read from `GET /openapi.json`, which is what `tandem export-openapi` prints
(tests/test_cli.py holds the committed openapi.json to it).
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import httpx
import pytest

REST = "/api/v1"
OPERATION_IDS = {
    "listItems",
    "createItem",
    "getItem",
    "updateItem",
    "deleteItem",
    "getMe",
    "updateMe",
    "deleteMe",
    "listUsers",
    "getUser",
    "updateUser",
    "deleteUser",
    "register",
    "issueToken",
    "revokeToken",
    "listEvents",
    "getEvent",
    "listClients",
    "createClient",
    "rotateClientSecret",
    "deleteClient",
    "listWebhooks",
    "createWebhook",
    "getWebhook",
    "updateWebhook",
    "deleteWebhook",
    "rotateWebhookSecret",
    "listWebhookDeliveries",
    "redeliverWebhookDelivery",
}
PUBLIC = {"register", "issueToken", "revokeToken", "requestPasswordRecovery", "resetPassword"}
OAUTH = {"issueToken", "revokeToken"}
PROBLEM_MEDIA_TYPE = "application/problem+json"


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in operation.get("parameters", []) if p["name"] == name]
    return found


def non_null(property_schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of an optional property without its `null` branch."""
    branches = [b for b in property_schema.get("anyOf", [property_schema]) if b != {"type": "null"}]
    assert len(branches) == 1, property_schema
    return branches[0]


def test_operation_ids_are_the_names_clients_call(document):
    ids = set(operations(document))
    assert ids >= OPERATION_IDS, sorted(OPERATION_IDS - ids)
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", name) for name in ids), sorted(ids)


def test_no_fastapi_validation_error_is_left_anywhere(document):
    text = str(document)
    assert "HTTPValidationError" not in text
    assert "'ValidationError'" not in text and "/ValidationError'" not in text


def test_every_rest_error_is_a_problem_document_but_the_oauth_ones(document):
    for name, (_method, path, operation) in operations(document).items():
        if not path.startswith(REST):
            continue
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            if name in OAUTH and status in ("400", "401"):
                oauth = response["content"]["application/json"]["schema"]["$ref"]
                assert oauth.endswith("/OAuthErrorBody"), (name, status)
                continue
            assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (name, status)
            ref = response["content"][PROBLEM_MEDIA_TYPE]["schema"]["$ref"]
            expected = "ValidationProblem" if status == "422" else "Problem"
            assert ref == f"#/components/schemas/{expected}", (name, status, ref)


def test_the_problem_schemas_have_rfc_9457s_fields_and_the_field_errors(document):
    problem = schema(document, "Problem")
    fields = {"type", "title", "status", "detail", "code", "request_id"}
    assert set(problem["properties"]) == fields
    assert set(problem["required"]) == fields
    validation = schema(document, "ValidationProblem")
    assert set(validation["required"]) == fields | {"errors"}
    field = validation["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schema(document, field)["required"]) == {"loc", "msg", "type"}
    oauth = schema(document, "OAuthErrorBody")
    assert set(oauth["required"]) == {"error", "error_description"}
    assert "invalid_grant" in oauth["properties"]["error"]["enum"]


def test_each_route_documents_the_statuses_its_rules_give(document):
    ops = operations(document)

    def statuses(name: str) -> set[int]:
        return {int(s) for s in ops[name][2]["responses"]}

    for name, (_method, path, _operation) in ops.items():
        if path.startswith(REST):
            assert {401, 429, 503} <= statuses(name), name  # the guard, the charge, the pool
    for name in ("createItem", "updateItem", "updateMe", "updateUser", "createWebhook"):
        assert {413, 415, 422} <= statuses(name), name
    assert statuses("register") == {201, 401, 409, 413, 415, 422, 429, 503}
    assert statuses("issueToken") == {200, 400, 401, 413, 415, 429, 503}  # RFC 6749: no 422
    assert statuses("revokeToken") == {200, 400, 401, 413, 415, 429, 503}
    assert {304, 404} <= statuses("getItem") and 412 not in statuses("getItem")
    assert {304, 422} <= statuses("listItems") and 404 not in statuses("listItems")
    assert {404, 412} <= statuses("updateItem") and {404, 412} <= statuses("deleteItem")
    assert 422 not in statuses("getMe") and 422 not in statuses("listClients")  # nothing to fail
    assert 409 in statuses("createItem")  # an Idempotency-Key still in flight


def test_headers_are_documented_where_they_are_sent(document):
    ops = operations(document)

    def headers(name: str, status: str) -> dict[str, Any]:
        found: dict[str, Any] = ops[name][2]["responses"][status].get("headers", {})
        return found

    for name, (_method, path, operation) in ops.items():
        for status in operation["responses"]:
            assert headers(name, status)["X-Request-ID"]["required"] is True, (name, status)
            if path.startswith(REST):
                assert "X-RateLimit-Remaining" in headers(name, status), (name, status)
        for status, response in operation["responses"].items():
            if status == "401" and path.startswith(REST):
                assert response["headers"]["WWW-Authenticate"]["required"], name
            if status in ("429", "503"):
                assert response["headers"]["Retry-After"]["schema"]["type"] == "integer", name
    assert {"Location", "ETag", "Idempotent-Replayed"} <= set(headers("createItem", "201"))
    assert "Location" in headers("createWebhook", "201")
    for name in ("getItem", "listItems", "getMe", "getUser", "listUsers"):
        assert "ETag" in headers(name, "200") and "ETag" in headers(name, "304"), name
    for name in ("updateItem", "updateMe", "updateUser"):
        assert "ETag" in headers(name, "200"), name
    for name in ("listItems", "listUsers", "listEvents", "listWebhookDeliveries"):
        assert "Link" in headers(name, "200"), name


def test_request_headers_are_parameters_where_they_work(document):
    ops = operations(document)
    for name in ("updateItem", "deleteItem", "updateMe", "deleteMe", "updateUser", "deleteUser"):
        assert parameter(ops[name][2], "If-Match")["in"] == "header", name
    for name in ("getItem", "listItems", "getMe", "getUser", "listUsers"):
        assert parameter(ops[name][2], "If-None-Match")["in"] == "header", name
    key = parameter(ops["createItem"][2], "Idempotency-Key")
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 255)
    assert not any(
        p["name"] == "Idempotency-Key" for p in ops["issueToken"][2].get("parameters", [])
    )


def test_public_routes_ask_for_no_token_and_the_rest_for_a_bearer_one(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["ClientSecretBasic"]["scheme"] == "basic"
    for name, (_method, path, operation) in operations(document).items():
        if not path.startswith(REST):
            assert not operation.get("security"), name
        elif name in PUBLIC:
            requirements = operation.get("security", [])
            assert requirements == [] or {} in requirements, name
            assert not any("HTTPBearer" in r for r in requirements), name
        else:
            # Either the bearer token, or one had through the OAuth2 flows (Swagger UI's
            # Authorize sends its token only where the operation lists its scheme).
            assert operation["security"] == [{"HTTPBearer": []}, {"OAuth2": []}], name
    # The token endpoint needs nothing for the password grant; client_secret_basic, which
    # client_credentials may use, is its scheme and its flow's, not a requirement.
    token = operations(document)["issueToken"][2]
    assert token["security"] == []
    assert "client_secret_basic" in token["description"]
    flows = schemes["OAuth2"]["flows"]
    assert flows["password"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert set(flows["password"]["scopes"]) == {
        "items:read",
        "items:write",
        "users:read",
        "users:write",
        "webhooks:read",
        "webhooks:write",
    }


def test_the_sort_enum_has_readable_member_names(document):
    sort = schema(document, "ItemSort")
    names = dict(zip(sort["enum"], sort["x-enum-varnames"], strict=True))
    assert names["-created_at"] == "CREATED_AT_DESC"
    assert names["price"] == "PRICE_ASC"
    enums: list[dict[str, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "enum" in node:
                enums.append(node)
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(document)
    assert len(enums) > 5
    for enum_schema in enums:  # components and inline ones (a webhook's events, scopes)
        values = enum_schema["enum"]
        if any(not str(v).isidentifier() for v in values):
            names = enum_schema.get("x-enum-varnames", [])
            assert len(set(names)) == len(values), enum_schema
            assert all(name.isidentifier() for name in names), enum_schema


def test_the_rules_the_server_enforces_are_in_the_schema(document):
    ops = operations(document)
    register = schema(document, "UserRegister")["properties"]
    assert register["email"]["format"] == "email"
    assert (register["password"]["minLength"], register["password"]["maxLength"]) == (8, 128)
    create = schema(document, "ItemCreate")["properties"]
    price = non_null(create["price"])
    assert price["type"] == "string"
    pattern = re.compile(price["pattern"])
    for good in ("0", "19.99", "5.5", "9999999999.99"):
        assert pattern.search(good), good
    for bad in ("-1", "1.999", "1e3", "12345678901", "", "1."):
        assert not pattern.search(bad), bad
    assert (create["title"]["minLength"], create["title"]["maxLength"]) == (1, 200)
    assert not re.search(create["title"]["pattern"], "   ")  # a blank title is refused
    assert non_null(create["description"])["maxLength"] == 10_000
    tags = non_null(create["tags"])
    assert tags["maxItems"] == 20
    assert (tags["items"]["minLength"], tags["items"]["maxLength"]) == (1, 40)
    size = parameter(ops["listItems"][2], "size")["schema"]
    assert (size["minimum"], size["maximum"]) == (1, 100)
    q = parameter(ops["listItems"][2], "q")["schema"]  # `pattern` holds for its string branch
    assert re.search(q["pattern"], " ".join("abcdefghij"))
    assert not re.search(q["pattern"], " ".join("abcdefghijk"))  # at most 10 words


def test_the_texts_a_reader_sees_in_swagger_ui(document):
    """The package's version, the auth tag naming every grant, readable summaries."""
    assert document["info"]["version"] == importlib.metadata.version("tandem")
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert "client credentials" in tags["auth"]
    summaries = {
        name: operation.get("summary", "")
        for name, (_, _, operation) in operations(document).items()
    }
    assert summaries["getMe"] == "Read your account"
    assert summaries["updateMe"] == "Change your account"
    assert summaries["deleteMe"] == "Delete your account"
    assert not [name for name, summary in summaries.items() if summary.endswith(" Me")]
