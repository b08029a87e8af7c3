"""CSV that a lead can open in a spreadsheet without it running anything (OWASP, "CSV Injection").

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets; ids written to the database by another tool can start so. Such a cell
gets a leading `'`, which spreadsheets show as text and do not display; every other cell, `C-10042`
included, is written exactly as it is. Every CSV writer of the bot goes through `safe_cell`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A line's cell that starts like a formula: at the line's start or after a comma, quoted or not. (A comma
# inside a quoted id followed by one of these gets the `'` too: the id stays readable, and nothing runs.)
_RISKY_CELL = re.compile(r'(?:^|,)"?[=+\-@\t\r]', re.MULTILINE)


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_rows(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text, every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def safe_lines(lines: list[str]) -> list[str]:
    """CSV lines formatted elsewhere (the digest's, by the database), made safe: the `'` goes in front of
    a risky cell's first character, inside its quotes when it has them. Not parsed with `csv`: a lone CR in
    an unquoted id is legal in these lines and the csv module refuses it. The lines are searched as one
    text first, so a list of a million clean lines costs one regex pass."""
    if not _RISKY_CELL.search("\n".join(lines)):
        return lines
    return [_RISKY_CELL.sub(lambda m: m.group(0)[:-1] + "'" + m.group(0)[-1], line) for line in lines]
