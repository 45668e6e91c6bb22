"""The one CSV writer: BOM for spreadsheets, and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from broadcast import csv_export
from broadcast.reports import tallies as reporting

ATTACKS = ['=HYPERLINK("http://x","bấm")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize(
    ("value", "written"),
    [(a, "'" + a) for a in ATTACKS]
    + [("Họp dân", "Họp dân"), ("", ""), (None, ""), (-3, -3), (2.5, 2.5), ("a=b", "a=b"), ("'=x", "'=x")],
)
def test_cells_that_start_a_formula_are_quoted(value: csv_export.Cell, written: object) -> None:
    assert csv_export.neutralise(value) == written


def test_every_cell_of_every_row_and_the_header_is_neutralised() -> None:
    text = csv_export.to_csv(["=tiêu đề", "b"], [[a, "ổn"] for a in ATTACKS] + [[1, None]])
    assert text.startswith(csv_export.BOM)  # Excel reads the Vietnamese as UTF-8
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == ["'=tiêu đề", "b"]
    assert [r[0] for r in rows[1:-1]] == ["'" + a for a in ATTACKS]
    assert rows[-1] == ["1", ""]
    assert not any(cell.startswith(csv_export.FORMULA_STARTS) for row in rows for cell in row)


def test_report_exports_go_through_the_writer() -> None:
    """Slot titles and skip reasons are typed by people: the skipped-slots export quotes them."""
    row = reporting.SkippedRow(datetime(2025, 5, 1, 1, tzinfo=UTC), 7, "=cmd()", ("t1",), "@lý do")
    rows = list(csv.reader(io.StringIO(reporting.skipped_csv([row], UTC, {"t1": "+Thôn"})[1:])))
    assert rows[1][2] == "'=cmd()" and rows[1][4] == "'+Thôn" and rows[1][5] == "'@lý do"
    daily = reporting.daily_csv(date(2025, 5, 1), [{"zone": "-x", "silent_devices": ["=loa"]}])
    assert list(csv.reader(io.StringIO(daily[1:])))[1][1::5] == ["'-x", "'=loa"]
