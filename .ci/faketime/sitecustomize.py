"""Loaded only in .ci/run's libfaketime slices (PYTHONPATH): a time.sleep libfaketime 0.9.10 can serve.

Python 3.11's time.sleep waits with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which libfaketime
0.9.10 (Debian 12) turns into EINVAL with the monotonic clock left real, or an endless wait with it faked
(wolfcw/libfaketime#426). select() waits a relative time on the real monotonic clock, as sleep should.
"""

from __future__ import annotations

import select
import time
from typing import SupportsIndex


def _sleep(seconds: float | SupportsIndex) -> None:
    """Sleep `seconds` (select retries after signals with the remaining time, as time.sleep does)."""
    select.select([], [], [], float(seconds))


time.sleep = _sleep
