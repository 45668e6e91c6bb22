"""Read a /metrics answer with prometheus_client's own parser (tests compare values, never text)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(text: str, name: str) -> list[Sample]:
    """Return every sample called `name` (e.g. `loa_http_request_seconds_count`) in the exposition."""
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """Return the one sample `name` with exactly `labels`; fail (showing the text) if it is not there."""
    wanted = dict(labels or {})
    found = [s.value for s in samples(text, name) if s.labels == wanted]
    assert len(found) == 1, f"{name}{wanted} found {len(found)} times in:\n{text}"
    return found[0]


def total(text: str, name: str, **labels: str) -> float:
    """Return the sum of the samples `name` whose labels include `labels` (0 if none)."""
    return sum(s.value for s in samples(text, name) if labels.items() <= s.labels.items())
