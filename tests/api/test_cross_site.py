"""A session cookie never authorises a write that a browser says came from another site."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api

BODY = {"title": "Lịch họp", "text": "Họp thôn lúc 7h30.", "zones": ["thon-1"]}


def _session(client: TestClient) -> None:
    response = client.post(
        "/login", data={"name": "canbo", "password": "mat-khau-bien-tap"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_writes_with_the_cookie_are_refused_and_store_nothing(
    api: Api, headers: dict[str, str]
) -> None:
    _session(api.client)
    response = api.client.post("/api/bulletins", json=BODY, headers=headers)
    assert response.status_code == 403
    assert "trang web khác" in response.json()["detail"]
    assert api.client.get("/api/bulletins", headers=api.editor).json() == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Origin": "http://testserver"},
        {},  # not a browser: no Origin, no Sec-Fetch-Site
    ],
)
def test_same_site_writes_with_the_cookie_pass(api: Api, headers: dict[str, str]) -> None:
    _session(api.client)
    response = api.client.post("/api/bulletins", json=BODY, headers=headers)
    assert response.status_code == 201, response.text


def test_reads_and_bearer_tokens_are_not_affected(api: Api) -> None:
    _session(api.client)
    assert api.client.get("/api/bulletins", headers={"Origin": "https://evil.example"}).status_code == 200
    api.client.cookies.clear()
    response = api.client.post(
        "/api/bulletins", json=BODY, headers={**api.editor, "Origin": "https://evil.example"}
    )
    assert response.status_code == 201  # a token is not sent by browsers on their own
