"""A dashboard table as a CSV file: a header row of stable column keys, numbers unformatted (a
share as 0.25, a duration in seconds, a date as 2026-03-02), text guarded against formula
injection so that a client or team name like "=HYPERLINK(...)" stays text in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from flask import Response

from reports.tables import Table

# A spreadsheet evaluates a cell that starts with one of these (tab and carriage return too).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return round(value, 6) if isinstance(value, float) else value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow([cell(value) for value in row])
    if table.footer:
        writer.writerow([cell(value) for value in table.footer])
    return out.getvalue()


def response(table: Table, stem: str) -> Response:
    """The download: `<table>_<stem>.csv`, where the stem names the range (or the moment)."""
    filename = f"{table.name}_{stem}.csv"
    return Response(
        render(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
