"""The bar chart's geometry: heights in proportion, a round axis, labels that do not overlap (pure)."""

from __future__ import annotations

import itertools

import pytest

from broadcast.web.svg_chart import bar_chart, nice_ceiling


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (1, 1), (1.5, 2), (3, 5), (7, 10), (10, 10), (11, 20), (260, 500)]
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert nice_ceiling(value) == expected


def test_heights_are_proportional_and_bars_stand_on_the_baseline() -> None:
    chart = bar_chart(["a", "b", "c"], [0, 5, 10], width=300, height=200)
    assert chart.maximum == 10
    plot = chart.bottom - chart.top
    heights = [b.height for b in chart.bars]
    assert heights == [0, pytest.approx(plot / 2, abs=0.1), pytest.approx(plot, abs=0.1)]
    for b in chart.bars:
        assert b.y + b.height == pytest.approx(chart.bottom, abs=0.1)
        assert chart.left <= b.x and b.x + b.width <= chart.right + 0.1
    xs = [b.x for b in chart.bars]
    assert xs == sorted(xs)


def test_ticks_run_from_zero_to_the_maximum_evenly() -> None:
    chart = bar_chart(["x"], [17])
    assert chart.maximum == 20
    assert [t.text for t in chart.ticks] == ["0", "5", "10", "15", "20"]
    assert chart.ticks[0].y == chart.bottom and chart.ticks[-1].y == chart.top
    assert [t.text for t in bar_chart(["x"], [2]).ticks] == ["0", "1", "2"]


def test_all_zero_still_draws_an_axis() -> None:
    chart = bar_chart(["a", "b"], [0, 0])
    assert chart.maximum == 1 and all(b.height == 0 for b in chart.bars)
    assert bar_chart([], []).bars == ()


def test_many_bars_show_only_every_nth_label() -> None:
    labels = [f"{d:02d}/05" for d in range(1, 32)]
    chart = bar_chart(labels, [1] * 31, width=640, label_px=44)
    shown = [b for b in chart.bars if b.show_label]
    assert chart.bars[0].show_label
    assert 5 <= len(shown) < 31
    gaps = [b2.x - b1.x for b1, b2 in itertools.pairwise(shown)]
    assert min(gaps) >= 44 - 0.5
    assert all(b.show_label for b in bar_chart(labels[:7], [1] * 7).bars)


@pytest.mark.parametrize(
    ("labels", "values", "message"),
    [
        (["a"], [1, 2], "one value per label"),
        (["a"], [-1], "not negative"),
        (["a"], [float("nan")], "finite"),
    ],
)
def test_bad_input_is_refused(labels: list[str], values: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bar_chart(labels, values)
