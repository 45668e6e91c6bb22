"""Passwords are hashed at Argon2's full cost on a real station; only the test suite opts into cheap ones."""

from __future__ import annotations

import os
import subprocess
import sys

from argon2 import PasswordHasher

from broadcast.people import accounts

_HASH_ONE = "from broadcast.people import accounts as a; print(a._hasher.hash('mat-khau'))"


def _hash_in_a_fresh_process(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != accounts.CHEAP_HASHES_ENV}
    done = subprocess.run(
        [sys.executable, "-c", _HASH_ONE], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_station_hashes_at_full_cost_unless_told_it_is_under_test() -> None:
    assert _hash_in_a_fresh_process().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert _hash_in_a_fresh_process(**{accounts.CHEAP_HASHES_ENV: "0"}).startswith("$argon2id$v=19$m=65536")
    cheap = _hash_in_a_fresh_process(**{accounts.CHEAP_HASHES_ENV: "1"})
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert PasswordHasher().verify(cheap, "mat-khau")  # either kind verifies under the other


def test_the_suite_runs_with_cheap_hashes_and_says_so() -> None:
    assert os.environ.get(accounts.CHEAP_HASHES_ENV) == "1"  # tests/conftest.py
    warning = accounts.cheap_hashes_warning()
    assert warning is not None and "never set it on a real station" in warning
