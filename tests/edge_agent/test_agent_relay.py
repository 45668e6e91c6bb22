"""The amplifier relay on gpiozero mock pins: switching sequence, pre-roll and hold timings, fail-safe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from edge_agent.gpio import NullRelay, RelayError, make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.gpio.failsafe import force_off
from edge_agent.gpio.relay import GpioRelay

PIN = 17
TOLERANCE_S = 0.03


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


def _level(pin: Any) -> bool:
    return bool(pin.state)


def _timeline(pin: Any) -> list[tuple[float, bool]]:
    """Return the pin's changes as (seconds since clear_states, level)."""
    at, out = 0.0, []
    for change in pin.states[1:]:
        at += change.timestamp
        out.append((at, bool(change.state)))
    return out


def _assert_timeline(pin: Any, expected: list[tuple[float, bool]]) -> None:
    actual = _timeline(pin)
    assert [level for _, level in actual] == [level for _, level in expected], actual
    for (at, _), (want, _) in zip(actual, expected, strict=True):
        assert abs(at - want) < TOLERANCE_S, (actual, expected)


def test_relay_starts_off_switches_and_releases_the_pin(factory: MockFactory) -> None:
    relay = GpioRelay(PIN, pin_factory=factory)
    pin = factory.pin(PIN)
    assert (pin.function, pin.state, relay.is_on) == ("output", False, False)
    relay.on()
    assert (pin.state, relay.is_on) == (True, True)
    relay.off()
    relay.on()
    relay.close()
    assert pin.function == "input"  # released: the relay module's own pull keeps it off
    assert [s.state for s in pin.states] == [False, True, False, True, False]
    assert not relay.is_on
    relay.close()  # twice is fine
    with pytest.raises(RelayError, match="closed"):
        relay.on()


def test_active_low_module_is_driven_inverted(factory: MockFactory) -> None:
    relay = GpioRelay(PIN, active_high=False, pin_factory=factory)
    pin = factory.pin(PIN)
    assert _level(pin) is True  # high = off on an active-low board
    relay.on()
    assert _level(pin) is False
    relay.close()
    assert pin.states[-1].state is True and pin.function == "input"


def test_make_relay_without_a_pin_is_a_null_relay() -> None:
    relay = make_relay(None)
    assert isinstance(relay, NullRelay)
    relay.on()
    relay.close()
    assert relay.switches == [True, False]


@pytest.fixture
def amp(factory: MockFactory) -> Iterator[tuple[AmpControl, Any]]:
    control = AmpControl(GpioRelay(PIN, pin_factory=factory), pre_roll_s=0.3, hold_s=0.3)
    pin = factory.pin(PIN)
    control.start()
    pin.clear_states()
    yield control, pin
    control.stop()


def test_on_pre_roll_before_start_off_hold_after_end(amp: tuple[AmpControl, Any]) -> None:
    control, pin = amp
    start_at = time.time() + 0.5
    control.reserve("a", start_at)
    time.sleep(max(0.0, start_at + 0.2 - time.time()))  # a 0.2 s play
    control.release("a")
    time.sleep(0.45)
    _assert_timeline(pin, [(0.2, True), (0.7 + 0.3, False)])


def test_consecutive_plays_keep_the_amplifier_on(amp: tuple[AmpControl, Any]) -> None:
    control, pin = amp
    t0 = time.time()
    control.reserve("a", t0 + 0.4)
    control.reserve("b", t0 + 0.9)  # switches on at 0.6, inside a's hold (0.5 .. 0.8)
    time.sleep(max(0.0, t0 + 0.5 - time.time()))
    control.release("a")
    time.sleep(max(0.0, t0 + 1.0 - time.time()))
    control.release("b")
    time.sleep(0.4)
    _assert_timeline(pin, [(0.1, True), (1.3, False)])


def test_a_gap_longer_than_the_hold_switches_off_in_between(amp: tuple[AmpControl, Any]) -> None:
    control, pin = amp
    t0 = time.time()
    control.reserve("a", t0 + 0.3)
    control.reserve("b", t0 + 1.2)  # switches on at 0.9; a's hold ends at 0.7
    time.sleep(max(0.0, t0 + 0.4 - time.time()))
    control.release("a")
    time.sleep(max(0.0, t0 + 1.3 - time.time()))
    control.release("b")
    time.sleep(0.4)
    _assert_timeline(pin, [(0.0, True), (0.7, False), (0.9, True), (1.6, False)])


def test_stop_switches_off_at_once_and_releases_the_pin(amp: tuple[AmpControl, Any]) -> None:
    control, pin = amp
    control.reserve("a", time.time())  # due now: on at once
    time.sleep(0.1)
    assert _level(pin) is True
    control.stop()
    assert _level(pin) is False and pin.function == "input"


def test_a_reservation_never_released_expires(amp: tuple[AmpControl, Any]) -> None:
    control, pin = amp
    now = time.time()
    control.reserve("lost", now + 0.3, until=now + 0.4)
    time.sleep(0.9)
    _assert_timeline(pin, [(0.0, True), (0.4 + 0.3, False)])


def test_failsafe_forces_a_stuck_pin_off(factory: MockFactory) -> None:
    pin = factory.pin(PIN)
    pin.function = "output"
    pin.state = True  # left on by an agent that was SIGKILLed
    force_off(PIN, pin_factory=factory)
    assert _level(pin) is False and pin.function == "input"


_EXIT_PROBE = """
import atexit, os, signal, sys
pins = []
# Registered before gpiozero's own handler, so (atexit runs last-in first-out) it reports after it.
atexit.register(lambda: print("at exit:", pins[0].function, pins[0].state, flush=True))
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from edge_agent.gpio.relay import GpioRelay
Device.pin_factory = MockFactory()
relay = GpioRelay(17)
relay.on()
pins.append(Device.pin_factory.pin(17))
print("on:", pins[0].function, pins[0].state, flush=True)
{ending}
"""


@pytest.mark.parametrize(
    ("ending", "after"),
    [
        ("raise RuntimeError('crash')", "at exit: input"),  # an unhandled exception: atexit runs
        ("sys.exit(0)", "at exit: input"),
        ("os.kill(os.getpid(), signal.SIGTERM)", ""),  # default SIGTERM: no atexit, hence ExecStopPost
    ],
    ids=["crash", "exit", "sigterm-without-handler"],
)
def test_gpiozero_releases_the_pin_when_the_interpreter_exits(ending: str, after: str) -> None:
    code = textwrap.dedent(_EXIT_PROBE).replace("{ending}", ending)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "on: output True", done.stderr
    assert (lines[1] if len(lines) > 1 else "").startswith(after), done.stdout + done.stderr


def test_failsafe_command_reads_the_config(tmp_path: Path, agent_toml: Any) -> None:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    command = [sys.executable, "-m", "edge_agent.gpio.failsafe", "--config"]
    for pin in (None, PIN):
        path = agent_toml(tmp_path / f"agent-{pin}.toml", relay_pin=pin)
        done = subprocess.run([*command, str(path)], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([*command, str(tmp_path / "absent.toml")], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "cannot read" in done.stderr
