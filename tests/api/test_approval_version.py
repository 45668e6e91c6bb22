"""Approval binds to the version reviewed: a bulletin changed after the approver opened it is not approved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from broadcast import bulletins, domain
from broadcast.bulletins import history as bulletin_history
from broadcast.http import etag
from broadcast.storage.models import Bulletin, BulletinEvent
from tests.api.conftest import Api
from tests.api.workflow_support import APPROVER, running_station, web_client

GOOD = {"title": "Họp dân", "text": "Tối nay 19h30 họp dân tại nhà văn hoá thôn 1.", "zones": ["thon-1"]}
STALE = "hãy nghe lại"

# --- pure rules ---------------------------------------------------------------------------------

BASE = ("Họp dân", "Nội dung", "normal", ["thon-1"], "a" * 64, "tts")


@pytest.mark.parametrize("field", range(len(BASE)))
def test_every_field_an_approver_reviews_changes_the_version(field: int) -> None:
    changed: list[Any] = list(BASE)
    changed[field] = ["thon-2"] if field == 3 else "b" * 64 if field == 4 else f"{BASE[field]}!"
    assert domain.content_version(*BASE) == domain.content_version(*BASE)
    assert domain.content_version(*changed) != domain.content_version(*BASE)
    assert len(domain.content_version(*BASE)) == domain.VERSION_HEX


@pytest.mark.parametrize(
    ("if_match", "body", "reviewed"),
    [
        (None, None, None),
        ("*", None, None),
        ('"abc"', None, "abc"),
        ('W/"abc"', None, "abc"),
        ("abc", None, "abc"),
        (None, "abc", "abc"),
        ('"abc"', "abc", "abc"),
        ("*", "abc", "abc"),
    ],
)
def test_the_version_named_by_if_match_or_body(
    if_match: str | None, body: str | None, reviewed: str | None
) -> None:
    assert etag.reviewed_version(if_match, body) == reviewed


@pytest.mark.parametrize(("if_match", "body"), [('"a", "b"', None), ('""', None), ('"a"', "b")])
def test_ambiguous_versions_are_refused(if_match: str, body: str | None) -> None:
    with pytest.raises(domain.Invalid):
        etag.reviewed_version(if_match, body)


# --- through the API and the web pages ----------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_station(tmp_path_factory.mktemp("version-station")) as running:
        yield running


def _create(api: Api) -> tuple[str, str]:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor)
    assert created.status_code == 201, created.text
    path = f"/api/bulletins/{created.json()['id']}"
    read = api.client.get(path, headers=api.approver)
    assert read.headers["etag"] == f'"{read.json()["version"]}"'
    return path, read.json()["version"]


def _approved_events(api: Api, path: str) -> list[dict[str, Any]]:
    bulletin_id = int(path.rsplit("/", 1)[1])
    with api.station.db.session() as session:
        events = session.scalars(
            select(BulletinEvent).where(
                BulletinEvent.bulletin_id == bulletin_id, BulletinEvent.action == "approved"
            )
        )
        return [dict(e.detail) for e in events]


def test_an_edit_after_opening_is_refused_with_409_and_stays_in_the_queue(api: Api) -> None:
    path, heard = _create(api)
    edited = api.client.put(path, json={**GOOD, "text": "Tối nay 20h họp dân."}, headers=api.editor)
    assert edited.status_code == 200 and edited.json()["version"] != heard
    for headers, body in (({"If-Match": f'"{heard}"'}, None), ({}, {"version": heard})):
        stale = api.client.post(f"{path}/approve", json=body, headers={**api.approver, **headers})
        assert stale.status_code == 409 and STALE in stale.json()["detail"]
        assert api.client.get(path, headers=api.approver).json()["status"] == "draft"
    queue = api.client.get("/api/bulletins?status=draft", headers=api.approver).json()
    assert int(path.rsplit("/", 1)[1]) in {b["id"] for b in queue}
    assert _approved_events(api, path) == []

    current = api.client.get(path, headers=api.approver).headers["etag"]
    approved = api.client.post(f"{path}/approve", headers={**api.approver, "If-Match": current})
    assert approved.status_code == 200 and approved.json()["status"] == "ready"
    assert _approved_events(api, path)[0]["version"] == current.strip('"')  # the history says which
    assert _approved_events(api, path)[0]["reviewed"] is True
    again = api.client.post(f"{path}/approve", json={"version": heard}, headers=api.approver)
    assert again.status_code == 409  # approved, but not what this approver heard: tell them


def test_priority_and_zone_changes_count_and_a_no_op_edit_does_not(api: Api) -> None:
    path, heard = _create(api)
    same = api.client.put(path, json=GOOD, headers=api.editor)
    assert same.json()["version"] == heard
    urgent = api.client.put(path, json={**GOOD, "priority": "emergency"}, headers=api.editor)
    assert urgent.json()["version"] != heard
    assert (
        api.client.post(f"{path}/approve", json={"version": heard}, headers=api.approver).status_code == 409
    )


def test_approve_without_a_version_keeps_approving_the_current_one(api: Api) -> None:
    path, _ = _create(api)
    api.client.put(path, json={**GOOD, "title": "Họp dân (sửa)"}, headers=api.editor)
    approved = api.client.post(f"{path}/approve", headers=api.approver)
    assert approved.status_code == 200 and approved.json()["status"] == "ready"
    assert _approved_events(api, path)[0]["reviewed"] is False
    path, _ = _create(api)
    for headers in ({"If-Match": '"a", "b"'}, {"If-Match": '"a"'}):
        bad = api.client.post(f"{path}/approve", json={"version": "b"}, headers={**api.approver, **headers})
        assert bad.status_code == 422
    assert api.client.post(f"{path}/approve", headers={**api.approver, "If-Match": "*"}).status_code == 200


def test_the_web_queue_and_detail_forms_approve_only_the_version_they_showed(api: Api) -> None:
    path, _ = _create(api)
    bulletin_id = path.rsplit("/", 1)[1]
    approver, token = web_client(api, APPROVER)
    queue = approver.get("/approvals").text
    shown = re.search(
        rf'action="/bulletins/{bulletin_id}/approve".*?name="version" value="([0-9a-f]+)"', queue, re.S
    )
    assert shown
    api.client.put(path, json={**GOOD, "text": "Tối nay 21h họp dân."}, headers=api.editor)  # while listening

    for version in (shown.group(1), ""):  # the old page, and a form without a version at all
        form = {"csrf_token": token, "back": "queue", "version": version}
        refused = approver.post(f"/bulletins/{bulletin_id}/approve", data=form, follow_redirects=False)
        assert refused.status_code == 409 and STALE in refused.text
        assert f'id="bulletin-{bulletin_id}"' in refused.text  # still in the queue, with the new audio
    detail = approver.get(f"/bulletins/{bulletin_id}").text
    fresh = re.search(r'name="version" value="([0-9a-f]+)"', detail)
    assert fresh and fresh.group(1) != shown.group(1)
    ok = approver.post(
        f"/bulletins/{bulletin_id}/approve",
        data={"csrf_token": token, "version": fresh.group(1)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert api.client.get(path, headers=api.approver).json()["status"] == "ready"


def test_an_edit_that_read_before_an_approval_landed_changes_nothing(api: Api) -> None:
    """An edit reads for seconds; an approval committed meanwhile must not get its audio rewritten."""
    path, _ = _create(api)
    bulletin_id = int(path.rsplit("/", 1)[1])
    with api.station.db.session() as editing:
        seen = editing.get(Bulletin, bulletin_id)
        assert seen is not None
        approved = api.client.post(f"{path}/approve", headers=api.approver)  # commits in its own session
        assert approved.status_code == 200
        with pytest.raises(domain.Conflict):
            bulletins.claim(editing, seen, ["draft", "rejected"], datetime.now(UTC), "changed meanwhile")
        editing.rollback()
    assert api.client.get(path, headers=api.approver).json()["status"] == "ready"


@pytest.mark.parametrize(
    ("detail", "line"),
    [
        ({"version": "0123456789abcdef", "reviewed": True}, "Duyệt phiên bản 01234567"),
        (
            {"version": "0123456789abcdef", "reviewed": False},
            "Duyệt phiên bản 01234567 (không ghi bản đã nghe)",
        ),
        ({}, "Duyệt"),  # approvals recorded before versions existed
    ],
)
def test_the_history_says_which_version_was_approved(detail: dict[str, Any], line: str) -> None:
    assert bulletin_history.describe("approved", detail) == line
