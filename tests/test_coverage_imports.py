"""Boundary and population imports: matching, reports, bad files (nothing stored), simplification."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from mapping.coverage_geometry import GeometryError, simplify_geometry, simplify_ring, validate_polygonal, vertex_count
from mapping.coverage_imports import import_boundaries, import_population, loose_key, spelling_key
from stakeholders.geography import GeographyIndex
from stakeholders.models import District, DistrictBoundary, StateBoundary
from tests.factories import make_district, make_state


def square(lon, lat, size=0.5, steps=1):
    """A closed square ring; `steps` > 1 adds collinear points along each side."""
    corners = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]
    ring = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
        for i in range(steps):
            ring.append([x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps])
    ring.append(list(ring[0]))
    return ring


def feature(name, state, geometry, **extra):
    return {"type": "Feature", "properties": {"district": name, "st_nm": state, **extra}, "geometry": geometry}


def polygon(lon, lat, **kwargs):
    return {"type": "Polygon", "coordinates": [square(lon, lat, **kwargs)]}


def write(tmp_path, features, name="districts.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return str(path)


@pytest.fixture
def census_geo(geo):
    """Our (India Post) names, with Census 2011 spellings in the test files."""
    geo.wb_medinipur = make_district("Medinipur West", geo.wb, 22.4, 87.3)
    geo.mh_raigad = make_district("Raigad", geo.mh, 18.5, 73.1)
    geo.ch = make_state("Chhattisgarh")
    geo.ch_raigarh = make_district("Raigarh", geo.ch, 21.9, 83.4)
    geo.telangana = make_state("Telangana")
    geo.ap = make_state("Andhra Pradesh")
    geo.hyderabad = make_district("Hyderabad", geo.telangana, 17.4, 78.5)
    geo.up = make_state("Uttar Pradesh")
    geo.bulandshahr = make_district("Bulandshahr", geo.up, 28.4, 77.8)
    return geo


# ----------------------------------------------------------------------------------------------- geometry


def test_simplification_drops_collinear_points_and_keeps_corners():
    ring = square(73.0, 18.0, size=1.0, steps=25)
    simplified = simplify_ring(ring, tolerance=0.01, digits=3)
    assert sorted(map(tuple, simplified[:-1])) == sorted([(73.0, 18.0), (74.0, 18.0), (74.0, 19.0), (73.0, 19.0)])
    assert simplified[0] == simplified[-1]


def test_simplification_rounds_and_drops_islands_that_collapse():
    geometry = {"type": "MultiPolygon", "coordinates": [
        [square(73.0, 18.0, size=1.0, steps=10)],
        [square(75.0, 18.0, size=0.0001)],  # an islet smaller than the rounding
    ]}
    simplified = simplify_geometry(geometry, tolerance=0.01, digits=3)
    assert simplified["type"] == "Polygon" and vertex_count(simplified) == 5
    assert all(round(v, 3) == v for point in simplified["coordinates"][0] for v in point)


def test_a_district_smaller_than_the_tolerance_is_kept_rather_than_lost():
    tiny = {"type": "Polygon", "coordinates": [square(73.0, 18.0, size=0.0004)]}
    simplified = simplify_geometry(tiny, tolerance=0.01, digits=3)
    assert vertex_count(simplified) >= 4


@pytest.mark.parametrize("geometry, message", [
    ({"type": "Point", "coordinates": [73, 18]}, "not a Polygon"),
    ({"type": "Polygon", "coordinates": [[[73, 18], [74, 18], [73, 18]]]}, "at least four"),
    ({"type": "Polygon", "coordinates": [[[73, 18], [740, 18], [74, 19], [73, 18]]]}, "outside"),
    ({"type": "Polygon", "coordinates": [[[73, 18], ["x", 18], [74, 19], [73, 18]]]}, "position"),
])
def test_bad_geometry_is_named(geometry, message):
    with pytest.raises(GeometryError, match=message):
        validate_polygonal(geometry)


def test_loose_keys_ignore_order_direction_language_and_spelling():
    assert loose_key("Pashchim Medinipur") == loose_key("Medinipur West")
    assert loose_key("Saran (Chhapra)") == loose_key("Saran")
    assert spelling_key("Bulandsahar") == spelling_key("Bulandshahr")
    assert spelling_key("Darjiling") == spelling_key("Darjeeling")
    assert spelling_key("Pune") != spelling_key("Patna")


def test_census_spellings_match_through_the_registry_aliases(census_geo):
    index = GeographyIndex.load()
    assert index.match_district(census_geo.mh, "Raigarh")[0] == census_geo.mh_raigad
    assert index.match_district(census_geo.ch, "Raigarh")[0] == census_geo.ch_raigarh  # same old name, other state
    assert index.match_district(census_geo.mh, "Poona")[0] == census_geo.pune


# ----------------------------------------------------------------------------------------------- boundaries


def test_it_imports_district_outlines_matched_within_state_and_reports_the_rest(census_geo, tmp_path):
    path = write(tmp_path, [
        feature("PUNE", "Maharashtra", polygon(73.5, 18.3, steps=8), censuscode=521),
        feature("Raigarh", "Maharashtra", polygon(73.0, 18.3)),  # Census 2011 spelling of Raigad
        feature("West Medinipur", "West Bengal", polygon(87.0, 22.2)),  # word order differs
        feature("Hyderabad", "Andhra Pradesh", polygon(78.3, 17.2)),  # Telangana since 2014
        feature("Bulandshahar", "Uttar Pradesh", polygon(77.6, 28.2)),  # a spelling variant
        feature("Atlantis", "Maharashtra", polygon(70.0, 20.0)),
        feature("Diu", "Daman & Diu", None),
    ])
    report = import_boundaries(path, level="district", name_property="district", state_property="st_nm",
                               code_property="censuscode", source_label="Test boundaries")
    assert report.written and not report.errors
    matched = {ours: method for _line, _label, ours, method in report.matched}
    assert matched == {
        "Pune, Maharashtra": "name", "Raigad, Maharashtra": "name", "Medinipur West, West Bengal": "loose",
        "Hyderabad, Telangana": "name", "Bulandshahr, Uttar Pradesh": "loose",
    }
    assert [(line, why.split(" in ")[0]) for line, _label, why in report.unmatched] == [(6, "Unknown district 'Atlantis'")]
    assert report.no_geometry == [(7, "Diu (Daman & Diu)")]
    assert "Mumbai, Maharashtra" in report.unmatched_ours and "Pune, Maharashtra" not in report.unmatched_ours
    stored = DistrictBoundary.objects.get(district=census_geo.pune)
    assert stored.source == "Test boundaries" and stored.geometry["type"] == "Polygon"
    assert vertex_count(stored.geometry) == 5  # the 33 input vertices, simplified to the square's corners
    assert District.objects.get(pk=census_geo.pune.pk).census_code == "521"


def test_a_stored_census_code_is_matched_before_the_name(census_geo, tmp_path):
    District.objects.filter(pk=census_geo.pune.pk).update(census_code="521")
    path = write(tmp_path, [feature("Some other spelling", "Maharashtra", polygon(73.5, 18.3), censuscode=521)])
    report = import_boundaries(path, level="district", name_property="district", state_property="st_nm", code_property="censuscode")
    assert report.matched[0][2:] == ("Pune, Maharashtra", "code")


def test_a_bad_feature_stores_nothing_unless_told_to_skip_it(census_geo, tmp_path):
    path = write(tmp_path, [
        feature("Pune", "Maharashtra", polygon(73.5, 18.3)),
        feature("Mumbai", "Maharashtra", {"type": "Point", "coordinates": [72.8, 18.9]}),
    ])
    report = import_boundaries(path, level="district", name_property="district", state_property="st_nm")
    assert not report.written and report.bad_lines == [2] and "not a Polygon" in report.errors[0].message
    assert not DistrictBoundary.objects.exists()
    report = import_boundaries(path, level="district", name_property="district", state_property="st_nm", skip_invalid=True)
    assert report.written and list(DistrictBoundary.objects.values_list("district__name", flat=True)) == ["Pune"]


def test_two_features_for_one_district_are_an_error(census_geo, tmp_path):
    path = write(tmp_path, [feature("Pune", "Maharashtra", polygon(73.5, 18.3)), feature("pune", "Maharashtra", polygon(73.6, 18.3))])
    report = import_boundaries(path, level="district", name_property="district", state_property="st_nm")
    assert not report.written and report.bad_lines == [1, 2]
    assert not DistrictBoundary.objects.exists()


def test_without_a_state_property_a_name_found_in_two_states_is_not_guessed(census_geo, tmp_path):
    make_district("Aurangabad", census_geo.mh)
    make_district("Aurangabad", census_geo.bihar)
    path = write(tmp_path, [feature("Aurangabad", "", polygon(75.3, 19.8)), feature("Patna", "", polygon(85.0, 25.5))])
    report = import_boundaries(path, level="district", name_property="district")
    assert [ours for _l, _f, ours, _m in report.matched] == ["Patna, Bihar"]
    assert "several states" in report.unmatched[0][2]


def test_state_outlines_of_merged_territories_are_joined(census_geo, tmp_path):
    make_state("The Dadra and Nagar Haveli and Daman and Diu")
    path = write(tmp_path, [
        {"type": "Feature", "properties": {"ST_NM": "Maharashtra"}, "geometry": polygon(73.0, 18.0)},
        {"type": "Feature", "properties": {"ST_NM": "Dadara & Nagar Havelli"}, "geometry": polygon(73.0, 20.1)},
        {"type": "Feature", "properties": {"ST_NM": "Daman & Diu"}, "geometry": polygon(72.8, 20.4)},
    ], name="states.geojson")
    report = import_boundaries(path, level="state", name_property="ST_NM")
    assert report.written and not report.errors
    merged = StateBoundary.objects.get(state__key="thedadraandnagarhavelianddamananddiu").geometry
    assert merged["type"] == "MultiPolygon" and len(merged["coordinates"]) == 2


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid GeoJSON"),
    (json.dumps({"type": "Feature", "properties": {}}), "not a GeoJSON FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "no features"),
    (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Pune"}, "geometry": None}]}),
     "No feature has the property 'district' (--name-property). Properties in this file: name."),
])
def test_a_bad_file_or_property_is_a_clear_error_and_stores_nothing(census_geo, tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(CommandError, match="Nothing was stored") as error:
        call_command("import_boundaries", str(path), level="district", name_property="district", stdout=io.StringIO(), stderr=io.StringIO())
    assert message in str(error.value)
    assert not DistrictBoundary.objects.exists()


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*missing.geojson"):
        call_command("import_boundaries", str(tmp_path / "missing.geojson"), level="state", name_property="ST_NM")


def test_the_command_reports_matches_and_unmatched_districts(census_geo, tmp_path):
    path = write(tmp_path, [feature("Pune", "Maharashtra", polygon(73.5, 18.3)), feature("Atlantis", "Maharashtra", polygon(70, 20))])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_boundaries", path, level="district", name_property="district", state_property="st_nm", stdout=out, stderr=err)
    assert "1 of 2 features matched our districts" in out.getvalue()
    assert "Stored 1 district outlines" in out.getvalue()
    assert "feature 2: Atlantis (Maharashtra): Unknown district 'Atlantis'" in err.getvalue()
    assert "Mumbai, Maharashtra" in err.getvalue()  # ours without a match


def test_a_dry_run_reports_and_stores_nothing(census_geo, tmp_path):
    path = write(tmp_path, [feature("Pune", "Maharashtra", polygon(73.5, 18.3))])
    out = io.StringIO()
    call_command("import_boundaries", path, level="district", name_property="district", state_property="st_nm", dry_run=True, stdout=out, stderr=io.StringIO())
    assert "Would store 1 district outlines" in out.getvalue() and not DistrictBoundary.objects.exists()


# ----------------------------------------------------------------------------------------------- population

CSV_HEAD = "censuscode,state_name_census,district_name_census,population\n"


def test_it_imports_populations_with_the_same_matching(census_geo):
    lines = (CSV_HEAD + "521,MAHARASHTRA,Pune,\"9,429,408\"\n522,MAHARASHTRA,Raigarh,2634200\n9,WEST BENGAL,Pashchim Medinipur,5913457\n"
             "1,ATLANTIS,Nowhere,10\n").splitlines(keepends=True)
    report = import_population(lines, name_column="district_name_census", state_column="state_name_census", population_column="population")
    assert report.written and not report.errors
    assert District.objects.get(pk=census_geo.pune.pk).population == 9_429_408
    assert District.objects.get(pk=census_geo.mh_raigad.pk).population == 2_634_200
    assert District.objects.get(pk=census_geo.wb_medinipur.pk).population == 5_913_457
    assert report.unmatched[0][0] == 5 and "Unknown state 'ATLANTIS'" in report.unmatched[0][2]


def test_a_bad_population_row_writes_nothing_and_names_its_line(census_geo, tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text(CSV_HEAD + "521,MAHARASHTRA,Pune,9429408\n522,MAHARASHTRA,Mumbai,lots\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was stored: 1 of 2 rows have errors"):
        call_command("import_population", str(path), name_column="district_name_census", state_column="state_name_census",
                     population_column="population", stdout=io.StringIO(), stderr=err)
    assert "line 3, population: 'lots' is not a whole number of people." in err.getvalue()
    assert not District.objects.exclude(population=None).exists()


def test_a_missing_column_is_a_clear_error(census_geo, tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text(CSV_HEAD + "521,MAHARASHTRA,Pune,9429408\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="header is not usable"):
        call_command("import_population", str(path), name_column="name", state_column="state_name_census",
                     population_column="population", stdout=io.StringIO(), stderr=err)
    assert "lacks required column(s): name" in err.getvalue()


def test_populations_join_on_census_codes_stored_by_the_boundary_import(census_geo):
    District.objects.filter(pk=census_geo.pune.pk).update(census_code="521")
    lines = (CSV_HEAD + "521,MAHARASHTRA,Poona District (old name),100\n").splitlines(keepends=True)
    report = import_population(lines, name_column="district_name_census", state_column="state_name_census",
                               population_column="population", code_column="censuscode")
    assert report.matched[0][2:] == ("Pune, Maharashtra", "code")
    assert District.objects.get(pk=census_geo.pune.pk).population == 100
