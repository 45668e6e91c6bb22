"""Lay out a commune's zones and loudspeaker clusters on a small map drawn without tiles (pure).

Equirectangular projection with the longitude scaled by cos(latitude): over a commune (a few km) the error
is far below a dot's size, and no map server is needed on a network-less station.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

METRES_PER_DEGREE = 111_320.0  # one degree of latitude (and of scaled longitude)
MIN_SPAN_DEG = 0.005  # ~550 m: one cluster alone is not blown up to fill the box
SPREAD_PX = 9.0  # clusters sharing a spot (no own coordinates) fan out around it by this radius


@dataclass(frozen=True)
class ZoneSpot:
    zone_id: str
    name: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class DeviceSpot:
    device_id: str
    zone_id: str
    online: bool
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class Place:
    """Something to draw: a cluster (dot) or a zone (label)."""

    kind: Literal["device", "zone"]
    key: str
    label: str
    latitude: float
    longitude: float
    online: bool = False
    estimated: bool = False  # a cluster drawn at its zone's spot: it has no coordinates of its own


@dataclass(frozen=True)
class Point:
    place: Place
    x: float
    y: float


@dataclass(frozen=True)
class ScaleBar:
    metres: float
    pixels: float
    text: str


@dataclass(frozen=True)
class MapLayout:
    width: float
    height: float
    devices: tuple[Point, ...]
    zones: tuple[Point, ...]
    scale: ScaleBar


def _spot(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """Return (lat, lon) if both are real coordinates, else None."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def build_places(zones: Iterable[ZoneSpot], devices: Iterable[DeviceSpot]) -> list[Place]:
    """Return what can be drawn: clusters at their own spot or else their zone's; zones at theirs or else
    at the middle of their clusters. Anything with no known spot is left out (the table still lists it)."""
    zone_list = list(zones)
    zone_spot = {z.zone_id: s for z in zone_list if (s := _spot(z.latitude, z.longitude)) is not None}
    places: list[Place] = []
    own: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for d in devices:
        spot = _spot(d.latitude, d.longitude)
        estimated = spot is None
        if spot is None:
            spot = zone_spot.get(d.zone_id)
            if spot is None:
                continue
        else:
            own[d.zone_id].append(spot)
        places.append(Place("device", d.device_id, d.device_id, spot[0], spot[1], d.online, estimated))
    for z in zone_list:
        spot = zone_spot.get(z.zone_id)
        if spot is None and own[z.zone_id]:
            points = own[z.zone_id]
            spot = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        if spot is not None:
            places.append(Place("zone", z.zone_id, z.name or z.zone_id, spot[0], spot[1]))
    return places


def nice_length(limit: float) -> float:
    """Return the largest 1, 2 or 5 × 10^n not above `limit` (for a scale bar)."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    power = 10 ** math.floor(math.log10(limit))
    for step in (5, 2, 1):
        if step * power <= limit:
            return float(step * power)
    return float(power)  # pragma: no cover - 1 × power is always <= limit


def _metres_text(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def layout(
    places: Sequence[Place], width: float = 640.0, height: float = 400.0, padding: float = 36.0
) -> MapLayout | None:
    """Project the places into a width × height box (north up), keeping distances true in both axes."""
    if not places:
        return None
    lats = [p.latitude for p in places]
    lons = [p.longitude for p in places]
    mid_lat = (min(lats) + max(lats)) / 2
    k = max(math.cos(math.radians(mid_lat)), 0.01)
    span_x = max((max(lons) - min(lons)) * k, MIN_SPAN_DEG)
    span_y = max(max(lats) - min(lats), MIN_SPAN_DEG)
    scale = min((width - 2 * padding) / span_x, (height - 2 * padding) / span_y)  # pixels per degree
    centre_x = (min(lons) + max(lons)) / 2 * k
    centre_y = (min(lats) + max(lats)) / 2

    def project(p: Place) -> Point:
        x = width / 2 + (p.longitude * k - centre_x) * scale
        y = height / 2 - (p.latitude - centre_y) * scale
        return Point(p, round(x, 1), round(y, 1))

    devices = _spread([project(p) for p in places if p.kind == "device"])
    zones = tuple(project(p) for p in places if p.kind == "zone")
    metres_per_pixel = METRES_PER_DEGREE / scale
    metres = nice_length(metres_per_pixel * width / 4)
    bar = ScaleBar(metres, round(metres / metres_per_pixel, 1), _metres_text(metres))
    return MapLayout(width, height, tuple(devices), zones, bar)


def _spread(points: list[Point]) -> list[Point]:
    """Fan out clusters that land on the same pixel, so each stays visible and hoverable."""
    groups: defaultdict[tuple[float, float], list[Point]] = defaultdict(list)
    for p in points:
        groups[(round(p.x), round(p.y))].append(p)
    result: list[Point] = []
    for group in groups.values():
        if len(group) == 1:
            result.extend(group)
            continue
        for i, p in enumerate(sorted(group, key=lambda q: q.place.key)):
            angle = 2 * math.pi * i / len(group) - math.pi / 2
            x = p.x + SPREAD_PX * math.cos(angle)
            y = p.y + SPREAD_PX * math.sin(angle)
            result.append(Point(p.place, round(x, 1), round(y, 1)))
    return sorted(result, key=lambda q: q.place.key)
