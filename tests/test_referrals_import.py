"""import_referrals: every bad row reported with its line, all-or-nothing, cases created or matched by code."""

from __future__ import annotations

import io
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from referrals.imports import COLUMNS, import_referrals
from referrals.models import AuditEvent, Case, Referral, ReferralEvent
from tests.factories import make_case

HEADER = ",".join(COLUMNS)


def csv_text(*rows):
    return "\n".join([HEADER, *rows]) + "\n"


def run(text, **kwargs):
    return import_referrals(io.StringIO(text), **kwargs)


GOOD = [
    "IMP-001,C-IMP-0001,PUNE-NGO,PUNE-SS,shelter placement,completed,2025-01-10T09:00:00+05:30,2025-01-10 15:00,2025-03-01,no,F,sexual exploitation,Bihar,Patna",
    "IMP-002,C-IMP-0001,PUNE-SS,PUNE-DLSA,victim_compensation,sent,2025-02-01 10:00,,,,,,,",
    "IMP-003,C-IMP-0002,PUNE-AHTU,PUNE-CWC,Produce before the CWC,declined,2025-02-03T08:00:00Z,2025-02-03T20:00:00Z,,yes,male,forced_labour,,",
]


def test_a_good_file_creates_cases_referrals_and_their_history(cast):
    report = run(csv_text(*GOOD))
    assert report.written and not report.errors and report.created == 3
    first = Referral.objects.get(reference="IMP-001")
    assert (first.status, first.purpose, first.from_agency, first.to_agency) == ("completed", "shelter_placement", cast.ngo, cast.shelter)
    assert first.sent_at == datetime(2025, 1, 10, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert first.responded_at == datetime(2025, 1, 10, 15, 0, tzinfo=ZoneInfo("Asia/Kolkata")), "no offset means Asia/Kolkata"
    assert [e.to_status for e in first.events.all()] == ["sent", "accepted", "completed"]
    case = Case.objects.get(code="C-IMP-0001")
    assert (case.opened_by, case.holder, case.age_status, case.gender, case.origin_district.name) == (
        cast.ngo, cast.shelter, "adult", "female", "Patna")
    assert Referral.objects.get(reference="IMP-002").due_at is not None  # the DLSA's two months run
    child = Case.objects.get(code="C-IMP-0002")
    assert (child.age_status, child.holder) == ("minor", cast.ahtu)
    assert AuditEvent.objects.filter(action="import", detail__created=3).exists()
    # Ids were reserved, not guessed: the app's own inserts carry on without collisions.
    from tests.referrals_fixtures import refer

    assert refer(cast, to=cast.dlsa, purpose="legal_aid").pk > Referral.objects.get(reference="IMP-003").pk


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(cast):
    text = csv_text(
        GOOD[0],
        "IMP-001,C-IMP-0009,PUNE-NGO,PUNE-SS,shelter_placement,sent,2025-01-10,,,no,female,sexual_exploitation,,",
        "IMP-010,C-IMP-0010,NOPE,PUNE-SS,shelter_placement,sent,2025-01-10,,,no,female,sexual_exploitation,,",
        "IMP-011,C-IMP-0011,PUNE-NGO,PUNE-NGO,counselling,sent,2025-01-10,,,no,female,sexual_exploitation,,",
        "IMP-012,C-IMP-0012,PUNE-NGO,PUNE-SS,flying,sent,2025-01-10,,,no,female,sexual_exploitation,,",
        "IMP-013,C-IMP-0013,PUNE-NGO,PUNE-SS,counselling,accepted,2025-01-10,,,no,female,sexual_exploitation,,",
        "IMP-014,C-IMP-0014,PUNE-NGO,PUNE-SS,counselling,completed,2025-01-10,2025-01-09,2025-01-12,no,female,sexual_exploitation,,",
        "IMP-015,C-IMP-0015,PUNE-NGO,PUNE-SS,counselling,sent,10/01/2025,,,no,female,sexual_exploitation,,",
        "IMP-016,C-IMP-0016,PUNE-NGO,PUNE-SS,counselling,sent,2025-01-10,,,maybe,female,sexual_exploitation,Atlantis,",
        "IMP-017,C-IMP-0017,PUNE-NGO,PUNE-SS,counselling,sent,2099-01-10,,,no,female,,,",
        "bad ref!,C-IMP-0018,PUNE-NGO,PUNE-SS,counselling,sent,2025-01-10,,,no,female,sexual_exploitation,Bihar,Pune",
        "IMP-019,C-IMP-0019,PUNE-NGO,PUNE-SS,counselling,sent,2025-01-10,,,no,female,,,",
    )
    report = run(text)
    assert not report.written and Referral.objects.count() == 0 and Case.objects.count() == 0
    by_line = {(e.line, e.column) for e in report.errors}
    assert (3, "reference") in by_line  # duplicate of line 2
    assert (4, "from_code") in by_line
    assert (5, "to_code") in by_line
    assert (6, "purpose") in by_line
    assert (7, "responded_at") in by_line
    assert (8, "responded_at") in by_line
    assert (9, "sent_at") in by_line
    assert (10, "minor") in by_line and (10, "origin_state") in by_line
    assert (11, "sent_at") in by_line
    assert (13, "exploitation") in by_line  # a new case needs its form of exploitation
    assert (12, "reference") in by_line and (12, "origin_district") in by_line
    assert "Pune" in next(e.message for e in report.errors if (e.line, e.column) == (12, "origin_district"))
    assert report.bad_lines == list(range(3, 14))
    assert "Nothing was written" in report.summary()


def test_skip_invalid_writes_the_good_rows(cast):
    report = run(csv_text(GOOD[0], "IMP-9,C-IMP-9,NOPE,PUNE-SS,counselling,sent,2025-01-10,,,no,female,other,,"), skip_invalid=True)
    assert report.written and report.created == 1 and report.skipped == 1
    assert list(Referral.objects.values_list("reference", flat=True)) == ["IMP-001"]


def test_dry_run_reports_and_writes_nothing(cast):
    report = run(csv_text(*GOOD), dry_run=True)
    assert report.created == 3 and not report.written and not Referral.objects.exists()


def test_rows_of_one_case_must_agree(cast):
    report = run(csv_text(
        "IMP-1,C-SAME,PUNE-NGO,PUNE-SS,counselling,sent,2025-01-10,,,no,female,other,,",
        "IMP-2,C-SAME,PUNE-NGO,PUNE-DLSA,legal_aid,sent,2025-01-10,,,yes,female,other,,",
    ))
    assert [(e.line, e.column) for e in report.errors] == [(3, "minor")]


def test_existing_cases_are_matched_and_existing_references_left_alone(cast):
    case = make_case(opened_by=cast.ngo, exploitation="bonded_labour")
    report = run(csv_text(f"IMP-1,{case.code},PUNE-NGO,PUNE-DLSA,legal aid,sent,2025-01-10,,,,,,,"))
    assert report.written and Referral.objects.get().case == case and Case.objects.count() == 1
    again = run(csv_text(f"IMP-1,{case.code},PUNE-NGO,PUNE-DLSA,legal aid,completed,2025-01-10,,2025-01-12,,,,,"))
    assert again.created == 0 and again.skipped == 1 and "left unchanged" in again.warnings[0]
    assert Referral.objects.get().status == "sent"
    clash = run(csv_text(f"IMP-1,C-OTHER,PUNE-NGO,PUNE-DLSA,legal aid,sent,2025-01-10,,,,,other,,"))
    assert clash.errors and clash.errors[0].message.startswith("Reference 'IMP-1' exists for another case")
    conflict = run(csv_text(f"IMP-5,{case.code},PUNE-NGO,PUNE-DLSA,legal aid,sent,2025-01-10,,,,,forced labour,,"))
    assert conflict.errors and "already recorded" in conflict.errors[0].message


def test_a_missing_header_column_stops_at_line_one(cast):
    report = run("reference,case_code\nA,B\n")
    assert [(e.line, e.column) for e in report.errors] == [(1, "")] and "from_code" in report.errors[0].message


def test_the_command_is_all_or_nothing_and_reports_lines(cast, tmp_path):
    path = tmp_path / "referrals.csv"
    path.write_text(csv_text(GOOD[0], "IMP-9,C-IMP-9,NOPE,PUNE-SS,counselling,sent,2025-01-10,,,no,female,other,,"))
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("import_referrals", str(path), stdout=StringIO(), stderr=err)
    assert "line 3, column from_code" in err.getvalue() and not Referral.objects.exists()
    out = StringIO()
    call_command("import_referrals", str(path), "--skip-invalid", stdout=out, stderr=StringIO())
    assert "Created 1" in out.getvalue() and Referral.objects.count() == 1


def test_an_exported_list_imports_back(cast, login, tmp_path):
    run(csv_text(*GOOD))
    exported = b"".join(login(cast.devi).get(reverse("referrals:review") + "?format=csv").streaming_content).decode()
    Referral.objects.all().update(rerouted_from=None)
    ReferralEvent.objects.all().delete()
    Referral.objects.all().delete()
    report = run(exported)
    assert report.written and report.created == 3, report.errors
    assert "Ignored column(s)" in report.warnings[0]
    assert set(Referral.objects.values_list("reference", "status")) == {
        ("IMP-001", "completed"), ("IMP-002", "sent"), ("IMP-003", "declined")}


def test_a_nul_character_or_an_unreadable_line_is_reported_not_a_crash(cast):
    report = run(csv_text(GOOD[0].replace("IMP-001", "IMP-\x00001")))
    assert [(e.line, e.column) for e in report.errors] == [(2, "reference")]
    report = run(csv_text(GOOD[0], "IMP-002,C-" + "x" * 200_000 + ",PUNE-SS,PUNE-DLSA,legal_aid,sent,2025-02-01,,,,,,,"), skip_invalid=True)
    assert [e.line for e in report.errors] == [3] and "cannot be read as CSV" in report.errors[0].message
    assert not report.written and not Referral.objects.exists()
