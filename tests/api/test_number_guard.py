"""Oversized numbers in bulletin text: a clear 422 on every path (API, background job, web form, CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from broadcast.storage.models import Bulletin
from tests.api.conftest import Api
from tests.api.workflow_support import EDITOR, running_station, web_client

HUGE = "9" * 4400
BODY = {"title": "Thông báo", "text": f"Số tiền {HUGE} đồng.", "zones": ["thon-1"]}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_station(tmp_path_factory.mktemp("number-station")) as running:
        yield running


def _count(api: Api) -> int:
    with api.station.db.session() as session:
        return session.scalar(select(func.count(Bulletin.id))) or 0


def test_api_paths_answer_422_in_vietnamese_and_store_nothing(api: Api) -> None:
    before = _count(api)
    for path, body in (
        ("/api/bulletins", BODY),
        ("/api/bulletins/jobs", BODY),
        ("/api/normalize", {"text": BODY["text"]}),
    ):
        answer = api.client.post(path, json=body, headers=api.editor)
        assert answer.status_code == 422, (path, answer.text)
        assert "4400 chữ số" in answer.json()["detail"], path
    assert _count(api) == before
    created = api.client.post("/api/bulletins", json={**BODY, "text": "Số tiền 9 đồng."}, headers=api.editor)
    path = f"/api/bulletins/{created.json()['id']}"
    edited = api.client.put(path, json=BODY, headers=api.editor)
    assert edited.status_code == 422 and "chữ số" in edited.json()["detail"]
    assert api.client.get(path, headers=api.editor).json()["text"] == "Số tiền 9 đồng."


def test_the_web_form_shows_the_refusal_and_keeps_what_was_typed(api: Api) -> None:
    client, token = web_client(api, EDITOR)
    before = _count(api)
    form = {"csrf_token": token, "title": "Thông báo", "text": BODY["text"], "zones": ["thon-1"]}
    answer = client.post("/bulletins", data=form, follow_redirects=False)
    assert answer.status_code == 422 and "chữ số" in answer.text and 'role="alert"' in answer.text
    assert HUGE[:100] in answer.text  # the officer's text is still in the form
    assert _count(api) == before


def test_the_cli_says_what_is_wrong_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    env["BROADCAST_DATA_DIR"] = str(tmp_path / "var")
    for args, stdin in ((["normalize", BODY["text"]], ""), (["normalize"], f"Họp lúc 7h.\n{BODY['text']}\n")):
        result = subprocess.run(
            [sys.executable, "-m", "broadcast.cli", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "chữ số" in result.stderr and "Traceback" not in result.stderr
