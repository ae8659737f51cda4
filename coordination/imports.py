"""AHTU returns from a CSV file, with the agency import's rules: every bad row reported with its line, and
nothing written unless every row is good (or the caller asked to skip bad rows).

Columns: `ahtu_code,month` (YYYY-MM), then the return's figures (see `IMPORT_COLUMNS`), and optionally
`submitted_on` (YYYY-MM-DD, when the figures reached the state; otherwise the import's time), which decides
whether the return counts as late.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from coordination.csvio import ImportReport, RowError, nul_cell_errors, read_csv, read_rows
from coordination.indicators import CUMULATIVE_RULES, FIELDS, MAX_MONTHLY_VALUE, cumulative_violations, row_problems
from coordination.models import AhtuReturn, AhtuReturnEvent, ReturnStatus
from coordination.periods import EARLIEST_MONTH, add_months, last_ended_month, month_key, parse_month
from stakeholders.models import Agency
from stakeholders.vocab import AgencyKind

IMPORT_COLUMNS = ["ahtu_code", "month", *FIELDS]
OPTIONAL_COLUMNS = ["submitted_on"]
IMPORT_STATUSES = (ReturnStatus.APPROVED, ReturnStatus.SUBMITTED)
_CUMULATIVE_FIELDS = tuple(sorted({field for rule in CUMULATIVE_RULES for field in rule}))
# Digits only (a minus sign is read so that it can be refused as negative): Python's int() would also take
# "1_000", "+5" and other scripts' digits, none of which a return's figure is.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


@dataclass
class _Row:
    line: int
    ahtu: Agency
    month: date
    values: dict[str, int]
    submitted_at: datetime | None


def import_returns(
    stream, *, status: str = ReturnStatus.APPROVED, dry_run: bool = False, skip_invalid: bool = False, by=None,
    allowed_state_ids=None, today: date | None = None, progress=None,
) -> ImportReport:
    """Validate every row, then create the returns with `status` (approved unless told "submitted").

    `allowed_state_ids` (None = any) limits a state reviewer's import to the AHTUs of their states.
    """
    if status not in IMPORT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(IMPORT_STATUSES)}")
    today = today or timezone.localdate()
    reader, problems, warnings = read_csv(stream, required=IMPORT_COLUMNS, known=IMPORT_COLUMNS + OPTIONAL_COLUMNS)
    report = ImportReport(errors=list(problems), warnings=warnings, dry_run=dry_run)
    if problems:
        return report
    raw_rows, problem = read_rows(reader)
    report.rows = len(raw_rows)
    if problem:
        report.errors.append(problem)
        return report
    codes = {(row.get("ahtu_code") or "").strip() for _line, row in raw_rows if not nul_cell_errors(row)}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes).only("pk", "code", "name", "kind", "state_id")}

    good: list[_Row] = []
    first_line: dict[tuple[int, date], int] = {}
    for index, (line, raw) in enumerate(raw_rows, start=1):
        errors = nul_cell_errors(raw)
        row = None if errors else _parse(line, raw, agencies, errors, allowed_state_ids, today)
        if row is not None:
            key = (row.ahtu.pk, row.month)
            if key in first_line:
                errors.append(("month", f"Duplicate return for {row.ahtu.code} {month_key(row.month)} (also on line {first_line[key]})."))
            else:
                first_line[key] = line
        if errors:
            report.errors.extend(RowError(line, column, message) for column, message in errors)
        else:
            good.append(row)
        if progress:
            progress(index)

    good = _check_existing_and_cumulative(good, report)
    report.errors.sort(key=lambda e: (e.line, e.column))
    report.skipped = report.rows - len(good)
    report.created = len(good)
    if dry_run or (report.errors and not skip_invalid):
        if not dry_run:
            report.created = 0
        return report
    _write(good, status=status, by=by)
    report.written = True
    return report


def _parse(line, raw, agencies, errors, allowed_state_ids, today) -> _Row | None:
    get = lambda column: (raw.get(column) or "").strip()  # noqa: E731
    code = get("ahtu_code")
    ahtu = agencies.get(code)
    if not code:
        errors.append(("ahtu_code", "An AHTU code is required."))
    elif ahtu is None:
        errors.append(("ahtu_code", f"No agency has code {code!r}."))
    elif ahtu.kind != AgencyKind.AHTU:
        errors.append(("ahtu_code", f"{code} is not an AHTU (it is a {ahtu.get_kind_display()})."))
        ahtu = None
    elif allowed_state_ids is not None and ahtu.state_id not in allowed_state_ids:
        errors.append(("ahtu_code", f"{code} is in another state; you may import returns of your own state's AHTUs only."))
        ahtu = None

    month = parse_month(get("month"))
    if month is None:
        errors.append(("month", f"{get('month')!r} is not a month (write YYYY-MM, e.g. 2024-03)."))
    elif month < EARLIEST_MONTH:
        errors.append(("month", f"Returns start in {month_key(EARLIEST_MONTH)}."))
    elif month > last_ended_month(today):
        errors.append(("month", f"{month_key(month)} is not over yet; its return cannot be filed."))

    values: dict[str, int | None] = {}
    for field in FIELDS:
        text = get(field)
        if not text:
            errors.append((field, "A number is required (0 if none)."))
            values[field] = None
            continue
        if not _WHOLE_NUMBER.fullmatch(text):
            errors.append((field, f"{text!r} is not a whole number."))
            values[field] = None
            continue
        value = int(text)
        if value < 0:
            errors.append((field, "Cannot be negative."))
        elif value > MAX_MONTHLY_VALUE:
            errors.append((field, f"{value} is not plausible for one month; check the figure."))
        values[field] = value
    if not any(column in FIELDS for column, _m in errors):
        for field, messages in row_problems(values).items():
            errors.extend((field, message) for message in messages)

    submitted_at = None
    if get("submitted_on"):
        try:
            submitted = date.fromisoformat(get("submitted_on"))
        except ValueError:
            errors.append(("submitted_on", f"{get('submitted_on')!r} is not a date (write YYYY-MM-DD)."))
        else:
            if month is not None and submitted < add_months(month, 1):
                errors.append(("submitted_on", "A return is submitted after its month is over."))
            elif submitted > today:
                errors.append(("submitted_on", "This date is in the future."))
            else:
                submitted_at = timezone.make_aware(datetime.combine(submitted, time(12)))
    if errors or ahtu is None or month is None:
        return None
    return _Row(line, ahtu, month, values, submitted_at)


def _check_existing_and_cumulative(rows: list[_Row], report: ImportReport) -> list[_Row]:
    """Refuse rows whose AHTU already has that month; then check the "to date" rules per AHTU over its
    existing returns and the file's rows together (a skipped row changes the totals: repeat until stable)."""
    if not rows:
        return rows
    ahtu_ids = {row.ahtu.pk for row in rows}
    existing = defaultdict(list)
    statuses = {}
    for record in AhtuReturn.objects.filter(ahtu_id__in=ahtu_ids).values("ahtu_id", "month", "status", *_CUMULATIVE_FIELDS):
        existing[record["ahtu_id"]].append((record["month"], record))
        statuses[(record["ahtu_id"], record["month"])] = record["status"]
    kept = []
    for row in rows:
        status = statuses.get((row.ahtu.pk, row.month))
        if status:
            report.errors.append(RowError(row.line, "month", f"{row.ahtu.code} already has a return for {month_key(row.month)} ({status})."))
        else:
            kept.append(row)
    while True:
        by_ahtu = defaultdict(list)
        for row in kept:
            by_ahtu[row.ahtu.pk].append(row)
        failed = set()
        for ahtu_id, ahtu_rows in by_ahtu.items():
            series = existing[ahtu_id] + [(row.month, row.values) for row in ahtu_rows]
            earliest = min(row.month for row in ahtu_rows)
            for violation in cumulative_violations(series, from_month=earliest):
                # Blame the file's row for the month where the total first goes wrong (or the latest before it).
                culprit = max((r for r in ahtu_rows if r.month <= violation.month), key=lambda r: r.month)
                report.errors.append(RowError(culprit.line, violation.part, violation.message()))
                failed.add(culprit.line)
        if not failed:
            return kept
        kept = [row for row in kept if row.line not in failed]


@transaction.atomic
def _write(rows: list[_Row], *, status: str, by) -> None:
    now = timezone.now()
    user = by if getattr(by, "pk", None) else None
    returns = []
    for row in rows:
        submitted_at = row.submitted_at or now
        returns.append(
            AhtuReturn(
                ahtu=row.ahtu, month=row.month, status=status, imported=True, created_by=user, created_at=now,
                # The AHTU submitted these figures outside the system; whoever imports them only records them
                # (the import event names them), so a reviewer may still review what they imported as submitted.
                first_submitted_at=submitted_at, submitted_at=submitted_at, submitted_by=None,
                reviewed_at=now if status == ReturnStatus.APPROVED else None,
                reviewed_by=user if status == ReturnStatus.APPROVED else None,
                **row.values,
            )
        )
    AhtuReturn.objects.bulk_create(returns, batch_size=1000)
    AhtuReturnEvent.objects.bulk_create(
        [AhtuReturnEvent(ahtu_return=r, actor=user, at=now, from_status="", to_status=status, comment="Imported from a file.")
         for r in returns],
        batch_size=1000,
    )
