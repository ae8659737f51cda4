"""Shared pieces of every CSV import and export: row errors, reports, progress, safe cells."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self):
        if self.column:
            return _("line %(line)s, column %(column)s: %(message)s") % {"line": self.line, "column": self.column, "message": self.message}
        return _("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class ImportReport:
    """What an import did or would do. `written` is False whenever nothing reached the database."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    # Set by imports that report it: a check of a file with bad rows then says that, as it stands, the
    # file would write nothing (None keeps the plain "would create" summary).
    skip_invalid: bool | None = None

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    def summary(self) -> str:
        if self.errors and not self.written and not self.dry_run:
            return _(
                "Nothing was written: %(bad)s of %(rows)s rows have errors. "
                "Fix them, or import with the skip-invalid option to write only the good rows."
            ) % {"bad": len(self.bad_lines), "rows": self.rows}
        counts = {"created": self.created, "updated": self.updated, "skipped": self.skipped}
        if self.dry_run and self.errors and self.skip_invalid is False:
            return _(
                "Checked: %(bad)s of %(rows)s rows have errors, so importing this file would write nothing. "
                "Fix them, or import with the skip-invalid option to write only the good rows "
                "(%(created)s new, %(updated)s updated)."
            ) % {"bad": len(self.bad_lines), "rows": self.rows, **counts}
        if self.dry_run:
            text = _("Checked: would create %(created)s and update %(updated)s") % counts
        else:
            text = _("Created %(created)s, updated %(updated)s") % counts
        if self.skipped:
            text += _(", skipped %(skipped)s invalid rows") % counts
        return text + "."


def read_csv(stream, *, required: list[str], known: list[str]):
    """Open a CSV stream; return (DictReader, header problems, warnings). BOMs from Excel are tolerated."""
    if isinstance(stream, (bytes, bytearray)):
        stream = io.StringIO(stream.decode("utf-8-sig"))
    reader = csv.DictReader(stream)
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        reader.fieldnames = []
        return reader, [RowError(1, "", _("The header row cannot be read as CSV: %(error)s.") % {"error": exc})], []
    header = [(h or "").strip().lstrip("\ufeff") for h in fieldnames]
    reader.fieldnames = header
    problems, warnings = [], []
    if not header:
        problems.append(RowError(1, "", _("The file is empty or has no header row.")))
        return reader, problems, warnings
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(RowError(1, "", _("The header lacks required column(s): %(columns)s.") % {"columns": ", ".join(missing)}))
    extra = [c for c in header if c and c not in known]
    if extra:
        warnings.append(_("Ignored column(s) not used by this import: %(columns)s.") % {"columns": ", ".join(extra)})
    return reader, problems, warnings


def read_rows(reader) -> tuple[list[tuple[int, dict]], RowError | None]:
    """Every (line, row) of a reader from `read_csv`, or the rows before the line that cannot be read as
    CSV (e.g. a cell over the csv module's size limit) and that line's error, instead of an exception."""
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        line = getattr(reader, "reader", reader).line_num  # a DictReader's own line_num lags behind on errors
        return rows, RowError(line, "", _("This line cannot be read as CSV: %(error)s. Nothing was imported.") % {"error": exc})
    return rows, None


def nul_cell_errors(raw: dict) -> list[tuple[str, str]]:
    """(column, message) for each cell holding a NUL character: a file saved as something other than CSV
    text, and a value PostgreSQL would refuse to store."""
    return [
        (column, _("The cell holds a NUL character; save the file again as CSV text."))
        for column, value in raw.items() if column and isinstance(value, str) and "\x00" in value
    ]


def safe_cell(value) -> str:
    """Keep spreadsheet programs from executing a cell as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def unsafe_cell(text: str) -> str:
    """Undo `safe_cell` when a file we exported comes back: "'+91 20 1234" is the phone "+91 20 1234"."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r" and not _is_number(text[1:]):
        return text[1:]
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class Progress:
    """A plain progress bar on stderr for management commands (silent when not a terminal)."""

    def __init__(self, total: int, *, label: str = "rows", stream=None, width: int = 30):
        self.total, self.label, self.width = max(total, 1), label, width
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        percent = int(100 * done / self.total)
        if percent == self._last and done != self.total:
            return
        self._last = percent
        filled = int(self.width * done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {self.label}")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


class CsvImportCommand(BaseCommand):
    """A management command that feeds one CSV file to an import function and prints its report: every bad row,
    then the summary; it fails (exit status 1) when the import wrote nothing because of bad rows."""

    columns: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with columns " + ",".join(self.columns))
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Write the good rows even if some rows are bad.")

    def run_import(self, lines: list[str], *, path: Path, dry_run: bool, skip_invalid: bool, progress: Progress,
                   **options) -> ImportReport:
        raise NotImplementedError

    def handle(self, *args, file, dry_run=False, skip_invalid=False, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        lines = text.splitlines(keepends=True)
        progress = Progress(max(len(lines) - 1, 1), stream=self.stderr._out)
        report = self.run_import(lines, path=path, dry_run=dry_run, skip_invalid=skip_invalid, progress=progress, **options)
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        for error in report.errors:
            self.stderr.write(str(error))
        if report.errors and not report.written and not dry_run:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
