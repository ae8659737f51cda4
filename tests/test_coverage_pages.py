"""Coverage pages, maps and exports: who sees what, small-count suppression, offline maps, query counts,
and the coverage_report / export_map commands."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mapping.maps import external_urls
from stakeholders.models import Agency, DistrictBoundary
from tests.factories import make_agency, make_case, make_referral

PAGES = ["mapping:coverage", "mapping:coverage_gaps", "mapping:coverage_origins"]
MAPS = ["coverage", "gaps", "origins"]


def every_url(query=""):
    urls = [reverse(name) + query for name in PAGES]
    urls += [reverse("mapping:coverage_map", args=[page]) + query for page in MAPS]
    sep = "&" if query else "?"
    urls += [reverse(name) + query + f"{sep}format={fmt}" for name in PAGES for fmt in ("csv", "geojson")]
    return urls


@pytest.fixture
def covered(cast):
    """The cast, plus a Pune outline, three victims rescued in Pune and seven cases from Patna."""
    geo = cast.geo
    DistrictBoundary.objects.create(
        district=geo.pune, source="Test outlines",
        geometry={"type": "Polygon", "coordinates": [[[73.4, 18.2], [74.3, 18.2], [74.3, 18.9], [73.4, 18.9], [73.4, 18.2]]]},
    )
    Agency.objects.filter(pk=cast.ahtu.pk).update(ahtu_notified=True, ahtu_functional=True)
    recently = timezone.now() - timedelta(days=30)
    for _ in range(3):
        make_case(opened_by=cast.ngo, rescue_district=geo.pune, rescued_at=recently, origin_district=geo.pune, origin_state=geo.mh)
    for _ in range(7):
        make_case(opened_by=cast.outsider_agency, origin_district=geo.patna, origin_state=geo.bihar, rescue_district=geo.patna,
                  rescued_at=recently)
    return cast


def district_names(response):
    return re.findall(r'<tr id="district-\d+">\s*<td class="primary" data-value="([^"]+)"', response.content.decode())


def script_text(html):
    """Map data is JSON inside scripts: undo its escapes of &, < and > to read the text as shown."""
    return html.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")


def csv_rows(response):
    return {row["district"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}


# ----------------------------------------------------------------------------------------------- who sees what


@pytest.mark.parametrize("username", ["asha", "bina", "chitra", "kavita", "priya", "omar"])
def test_members_without_an_analysis_role_get_a_404_on_every_page_map_and_export(covered, login, username):
    client = login(getattr(covered, username))
    for url in every_url():
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(covered, client):
    for url in every_url():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize("username", ["sunil", "root", "devi", "rahul", "arjun", "nina"])
def test_analysis_roles_get_every_page_map_and_export(covered, login, username):
    client = login(getattr(covered, username))
    for url in every_url():
        assert client.get(url).status_code == 200, url


def test_the_committee_sees_every_district(covered, login):
    names = district_names(login(covered.sunil).get(reverse("mapping:coverage")))
    assert set(names) == {"Pune", "Mumbai", "Thane", "North Goa", "Patna", "Kolkata"}


def test_a_state_department_sees_its_state_only_and_other_states_are_404(covered, login):
    client = login(covered.devi)
    assert set(district_names(client.get(reverse("mapping:coverage")))) == {"Pune", "Mumbai", "Thane"}
    for url in every_url(f"?state={covered.geo.bihar.pk}"):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("mapping:coverage") + f"?state={covered.geo.mh.pk}").status_code == 200
    assert set(district_names(login(covered.mitra).get(reverse("mapping:coverage")))) == {"Kolkata"}


def test_an_agency_admin_sees_their_district_and_the_neighbours_within_the_setting(covered, login, settings):
    client = login(covered.arjun)
    assert district_names(client.get(reverse("mapping:coverage"))) == ["Pune"]  # Mumbai is 117 km away
    settings.COVERAGE_RADIUS_KM = 150
    response = client.get(reverse("mapping:coverage"))
    assert set(district_names(response)) == {"Pune", "Mumbai", "Thane"}
    assert "neighbouring districts (those whose centres lie within 150 km of it)" in response.content.decode()


def test_the_radius_chosen_on_the_page_does_not_widen_an_admins_view(covered, login):
    client = login(covered.arjun)
    response = client.get(reverse("mapping:coverage") + "?radius_km=1000")
    assert district_names(response) == ["Pune"]
    assert csv_rows(client.get(reverse("mapping:coverage") + "?radius_km=1000&format=csv")).keys() == {"Pune"}
    assert client.get(reverse("mapping:coverage") + f"?state={covered.geo.goa.pk}").status_code == 404


def test_an_unknown_map_is_404(covered, login):
    assert login(covered.sunil).get(reverse("mapping:coverage_map", args=["heatmap"])).status_code == 404


def test_a_bad_choice_shows_its_error_and_the_default_is_used(covered, login):
    response = login(covered.sunil).get(reverse("mapping:coverage") + "?radius_km=-5&period=7")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"radius_km", "period"}
    assert response.context["view"].radius_km == 100 and response.context["view"].period_months == 12


# ----------------------------------------------------------------------------------------------- suppression


def pune_rescued_cell(response):
    match = re.search(r'<tr id="district-\d+">\s*<td class="primary" data-value="Pune">.*?data-label="Rescued" data-value="(\d+)">([^<]*)</td>',
                      response.content.decode(), re.S)
    return match.group(1), match.group(2)


def test_small_counts_are_suppressed_for_the_committee_on_pages_exports_and_maps(covered, login):
    client = login(covered.sunil)
    assert pune_rescued_cell(client.get(reverse("mapping:coverage"))) == ("1", "&lt;5")  # the sort key hides it too
    assert csv_rows(client.get(reverse("mapping:coverage") + "?format=csv"))["Pune"]["rescued"] == "<5"
    features = json.loads(client.get(reverse("mapping:coverage_origins") + "?format=geojson").content)["features"]
    props = {f["properties"]["district"]: f["properties"] for f in features}
    assert props["Pune"]["rescued"] == "<5" and props["Patna"]["originating"] == 7
    origins = client.get(reverse("mapping:coverage_origins") + "?measure=rescued").content.decode()
    assert ">&lt;5</td>" in origins and 'data-value="3"' not in origins
    map_html = script_text(client.get(reverse("mapping:coverage_map", args=["origins"]) + "?measure=rescued").content.decode())
    assert "Pune: &lt;5" in map_html and "Pune: 3" not in map_html and "Patna: 7" in map_html
    origins_csv = csv_rows(client.get(reverse("mapping:coverage_origins") + "?format=csv"))
    assert (origins_csv["Pune"]["originating"], origins_csv["Patna"]["originating"]) == ("<5", "7")


def test_a_superuser_and_the_states_own_department_see_exact_counts(covered, login):
    assert csv_rows(login(covered.root).get(reverse("mapping:coverage") + "?format=csv"))["Pune"]["rescued"] == "3"
    client = login(covered.devi)
    assert csv_rows(client.get(reverse("mapping:coverage") + "?format=csv"))["Pune"]["rescued"] == "3"
    assert pune_rescued_cell(client.get(reverse("mapping:coverage"))) == ("3", "3")


def test_an_agency_admin_counts_only_through_their_gate_and_sees_it_suppressed(covered, login):
    case = make_case(opened_by=covered.ngo, rescue_district=covered.geo.pune, rescued_at=timezone.now() - timedelta(days=2))
    make_referral(case=case, from_agency=covered.ngo, to_agency=covered.ahtu)
    rows = csv_rows(login(covered.arjun).get(reverse("mapping:coverage") + "?format=csv"))
    assert rows["Pune"]["rescued"] == "<5"  # one case reached the AHTU; the NGO's other three are not his to count


# ----------------------------------------------------------------------------------------------- gaps on the page


def test_the_gaps_page_explains_gaps_and_suggests_sites(covered, login):
    response = login(covered.sunil).get(reverse("mapping:coverage_gaps") + "?weight=rescued&count=2")
    page = response.content.decode()
    assert "No Anti-Human Trafficking Unit is based in this district" in page
    suggestions = response.context["suggestions"]
    # Patna's 7 rescued victims are the largest need no AHTU reaches; Pune's are covered by its AHTU.
    assert suggestions[0]["district"] == "Patna" and suggestions[0]["newly_covered"] == 7
    gaps = {row["district"]: row["gap"] for row in response.context["rows"] if row["gap"] == "no_ahtu"}
    assert "Pune" not in gaps and "Patna" in gaps


def test_referral_gaps_are_not_assessed_for_an_agency_admin(covered, login):
    response = login(covered.arjun).get(reverse("mapping:coverage_gaps"))
    assert response.context["not_assessed"] == 1
    assert not {row["gap"] for row in response.context["rows"]} & {"unlinked_agencies", "ahtu_never_refers_to_cwc"}
    committee = login(covered.sunil).get(reverse("mapping:coverage_gaps") + "?gap=unlinked_agencies")
    assert "Pune" in {row["district"] for row in committee.context["rows"]}  # six Pune agencies, no referral yet


# ----------------------------------------------------------------------------------------------- maps offline


@pytest.mark.parametrize("page", MAPS)
def test_rendered_maps_fetch_nothing_from_the_internet_when_tiles_are_off(covered, login, settings, page):
    settings.MAP_TILE_URL = ""
    # Weighing by rescued victims gives the gap map suggested sites (markers with popups) to draw.
    html = login(covered.sunil).get(reverse("mapping:coverage_map", args=[page]) + "?weight=rescued").content.decode()
    assert html.startswith("<!DOCTYPE html>")
    if page == "gaps":
        assert "aht-suggestion" in html and ".bindPopup(" in html
    assert external_urls(html) == []
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/css/coverage_map.css" in html
    assert "_repr_html_" not in html and "Trust Notebook" not in html
    assert "$(" not in html and "$.ajax" not in html  # nothing that needs jQuery, which we do not serve


def test_a_tile_layer_appears_only_when_configured(covered, login, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    html = login(covered.sunil).get(reverse("mapping:coverage_map", args=["coverage"])).content.decode()
    assert "tiles.example.org" in html


def test_the_coverage_map_draws_outlines_where_imported_and_circles_elsewhere(covered, login):
    html = login(covered.sunil).get(reverse("mapping:coverage_map", args=["coverage"])).content.decode()
    assert "[73.4,18.2]" in html  # Pune's outline
    assert "[85.1376,25.5941]" in html and "pointToLayer" in html  # Patna as a circle at its centre
    assert "Test outlines" in html  # attribution of the boundary source
    assert "L.markerClusterGroup" in html and html.count("L.marker(") <= 12  # clustered arrays, not one Marker per agency
    assert "/agencies/" in html and 'target="_top"' in html  # popups link to agency pages


def test_the_map_of_a_page_follows_its_choices(covered, login):
    client = login(covered.sunil)
    html = client.get(reverse("mapping:coverage_map", args=["coverage"]) + "?indicator=beds_per_100k").content.decode()
    assert "Shelter beds within 100 km per 100,000 people" in html
    page = client.get(reverse("mapping:coverage") + "?indicator=beds_per_100k&radius_km=50").content.decode()
    assert 'src="/analysis/coverage/map/coverage/?indicator=beds_per_100k&amp;radius_km=50"' in page


# ----------------------------------------------------------------------------------------------- speed


def test_pages_and_maps_use_a_constant_number_of_queries(covered, login):
    client = login(covered.sunil)
    urls = [reverse("mapping:coverage"), reverse("mapping:coverage_map", args=["coverage"]), reverse("mapping:coverage_gaps")]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    before = counts()
    for i in range(30):
        make_agency(kind=["ahtu", "shelter_home", "cwc", "ngo"][i % 4], district=covered.geo.thane, beds_total=10, beds_available=2)
        case = make_case(opened_by=covered.ngo, rescue_district=covered.geo.thane, rescued_at=timezone.now())
        make_referral(case=case, from_agency=covered.ngo, to_agency=covered.cwc)
    assert counts() == before


# ----------------------------------------------------------------------------------------------- commands


def test_coverage_report_json_has_the_documented_shape(covered):
    out = io.StringIO()
    call_command("coverage_report", state="Maharashtra", radius_km=150, stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"summary", "districts", "suggestions"}
    assert {"districts", "with_ahtu", "pct_with_ahtu"} <= set(data["summary"])
    assert data["summary"]["districts"] == 3 and data["summary"]["with_ahtu"] == 1 and data["summary"]["radius_km"] == 150
    pune = next(d for d in data["districts"] if d["district"] == "Pune")
    assert set(pune) == {"state", "district", "agencies", "has_ahtu", "nearest_ahtu_km", "nearest_shelter_km",
                         "beds_within_radius", "population", "rescued_last_12m", "gaps"}
    assert pune["has_ahtu"] and pune["agencies"]["ahtu"] == 1 and pune["rescued_last_12m"] == 3
    assert pune["nearest_ahtu_km"] == 0 and pune["beds_within_radius"] == 30
    mumbai = next(d for d in data["districts"] if d["district"] == "Mumbai")
    assert "no_ahtu" in mumbai["gaps"] and mumbai["nearest_ahtu_km"] == pytest.approx(117.2, abs=0.5)
    for suggestion in data["suggestions"]:
        assert set(suggestion) == {"kind", "state", "district", "lat", "lon", "newly_covered"}


def test_coverage_report_as_a_user_is_what_that_user_sees(covered, tmp_path):
    path = tmp_path / "report.csv"
    call_command("coverage_report", format="csv", as_user="sunil", output=str(path), stderr=io.StringIO())
    rows = {row["district"]: row for row in csv.DictReader(path.open())}
    assert rows["Pune"]["rescued_last_12m"] == "<5" and len(rows) == 6
    with pytest.raises(CommandError, match="may not see coverage"):
        call_command("coverage_report", as_user="asha", stdout=io.StringIO())


def test_coverage_report_text_and_bad_arguments(covered):
    out = io.StringIO()
    call_command("coverage_report", format="text", state="bihar", stdout=out)
    assert "1 districts; 0 with an AHTU" in out.getvalue() and "Patna (Bihar):" in out.getvalue()
    with pytest.raises(CommandError, match="Unknown state 'Atlantis'"):
        call_command("coverage_report", state="Atlantis", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--radius-km must be between"):
        call_command("coverage_report", radius_km=0, stdout=io.StringIO())


@pytest.mark.parametrize("which", MAPS)
def test_export_map_writes_a_standalone_file_that_opens_offline(covered, tmp_path, settings, which):
    settings.MAP_TILE_URL = ""
    path = tmp_path / f"{which}.html"
    out = io.StringIO()
    call_command("export_map", which, state="Maharashtra", output=str(path), stdout=out)
    html = path.read_text()
    assert external_urls(html) == [] and "<script src=" not in html and "aht-asset://" not in html
    assert "L.map(" in html and "Wrote" in out.getvalue()


def test_export_map_suppresses_small_counts_unless_asked(covered, tmp_path):
    path = tmp_path / "origins.html"
    call_command("export_map", "origins", output=str(path), measure="rescued", stdout=io.StringIO())
    assert "Pune: &lt;5" in script_text(path.read_text())
    call_command("export_map", "origins", output=str(path), measure="rescued", exact_counts=True, stdout=io.StringIO())
    assert "Pune: 3" in script_text(path.read_text())


def test_choices_left_out_show_their_defaults(covered, login):
    page = login(covered.sunil).get(reverse("mapping:coverage_gaps") + "?weight=rescued").content.decode()
    assert '<option value="12" selected>' in page and 'name="radius_km" value="100' in page
    assert '<option value="rescued" selected>' in page


def test_an_admin_of_a_state_level_agency_sees_its_state(covered, login):
    from tests.factories import make_user

    slsa = make_agency(code="MH-SLSA", name="Maharashtra SLSA", kind="legal_services", level="state", state=covered.geo.mh)
    client = login(make_user("sana", agency=slsa, role="admin"))
    response = client.get(reverse("mapping:coverage_gaps"))
    assert {row["district"] for row in coverage_rows(client)} == {"Pune", "Mumbai", "Thane"}
    assert response.context["not_assessed"] == 3  # its gate does not count the state's referrals
    assert client.get(reverse("mapping:coverage") + f"?state={covered.geo.bihar.pk}").status_code == 404


def coverage_rows(client):
    return list(csv.DictReader(io.StringIO(client.get(reverse("mapping:coverage") + "?format=csv").content.decode())))


# ----------------------------------------------------------------------------------------------- the analysis cache


@pytest.fixture
def analyses(monkeypatch):
    """Counts how often the coverage analysis itself runs."""
    from mapping import coverage

    calls = []
    original = coverage.analyse

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(coverage, "analyse", counted)
    return calls


def test_a_page_and_the_map_in_its_iframe_compute_the_analysis_once(covered, login, analyses):
    client = login(covered.sunil)
    page = client.get(reverse("mapping:coverage") + "?radius_km=150")
    assert client.get(page.context["map_url"]).status_code == 200
    assert len(analyses) == 1
    client.get(reverse("mapping:coverage_gaps") + "?radius_km=150")  # same choices: the same analysis
    assert len(analyses) == 1
    client.get(reverse("mapping:coverage") + "?radius_km=80")  # other choices: computed anew
    assert len(analyses) == 2


def test_a_change_is_seen_at_once_despite_the_cache(covered, login):
    client = login(covered.sunil)
    assert "no_ahtu" in csv_rows(client.get(reverse("mapping:coverage") + "?format=csv"))["Mumbai"]["gaps"]
    make_agency(kind="ahtu", name="AHTU Mumbai", district=covered.geo.mumbai)
    assert "no_ahtu" not in csv_rows(client.get(reverse("mapping:coverage") + "?format=csv"))["Mumbai"]["gaps"]
    from stakeholders.models import District

    District.objects.filter(pk=covered.geo.mumbai.pk).update(population=12_442_373)  # as a bulk import writes it
    assert csv_rows(client.get(reverse("mapping:coverage") + "?format=csv"))["Mumbai"]["population"] == "12442373"


def test_viewers_with_other_gates_or_suppression_never_share_an_analysis(covered, login):
    case = make_case(opened_by=covered.ngo, rescue_district=covered.geo.pune, rescued_at=timezone.now() - timedelta(days=2))
    make_referral(case=case, from_agency=covered.ngo, to_agency=covered.ahtu)
    url = reverse("mapping:coverage") + "?format=csv"
    assert csv_rows(login(covered.sunil).get(url))["Pune"]["rescued"] == "<5"  # four, suppressed
    assert csv_rows(login(covered.root).get(url))["Pune"]["rescued"] == "4"  # the same counts, not suppressed
    assert csv_rows(login(covered.devi).get(url))["Pune"]["rescued"] == "4"
    arjun = login(covered.arjun).get(reverse("mapping:coverage_gaps"))
    assert arjun.context["not_assessed"] == 1  # his own gate, not the committee's cached analysis


def test_a_suggestions_need_never_reveals_a_hidden_count_by_subtraction(covered, login):
    """Mumbai (7 rescued, shown) and Thane (3, shown as "<5") lie 31 km apart, both beyond Pune's AHTU: one new
    AHTU covers both. "10" beside Mumbai's 7 would give Thane's 3 away."""
    recently = timezone.now() - timedelta(days=30)
    for district, n in ((covered.geo.mumbai, 7), (covered.geo.thane, 3)):
        for _ in range(n):
            make_case(opened_by=covered.ngo, rescue_district=district, rescued_at=recently)
    url = reverse("mapping:coverage_gaps") + "?weight=rescued&count=1"
    committee = login(covered.sunil).get(url)
    first = committee.context["suggestions"][0]
    assert first["district"] == "Mumbai" and first["newly_covered"] == "≥8"  # 7 + one hidden count, weighed 1
    assert "newly covers ≥8 rescued victims" in committee.content.decode()
    map_html = script_text(login(covered.sunil).get(reverse("mapping:coverage_map", args=["gaps"]) + "?weight=rescued&count=1").content.decode())
    assert "Newly covers: \\u22658 rescued victims" in map_html and "10 rescued" not in map_html  # ≥, JSON-escaped in the script
    assert login(covered.root).get(url).context["suggestions"][0]["newly_covered"] == 10  # case access: the exact total
    out = io.StringIO()
    call_command("coverage_report", as_user="sunil", weight="rescued", suggest=1, stdout=out)
    assert json.loads(out.getvalue())["suggestions"][0]["newly_covered"] == "≥8"


def test_export_map_refuses_choices_the_pages_would_refuse(covered, tmp_path):
    path = tmp_path / "map.html"
    for options, message in (
        ({"radius_km": -5}, "--radius-km must be between"),
        ({"radius_km": 5000}, "--radius-km must be between"),
        ({"suggest": 500}, "--suggest must be between"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("export_map", "gaps", output=str(path), stdout=io.StringIO(), **options)
    for argument in ("--period-months=7", "--indicator=nonsense"):  # once silently "all time" and the AHTU map
        with pytest.raises(CommandError, match="invalid choice"):
            call_command("export_map", "coverage", f"--output={path}", argument, stdout=io.StringIO())
    assert not path.exists()


def test_an_admins_state_row_says_it_counts_only_the_districts_they_see(covered, login):
    page = login(covered.arjun).get(reverse("mapping:coverage"))  # Pune only, of Maharashtra's three
    row = next(s for s in page.context["states"] if s["state"] == "Maharashtra")
    assert (row["districts"], row["in_state"], row["partial"]) == (1, 3, True)
    assert "only the 1 of its 3 districts that you see" in page.content.decode()
    department = login(covered.devi).get(reverse("mapping:coverage"))
    assert not department.context["states"][0]["partial"]
    assert "districts that you see" not in department.content.decode()


def test_the_report_of_an_admin_does_not_count_unassessed_referral_gaps_as_zero(covered):
    out = io.StringIO()
    call_command("coverage_report", as_user="arjun", stdout=out)
    summary = json.loads(out.getvalue())["summary"]
    assert summary["gaps"]["unlinked_agencies"] is None and summary["referral_gaps_not_assessed"] == 1
    out = io.StringIO()
    call_command("coverage_report", as_user="arjun", format="text", stdout=out)
    assert "unlinked_agencies not assessed" in out.getvalue()


def test_the_navigation_offers_coverage_only_to_those_who_can_open_it(covered, login):
    from tests.factories import make_agency, make_user

    ministry = make_agency(kind="ministry", level="national", name="A national ministry")
    minister_admin = make_user("ministry-admin", agency=ministry, role="admin")
    client = login(minister_admin)
    assert client.get(reverse("mapping:coverage")).status_code == 404
    assert reverse("mapping:coverage") not in client.get("/").content.decode()
    home = login(covered.nina).get("/").content.decode()
    assert login(covered.nina).get(reverse("mapping:coverage")).status_code == 200
    assert reverse("mapping:coverage") in home
