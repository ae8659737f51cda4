"""Coverage map figures built from plain rows (no database): assets, escaping, layers, suppression."""

import re

from mapping import coverage, coverage_maps
from mapping.coverage import Activity, AgencyPoint, DistrictPoint
from mapping.maps import external_urls, render_page, render_standalone

LINKS = coverage_maps.Links(agency_prefix="/agencies/", district_agencies="/agencies/?district=")
PUNE = DistrictPoint(1, 1, "Maharashtra", "Pune", 18.52, 73.86, 9_429_408)
PATNA = DistrictPoint(2, 2, "Bihar", "Patna", 25.59, 85.14, None)
OUTLINE = {"type": "Polygon", "coordinates": [[[73.4, 18.2], [74.3, 18.2], [74.3, 18.9], [73.4, 18.9], [73.4, 18.2]]]}


def shown(html):
    """Undo the JSON escapes of text inside scripts, to read it as the browser will show it."""
    return html.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace('\\"', '"')


def rows_and_agencies(names=("AHTU Pune",)):
    agencies = [
        AgencyPoint(10 + i, name, "ahtu", 1, 1, 18.52, 73.86, ahtu_functional=True) for i, name in enumerate(names)
    ] + [AgencyPoint(20, "Shakti Sadan", "shelter_home", 1, 1, 18.5, 73.8, 30, 4, True, False)]
    result = coverage.analyse([PUNE, PATNA], agencies, Activity(rescued={1: 3, 2: 12}, originating={2: 9}), radius_km=100)
    return result.rows, agencies


def test_the_coverage_map_uses_only_local_assets_and_no_notebook_wrapper(settings):
    settings.MAP_TILE_URL = ""
    rows, agencies = rows_and_agencies()
    figure = coverage_maps.coverage_figure(
        rows, agencies, boundaries={1: OUTLINE}, state_outlines={}, indicator="ahtu", radius_km=100, links=LINKS,
        attribution="Test",
    )
    html = render_page(figure)
    assert external_urls(html) == []
    assert "iframe" not in html and "$(" not in html
    standalone = render_standalone(figure)
    assert external_urls(standalone) == [] and "<script src=" not in standalone


def test_agency_names_cannot_break_out_of_the_script():
    rows, agencies = rows_and_agencies(names=["</script><script>alert(1)</script>", "Name with `back${ticks}`"])
    html = render_page(coverage_maps.coverage_figure(
        rows, agencies, boundaries={}, state_outlines={}, indicator="ahtu", radius_km=100, links=LINKS, attribution="",
    ))
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == html.count("<script")  # every script closes where it should
    assert "${ticks}" not in html


def test_every_indicator_has_a_legend_with_a_no_data_class():
    rows, agencies = rows_and_agencies()
    for slug, _label in coverage_maps.INDICATOR_CHOICES:
        html = render_page(coverage_maps.coverage_figure(
            rows, agencies, boundaries={1: OUTLINE}, state_outlines={}, indicator=slug, radius_km=100, links=LINKS, attribution="",
        ))
        assert 'class="aht-legend"' in html and "No data:" in html, slug
    # Patna has no population: "beds per 100,000" has no value there, drawn in the no-data style.
    beds = coverage_maps.indicators(100)["beds_per_100k"]
    assert beds.classify(next(r for r in rows if r.district.name == "Patna"))[0] is None


def test_agencies_travel_as_arrays_one_cluster_per_kind():
    rows, _ = rows_and_agencies()
    many = [AgencyPoint(i, f"NGO {i}", "ngo", 1, 1, 18 + i / 1000, 73 + i / 1000) for i in range(2000)]
    html = render_page(coverage_maps.coverage_figure(
        rows, many, boundaries={}, state_outlines={}, indicator="ahtu", radius_km=100, links=LINKS, attribution="",
    ))
    assert html.count("L.markerClusterGroup(") == 1 and html.count("L.marker(") == 1  # one callback, not 2,000 Markers
    assert "NGOs (2,000)" in html


def test_the_origin_map_draws_small_counts_as_one_fixed_bubble_labelled_below_the_threshold():
    rows, _ = rows_and_agencies()
    html = render_page(coverage_maps.origins_figure(
        rows, boundaries={}, state_outlines={}, measure="rescued", count_label=lambda n: "<5" if 0 < n < 5 else n,
        threshold=5, links=LINKS, attribution="",
    ))
    assert "Pune: &lt;5" in html and "Patna: 12" in html and "Pune: 3" not in html
    assert '"r":6,"k":1' in html  # the small count: the fixed small bubble


def test_the_gap_map_numbers_its_suggestions():
    rows, agencies = rows_and_agencies()
    suggestions = coverage.suggest_sites([PUNE, PATNA], coverage.existing_units(agencies, "ahtu"), {2: 12}, unit="ahtu", count=1, radius_km=100)
    html = render_page(coverage_maps.gaps_figure(
        rows, suggestions, agencies, boundaries={}, state_outlines={}, gap="", radius_km=100, links=LINKS, attribution="",
        newly_label=lambda s: f"{s.newly_covered:.0f} people",
    ))
    assert '<span class="aht-suggestion">1</span>' in shown(html) and "Newly covers: 12 people" in shown(html)


def test_the_gap_map_shows_not_assessed_in_its_legend_only_where_something_is_not_assessed():
    rows, agencies = rows_and_agencies()

    def legend(gap, rows):
        return shown(render_page(coverage_maps.gaps_figure(
            rows, [], agencies, boundaries={}, state_outlines={}, gap=gap, radius_km=100, links=LINKS, attribution="",
            newly_label=str,
        )))

    assert "Not assessed" not in legend("", rows) and "Not assessed" not in legend("unlinked_agencies", rows)
    unassessed = coverage.analyse([PUNE, PATNA], agencies, Activity(network_state_ids=frozenset()), radius_km=100).rows
    assert "Not assessed" in legend("unlinked_agencies", unassessed) and "Not assessed" not in legend("no_cwc", unassessed)


def test_reach_rings_are_outlines_so_overlaps_never_shift_the_district_colours():
    rows, agencies = rows_and_agencies()
    html = render_page(coverage_maps.coverage_figure(
        rows, agencies, boundaries={}, state_outlines={}, indicator="ahtu", radius_km=100, links=LINKS, attribution="", rings=True,
    ))
    rings = [style for style in re.findall(r"\[\{[^\]]*\}\]\[f\.properties\.k", html) if '"opacity": 0.6' in style]
    assert len(rings) == 4  # shelters and AHTUs, each in style and pointToLayer
    assert all('"fill": false' in style and "fillOpacity" not in style for style in rings)
