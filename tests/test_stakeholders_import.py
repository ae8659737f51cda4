import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from stakeholders.imports import COLUMNS, export_agencies, import_agencies
from stakeholders.models import Agency
from stakeholders.selectors import agency_list_queryset

HEADER = ",".join(COLUMNS)


def csv_text(*rows, header=HEADER):
    return io.StringIO("\n".join([header, *rows]) + "\n")


GOOD = [
    "MH-001,Shelter One,shelter_home,Maharashtra,Pune,411001,,,shelter_women;counselling,40,,one@example.org,020-1",
    "MH-002,AHTU Thane,Anti-Human Trafficking Unit (AHTU),maharashtra,THANE,,,,Rescue;investigation,,MH-003,,",
    "MH-003,Nodal cell,state_aht_bureau,Maharashtra,,,,,,,,,",
]


def test_good_rows_are_created_with_labels_and_loose_names(geo):
    report = import_agencies(csv_text(*GOOD))
    assert report.errors == [] and report.written and report.created == 3
    one = Agency.objects.get(code="MH-001")
    assert (one.district, one.location_precision, one.service_slugs) == (geo.pune, "pin", ["counselling", "shelter_women"])
    thane = Agency.objects.get(code="MH-002")
    assert (thane.kind, thane.district, thane.parent.code) == ("ahtu", geo.thane, "MH-003")
    assert Agency.objects.get(code="MH-003").level == "state"


def test_one_bad_row_writes_nothing_and_every_bad_line_is_reported(geo):
    rows = [
        GOOD[0],
        "MH-010,Bad kind,spaceship,Maharashtra,Pune,,,,,,,,",  # line 3
        "MH-011,Bad pin,ngo,Maharashtra,Pune,4110,,,,,,,",  # line 4
        GOOD[2],
        "MH-012,Other state PIN,ngo,Maharashtra,,403001,,,,,,,",  # line 6
        "MH-013,Unknown district,ngo,Maharashtra,Punee,,,,,,,,",  # line 7
        "MH-014,Wrong state district,ngo,Maharashtra,Patna,,,,,,,,",  # line 8
        "MH-015,Outside India,ngo,Maharashtra,Pune,,51.5,-0.12,,,,,",  # line 9
        "MH-001,Duplicate,ngo,Maharashtra,Pune,,,,,,,,",  # line 10
        "MH-016,Bad beds,shelter_home,Maharashtra,Pune,,,,,-3,,,",  # line 11
        "MH-017,Bad parent,ngo,Maharashtra,Pune,,,,,,NOPE,,",  # line 12
        "MH-018,Bad service,ngo,Maharashtra,Pune,,,,juggling,,,,",  # line 13
        "MH-019,Bad email,ngo,Maharashtra,Pune,,,,,,,not-an-email,",  # line 14
    ]
    report = import_agencies(csv_text(*rows))
    assert not report.written and report.created == 0
    assert report.bad_lines == [3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    by_line = {e.line: e for e in report.errors}
    assert by_line[3].column == "kind"
    assert by_line[6].column == "pincode" and "Goa" in by_line[6].message
    assert "Did you mean 'Pune'" in by_line[7].message
    assert "is in Bihar" in by_line[8].message
    assert "line 2" in by_line[10].message
    assert Agency.objects.count() == 0


def test_skip_invalid_writes_only_the_good_rows(geo):
    report = import_agencies(csv_text(GOOD[0], "MH-010,Bad kind,spaceship,Maharashtra,Pune,,,,,,,,"), skip_invalid=True)
    assert report.written and report.created == 1 and report.skipped == 1
    assert list(Agency.objects.values_list("code", flat=True)) == ["MH-001"]


def test_a_dry_run_writes_nothing(geo):
    report = import_agencies(csv_text(*GOOD), dry_run=True)
    assert report.created == 3 and not report.written
    assert not Agency.objects.exists()


def test_a_check_of_a_file_with_bad_rows_says_it_would_write_nothing(geo):
    rows = csv_text(GOOD[0], "MH-010,Bad kind,spaceship,Maharashtra,Pune,,,,,,,,")
    summary = import_agencies(rows, dry_run=True).summary()
    assert "1 of 2 rows have errors, so importing this file would write nothing" in summary
    rows = csv_text(GOOD[0], "MH-010,Bad kind,spaceship,Maharashtra,Pune,,,,,,,,")
    assert import_agencies(rows, dry_run=True, skip_invalid=True).summary().startswith("Checked: would create 1")


def test_parent_cycles_inside_a_file_are_refused(geo):
    report = import_agencies(csv_text("A-1,A,ngo,Goa,,,,,,,A-2,,", "A-2,B,ngo,Goa,,,,,,,A-1,,"))
    assert {e.column for e in report.errors} == {"parent_code"}
    assert not Agency.objects.exists()


def test_a_missing_required_column_is_reported_on_line_1(geo):
    report = import_agencies(csv_text("X,Y", header="code,name"))
    assert report.errors[0].line == 1 and "kind" in report.errors[0].message


def test_extra_columns_are_ignored_with_a_warning(geo):
    report = import_agencies(csv_text(GOOD[2] + ",extra", header=HEADER + ",notes"))
    assert report.written and "notes" in report.warnings[0]


def test_export_then_import_round_trips(cast):
    cast.ngo.latitude, cast.ngo.longitude, cast.ngo.location_precision = 18.55, 73.85, "exact"
    cast.ngo.parent = cast.mh_ahtb
    cast.ngo.save()
    stream = io.StringIO()
    export_agencies(agency_list_queryset(), stream)
    before = list(Agency.objects.order_by("code").values("code", "name", "kind", "state", "district", "latitude", "beds_total", "parent", "location_precision"))
    report = import_agencies(io.StringIO(stream.getvalue()))
    assert report.errors == [] and report.created == 0 and report.updated == len(before)
    after = list(Agency.objects.order_by("code").values("code", "name", "kind", "state", "district", "latitude", "beds_total", "parent", "location_precision"))
    assert after == before


def test_updating_below_the_free_beds_is_refused(cast):
    report = import_agencies(csv_text("PUNE-SS,Shakti Sadan Pune,shelter_home,Maharashtra,Pune,,,,,3,,,"))
    assert report.errors[0].column == "beds_total"
    cast.shelter.refresh_from_db()
    assert cast.shelter.beds_total == 30


def test_a_state_admin_imports_only_into_their_state(login, cast):
    upload = io.BytesIO(("\n".join([HEADER, "GA-1,Goa NGO,ngo,Goa,,,,,,,,,", "MH-9,Pune NGO,ngo,Maharashtra,Pune,,,,,,,,"]) + "\n").encode())
    upload.name = "agencies.csv"
    response = login(cast.rahul).post(reverse("stakeholders:agency_import"), {"file": upload, "dry_run": ""})
    report = response.context["report"]
    assert report.bad_lines == [2] and not report.written
    assert not Agency.objects.filter(code__in=["GA-1", "MH-9"]).exists()


def test_the_command_reports_lines_and_fails(geo, tmp_path):
    path = tmp_path / "agencies.csv"
    path.write_text("\n".join([HEADER, GOOD[0], "MH-010,Bad kind,spaceship,Maharashtra,Pune,,,,,,,,"]) + "\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_agencies", str(path), stdout=out, stderr=err)
    assert "line 3, column kind" in err.getvalue()
    assert not Agency.objects.exists()
    call_command("import_agencies", str(path), "--skip-invalid", stdout=out, stderr=err)
    assert Agency.objects.count() == 1


def test_a_round_trip_keeps_levels_and_jurisdictions(cast):
    """A state bureau or a national body with a PIN code, and a sub-district unit, come back unchanged."""
    from stakeholders.geography import lookup_pin
    from tests.factories import make_agency

    pin = lookup_pin("411001")
    cast.mh_ahtb.pincode, cast.mh_ahtb.location_precision = "411001", "pin"
    cast.mh_ahtb.latitude, cast.mh_ahtb.longitude = pin.latitude, pin.longitude
    cast.mh_ahtb.save()
    make_agency(code="NAT-NGO", name="National NGO", kind="ngo", level="national", pincode="411001",
                latitude=pin.latitude, longitude=pin.longitude, location_precision="pin")
    make_agency(code="PUNE-RPF", name="RPF Pune Jn", kind="railway_police", level="sub_district", district=cast.geo.pune)
    cast.ngo.phone, cast.ngo.name = "+91 20 1234 5678", "-Saathi- Pune"  # written as "'+91…" against CSV injection
    cast.ngo.save()
    fields = [f.attname for f in Agency._meta.concrete_fields if f.name not in {"updated_at"}]
    before = list(Agency.objects.order_by("code").values(*fields))
    stream = io.StringIO()
    export_agencies(agency_list_queryset(), stream)
    report = import_agencies(io.StringIO(stream.getvalue()))
    assert report.errors == [] and report.written
    assert list(Agency.objects.order_by("code").values(*fields)) == before


def test_columns_left_out_of_the_file_keep_their_values(cast):
    shelter = cast.shelter
    shelter.parent, shelter.email, shelter.phone, shelter.pincode = cast.mh_wcd, "ss@example.org", "020-5", "411001"
    shelter.latitude, shelter.longitude, shelter.location_precision = 18.53, 73.86, "exact"
    shelter.save()
    fields = ["parent", "email", "phone", "pincode", "latitude", "longitude", "location_precision", "beds_total",
              "beds_available", "state", "district", "level"]
    before = Agency.objects.filter(pk=shelter.pk).values(*fields).get()
    report = import_agencies(csv_text("PUNE-SS,Shakti Sadan Pune (renamed),shelter_home", header="code,name,kind"))
    assert report.errors == [] and report.updated == 1
    assert Agency.objects.filter(pk=shelter.pk).values(*fields).get() == before
    shelter.refresh_from_db()
    assert shelter.name == "Shakti Sadan Pune (renamed)"
    assert shelter.service_slugs == ["counselling", "shelter_women"]
    # A column that is present but empty does clear its value.
    report = import_agencies(csv_text("PUNE-SS,Shakti Sadan Pune,shelter_home,", header="code,name,kind,email"))
    shelter.refresh_from_db()
    assert report.errors == [] and shelter.email == "" and shelter.phone == "020-5"


def test_a_nul_character_is_a_row_error_not_a_database_crash(geo):
    report = import_agencies(csv_text("MH-1,Bad\x00name,ngo,Maharashtra,Pune,,,,,,,,"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "name")]
    assert not Agency.objects.exists()


def test_an_unreadable_line_is_reported_and_nothing_is_written(geo):
    report = import_agencies(csv_text(GOOD[0], "MH-2," + "x" * 200_000 + ",ngo,Maharashtra,Pune,,,,,,,,"), skip_invalid=True)
    assert [e.line for e in report.errors] == [3] and "cannot be read as CSV" in report.errors[0].message
    assert not report.written and not Agency.objects.exists()


def test_a_child_of_a_bad_row_is_not_written_without_its_parent(geo):
    report = import_agencies(
        csv_text("P-1,Parent,spaceship,Maharashtra,Pune,,,,,,,,", "C-1,Child,ngo,Maharashtra,Pune,,,,,,P-1,,", GOOD[2]),
        skip_invalid=True,
    )
    assert report.bad_lines == [2, 3]
    assert "has errors" in [e for e in report.errors if e.line == 3][0].message
    assert list(Agency.objects.values_list("code", flat=True)) == ["MH-003"]


def test_an_absurd_bed_count_is_refused(geo):
    report = import_agencies(csv_text("MH-1,Shelter,shelter_home,Maharashtra,Pune,,,,,99999999999,,,"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "beds_total")]


def test_kinds_and_services_resolve_from_slugs_or_labels_in_any_case():
    from stakeholders.vocab import AgencyKind, Service, choice_from_text

    assert choice_from_text(AgencyKind, "AHTU") == "ahtu"
    assert choice_from_text(AgencyKind, "anti-human trafficking unit (ahtu)") == "ahtu"
    assert choice_from_text(Service, "Shelter for adult women") == "shelter_women"
    assert choice_from_text(Service, "SHELTER_WOMEN") == "shelter_women"
    assert choice_from_text(Service, "juggling") is None and choice_from_text(Service, "  ") is None


def test_an_imported_bed_count_stamps_the_capacity_time(cast):
    report = import_agencies(csv_text("PUNE-SS,Shakti Sadan Pune,shelter_home,Maharashtra,Pune,,,,,35,,,"))
    assert report.errors == []
    cast.shelter.refresh_from_db()
    assert cast.shelter.beds_total == 35 and cast.shelter.capacity_updated_at is not None
    import_agencies(csv_text(GOOD[0]))
    assert Agency.objects.get(code="MH-001").capacity_updated_at is not None


def test_codes_that_differ_only_in_case_are_duplicates(cast):
    report = import_agencies(csv_text("pune-ngo,Saathi again,ngo,Maharashtra,Pune,,,,,,,,", GOOD[0], "mh-001,Again,ngo,Maharashtra,Pune,,,,,,,,"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "code"), (4, "code")]
    assert "'PUNE-NGO' already exists" in report.errors[0].message and "line 3" in report.errors[1].message
    assert not Agency.objects.filter(code__in=["pune-ngo", "MH-001", "mh-001"]).exists()
