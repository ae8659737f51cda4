"""The registry's rules: locations, capacity, hierarchy, memberships and their permissions."""

import pytest
from django.core.exceptions import ValidationError

from stakeholders.forms import AgencyForm
from stakeholders.locations import resolve_location
from stakeholders.models import Agency, Membership
from stakeholders.services import agency_update, membership_grant, membership_revoke
from stakeholders.vocab import LocationPrecision
from tests.factories import make_agency, make_user


def form_data(**overrides):
    data = {
        "name": "New shelter", "code": "NEW-1", "kind": "shelter_home", "level": "district", "state": "", "district": "",
        "pincode": "", "latitude": "", "longitude": "", "serves_female": "on", "active": "on", "services": ["shelter_women"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class TestLocation:
    def test_a_pin_fills_state_district_and_centre(self, geo):
        location, errors = resolve_location(state=None, district=None, pincode="411001", latitude=None, longitude=None)
        assert errors == {}
        assert (location.state, location.district, location.precision) == (geo.mh, geo.pune, LocationPrecision.PIN)
        assert abs(location.latitude - 18.52) < 0.1

    def test_a_district_alone_gives_its_centre(self, geo):
        location, errors = resolve_location(state=geo.mh, district=geo.thane, pincode="", latitude=None, longitude=None)
        assert errors == {}
        assert (location.latitude, location.precision) == (geo.thane.latitude, LocationPrecision.DISTRICT)

    def test_given_coordinates_are_exact(self, geo):
        location, _ = resolve_location(state=geo.mh, district=geo.pune, pincode="411001", latitude=18.6, longitude=73.9)
        assert (location.latitude, location.precision) == (18.6, LocationPrecision.EXACT)

    @pytest.mark.parametrize(
        "kwargs, field, words",
        [
            ({"pincode": "41100"}, "pincode", "not a PIN code"),
            ({"pincode": "012345"}, "pincode", "not a PIN code"),
            ({"pincode": "999999"}, "pincode", "not in the India Post directory"),
            ({"pincode": "403001"}, "pincode", "belongs to Goa"),
            ({"latitude": 51.5, "longitude": -0.1}, "latitude", "outside India"),
            ({"latitude": 18.5}, "longitude", "both latitude and longitude"),
        ],
    )
    def test_bad_pieces_are_named(self, geo, kwargs, field, words):
        args = {"state": geo.mh, "district": None, "pincode": "", "latitude": None, "longitude": None, **kwargs}
        _location, errors = resolve_location(**args)
        assert words in errors[field]

    def test_a_district_outside_the_state_is_an_error(self, geo):
        _location, errors = resolve_location(state=geo.mh, district=geo.patna, pincode="", latitude=None, longitude=None)
        assert "not in Maharashtra" in errors["district"]


class TestAgencyForm:
    def test_a_valid_form_saves_with_the_pin_location(self, geo):
        form = AgencyForm(form_data(state=geo.mh.pk, pincode="411001", beds_total="20", beds_available="4"))
        assert form.is_valid(), form.errors
        agency = form.save()
        assert (agency.district, agency.location_precision) == (geo.pune, LocationPrecision.PIN)

    @pytest.mark.parametrize(
        "overrides, field",
        [
            ({"pincode": "12"}, "pincode"),
            ({"pincode": "403001"}, "pincode"),
            ({"latitude": "60", "longitude": "10"}, "latitude"),
            ({"beds_total": "3", "beds_available": "5"}, "beds_available"),
            ({"code": "bad code!"}, "code"),
        ],
    )
    def test_bad_input_is_a_field_error_and_nothing_is_saved(self, geo, overrides, field):
        form = AgencyForm(form_data(state=geo.mh.pk, **overrides))
        assert not form.is_valid()
        assert field in form.errors
        assert not Agency.objects.filter(code="NEW-1").exists()

    def test_a_district_of_another_state_is_refused(self, geo):
        form = AgencyForm(form_data(state=geo.bihar.pk, district=geo.pune.pk))
        assert not form.is_valid()
        assert "district" in form.errors

    def test_a_duplicate_code_is_refused(self, cast):
        form = AgencyForm(form_data(state=cast.geo.mh.pk, code=cast.ngo.code))
        assert not form.is_valid()
        assert "code" in form.errors

    def test_a_parent_cycle_is_refused(self, cast):
        child = make_agency(code="CHILD", parent=cast.ahtu, district=cast.geo.pune)
        form = AgencyForm(form_data(state=cast.geo.mh.pk, code=cast.ahtu.code, name="AHTU", kind="ahtu", parent=child.code),
                          instance=cast.ahtu)
        assert not form.is_valid()
        assert "parent" in form.errors
        cast.ahtu.refresh_from_db()
        assert cast.ahtu.parent is None

    def test_agency_admins_cannot_change_what_the_state_vouches_for(self, cast):
        form = AgencyForm(form_data(state=cast.geo.mh.pk, district=cast.geo.pune.pk, code="HIJACK", kind="ngo",
                                    verified="on", name="Saathi"), instance=cast.ngo, restricted=True)
        assert form.is_valid(), form.errors
        agency = form.save()
        assert (agency.code, agency.verified, agency.state) == ("PUNE-NGO", False, cast.geo.mh)


class TestServices:
    def test_changing_capacity_stamps_the_time(self, cast):
        cast.shelter.beds_available = 2
        agency_update(agency=cast.shelter)
        cast.shelter.refresh_from_db()
        assert cast.shelter.capacity_updated_at is not None

    def test_the_database_refuses_more_free_beds_than_beds(self, cast):
        cast.shelter.beds_available = 31
        with pytest.raises(ValidationError):
            agency_update(agency=cast.shelter)

    def test_an_admin_gets_object_permissions_through_the_agency_group(self, cast):
        assert cast.nina.has_perm("stakeholders.change_agency", cast.ngo)
        assert cast.nina.has_perm("stakeholders.manage_members", cast.ngo)
        assert not cast.nina.has_perm("stakeholders.change_agency", cast.shelter)
        assert not cast.asha.has_perm("stakeholders.change_agency", cast.ngo)

    def test_demoting_an_admin_removes_the_permission(self, cast):
        second = make_user("second", agency=cast.ngo, role="admin")
        membership_grant(agency=cast.ngo, user=cast.nina, role="viewer")
        fresh = type(cast.nina).objects.get(pk=cast.nina.pk)
        assert not fresh.has_perm("stakeholders.change_agency", cast.ngo)
        assert second.has_perm("stakeholders.change_agency", cast.ngo)

    def test_the_last_admin_cannot_leave(self, cast):
        with pytest.raises(ValidationError):
            membership_revoke(membership=Membership.objects.get(user=cast.nina, agency=cast.ngo), by=cast.nina)
        assert Membership.objects.filter(user=cast.nina, agency=cast.ngo).exists()

    def test_editable_by_is_the_gate(self, cast):
        assert set(Agency.objects.editable_by(cast.nina)) == {cast.ngo}
        assert not Agency.objects.editable_by(cast.asha).exists()
        in_maharashtra = set(Agency.objects.filter(state=cast.geo.mh))
        assert set(Agency.objects.editable_by(cast.rahul)) == in_maharashtra
        assert Agency.objects.editable_by(cast.root).count() == Agency.objects.count()


def test_saving_an_agency_keeps_derived_coordinates_derived(cast):
    form = AgencyForm(form_data(state=cast.geo.mh.pk, pincode="411001", code="PIN-1"))
    agency = form.save() if form.is_valid() else None
    assert agency.location_precision == LocationPrecision.PIN
    edit = AgencyForm(instance=agency)
    assert edit.initial["latitude"] is None
    data = form_data(state=cast.geo.mh.pk, district=agency.district_id, pincode="411001", code="PIN-1", name="Renamed")
    edit = AgencyForm(data, instance=agency)
    assert edit.is_valid(), edit.errors
    agency = edit.save()
    assert (agency.name, agency.location_precision) == ("Renamed", LocationPrecision.PIN)


def test_seed_demo_refuses_a_real_registry_but_if_empty_leaves_it_alone(cast):
    """`make run` runs `seed_demo --if-empty`: on a database with a real registry it must not fail."""
    import io

    from django.core.management import CommandError, call_command

    before = Agency.objects.count()
    with pytest.raises(CommandError, match="not demo data"):
        call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "no demo data added" in out.getvalue()
    assert Agency.objects.count() == before


class TestLocationChecks:
    """The bad-input list of the agency form: every problem is a field error that names it; nothing is saved."""

    @pytest.mark.parametrize(
        "latitude, longitude",
        [(6.93, 79.85), (29.65, 91.1), (16.84, 96.17), (23.81, 90.41), (12.0, 70.0)],  # Colombo, Lhasa, Yangon, Dhaka, sea
    )
    def test_points_inside_the_box_but_outside_india_are_refused(self, geo, latitude, longitude):
        _location, errors = resolve_location(state=None, district=None, pincode="", latitude=latitude, longitude=longitude)
        assert "outside India" in errors["latitude"]

    @pytest.mark.parametrize(
        "latitude, longitude",
        [(18.52, 73.85), (34.15, 77.58), (11.62, 92.72), (10.57, 72.64), (6.75, 93.84), (27.58, 91.86), (23.83, 91.28)],
    )  # Pune, Leh, Port Blair, Kavaratti, Indira Point, Tawang, Agartala
    def test_remote_indian_places_are_accepted(self, geo, latitude, longitude):
        _location, errors = resolve_location(state=None, district=None, pincode="", latitude=latitude, longitude=longitude)
        assert errors == {}

    def test_a_pin_of_another_district_is_an_error(self, geo):
        _location, errors = resolve_location(state=geo.mh, district=geo.pune, pincode="400001", latitude=None, longitude=None)
        assert errors["pincode"] == "PIN code 400001 is in Mumbai, not in Pune."

    def test_a_pin_fills_no_jurisdiction_above_the_agency_level(self, geo):
        state_level, errors = resolve_location(state=geo.mh, district=None, pincode="411001", latitude=None,
                                               longitude=None, level="state")
        assert errors == {} and (state_level.state, state_level.district, state_level.precision) == (geo.mh, None, "pin")
        national, errors = resolve_location(state=None, district=None, pincode="411001", latitude=None, longitude=None,
                                            level="national")
        assert errors == {} and (national.state, national.district, national.precision) == (None, None, "pin")

    @pytest.mark.parametrize(
        "overrides, field, words",
        [
            ({"district": "patna"}, "district", "Patna is not in Maharashtra."),
            ({"district": "pune", "pincode": "400001"}, "pincode", "is in Mumbai, not in Pune"),
            ({"latitude": "6.93", "longitude": "79.85"}, "latitude", "outside India"),
            ({"parent": "NOPE"}, "parent", "No agency has the code NOPE."),
            ({"code": "pune-ngo"}, "code", "Agency PUNE-NGO already exists; codes may not differ only in case."),
            ({"beds_total": "99999999999"}, "beds_total", "At most 100,000 beds."),
            ({"min_age": "18", "max_age": "5"}, "max_age", "below the minimum age"),
            ({"last_verified_on": "2999-01-01"}, "last_verified_on", "cannot be in the future"),
            ({}, "district", "needs its district"),
            ({"level": "state", "state": ""}, "state", "needs its state"),
        ],
    )
    def test_each_problem_is_a_field_error_naming_it(self, geo, overrides, field, words):
        make_agency(code="PUNE-NGO", name="Saathi", district=geo.pune)
        overrides = {"state": geo.mh.pk, **overrides}
        if "district" in overrides:
            overrides["district"] = getattr(geo, overrides["district"]).pk
        form = AgencyForm(form_data(**overrides))
        assert not form.is_valid()
        assert any(words in message for message in form.errors[field]), form.errors
        assert not Agency.objects.filter(code="NEW-1").exists()

    def test_a_state_level_agency_with_a_pin_keeps_no_district(self, geo):
        form = AgencyForm(form_data(kind="state_aht_bureau", level="state", state=geo.mh.pk, pincode="411001"))
        assert form.is_valid(), form.errors
        agency = form.save()
        assert (agency.state, agency.district, agency.location_precision) == (geo.mh, None, LocationPrecision.PIN)

    def test_a_state_admin_is_told_the_state_is_not_theirs(self, geo):
        form = AgencyForm(form_data(state=geo.bihar.pk, district=geo.patna.pk), allowed_states=[geo.mh.pk])
        assert not form.is_valid()
        assert "only within your own state" in form.errors["state"][0]
