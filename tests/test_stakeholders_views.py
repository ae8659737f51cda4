import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stakeholders.models import Agency, Membership
from tests.factories import make_agency, make_user

LIST = reverse("stakeholders:agency_list")


def detail(agency):
    return reverse("stakeholders:agency_detail", args=[agency.pk])


def names(response):
    return {a.name for a in response.context["agencies"]}


class TestAccess:
    @pytest.mark.parametrize(
        "url_name, needs_pk",
        [("agency_list", False), ("agency_detail", True), ("agency_edit", True), ("agency_members", True),
         ("agency_create", False), ("agency_import", False), ("partnership_add", True)],
    )
    def test_anonymous_users_are_sent_to_login(self, client, cast, url_name, needs_pk):
        url = reverse(f"stakeholders:{url_name}", args=[cast.ngo.pk] if needs_pk else [])
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_an_unknown_agency_is_404(self, login, cast):
        assert login(cast.asha).get(reverse("stakeholders:agency_detail", args=[999999])).status_code == 404

    @pytest.mark.parametrize("user, status", [("nina", 200), ("rahul", 200), ("root", 200), ("asha", 403), ("bina", 403), ("omar", 403), ("mitra", 403)])
    def test_who_may_edit_the_ngo(self, login, cast, user, status):
        assert login(getattr(cast, user)).get(reverse("stakeholders:agency_edit", args=[cast.ngo.pk])).status_code == status

    @pytest.mark.parametrize("user, status", [("nina", 200), ("rahul", 200), ("root", 200), ("asha", 403), ("chitra", 403), ("omar", 403)])
    def test_who_may_manage_members(self, login, cast, user, status):
        assert login(getattr(cast, user)).get(reverse("stakeholders:agency_members", args=[cast.ngo.pk])).status_code == status

    @pytest.mark.parametrize("user, status", [("rahul", 200), ("root", 200), ("nina", 403), ("asha", 403), ("devi", 403)])
    def test_who_may_add_and_import_agencies(self, login, cast, user, status):
        client = login(getattr(cast, user))
        assert client.get(reverse("stakeholders:agency_create")).status_code == status
        assert client.get(reverse("stakeholders:agency_import")).status_code == status

    def test_an_agency_admin_cannot_edit_another_agency_by_post(self, login, cast):
        response = login(cast.nina).post(reverse("stakeholders:agency_edit", args=[cast.shelter.pk]), {"name": "Taken over"})
        assert response.status_code == 403
        cast.shelter.refresh_from_db()
        assert cast.shelter.name == "Shakti Sadan Pune"

    def test_posts_need_a_csrf_token(self, cast):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(cast.chitra)
        response = client.post(reverse("stakeholders:agency_free_beds", args=[cast.shelter.pk]), {"beds_available": 1})
        assert response.status_code == 403
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 5


class TestList:
    def test_filters_narrow_the_list(self, login, cast):
        client = login(cast.asha)
        assert names(client.get(LIST, {"kind": "shelter_home"})) == {"Shakti Sadan Pune"}
        assert names(client.get(LIST, {"state": cast.geo.bihar.pk})) == {"Patna NGO"}
        assert names(client.get(LIST, {"state": cast.geo.mh.pk, "district": cast.geo.pune.pk, "service": "compensation"})) == {"DLSA Pune"}
        assert names(client.get(LIST, {"free_beds": "true"})) == {"Shakti Sadan Pune"}
        assert names(client.get(LIST, {"q": "patna"})) == {"Patna NGO"}
        assert names(client.get(LIST, {"q": "PUNE-C"})) == {"CWC Pune"}

    def test_it_sorts_and_pages(self, login, cast):
        client = login(cast.asha)
        response = client.get(LIST, {"sort": "-name", "per_page": 25})
        listed = [a.name for a in response.context["agencies"]]
        assert listed == sorted(listed, reverse=True)
        for n in range(30):
            make_agency(name=f"Zeta {n:02d}", district=cast.geo.thane)
        page2 = client.get(LIST, {"sort": "name", "per_page": 25, "page": 2})
        assert page2.context["page_obj"].number == 2
        assert len(page2.context["agencies"]) == Agency.objects.count() - 25

    def test_the_csv_export_follows_the_filters(self, login, cast):
        response = login(cast.asha).get(LIST, {"kind": "shelter_home", "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [r["code"] for r in rows] == ["PUNE-SS"]
        assert rows[0]["services"] == "counselling;shelter_women"

    def test_the_list_uses_the_same_number_of_queries_for_10_and_1000_agencies(self, login, cast):
        client = login(cast.asha)

        def count_queries(params):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(LIST, params).status_code == 200
            return len(ctx)

        small = [count_queries({}), count_queries({"state": cast.geo.mh.pk, "service": "rescue", "per_page": 200})]
        Agency.objects.bulk_create([Agency(code=f"BULK-{n}", name=f"Bulk {n}", kind="ngo", state=cast.geo.mh, district=cast.geo.pune) for n in range(1000)])
        large = [count_queries({}), count_queries({"state": cast.geo.mh.pk, "service": "rescue", "per_page": 200})]
        assert small == large
        assert max(large) <= 10


class TestEdits:
    def test_a_state_admin_adds_an_agency_in_their_state_only(self, login, cast):
        client = login(cast.rahul)
        data = {"name": "New AHTU", "code": "MH-NEW", "kind": "ahtu", "level": "district", "state": cast.geo.bihar.pk,
                "pincode": "", "active": "on", "serves_female": "on"}
        response = client.post(reverse("stakeholders:agency_create"), data)
        assert response.status_code == 200 and "state" in response.context["form"].errors
        data["state"] = cast.geo.mh.pk
        data["pincode"] = "411001"
        response = client.post(reverse("stakeholders:agency_create"), data)
        agency = Agency.objects.get(code="MH-NEW")
        assert response.status_code == 302 and agency.district == cast.geo.pune

    def test_an_agency_admin_edits_the_profile(self, login, cast):
        response = login(cast.nina).get(reverse("stakeholders:agency_edit", args=[cast.ngo.pk]))
        form = response.context["form"]
        data = {k: v for k, v in form.initial.items() if v is not None and k not in {"services"}}
        data.update({"name": "Saathi Network Pune", "phone": "+91 20 1234 5678", "services": ["rescue", "legal_aid"]})
        data = {k: v for k, v in data.items() if v is not False}
        response = login(cast.nina).post(reverse("stakeholders:agency_edit", args=[cast.ngo.pk]), data)
        assert response.status_code == 302, response.context["form"].errors
        cast.ngo.refresh_from_db()
        assert (cast.ngo.name, cast.ngo.service_slugs) == ("Saathi Network Pune", ["legal_aid", "rescue"])

    def test_shelter_staff_update_free_beds_with_htmx(self, login, cast):
        url = reverse("stakeholders:agency_free_beds", args=[cast.shelter.pk])
        response = login(cast.chitra).post(url, {"beds_available": 12}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and b"12" in response.content
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 12

    def test_free_beds_cannot_exceed_beds(self, login, cast):
        url = reverse("stakeholders:agency_free_beds", args=[cast.shelter.pk])
        response = login(cast.chitra).post(url, {"beds_available": 31}, HTTP_HX_REQUEST="true")
        assert b"cannot exceed" in response.content
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 5

    def test_others_cannot_update_a_shelters_beds(self, login, cast):
        url = reverse("stakeholders:agency_free_beds", args=[cast.shelter.pk])
        assert login(cast.asha).post(url, {"beds_available": 0}).status_code == 403

    def test_an_admin_adds_and_removes_members(self, login, cast):
        newcomer = make_user("newcomer")
        client = login(cast.nina)
        url = reverse("stakeholders:agency_members", args=[cast.ngo.pk])
        assert client.post(url, {"username": "newcomer@example.org", "role": "caseworker"}).status_code == 302
        membership = Membership.objects.get(user=newcomer, agency=cast.ngo)
        change = reverse("stakeholders:membership_change", args=[cast.ngo.pk, membership.pk])
        client.post(change, {"action": "remove"})
        assert not Membership.objects.filter(user=newcomer).exists()

    def test_an_unknown_user_is_a_field_error(self, login, cast):
        response = login(cast.nina).post(reverse("stakeholders:agency_members", args=[cast.ngo.pk]), {"username": "ghost", "role": "viewer"})
        assert "username" in response.context["form"].errors

    def test_the_detail_page_shows_members_only_to_those_who_manage_them(self, login, cast):
        assert login(cast.nina).get(detail(cast.ngo)).context["members"] is not None
        assert login(cast.asha).get(detail(cast.ngo)).context["members"] is None

    def test_partnerships_are_recorded_between_two_agencies(self, login, cast):
        url = reverse("stakeholders:partnership_add", args=[cast.ngo.pk])
        response = login(cast.nina).post(url, {"to_agency": "PUNE-AHTU", "kind": "mou", "title": "Rescue MoU"})
        assert response.status_code == 302
        assert cast.ngo.partnerships_out.get().to_agency == cast.ahtu
        response = login(cast.nina).post(url, {"to_agency": "PUNE-NGO", "kind": "mou"})
        assert response.status_code == 200 and cast.ngo.partnerships_out.count() == 1


def test_the_pincode_hint_names_the_district(login, cast):
    response = login(cast.asha).get(reverse("stakeholders:pincode_hint"), {"pincode": "411001"})
    assert b"Pune" in response.content


def test_the_about_page_credits_the_data(client, db):
    response = client.get(reverse("about"))
    assert b"Department of Posts" in response.content and b"Government Open Data Licence" in response.content


def test_the_pincode_hint_says_when_a_pin_is_ill_formed(login, cast):
    client = login(cast.asha)
    assert b"is not a PIN code" in client.get(reverse("stakeholders:pincode_hint"), {"pincode": "4110"}).content
    assert b"not in the India Post directory" in client.get(reverse("stakeholders:pincode_hint"), {"pincode": "999999"}).content


def test_district_options_say_all_districts_in_filters_and_nothing_chosen_in_forms(login, cast):
    client = login(cast.asha)
    url = reverse("stakeholders:district_options")
    assert b">All districts<" in client.get(url, {"state": cast.geo.mh.pk}).content
    form_options = client.get(url, {"state": cast.geo.mh.pk, "form": "1"}).content
    assert b"All districts" not in form_options and b">Pune<" in form_options


def test_an_agency_admin_cannot_move_the_agency_to_another_state_through_the_district(login, cast):
    client = login(cast.nina)
    url = reverse("stakeholders:agency_edit", args=[cast.ngo.pk])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False) and k != "services"}
    data.update({"state": cast.geo.bihar.pk, "district": cast.geo.patna.pk})
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Patna is not in Maharashtra." in response.context["form"].errors["district"]
    cast.ngo.refresh_from_db()
    assert cast.ngo.district == cast.geo.pune



def test_the_admin_refuses_a_parent_cycle_with_a_field_error(login, cast):
    child = make_agency(code="CHILD", name="Child", parent=cast.ahtu, district=cast.geo.pune)
    client = login(cast.root)
    url = reverse("admin:stakeholders_agency_change", args=[cast.ahtu.pk])
    response = client.get(url)
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = value
    data["parent"] = child.pk
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        for k, v in fs.management_form.initial.items():
            data[f"{fs.prefix}-{k}"] = v
        for i, f in enumerate(fs.forms):
            for name, field in f.fields.items():
                v = f.instance.pk if name == "id" else f.initial.get(name)
                if v is not None and v is not False:
                    data[f"{fs.prefix}-{i}-{name}"] = getattr(v, "pk", v)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "own ancestor" in response.context["adminform"].form.errors["parent"][0]
    cast.ahtu.refresh_from_db()
    assert cast.ahtu.parent is None
    del data["parent"]
    data["name"] = "AHTU Pune (renamed)"
    assert client.post(url, data).status_code == 302
    cast.ahtu.refresh_from_db()
    assert cast.ahtu.name == "AHTU Pune (renamed)"


@pytest.mark.parametrize("sort", ["beds", "-beds", "district", "-district"])
def test_agencies_without_beds_or_district_sort_last_both_ways(login, cast, sort):
    make_agency(code="OSC", name="One stop centre", kind="one_stop_centre", district=cast.geo.pune, beds_total=10, beds_available=2)
    make_agency(code="NAT", name="A national body", kind="ministry", level="national")
    listed = [a.code for a in login(cast.asha).get(LIST, {"sort": sort, "per_page": 100}).context["agencies"]]
    if "beds" in sort:
        with_beds = ["PUNE-SS", "OSC"] if sort == "beds" else ["OSC", "PUNE-SS"]
        assert listed[:2] == with_beds
    else:
        assert listed[-1] in {"NAT", "SC", "MH-WCD", "MH-AHTB", "WB-WCD"}
        assert "NAT" not in listed[:3]


def test_the_detail_page_says_when_it_shows_only_some_units(login, cast, monkeypatch):
    from stakeholders import views

    monkeypatch.setattr(views, "CHILDREN_SHOWN", 2)
    for n in range(3):
        make_agency(code=f"UNIT-{n}", name=f"Unit {n}", parent=cast.mh_ahtb, district=cast.geo.pune)
    response = login(cast.asha).get(detail(cast.mh_ahtb))
    assert len(response.context["children"]) == 2
    assert b"The first 2 of 3 units" in response.content


def test_the_detail_page_lists_who_is_served_with_commas(login, cast):
    content = login(cast.asha).get(detail(cast.ngo)).content.decode()
    assert "women/girls, men/boys, transgender persons" in content
    assert "women/girls, transgender persons · ages 18" in login(cast.asha).get(detail(cast.shelter)).content.decode()
