"""Which clients the router moves, and how snapserver's status reads (pure, table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from broadcast.snapcast.control import SnapClient, clients_of
from broadcast.snapcast.router import moves


def _client(
    host_id: str, stream: str, *, connected: bool = True, group: str = "", size: int = 1
) -> SnapClient:
    return SnapClient(host_id, connected, group or f"g-{host_id}", stream, size)


ROUTES = {"loa-1": "live-1", "loa-2": "live-2"}


@pytest.mark.parametrize(
    ("clients", "expected"),
    [
        ([], {}),
        ([_client("loa-1", "live-1"), _client("loa-3", "idle")], {}),  # all where they belong
        ([_client("loa-1", "idle")], {"loa-1": "live-1"}),  # a session started
        ([_client("loa-3", "live-1")], {"loa-3": "idle"}),  # its session ended (or was never its own)
        # Sharing a group: each is moved out on its own, even the one already on its stream.
        (
            [_client("loa-1", "live-1", group="g", size=2), _client("loa-3", "live-1", group="g", size=2)],
            {"loa-1": "live-1", "loa-3": "idle"},
        ),
        ([_client("loa-2", "live-2", connected=False)], {"loa-2": "idle"}),  # gone: waits on idle
        ([_client("loa-2", "idle", connected=False)], {}),
    ],
)
def test_moves(clients: list[SnapClient], expected: dict[str, str]) -> None:
    assert moves(clients, ROUTES.get) == expected


def test_clients_of_reads_groups_streams_and_connection() -> None:
    server: dict[str, Any] = {
        "groups": [
            {
                "id": "g1",
                "stream_id": "live-1",
                "clients": [
                    {"id": "loa-1", "connected": True, "host": {"ip": "10.0.0.5"}},
                    {"id": "loa-2#2", "connected": False, "host": {"ip": "10.0.0.6"}},
                ],
            },
            {"id": "g2", "stream_id": "idle", "clients": []},
        ],
        "streams": [],
    }
    assert clients_of(server) == [
        SnapClient("loa-1", True, "g1", "live-1", 2, "10.0.0.5"),
        SnapClient("loa-2#2", False, "g1", "live-1", 2, "10.0.0.6"),
    ]
