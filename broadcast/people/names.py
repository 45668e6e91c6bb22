"""Display names of communes: what an officer reads instead of an id or the placeholder "Xã"."""

from __future__ import annotations

from collections.abc import Sequence

from broadcast.storage.models import DEFAULT_COMMUNE, Commune

__all__ = ["PROVINCE_LABEL", "commune_choices", "commune_label"]

PROVINCE_LABEL = "Cấp tỉnh"
_PLACEHOLDERS = {"", "xã", "xa", "default"}  # what migration 0006 named the default commune is not a name


def commune_label(commune_id: str | None, name: str) -> str:
    """Return a commune's display name: its own name, else a plain description (None: the province)."""
    if commune_id is None:
        return PROVINCE_LABEL
    clean = " ".join(name.split())
    if clean.lower() not in _PLACEHOLDERS:
        return clean
    return "Xã mặc định" if commune_id == DEFAULT_COMMUNE else f"Xã {commune_id}"


def commune_choices(communes: Sequence[Commune], province: str | None) -> list[tuple[str, str]]:
    """Return (value, label) for a commune select: `province` (its form value) is offered first only when
    the station has more than one commune: a single-commune station has no province level to speak of."""
    choices = [(c.id, commune_label(c.id, c.name)) for c in communes]
    if province is not None and len(choices) > 1:
        choices.insert(0, (province, f"{PROVINCE_LABEL} (mọi xã)"))
    return choices
