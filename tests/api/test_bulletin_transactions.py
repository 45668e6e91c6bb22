"""No database transaction is open while a bulletin is read aloud (an online voice takes seconds).

A probe engine stands in for Google or Edge: when the station calls it, it asks the database engine's
own events whether the calling thread has a transaction open (SQLite or PostgreSQL alike), and it can
make a change land "during the network call" to show the read and the store are still all-or-nothing.
"""

from __future__ import annotations

import array
import math
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from sqlalchemy import event, select

from broadcast import bulletins
from broadcast.bulletins import dictionary
from broadcast.bulletins.edits import CHANGED_MEANWHILE
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin, User
from broadcast.tts import PcmAudio, TtsEngine, registry
from tests.api.conftest import Api
from tests.api.workflow_support import APPROVER, EDITOR, running_station, web_client


class ProbeEngine(TtsEngine):
    """A voice that records, at each call, how many transactions its thread holds open."""

    name = "probe"
    open_when_called: ClassVar[list[int]] = []
    during_call: ClassVar[Callable[[], None] | None] = None

    def voices(self) -> list[str]:
        return ["vi"]

    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        ProbeEngine.open_when_called.append(TRACKER.in_this_thread())
        if ProbeEngine.during_call is not None:
            ProbeEngine.during_call()
        rate, frequency = 16000, 300 + zlib.crc32(text.encode()) % 500  # each text its own sound
        samples = array.array(
            "h", (int(8000 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(rate))
        )
        return PcmAudio(samples.tobytes(), rate)


class _OpenTransactions:
    """Count the open transactions of each thread from the database engine's begin/commit/rollback."""

    def __init__(self) -> None:
        self._open: dict[int, int] = {}
        self._lock = threading.Lock()

    def begin(self, _connection: Any) -> None:
        self._change(+1)

    def end(self, _connection: Any) -> None:
        self._change(-1)

    def _change(self, step: int) -> None:
        with self._lock:
            me = threading.get_ident()
            self._open[me] = max(0, self._open.get(me, 0) + step)

    def in_this_thread(self) -> int:
        with self._lock:
            return self._open.get(threading.get_ident(), 0)


TRACKER = _OpenTransactions()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp("transactions-station")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(registry.ENGINES, "probe", f"{__name__}:ProbeEngine")
        # The probe is the station's voice (imports and alert phrases read with it too); its own cache.
        settings = {"tts_engine": "probe", "tts_fallback": ["probe"], "render_cache": directory / "cache"}
        with running_station(directory, **settings) as running:
            engine = running.station.db.engine
            event.listen(engine, "begin", TRACKER.begin)
            event.listen(engine, "commit", TRACKER.end)
            event.listen(engine, "rollback", TRACKER.end)
            yield running


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    ProbeEngine.open_when_called.clear()
    ProbeEngine.during_call = None
    yield
    ProbeEngine.during_call = None


def _draft(**changes: Any) -> dict[str, Any]:
    text = f"Thông báo số {uuid.uuid4().int % 10**6}: chiều nay họp thôn."  # never in the render cache
    return {"title": "Họp thôn", "text": text, "zones": ["thon-1"], "engine": "probe", **changes}


def _called_outside_transactions() -> None:
    assert ProbeEngine.open_when_called, "the probe voice was never called"
    assert ProbeEngine.open_when_called == [0] * len(ProbeEngine.open_when_called)


def test_the_probe_sees_a_transaction_when_one_is_open(api: Api) -> None:
    """The check can fail: a render called inside a session is caught."""
    with api.station.db.session() as session:
        session.scalar(select(Bulletin.id).limit(1))
        ProbeEngine.open_when_called.clear()
        registry.get_engine("probe").synthesize("một hai ba")
    assert ProbeEngine.open_when_called == [1]


def test_create_edit_and_read_again_through_the_api(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=_draft(), headers=api.editor)
    assert created.status_code == 201, created.text
    assert created.json()["engine"] == "probe"
    _called_outside_transactions()
    path = f"/api/bulletins/{created.json()['id']}"

    ProbeEngine.open_when_called.clear()
    edited = api.client.put(path, json=_draft(text="Chiều nay QLTV họp xã viên."), headers=api.editor)
    assert edited.status_code == 200, edited.text
    _called_outside_transactions()

    with api.station.db.session() as session:  # a new reading of QLTV: no cache can answer
        dictionary.set_entry(session, "admin", "QLTV", "quản lý thôn vụ", "test")
    ProbeEngine.open_when_called.clear()
    again = api.client.post(f"{path}/render", headers=api.editor)
    assert again.status_code == 200, again.text
    assert "quản lý thôn vụ" in again.json()["spoken_text"]
    _called_outside_transactions()


def test_create_through_the_web_form_and_an_import_job(api: Api) -> None:
    client, token = web_client(api, EDITOR)
    form = {**_draft(), "csrf_token": token, "priority": "normal"}
    posted = client.post("/bulletins", data=form, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    _called_outside_transactions()

    ProbeEngine.open_when_called.clear()
    texts = [_draft()["text"].replace(":", " -") for _ in range(2)]
    rows = "title,text,zones\n" + "\n".join(f'Tin {n},"{text}",thon-1' for n, text in enumerate(texts))
    with api.station.db.session() as session:
        row_count = len(list(session.scalars(select(Bulletin.id))))
    started = api.client.post(
        "/api/bulletins/import",
        files={"file": ("tin.csv", rows.encode(), "text/csv")},
        headers=api.editor,
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while (job := api.client.get(f"/api/jobs/{started.json()['id']}", headers=api.editor).json())[
        "status"
    ] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "done", job
    with api.station.db.session() as session:
        assert len(list(session.scalars(select(Bulletin.id)))) == row_count + 2
    _called_outside_transactions()  # the import job read both bulletins with the station's voice


def test_an_approval_landing_while_the_edit_is_read_refuses_the_edit(api: Api) -> None:
    """The read and the store are two transactions, yet the edit stays all-or-nothing."""
    created = api.client.post("/api/bulletins", json=_draft(), headers=api.editor)
    assert created.status_code == 201, created.text
    bulletin_id = created.json()["id"]
    with api.station.db.session() as session:
        approver = session.scalars(select(User).where(User.name == APPROVER[0])).one()
        principal = Principal(approver.id, approver.name, approver.role)

    def approve_now() -> None:  # from the engine's own thread: it would wait on a lock the edit held
        with api.station.db.session() as session:
            bulletins.approve_bulletin(session, principal, bulletin_id, "test")

    ProbeEngine.during_call = approve_now
    ProbeEngine.open_when_called.clear()
    new_text = _draft()["text"]
    edited = api.client.put(f"/api/bulletins/{bulletin_id}", json=_draft(text=new_text), headers=api.editor)
    assert edited.status_code == 409 and edited.json()["detail"] == CHANGED_MEANWHILE
    _called_outside_transactions()
    after = api.client.get(f"/api/bulletins/{bulletin_id}", headers=api.editor).json()
    assert after["status"] == "ready" and after["text"] == created.json()["text"]
    assert after["clip_sha256"] == created.json()["clip_sha256"]
