"""The logs of a real `tandem serve`: one JSON line per request, and never a secret."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx

from tests.ops.served import SECRET, Served, serve

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new and different passphrase"


def json_lines(served: Served) -> list[dict[str, object]]:
    lines = []
    for line in served.log().splitlines():
        if line.startswith("tandem: "):  # the CLI's own words before the server starts
            continue
        lines.append(json.loads(line))  # every line the server writes is one JSON object
    return lines


def wait_for(served: Served, count: int, route: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while True:
        found = [line for line in json_lines(served) if line.get("route") == route]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_every_request_is_one_json_line_and_no_secret_is_logged(
    database_url: str, tmp_path: Path
) -> None:
    served = serve(database_url, tmp_path, TANDEM_ENV="production", RATE_LIMIT="off")
    try:
        base = served.url
        user = {"email": "logs@example.com", "name": "Logs", "password": PASSWORD}
        assert httpx.post(base + "/api/v1/auth/register", json=user).status_code == 201
        grant = httpx.post(
            base + "/api/v1/auth/token",
            data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
        ).json()
        access, refresh = grant["access_token"], grant["refresh_token"]
        bearer = {"Authorization": f"Bearer {access}", "X-Request-ID": "ops-log-test-1"}
        me = httpx.get(base + "/api/v1/users/me", headers=bearer)
        assert me.status_code == 200
        user_id = me.json()["id"]
        # A wrong password, a token in a query string, a password in GraphQL variables.
        assert httpx.post(
            base + "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": user["email"],
                "password": "wrong " + PASSWORD,
            },
        ).status_code in (400, 401)
        httpx.get(base + f"/api/v1/items?access_token={access}&q={PASSWORD}", headers=bearer)
        mutation = (
            "mutation ChangePassword($input: UpdateMeInput!) { updateMe(input: $input) { id } }"
        )
        variables = {"input": {"password": NEW_PASSWORD, "currentPassword": PASSWORD}}
        answer = httpx.post(
            base + "/graphql", json={"query": mutation, "variables": variables}, headers=bearer
        )
        assert answer.status_code == 200, answer.text
        refreshed = httpx.post(
            base + "/api/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
        )
        assert refreshed.status_code in (200, 400)  # a password change may revoke the family
        httpx.get(base + "/api/v1/users/me", headers={"Authorization": "Bearer not.a.real-token"})
        httpx.get(base + "/healthz?token=" + refresh)
        wait_for(served, 1, "/healthz")
    finally:
        assert served.terminate() == 0

    text = served.log()
    for secret in (PASSWORD, NEW_PASSWORD, access, refresh, SECRET, "not.a.real-token"):
        assert secret not in text
    lines = json_lines(served)
    requests = [line for line in lines if line["logger"] == "tandem.request"]
    me_line = next(line for line in requests if line["request_id"] == "ops-log-test-1")
    assert me_line["route"] == "/api/v1/users/me"
    assert me_line["method"] == "GET"
    assert me_line["status"] == 200
    assert me_line["principal_id"] == user_id
    assert isinstance(me_line["duration_ms"], float) and me_line["duration_ms"] > 0
    assert isinstance(me_line["statements"], int) and me_line["statements"] >= 1
    graphql = next(line for line in requests if line["route"] == "/graphql")
    assert graphql["operation_name"] == "ChangePassword"
    assert graphql["operation_type"] == "mutation"
    assert graphql["principal_id"] == user_id
    refused = [line for line in requests if line["status"] == 401]
    assert refused and all(line["principal_id"] is None for line in refused)
    assert all(isinstance(line["request_id"], str) for line in requests)
    assert not any("Traceback" in str(line) for line in lines)


def test_development_logs_read_as_text(database_url: str, tmp_path: Path) -> None:
    served = serve(database_url, tmp_path, TANDEM_ENV="development")
    try:
        assert httpx.get(served.url + "/api/v1/items/7").status_code == 401
    finally:
        assert served.terminate() == 0
    lines = served.log().splitlines()
    line = next(line for line in lines if "tandem.request" in line and "items" in line)
    assert "GET /api/v1/items/{item_id} 401 in " in line
    assert not line.startswith("{")


def test_a_client_that_goes_away_mid_request_is_no_error(database_url: str, tmp_path: Path) -> None:
    served = serve(database_url, tmp_path, TANDEM_ENV="production")
    try:
        for path in ("/api/v1/auth/register", "/graphql"):
            for _ in range(3):  # a body promised and cut short: the client hangs up
                with socket.create_connection(("127.0.0.1", served.port)) as client:
                    client.sendall(
                        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        'Content-Length: 1000\r\n\r\n{"email": '.encode()
                    )
                    time.sleep(0.2)
        assert httpx.get(served.url + "/healthz").status_code == 200
        time.sleep(0.5)
    finally:
        assert served.terminate() == 0
    lines = json_lines(served)
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    assert not any("Traceback" in str(line) or "exception" in line for line in lines)
