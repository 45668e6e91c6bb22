"""Absurd numbers in a command: the agent rejects them (reported, logged), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.handlers import Rejected, decide

HUGE = b"9" * 5000  # past Python's 4,300-digit limit for int(str): json.loads raises ValueError


def test_a_5000_digit_number_is_an_unverified_command(agent_config: AgentConfig) -> None:
    payload = b'{"v":1,"kind":"play","id":"cmd-x","seq":' + HUGE + b',"sig":"AAAA"}'
    decision = decide(payload, 0.0, agent_config, set())
    assert isinstance(decision, Rejected)
    assert (decision.kind, decision.command_id) == ("unverified", "")
    assert "number too long" in decision.reason


@pytest.mark.parametrize(
    "overrides",
    [
        {"seq": 10**20},
        {"start_at": 1e300},
        {"bulletin_id": 10**30},
        {
            "clip": {
                "url": "http://127.0.0.1:8080/clips/a.mp3",
                "sha256": "ab" * 32,
                "size": 10**40,
                "duration_s": 1.0,
            }
        },
    ],
    ids=["seq", "start_at", "bulletin_id", "clip size"],
)
def test_signed_out_of_range_numbers_are_malformed(
    agent_config: AgentConfig,
    make_body: Callable[..., dict[str, Any]],
    station_key: tuple[bytes, str],
    overrides: dict[str, Any],
) -> None:
    # Signed by the station's own key: only the bounds stop it (a bug, or a stolen key's mischief).
    payload = protocol.sign_body(make_body(**overrides), station_key[0])
    decision = decide(payload, 0.0, agent_config, set())
    assert isinstance(decision, Rejected)
    assert decision.kind == "malformed"
    assert "out of range" in decision.reason
