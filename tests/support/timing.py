"""How close to its start time a play must begin in tests that run real processes beside other tests."""

from __future__ import annotations

# Real agents, brokers and stations share two cores with three other test workers: a wake-up can come a
# few hundred milliseconds late without anything being wrong. These tests check that a play starts at
# its time, not a second off; how closely agents keep time (and each other) is measured alone, in
# tests/edge_agent/test_programme_sync.py (serial, 20 agents within 20 ms) and bench/sync_start.py.
ON_TIME_S = 0.5
