"""Settings in sections: every operator setting reaches exactly one section, with the environment's value."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from broadcast.config import Settings

SECTIONS = (
    "broker", "clip_storage", "speech", "programme", "alerts", "limits", "guards", "fleet", "live", "web",
    "backup",
)  # fmt: skip
# Read by the composition root only: where the data and the database are, and which environment this is.
ROOT_FIELDS = {"data_dir", "database_url", "render_cache", "env"}
# Derived directories are not settings: a section may take one that another section also takes.
DERIVED = {"broker_dir", "secrets_dir", "clips_dir", "cache_dir", "voices_dir", "live_dir"}


def test_every_setting_is_in_exactly_one_section() -> None:
    settings = Settings()
    owners: dict[str, list[str]] = {}
    for name in SECTIONS:
        for f in fields(getattr(settings, name)):
            owners.setdefault(f.name, []).append(name)
    flat = set(Settings.model_fields) - ROOT_FIELDS
    assert flat <= set(owners), f"settings in no section: {sorted(flat - set(owners))}"
    assert set(owners) <= flat | DERIVED, (
        f"section fields that are no setting: {sorted(set(owners) - flat - DERIVED)}"
    )
    assert {k: v for k, v in owners.items() if len(v) > 1 and k not in DERIVED} == {}


def test_sections_carry_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROADCAST_MQTT_URL", "mqtt://u:p@broker.xa:1883")
    monkeypatch.setenv("BROADCAST_MQTT_TLS_NAMES", '["loa.xa.vn"]')
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "")
    monkeypatch.setenv("BROADCAST_UPLOAD_MAX_BYTES", "1234")
    monkeypatch.delenv("BROADCAST_RENDER_CACHE", raising=False)  # the suite shares one speech cache
    settings = Settings()
    assert settings.broker.mqtt_url == "mqtt://u:p@broker.xa:1883"
    assert settings.broker.mqtt_tls_names == ("loa.xa.vn",)
    assert settings.broker.secrets_dir == tmp_path / "secrets"
    assert settings.programme.quiet_hours == ""
    assert settings.limits.upload_max_bytes == 1234
    assert settings.speech.cache_dir == tmp_path / "cache"
