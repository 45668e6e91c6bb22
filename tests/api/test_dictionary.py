"""Commune dictionary: editing it changes the next reading; unknown abbreviations are flagged."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

TEXT = "Ban quản lý HTX thông báo họp xã viên lúc 8h tại nhà văn hoá KDC số 3."


def test_unknown_abbreviations_are_flagged_then_learned(api: Api) -> None:
    created = api.client.post(
        "/api/bulletins", json={"title": "Họp HTX", "text": TEXT, "zones": ["thon-1"]}, headers=api.editor
    ).json()
    assert "KDC" in created["unknown_abbreviations"]
    approved = api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver).json()
    assert approved["status"] == "ready"

    put = api.client.put("/api/dictionary/KDC", json={"reading": "khu dân cư"}, headers=api.editor)
    assert put.status_code == 200, put.text
    listing = api.client.get("/api/dictionary", headers=api.editor).json()
    assert {"term": "KDC", "reading": "khu dân cư", "updated_by": "canbo"} in listing

    preview = api.client.post("/api/normalize", json={"text": TEXT}, headers=api.editor).json()
    assert "khu dân cư" in preview["spoken_text"]
    assert "KDC" not in preview["unknown_abbreviations"]

    again = api.client.post(f"/api/bulletins/{created['id']}/render", headers=api.editor).json()
    assert "khu dân cư" in again["spoken_text"]
    assert again["clip_sha256"] != created["clip_sha256"]
    assert again["status"] == "draft"  # what will be heard changed: approve again
    assert "KDC" not in again["unknown_abbreviations"]

    assert api.client.delete("/api/dictionary/KDC", headers=api.editor).status_code == 204
    assert api.client.delete("/api/dictionary/KDC", headers=api.editor).status_code == 404


def test_rendering_again_without_changes_keeps_the_approval(api: Api) -> None:
    created = api.client.post(
        "/api/bulletins",
        json={"title": "T", "text": "Họp dân lúc 8h.", "zones": ["thon-1"]},
        headers=api.editor,
    ).json()
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    again = api.client.post(f"/api/bulletins/{created['id']}/render", headers=api.editor).json()
    assert again["status"] == "ready"
    assert again["clip_sha256"] == created["clip_sha256"]


@pytest.mark.parametrize(
    ("term", "reading"),
    [("htx", "hợp tác xã"), ("HTX", "hợp tác xã 2"), ("HTX", "  "), ("H/T", "hợp tác"), ("HTX", "<b>x</b>")],
)
def test_bad_entries_get_422(api: Api, term: str, reading: str) -> None:
    response = api.client.put(f"/api/dictionary/{term}", json={"reading": reading}, headers=api.editor)
    assert response.status_code in (404, 422), response.text
    assert api.client.get("/api/dictionary", headers=api.editor).json() == []


def test_dictionary_needs_login(api: Api) -> None:
    assert api.client.get("/api/dictionary").status_code == 401
    assert api.client.put("/api/dictionary/HTX", json={"reading": "hợp tác xã"}).status_code == 401
    assert api.client.post("/api/normalize", json={"text": "x"}).status_code == 401
