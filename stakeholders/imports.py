"""Agency CSV import and export. Export writes the columns import reads, so the two round-trip."""

from __future__ import annotations

import csv
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination.csvio import ImportReport, RowError, nul_cell_errors, read_csv, read_rows, safe_cell, unsafe_cell
from stakeholders.geography import GeographyIndex
from stakeholders.locations import resolve_location
from stakeholders.models import MAX_BEDS, Agency, AgencyService
from stakeholders.vocab import DEFAULT_LEVEL_FOR_KIND, AgencyKind, JurisdictionLevel, LocationPrecision, Service, choice_from_text

COLUMNS = [
    "code", "name", "kind", "state", "district", "pincode", "latitude", "longitude",
    "services", "beds_total", "parent_code", "email", "phone",
]
REQUIRED = ["code", "name", "kind"]
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Columns a file may leave out: an existing agency keeps its current value for each column the file lacks.
OPTIONAL = [c for c in COLUMNS if c not in REQUIRED]
EXISTING_FIELDS = [
    "code", "pk", "kind", "level", "parent_id", "state_id", "district_id", "pincode", "latitude", "longitude",
    "location_precision", "beds_total", "beds_available", "email", "phone",
]
UPDATED_FIELDS = [
    "name", "kind", "level", "state", "district", "pincode", "latitude", "longitude", "location_precision",
    "beds_total", "email", "phone", "updated_at",
]


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _float(value: str, column: str, errors: list):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append((column, _("%(value)r is not a number.") % {"value": value}))
        return None


class _Row:
    __slots__ = ("line", "code", "values", "services", "parent_code", "has_services")


def import_agencies(stream, *, dry_run=False, skip_invalid=False, allowed_state_ids=None, progress=None) -> ImportReport:
    """Validate every row, then upsert by code, all-or-nothing unless `skip_invalid`.

    `allowed_state_ids` (None = any) limits a state admin's import to agencies of their states.
    A column the file leaves out keeps an existing agency's current value (services included);
    an existing agency keeps its jurisdiction level unless its kind changes.
    """
    reader, problems, warnings = read_csv(stream, required=REQUIRED, known=COLUMNS)
    report = ImportReport(errors=list(problems), warnings=warnings, dry_run=dry_run, skip_invalid=skip_invalid)
    if problems:
        return report
    raw_rows, problem = read_rows(reader)
    report.rows = len(raw_rows)
    if problem:
        report.errors.append(problem)
        return report
    has_services_column = "services" in reader.fieldnames
    absent = [column for column in OPTIONAL if column not in reader.fieldnames]

    geo = GeographyIndex.load()
    existing = {row.code: row for row in Agency.objects.values_list(*EXISTING_FIELDS, named=True)}
    code_by_pk = {row.pk: code for code, row in existing.items()}

    existing_by_upper = {code.upper(): code for code in existing}
    good: list[_Row] = []
    first_line_of_code: dict[str, int] = {}
    first_line_by_upper: dict[str, int] = {}
    for index, (line, raw) in enumerate(raw_rows, start=1):
        row_errors: list[tuple[str, str]] = []
        code = (raw.get("code") or "").strip()
        if absent and code in existing:
            raw = {**_current_values(existing[code], absent, geo, code_by_pk), **raw}
        parsed = _parse_row(raw, geo, existing, row_errors, allowed_state_ids)
        code = parsed.code
        # Codes are compared ignoring case: "mh-001" next to "MH-001" is a typo, not a second agency.
        if code and code.upper() in first_line_by_upper:
            row_errors.append(("code", _("Duplicate code %(code)r (also on line %(line)s).") % {
                "code": code, "line": first_line_by_upper[code.upper()]}))
        elif code:
            first_line_of_code[code] = first_line_by_upper[code.upper()] = line
            if code not in existing and code.upper() in existing_by_upper:
                row_errors.append(("code", _("Agency %(other)r already exists; codes may not differ only in case.") % {
                    "other": existing_by_upper[code.upper()]}))
        if row_errors:
            report.errors.extend(RowError(line, column, message) for column, message in row_errors)
        else:
            parsed.line = line
            parsed.has_services = has_services_column
            good.append(parsed)
        if progress:
            progress(index)

    # Parents may be anywhere in the file or already in the database; check references and loops.
    file_codes = {r.code for r in good} | set(first_line_of_code)
    parents = {code: code_by_pk.get(row.parent_id) for code, row in existing.items()}
    for row in good:
        parents[row.code] = row.parent_code or None
    bad_codes = set()
    for row in good:
        if row.parent_code and row.parent_code not in existing and row.parent_code not in file_codes:
            report.errors.append(RowError(row.line, "parent_code", _("No agency has code %(code)r.") % {"code": row.parent_code}))
            bad_codes.add(row.code)
        elif row.parent_code == row.code:
            report.errors.append(RowError(row.line, "parent_code", _("An agency cannot be its own parent.")))
            bad_codes.add(row.code)
        elif row.parent_code and _has_cycle(row.code, parents):
            report.errors.append(
                RowError(row.line, "parent_code", _("Parent %(parent)r makes the hierarchy loop back to %(code)r.") % {"parent": row.parent_code, "code": row.code})
            )
            bad_codes.add(row.code)
    # A parent that only this file would create must itself be written, or the child would lose its link.
    while True:
        usable = {r.code for r in good if r.code not in bad_codes}
        orphans = [
            r for r in good
            if r.code not in bad_codes and r.parent_code and r.parent_code not in existing and r.parent_code not in usable
        ]
        if not orphans:
            break
        for row in orphans:
            report.errors.append(RowError(row.line, "parent_code", _(
                "The parent %(code)r (line %(line)s) has errors, so this agency cannot be linked to it."
            ) % {"code": row.parent_code, "line": first_line_of_code[row.parent_code]}))
            bad_codes.add(row.code)
    good = [r for r in good if r.code not in bad_codes]
    report.errors.sort(key=lambda e: (e.line, e.column))

    report.skipped = report.rows - len(good)
    report.created = sum(1 for r in good if r.code not in existing)
    report.updated = len(good) - report.created
    if dry_run or (report.errors and not skip_invalid):
        if not dry_run:
            report.created = report.updated = 0
        return report
    _write(good, existing)
    report.written = True
    return report


def _current_values(current, columns, geo, code_by_pk) -> dict[str, str]:
    """An existing agency's values, written as the file would write them, for the columns the file lacks."""
    state = geo.states_by_id.get(current.state_id)
    district = geo.districts_by_id.get(current.district_id)
    exact = current.location_precision == LocationPrecision.EXACT and current.latitude is not None
    values = {
        "state": state.name if state else "",
        "district": district.name if district else "",
        "pincode": current.pincode,
        "latitude": repr(current.latitude) if exact else "",
        "longitude": repr(current.longitude) if exact else "",
        "services": "",  # not used: a file without the column leaves services alone
        "beds_total": "" if current.beds_total is None else str(current.beds_total),
        "parent_code": code_by_pk.get(current.parent_id) or "",
        "email": current.email,
        "phone": current.phone,
    }
    return {column: values[column] for column in columns}


def _parse_row(raw, geo, existing, errors, allowed_state_ids) -> _Row:
    row = _Row()
    get = lambda column: unsafe_cell((raw.get(column) or "").strip())  # noqa: E731
    errors.extend(nul_cell_errors(raw))
    row.code = get("code")
    if not row.code:
        errors.append(("code", _("A code is required.")))
    elif not CODE_PATTERN.match(row.code) or len(row.code) > 40:
        errors.append(("code", _("%(code)r is not a valid code (letters, digits, '.', '_' or '-', at most 40).") % {"code": row.code}))
    name = get("name")
    if not name:
        errors.append(("name", _("A name is required.")))
    elif len(name) > 200:
        errors.append(("name", _("The name is longer than 200 characters.")))
    kind = choice_from_text(AgencyKind, get("kind"))
    if not kind:
        errors.append(("kind", _("Unknown kind %(kind)r; use one of: %(kinds)s.") % {"kind": get("kind"), "kinds": ", ".join(AgencyKind.values)}))
    current = existing.get(row.code)
    # An existing agency keeps its level (a state bureau stays state-level, a police station sub-district)
    # unless its kind changes; otherwise the kind's usual level, or (None) the location decides below.
    level = current.level if current is not None and current.kind == kind else DEFAULT_LEVEL_FOR_KIND.get(kind)

    state = district = None
    if get("state"):
        state, message = geo.match_state(get("state"))
        if message:
            errors.append(("state", message))
    elif kind and level != JurisdictionLevel.NATIONAL and not get("pincode"):
        errors.append(("state", _("A state is required for this kind of agency.")))
    if get("district") and state:
        district, message = geo.match_district(state, get("district"))
        if message:
            errors.append(("district", message))

    coordinate_errors: list = []
    latitude = _float(get("latitude"), "latitude", coordinate_errors)
    longitude = _float(get("longitude"), "longitude", coordinate_errors)
    errors.extend(coordinate_errors)
    location = None
    if not any(column in {"state", "district"} for column, _m in errors) and not coordinate_errors:
        location, location_errors = resolve_location(
            state=state, district=district, pincode=get("pincode"), latitude=latitude, longitude=longitude, geo=geo,
            level=level,
        )
        errors.extend(location_errors.items())
        if not location_errors and location.state is None and kind and level != JurisdictionLevel.NATIONAL:
            errors.append(("state", _("A state is required for this kind of agency.")))
    if location and location.state is not None and allowed_state_ids is not None and location.state.pk not in allowed_state_ids:
        errors.append(("state", _("You may import agencies of your own state only, not %(state)s.") % {"state": location.state.name}))
    if current is not None and allowed_state_ids is not None and current.state_id not in allowed_state_ids:
        errors.append(("code", _("Agency %(code)r exists in another state; only its state or a superuser may change it.") % {"code": row.code}))

    row.services = []
    for text in _split(get("services")):
        service = choice_from_text(Service, text)
        if service is None:
            errors.append(("services", _("Unknown service %(service)r.") % {"service": text}))
        elif service not in row.services:
            row.services.append(service)

    beds_total = None
    if get("beds_total"):
        try:
            beds_total = int(get("beds_total"))
            if not 0 <= beds_total <= MAX_BEDS:
                raise ValueError
        except ValueError:
            errors.append(("beds_total", _("%(value)r is not a whole number of beds (0 to %(max)s).") % {
                "value": get("beds_total"), "max": f"{MAX_BEDS:,}"}))
            beds_total = None
    if beds_total is not None and current is not None:
        available = current.beds_available
        if available is not None and available > beds_total:
            errors.append(("beds_total", _("%(total)s is below the %(available)s beds the agency reports available now.") % {"total": beds_total, "available": available}))

    email = get("email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(("email", _("%(email)r is not an e-mail address.") % {"email": email}))
    phone = get("phone")
    if len(phone) > 40:
        errors.append(("phone", _("The phone number is longer than 40 characters.")))

    row.parent_code = get("parent_code")
    row.values = None
    if location is not None and kind:
        level = level or (JurisdictionLevel.DISTRICT if location.district else JurisdictionLevel.STATE)
        row.values = {
            "name": name, "kind": kind, "level": level, "state": location.state, "district": location.district,
            "pincode": location.pincode, "latitude": location.latitude, "longitude": location.longitude,
            "location_precision": location.precision, "beds_total": beds_total, "email": email, "phone": phone,
        }
    return row


def _has_cycle(code, parents) -> bool:
    seen = {code}
    current = parents.get(code)
    while current:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


@transaction.atomic
def _write(rows: list[_Row], existing) -> None:
    """Create new agencies in bulk; touch existing ones only where a value changed (re-importing an
    unchanged export writes nothing); set parents with one UPDATE per parent."""
    now = timezone.now()
    Agency.objects.bulk_create(
        [
            Agency(code=r.code, created_at=now, updated_at=now, **r.values,
                   capacity_updated_at=now if r.values["beds_total"] is not None else None)
            for r in rows if r.code not in existing
        ],
        batch_size=1000,
    )
    pk_by_code = dict(Agency.objects.values_list("code", "pk"))

    updates = [r for r in rows if r.code in existing]
    compared = [name for name in UPDATED_FIELDS if name != "updated_at"]
    current = {}
    for start in range(0, len(updates), 1000):
        ids = [pk_by_code[r.code] for r in updates[start:start + 1000]]
        for values in Agency.objects.filter(pk__in=ids).values("pk", *[_column(n) for n in compared]):
            current[values["pk"]] = values
    for row in updates:
        pk = pk_by_code[row.code]
        changes = {
            name: value for name, value in row.values.items()
            if current[pk][_column(name)] != (value.pk if hasattr(value, "pk") else value)
        }
        if "beds_total" in changes:
            changes["capacity_updated_at"] = now  # the registry says when capacity figures last changed
        if changes:
            Agency.objects.filter(pk=pk).update(updated_at=now, **changes)

    children_by_parent: dict[int | None, list[int]] = {}
    for row in rows:
        pk = pk_by_code[row.code]
        parent = pk_by_code.get(row.parent_code) if row.parent_code else None
        if row.code not in existing or existing[row.code].parent_id != parent:
            children_by_parent.setdefault(parent, []).append(pk)
    for parent, children in children_by_parent.items():
        for start in range(0, len(children), 1000):
            Agency.objects.filter(pk__in=children[start:start + 1000]).update(parent_id=parent)

    service_rows = [r for r in rows if r.has_services]
    ids = [pk_by_code[r.code] for r in service_rows]
    have: dict[int, set[str]] = {}
    for start in range(0, len(ids), 1000):
        for agency_id, service in AgencyService.objects.filter(agency_id__in=ids[start:start + 1000]).values_list("agency_id", "service"):
            have.setdefault(agency_id, set()).add(service)
    changed = [r for r in service_rows if have.get(pk_by_code[r.code], set()) != set(r.services)]
    changed_ids = [pk_by_code[r.code] for r in changed]
    for start in range(0, len(changed_ids), 1000):
        AgencyService.objects.filter(agency_id__in=changed_ids[start:start + 1000]).delete()
    AgencyService.objects.bulk_create(
        [AgencyService(agency_id=pk_by_code[r.code], service=s) for r in changed for s in r.services], batch_size=2000
    )


def _column(name: str) -> str:
    return f"{name}_id" if name in {"state", "district"} else name


def agency_csv_rows(queryset):
    """Rows (header first) of agencies from `agency_list_queryset`, in the import's columns."""
    yield COLUMNS
    for agency in queryset.iterator(chunk_size=2000):
        # Only surveyed coordinates are written: PIN and district centres are re-derived on import,
        # which keeps the recorded precision honest across a round trip.
        exact = agency.location_precision == LocationPrecision.EXACT
        yield [
            safe_cell(agency.code),
            safe_cell(agency.name),
            agency.kind,
            agency.state.name if agency.state else "",
            agency.district.name if agency.district else "",
            agency.pincode,
            agency.latitude if exact else "",
            agency.longitude if exact else "",
            ";".join(agency.service_slugs),
            "" if agency.beds_total is None else agency.beds_total,
            agency.parent.code if agency.parent else "",
            safe_cell(agency.email),
            safe_cell(agency.phone),
        ]


def export_agencies(queryset, stream) -> int:
    """Write agencies to a text stream; returns the number of agencies written."""
    writer = csv.writer(stream)
    count = -1
    for row in agency_csv_rows(queryset):
        writer.writerow(row)
        count += 1
    return count
