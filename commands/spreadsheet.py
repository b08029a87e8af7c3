"""CSV that a lead can open in a spreadsheet without it running anything (OWASP, "CSV Injection").

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets; ids written to the database by another tool can start so. Such a cell gets
a leading `'`, which spreadsheets show as text and do not display. A cell that already starts with `'`
gets one too, so the rule can be undone exactly (`original_cell`): the digest reads its customers' ids back
from the lines the database wrote. Every other cell, `C-10042` included, is written exactly as it is.

The rule is this module's; the digest's full list, built line by line in SQL, follows it with
`FORMULA_STARTS` (models/digest/queries.py `csv_line`), and the tests hold the two to each other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return MARK + text if text.startswith((*FORMULA_STARTS, MARK)) else text


def original_cell(cell: str) -> str:
    """The value `safe_cell` was given."""
    return cell[1:] if cell.startswith(MARK) else cell


def safe_rows(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text, every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
