"""Referral CSV import (the spreadsheets agencies keep today) and the CSV export of referral lists.

The export writes the import's columns first (then a few read-only extras the import ignores), so a
list exported from one deployment imports into another. Neither ever carries identity or free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from coordination.csvio import ImportReport, RowError, nul_cell_errors, read_csv, read_rows, safe_cell
from referrals.audit import audit
from referrals.bulk import allocate_ids, existing, fast_insert
from referrals.deadlines import rule_for
from referrals.models import Case, Referral, ReferralEvent
from referrals.services import derive_age
from referrals.vocab import (
    CUSTODY_PURPOSES,
    IDENTITY_PURPOSES,
    OPEN_STATUSES,
    PENDING_STATUSES,
    AgeStatus,
    CaseGender,
    Exploitation,
    Purpose,
    Status,
)
from stakeholders.geography import GeographyIndex
from stakeholders.models import Agency
from stakeholders.vocab import AgencyKind, choice_from_text

COLUMNS = [
    "reference", "case_code", "from_code", "to_code", "purpose", "status", "sent_at", "responded_at", "closed_at",
    "minor", "gender", "exploitation", "origin_state", "origin_district",
]
REQUIRED = ["reference", "case_code", "from_code", "to_code", "purpose", "status"]
EXPORT_EXTRA = ["urgency", "due_at", "overdue", "decline_reason", "outcome", "from_name", "to_name"]
EXPORT_COLUMNS = COLUMNS + EXPORT_EXTRA

REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$")
CASE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,19}$")
KOLKATA = ZoneInfo("Asia/Kolkata")
YES = {"yes", "y", "true", "1", "minor", "child"}
NO = {"no", "n", "false", "0", "adult"}
GENDER_SHORT = {"f": CaseGender.FEMALE, "m": CaseGender.MALE, "t": CaseGender.TRANSGENDER, "tg": CaseGender.TRANSGENDER}
# Which timestamps each status needs (sent_at, responded_at, closed_at): True required, False must be empty, None optional.
TIMES_FOR_STATUS = {
    Status.DRAFT: (False, False, False),
    Status.SENT: (True, False, False),
    Status.ACKNOWLEDGED: (True, False, False),
    Status.ACCEPTED: (True, True, False),
    Status.DECLINED: (True, True, False),
    Status.COMPLETED: (True, None, True),
    Status.WITHDRAWN: (None, False, True),
}
TIME_COLUMNS = ("sent_at", "responded_at", "closed_at")


def parse_time(text: str) -> datetime:
    """ISO 8601 ('2024-03-01T14:30:00+05:30', '2024-03-01 14:30', '2024-03-01'); no offset = Asia/Kolkata."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=KOLKATA)
    return value


@dataclass
class _Row:
    line: int
    reference: str
    case_code: str
    from_id: int
    to_id: int
    from_state_id: int | None
    to_state_id: int | None
    purpose: str
    status: str
    sent_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    age_status: str | None  # None: not given on this row
    gender: str | None
    exploitation: str | None
    origin_state_id: int | None
    origin_district_id: int | None


class _Lookup:
    """Memoised vocabulary and geography matching: 100,000 rows repeat a few hundred distinct values."""

    def __init__(self):
        self.geo = GeographyIndex.load()
        self._cache: dict = {}

    def choice(self, choices, text):
        key = (choices, text)
        if key not in self._cache:
            self._cache[key] = choice_from_text(choices, text)
        return self._cache[key]

    def state(self, text):
        key = ("state", text)
        if key not in self._cache:
            self._cache[key] = self.geo.match_state(text)
        return self._cache[key]

    def district(self, state, text):
        key = ("district", state.pk, text)
        if key not in self._cache:
            self._cache[key] = self.geo.match_district(state, text)
        return self._cache[key]


def import_referrals(stream, *, dry_run: bool = False, skip_invalid: bool = False, by=None, source: str = "",
                     progress=None) -> ImportReport:
    """Validate every row, then create the cases and referrals (with their events) in bulk.

    All-or-nothing unless `skip_invalid`. Cases are matched by `case_code` (created when new); a
    reference already in the database is left unchanged (the lifecycle in the app is the record)
    and counted as skipped with a warning.
    """
    reader, problems, warnings = read_csv(stream, required=REQUIRED, known=COLUMNS)
    report = ImportReport(errors=list(problems), warnings=warnings, dry_run=dry_run)
    if problems:
        return report
    raw_rows, problem = read_rows(reader)
    report.rows = len(raw_rows)
    if problem:
        report.errors.append(problem)
        return report
    lookup = _Lookup()
    agencies = {code: (pk, state_id, kind) for code, pk, state_id, kind in Agency.objects.values_list("code", "pk", "state_id", "kind")}
    now = timezone.now()

    parsed: list[_Row] = []
    first_line_of_reference: dict[str, int] = {}
    for index, (line, raw) in enumerate(raw_rows, start=1):
        errors = nul_cell_errors(raw)
        row = None if errors else _parse(line, raw, agencies, lookup, now, errors)
        if row is not None and row.reference in first_line_of_reference:
            errors.append(("reference", f"Duplicate reference {row.reference!r} (also on line {first_line_of_reference[row.reference]})."))
        elif row is not None:
            first_line_of_reference[row.reference] = line
        if errors:
            report.errors.extend(RowError(line, column, message) for column, message in errors)
        else:
            parsed.append(row)
        if progress:
            progress(index)

    existing_refs = _existing(Referral, "reference", [r.reference for r in parsed], ("case__code",))
    existing_cases = _existing(Case, "code", list({r.case_code for r in parsed}), ("age_status", "gender", "exploitation"))
    good = _check_cases(parsed, existing_refs, existing_cases, report)
    report.errors.sort(key=lambda e: (e.line, e.column))
    unchanged = [r for r in good if r.reference in existing_refs]
    fresh = [r for r in good if r.reference not in existing_refs]
    if unchanged:
        report.warnings.append(
            f"{len(unchanged)} reference(s) already exist and were left unchanged (first on line {unchanged[0].line})."
        )
    report.skipped = report.rows - len(fresh)
    report.created = len(fresh)
    if dry_run or (report.errors and not skip_invalid):
        if not dry_run:
            report.created = 0
        return report
    cases_created = _write(fresh, existing_cases, by=by, now=now)
    report.written = True
    audit(user=by, action="import", object_type="referral_import", object_ref=(source or "referrals.csv")[-60:],
          detail={"rows": report.rows, "created": report.created, "cases_created": cases_created, "skipped": report.skipped,
                  "errors": len(report.errors)})
    return report


def _parse(line, raw, agencies, lookup, now, errors) -> _Row | None:
    cells = {column: value.strip() for column, value in raw.items() if value and column}
    get = lambda column: cells.get(column, "")  # noqa: E731
    reference = get("reference")
    if not reference:
        errors.append(("reference", "A reference is required."))
    elif not REFERENCE_PATTERN.match(reference):
        errors.append(("reference", f"{reference!r} is not a valid reference (3-40 letters, digits, '.', '_' or '-')."))
    case_code = get("case_code").upper()
    if not case_code:
        errors.append(("case_code", "A case code is required."))
    elif not CASE_CODE_PATTERN.match(case_code):
        errors.append(("case_code", f"{case_code!r} is not a valid case code (3-20 letters, digits or '-')."))
    ends = {}
    for column in ("from_code", "to_code"):
        code = get(column)
        if not code:
            errors.append((column, "An agency code is required."))
        elif code not in agencies:
            errors.append((column, f"No agency has code {code!r}."))
        elif agencies[code][2] == AgencyKind.COMMITTEE:
            errors.append((column, f"{code!r} is a committee: committees see no case-level data and take no referrals."))
        else:
            ends[column] = agencies[code]
    if len(ends) == 2 and ends["from_code"][0] == ends["to_code"][0]:
        errors.append(("to_code", "An agency cannot refer to itself."))
    purpose = lookup.choice(Purpose, get("purpose"))
    if not purpose:
        errors.append(("purpose", f"Unknown purpose {get('purpose')!r}; use one of: {', '.join(Purpose.values)}."))
    status = lookup.choice(Status, get("status"))
    if not status:
        errors.append(("status", f"Unknown status {get('status')!r}; use one of: {', '.join(Status.values)}."))

    times = {}
    for column in TIME_COLUMNS:
        text = get(column)
        if not text:
            times[column] = None
            continue
        try:
            value = parse_time(text)
        except ValueError:
            errors.append((column, f"{text!r} is not an ISO 8601 time (e.g. 2024-03-01T14:30:00+05:30)."))
            times[column] = None
            continue
        if value > now + timedelta(minutes=5):
            errors.append((column, f"{text!r} is in the future."))
        times[column] = value
    if status:
        for column, rule in zip(TIME_COLUMNS, TIMES_FOR_STATUS[status]):
            if rule is True and times[column] is None and not any(c == column for c, _m in errors):
                errors.append((column, f"A {status} referral needs {column}."))
            if rule is False and times[column] is not None:
                errors.append((column, f"A {status} referral cannot have {column}."))
    ordered = [(c, times[c]) for c in TIME_COLUMNS if times[c] is not None]
    for (first, a), (second, b) in zip(ordered, ordered[1:]):
        if b < a:
            errors.append((second, f"{second} is before {first}."))

    minor_text = get("minor").lower()
    age_status = None
    if minor_text in YES:
        age_status = AgeStatus.MINOR
    elif minor_text in NO:
        age_status = AgeStatus.ADULT
    elif minor_text in {"undetermined", "unknown", "?"}:
        age_status = AgeStatus.UNDETERMINED
    elif minor_text:
        errors.append(("minor", f"{get('minor')!r} is not yes, no or unknown."))
    gender = None
    if get("gender"):
        gender = GENDER_SHORT.get(get("gender").lower()) or lookup.choice(CaseGender, get("gender"))
        if not gender:
            errors.append(("gender", f"Unknown gender {get('gender')!r}; use one of: {', '.join(CaseGender.values)}."))
    exploitation = None
    if get("exploitation"):
        exploitation = lookup.choice(Exploitation, get("exploitation"))
        if not exploitation:
            errors.append(("exploitation", f"Unknown exploitation {get('exploitation')!r}; use one of: {', '.join(Exploitation.values)}."))
    origin_state = origin_district = None
    if get("origin_state"):
        origin_state, message = lookup.state(get("origin_state"))
        if message:
            errors.append(("origin_state", message))
    if get("origin_district"):
        if origin_state is None:
            if not get("origin_state"):
                errors.append(("origin_district", "Give origin_state with origin_district."))
        else:
            origin_district, message = lookup.district(origin_state, get("origin_district"))
            if message:
                errors.append(("origin_district", message))
    if errors:
        return None
    return _Row(
        line=line, reference=reference, case_code=case_code, from_id=ends["from_code"][0], to_id=ends["to_code"][0],
        from_state_id=ends["from_code"][1], to_state_id=ends["to_code"][1], purpose=purpose, status=status,
        sent_at=times["sent_at"], responded_at=times["responded_at"], closed_at=times["closed_at"], age_status=age_status,
        gender=gender, exploitation=exploitation, origin_state_id=origin_state.pk if origin_state else None,
        origin_district_id=origin_district.pk if origin_district else None,
    )


def _existing(model, field, values, extra) -> dict:
    """{value: (pk, extra…)}; `extra` are attribute names on the model (a case code via a join is allowed)."""
    if extra == ("case__code",):
        found = existing(model, field, values, ["id", "case_id"])
        codes = dict(existing(Case, "id", {case_id for _pk, case_id in found.values()}, ["code"]))
        return {value: (pk, codes[case_id][0]) for value, (pk, case_id) in found.items()}
    columns = ["id", *(model._meta.get_field(name).column for name in extra)]
    return existing(model, field, values, columns)


def _check_cases(rows: list[_Row], existing_refs, existing_cases, report) -> list[_Row]:
    """Rows of one case must agree with each other and with the case already recorded."""
    by_case: dict[str, list[_Row]] = {}
    for row in rows:
        by_case.setdefault(row.case_code, []).append(row)
    bad_lines = set()
    for row in rows:
        if row.reference in existing_refs and existing_refs[row.reference][1] != row.case_code:
            report.errors.append(RowError(row.line, "reference", f"Reference {row.reference!r} exists for another case."))
            bad_lines.add(row.line)
    for code, case_rows in by_case.items():
        known = existing_cases.get(code)
        for attribute, label in (("age_status", "minor"), ("gender", "gender"), ("exploitation", "exploitation")):
            index = {"age_status": 1, "gender": 2, "exploitation": 3}[attribute]
            first = (known[index], None) if known else None
            for row in case_rows:
                value = getattr(row, attribute)
                if value is None:
                    continue
                if first is None:
                    first = (value, row.line)
                elif value != first[0]:
                    where = f"line {first[1]}" if first[1] else "the case already recorded"
                    report.errors.append(RowError(row.line, label, f"Case {code} has {label} {first[0]!r} on {where}, {value!r} here."))
                    bad_lines.add(row.line)
        if known is None and not any(r.exploitation for r in case_rows):
            report.errors.append(RowError(case_rows[0].line, "exploitation", f"New case {code} needs its exploitation on at least one row."))
            bad_lines.update(r.line for r in case_rows)
    return [r for r in rows if r.line not in bad_lines]


def _sort_time(row: _Row):
    return row.sent_at or row.closed_at or datetime.max.replace(tzinfo=KOLKATA)


@transaction.atomic
def _write(rows: list[_Row], existing_cases, *, by, now) -> int:
    by_case: dict[str, list[_Row]] = {}
    for row in rows:
        by_case.setdefault(row.case_code, []).append(row)
    new_cases = []
    for code, case_rows in by_case.items():
        if code in existing_cases:
            continue
        case_rows.sort(key=_sort_time)
        first = next((r.age_status for r in case_rows if r.age_status), None)
        band, status = derive_age(age_years=None, age_band=None, age_status=first)
        custody = [r for r in case_rows if r.purpose in CUSTODY_PURPOSES and r.status in {Status.ACCEPTED, Status.COMPLETED}]
        holder = custody[-1].to_id if custody else case_rows[0].from_id
        new_cases.append({
            "id": None, "code": code, "opened_by_id": case_rows[0].from_id, "holder_id": holder, "age_band": band, "age_status": status,
            "gender": next((r.gender for r in case_rows if r.gender), CaseGender.UNKNOWN),
            "exploitation": next(r.exploitation for r in case_rows if r.exploitation),
            "origin_state_id": next((r.origin_state_id for r in case_rows if r.origin_state_id), None),
            "origin_district_id": next((r.origin_district_id for r in case_rows if r.origin_district_id), None),
            "created_at": now, "updated_at": now,
        })
    for case, pk in zip(new_cases, allocate_ids(Case, len(new_cases))):
        case["id"] = pk
    fast_insert(Case, new_cases, with_ids=True)
    case_ids = {code: pk for code, (pk, *_rest) in existing_cases.items()}
    case_ids.update({c["code"]: c["id"] for c in new_cases})
    age_by_case = {code: rest[0] for code, (_pk, *rest) in existing_cases.items()}
    age_by_case.update({c["code"]: c["age_status"] for c in new_cases})

    referrals = []
    by_id = getattr(by, "pk", None)
    for row, pk in zip(rows, allocate_ids(Referral, len(rows))):
        rule = rule_for(row.purpose, age_by_case[row.case_code]) if row.sent_at else None
        referrals.append({
            "id": pk, "reference": row.reference, "case_id": case_ids[row.case_code], "from_agency_id": row.from_id,
            "to_agency_id": row.to_id, "from_state_id": row.from_state_id, "to_state_id": row.to_state_id,
            "purpose": row.purpose, "status": row.status, "sent_at": row.sent_at, "responded_at": row.responded_at,
            "closed_at": row.closed_at, "acknowledged_at": row.sent_at if row.status == Status.ACKNOWLEDGED else None,
            "due_at": rule.due_at(sent_at=row.sent_at, rescued_at=None) if rule else None,
            "deadline_rule": rule.slug if rule else "",
            "identity_shared": row.purpose in IDENTITY_PURPOSES and row.status in OPEN_STATUSES,
            "created_at": row.sent_at or row.closed_at or now, "created_by_id": by_id, "updated_at": now,
        })
    fast_insert(Referral, referrals, with_ids=True)
    fast_insert(ReferralEvent, (event for r in referrals for event in _history(r["id"], r, "Imported")))
    return len(new_cases)


def _history(referral_id: int, r: dict, note: str) -> list[dict]:
    """The events a referral's timestamps imply (sent, answered, closed), for its timeline."""
    status, sent_at, sender, receiver = r["status"], r["sent_at"], r["from_agency_id"], r["to_agency_id"]
    steps = []
    if sent_at:
        steps.append((sent_at, Status.SENT, sender))
    if status == Status.ACKNOWLEDGED:
        steps.append((sent_at, Status.ACKNOWLEDGED, receiver))
    if r["responded_at"]:
        steps.append((r["responded_at"], Status.DECLINED if status == Status.DECLINED else Status.ACCEPTED, receiver))
    if r["closed_at"]:
        steps.append((r["closed_at"], status, receiver if status == Status.COMPLETED else sender))
    if not steps:
        steps.append((r["created_at"], status, sender))
    events, previous = [], ""
    for at, to_status, agency_id in steps:
        events.append({"referral_id": referral_id, "at": at, "from_status": previous, "to_status": to_status,
                       "actor_agency_id": agency_id, "actor_id": None, "note": note})
        previous = to_status
    return events


# --- export --------------------------------------------------------------------------------------

CSV_ONLY = (
    "reference", "purpose", "urgency", "status", "due_at", "sent_at", "responded_at", "closed_at", "decline_reason",
    "outcome", "case_id", "from_agency_id", "to_agency_id",
    "case__code", "case__age_status", "case__gender", "case__exploitation", "case__origin_state__name",
    "case__origin_district__name", "from_agency__code", "from_agency__name", "to_agency__code", "to_agency__name",
)


def _iso(value):
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def referral_csv_rows(queryset, *, now=None):
    """Rows (header first) of a referral list, in the import's columns plus read-only extras. No identity, no notes."""
    now = now or timezone.now()
    yield EXPORT_COLUMNS
    rows = queryset.select_related("case__origin_state", "case__origin_district", "from_agency", "to_agency").only(*CSV_ONLY)
    for r in rows.iterator(chunk_size=2000):
        case = r.case
        minor = {AgeStatus.MINOR: "yes", AgeStatus.ADULT: "no"}.get(case.age_status, "")
        overdue = r.status in PENDING_STATUSES and r.due_at is not None and r.due_at < now
        yield [
            safe_cell(r.reference), case.code, safe_cell(r.from_agency.code), safe_cell(r.to_agency.code), r.purpose,
            r.status, _iso(r.sent_at), _iso(r.responded_at), _iso(r.closed_at), minor, case.gender, case.exploitation,
            case.origin_state.name if case.origin_state else "", case.origin_district.name if case.origin_district else "",
            r.urgency, _iso(r.due_at), "yes" if overdue else "no", r.decline_reason, r.outcome,
            safe_cell(r.from_agency.name), safe_cell(r.to_agency.name),
        ]
