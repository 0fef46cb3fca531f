"""What an import answers: how much it created, or every problem with its line (or file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import ngettext

MAX_REPORTED = 100  # errors listed; the rest are counted


class Problem(NamedTuple):
    """Where (a CSV line number, or a path in the ZIP; 0 for the whole file), which field, what."""

    line: int | str
    field: str
    message: str


@dataclass
class ImportReport:
    created: int = 0  # articles
    translations: int = 0  # texts, the first ones included
    published: bool = False
    errors: list[Problem] = field(default_factory=list)
    error_count: int = 0
    skipped: list[Problem] = field(default_factory=list)  # ignored, not blocking

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    def error(self, line: int | str, field_: str, message: object) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(Problem(line, field_, str(message)))

    def skip(self, line: int | str, field_: str, message: object) -> None:
        if len(self.skipped) < MAX_REPORTED:
            self.skipped.append(Problem(line, field_, str(message)))

    def lines(self) -> list[str]:
        """The report as plain text lines (the command line prints these)."""
        out = [describe(p) for p in self.errors]
        if self.more_errors:
            out.append(
                ngettext("... and %(num)d more error.", "... and %(num)d more errors.", self.more_errors)
            )
        return out


def describe(problem: Problem) -> str:
    """One problem as a line of text; the column (or field) is named as in the file."""
    line, name, message = problem
    if isinstance(line, int) and line:
        if name:
            return _("Line %(line)d, %(field)s: %(message)s", line=line, field=name, message=message)
        return _("Line %(line)d: %(message)s", line=line, message=message)
    if line:
        if name:
            return _("%(file)s, %(field)s: %(message)s", file=line, field=name, message=message)
        return _("%(file)s: %(message)s", file=line, message=message)
    if name:
        return _("%(field)s: %(message)s", field=name, message=message)
    return message
