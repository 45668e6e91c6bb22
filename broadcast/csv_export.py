"""The one CSV writer of every export: UTF-8 with a BOM, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"  # without it, Excel opens UTF-8 as a legacy code page and Vietnamese comes out garbled
# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection"); device
# reports, failed-login names, bulletin titles and rejection reasons are typed by people we do not trust.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def neutralise(value: Cell) -> str | int | float:
    """Return a cell safe to open in a spreadsheet: text that could start a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value  # numbers are written by us, and a spreadsheet reads them as numbers


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """Return the header and rows as CSV text with a BOM, every cell neutralised."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue()
