"""Broker credential files: Mosquitto-compatible hashes, %u ACLs, and a real broker that enforces them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, render_config, write_credentials
from broadcast.mqtt.credentials import (
    DeviceCredential,
    check_password,
    hash_password,
    render_acl,
    render_passwd,
)
from tests.support.free_port import free_port


def test_hash_round_trip_and_format() -> None:
    stored = hash_password("mật khẩu dài")
    assert stored.startswith("$7$101$")
    assert check_password("mật khẩu dài", stored)
    assert not check_password("sai", stored)
    assert not check_password("x", "plain")


def test_acl_uses_username_patterns_and_per_device_zones() -> None:
    acl = render_acl(
        [DeviceCredential("loa-2", "h", ("thon-2",)), DeviceCredential("loa-1", "h", ("thon-1",))]
    )
    assert "pattern read loa/v1/dev/%u/cmd" in acl
    assert "%c" not in acl
    assert acl.index("user loa-1") < acl.index("user loa-2")
    assert "user loa-1\ntopic read loa/v1/zone/thon-1/cmd" in acl
    with pytest.raises(ValueError, match="zone"):
        render_acl([DeviceCredential("loa-1", "h", ("thôn 1",))])
    with pytest.raises(ValueError, match="device"):
        render_passwd("h", [DeviceCredential("station", "h", ("a",))])


def test_config_is_locked_down() -> None:
    text = render_config(BrokerConfig(directory=Path("/tmp/x"), port=1))
    assert "allow_anonymous false" in text
    assert "use_username_as_clientid true" in text
    assert text.index("listener 1 ") < text.index("allow_anonymous")


@pytest.mark.integration
def test_real_broker_accepts_only_known_credentials(tmp_path: Path) -> None:
    config = BrokerConfig(directory=tmp_path, port=free_port())
    write_credentials(
        config, hash_password("station-pw"), [DeviceCredential("loa-1", hash_password("dev-pw"), ("thon-1",))]
    )
    broker = ManagedBroker(config)
    broker.start()
    try:

        def pub(user: str | None, password: str | None) -> int:
            args = ["mosquitto_pub", "-p", str(config.port), "-t", "loa/v1/dev/loa-1/status", "-m", "x"]
            if user:
                args += ["-u", user, "-P", password or ""]
            return subprocess.run(args, capture_output=True, timeout=10, check=False).returncode

        assert pub("station", "station-pw") == 0
        assert pub("loa-1", "dev-pw") == 0
        assert pub("loa-1", "wrong") != 0
        assert pub(None, None) != 0
        # A device added later is accepted after the reload, without restarting the broker.
        write_credentials(
            config,
            hash_password("station-pw"),
            [
                DeviceCredential("loa-1", hash_password("dev-pw"), ("thon-1",)),
                DeviceCredential("loa-2", hash_password("pw2"), ("thon-1",)),
            ],
        )

        time.sleep(0.3)
        assert pub("loa-2", "pw2") == 0
    finally:
        broker.stop()
