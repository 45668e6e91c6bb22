"""The zone map's projection: true proportions, north up, fallbacks, spreading, scale bar (pure)."""

from __future__ import annotations

import math

import pytest

from broadcast.web.svg_map import (
    SPREAD_PX,
    DeviceSpot,
    Place,
    ZoneSpot,
    build_places,
    layout,
    nice_length,
)


def _device(key: str, lat: float, lon: float, online: bool = True) -> Place:
    return Place("device", key, key, lat, lon, online)


def test_nothing_to_draw() -> None:
    assert layout([]) is None
    assert (
        build_places([ZoneSpot("t1", "Thôn 1", None, None)], [DeviceSpot("a", "t1", True, None, None)]) == []
    )


def test_north_is_up_east_is_right_and_points_stay_inside() -> None:
    places = [_device("sw", 21.00, 105.80), _device("ne", 21.02, 105.83), _device("c", 21.01, 105.815)]
    m = layout(places, width=600, height=400, padding=30)
    assert m is not None
    at = {p.place.key: p for p in m.devices}
    assert at["ne"].x > at["sw"].x and at["ne"].y < at["sw"].y
    for p in m.devices:
        assert 30 - 0.1 <= p.x <= 570 + 0.1 and 30 - 0.1 <= p.y <= 370 + 0.1
    # the middle of the box is the middle of the extent
    assert at["c"].x == pytest.approx(300, abs=0.2) and at["c"].y == pytest.approx(200, abs=0.2)


def test_equal_ground_distances_are_equal_on_screen() -> None:
    """1 km east and 1 km north come out the same length: longitude is scaled by cos(latitude)."""
    lat = 21.0
    km_lat = 1000 / 111_320
    km_lon = km_lat / math.cos(math.radians(lat))
    places = [_device("o", lat, 105.8), _device("e", lat, 105.8 + km_lon), _device("n", lat + km_lat, 105.8)]
    m = layout(places, width=500, height=500)
    assert m is not None
    at = {p.place.key: p for p in m.devices}
    east = math.dist((at["o"].x, at["o"].y), (at["e"].x, at["e"].y))
    north = math.dist((at["o"].x, at["o"].y), (at["n"].x, at["n"].y))
    assert east == pytest.approx(north, rel=0.01)


def test_a_single_cluster_is_centred_and_not_blown_up() -> None:
    m = layout([_device("only", 10.5, 106.7)], width=640, height=400)
    assert m is not None
    (p,) = m.devices
    assert (p.x, p.y) == (320, 200)
    # the minimum extent (~550 m) fills the box: the scale bar says a few hundred metres, not millimetres
    assert 50 <= m.scale.metres <= 500
    assert m.scale.text.endswith(" m")


def test_scale_bar_matches_the_projection() -> None:
    places = [_device("a", 21.0, 105.8), _device("b", 21.0, 105.9)]  # ~10.4 km apart at 21°N
    m = layout(places, width=640, height=400, padding=20)
    assert m is not None
    a, b = m.devices
    pixels_per_metre = abs(b.x - a.x) / (0.1 * 111_320 * math.cos(math.radians(21.0)))
    assert m.scale.pixels == pytest.approx(m.scale.metres * pixels_per_metre, rel=0.01)
    assert m.scale.text == f"{m.scale.metres / 1000:g} km"


@pytest.mark.parametrize(
    ("limit", "expected"), [(1, 1), (1.9, 1), (2, 2), (4.99, 2), (5, 5), (9.9, 5), (160, 100), (0.3, 0.2)]
)
def test_nice_length(limit: float, expected: float) -> None:
    assert nice_length(limit) == pytest.approx(expected)


def test_devices_without_coordinates_use_their_zone_and_zones_without_use_their_devices() -> None:
    zones = [
        ZoneSpot("t1", "Thôn 1", 21.0, 105.8),
        ZoneSpot("t2", "Thôn 2", None, None),
        ZoneSpot("t3", "", None, None),
    ]
    devices = [
        DeviceSpot("a", "t1", True, None, None),
        DeviceSpot("b", "t2", False, 21.02, 105.82),
        DeviceSpot("c", "t2", True, 21.04, 105.84),
        DeviceSpot("d", "t3", True, None, None),  # nowhere to put it
    ]
    places = {(p.kind, p.key): p for p in build_places(zones, devices)}
    assert places[("device", "a")].estimated and (
        places[("device", "a")].latitude,
        places[("device", "a")].longitude,
    ) == (21.0, 105.8)
    assert not places[("device", "b")].estimated and not places[("device", "b")].online
    assert places[("zone", "t2")].latitude == pytest.approx(21.03)
    assert places[("zone", "t2")].label == "Thôn 2"
    assert ("device", "d") not in places and ("zone", "t3") not in places


@pytest.mark.parametrize("bad", [(91.0, 105.0), (21.0, 181.0), (float("nan"), 105.0), (21.0, float("inf"))])
def test_impossible_coordinates_are_ignored(bad: tuple[float, float]) -> None:
    assert build_places([], [DeviceSpot("a", "t1", True, *bad)]) == []


def test_clusters_on_one_spot_fan_out_around_it() -> None:
    zones = [ZoneSpot("t1", "Thôn 1", 21.0, 105.8), ZoneSpot("t2", "Thôn 2", 21.01, 105.81)]
    devices = [DeviceSpot(k, "t1", True, None, None) for k in ("a", "b", "c", "d")]
    devices.append(DeviceSpot("e", "t2", True, None, None))
    m = layout(build_places(zones, devices))
    assert m is not None
    centre = next(z for z in m.zones if z.place.key == "t1")
    fanned = [p for p in m.devices if p.place.key in "abcd"]
    assert len({(p.x, p.y) for p in fanned}) == 4
    for p in fanned:
        assert math.dist((p.x, p.y), (centre.x, centre.y)) == pytest.approx(SPREAD_PX, abs=0.2)
    alone = next(p for p in m.devices if p.place.key == "e")
    zone2 = next(z for z in m.zones if z.place.key == "t2")
    assert (alone.x, alone.y) == (zone2.x, zone2.y)
