"""Coverage analysis on planted rows with known answers (no database)."""

import math
import random

import numpy as np
import pytest

from mapping import coverage
from mapping.coverage import Activity, AgencyPoint, DistrictPoint

KM_PER_DEGREE = coverage.EARTH_RADIUS_KM * math.pi / 180  # along a meridian


def north_of(lat, km):
    return lat + km / KM_PER_DEGREE


def district(id, name, lat, lon, *, state_id=1, state="Maharashtra", population=None):
    return DistrictPoint(id, state_id, state, name, lat, lon, population)


def agency(id, kind, district, *, lat=None, lon=None, **kwargs):
    return AgencyPoint(
        id, kwargs.pop("name", f"{kind} {id}"), kind, district.id if district else None, district.state_id if district else None,
        district.lat if lat is None else lat, district.lon if lon is None else lon, **kwargs,
    )


def women_shelter(id, district, *, free=5, total=20, **kwargs):
    return agency(id, "shelter_home", district, beds_total=total, beds_available=free, for_women=True, **kwargs)


def child_home(id, district, *, free=5, total=20, **kwargs):
    return agency(id, "cci", district, beds_total=total, beds_available=free, for_children=True, **kwargs)


def by_name(result):
    return {row.district.name: row for row in result.rows}


# ----------------------------------------------------------------------------------------------- distances


def test_it_measures_mumbai_to_pune_as_about_120_km_great_circle():
    km = float(coverage.haversine_km(18.9388, 72.8354, 18.5204, 73.8567))
    assert 115 <= km <= 125


def test_it_measures_delhi_to_kolkata_as_about_1300_km():
    assert float(coverage.haversine_km(28.6139, 77.2090, 22.5726, 88.3639)) == pytest.approx(1304, abs=5)


def test_the_vectorised_nearest_and_within_agree_with_pairwise_haversine():
    rng = random.Random(7)
    a = [(rng.uniform(8, 34), rng.uniform(69, 95)) for _ in range(60)]
    b = [(rng.uniform(8, 34), rng.uniform(69, 95)) for _ in range(90)]
    va = coverage.unit_vectors([p[0] for p in a], [p[1] for p in a])
    vb = coverage.unit_vectors([p[0] for p in b], [p[1] for p in b])
    pairwise = np.array([[float(coverage.haversine_km(p[0], p[1], q[0], q[1])) for q in b] for p in a])
    assert list(coverage.nearest(va, vb)) == list(pairwise.argmin(axis=1))
    assert (coverage.within(va, vb, 400) == (pairwise <= 400)).all()


def test_nearest_says_none_when_a_point_has_no_location_or_there_is_nothing_to_reach():
    va = coverage.unit_vectors([18.5, float("nan")], [73.8, float("nan")])
    assert list(coverage.nearest(va, coverage.unit_vectors([19.0], [73.0]))) == [0, -1]
    assert list(coverage.nearest(va, np.zeros((0, 3)))) == [-1, -1]


# ----------------------------------------------------------------------------------------------- planted districts

PUNE = district(1, "Pune", 18.5204, 73.8567, population=9_429_408)
# Placed due north of Pune so distances are exact: a shelter 100.5 km away is just outside 100 km.
FAR = district(2, "Far", north_of(18.5204, 300), 73.8567, population=1_000_000)
QUIET = district(3, "Quiet", north_of(18.5204, 600), 73.8567, population=500_000)


def planted():
    ahtu = agency(10, "ahtu", PUNE, ahtu_notified=True, ahtu_functional=True)
    cwc = agency(11, "cwc", PUNE)
    ngo = agency(12, "ngo", PUNE)
    shelter = women_shelter(13, PUNE, free=4, total=30)
    home = child_home(14, PUNE, free=2, total=15)
    # Far: no AHTU, no CWC; its only shelter is 100.5 km north of its centre (just outside 100 km).
    just_outside = women_shelter(20, FAR, lat=north_of(FAR.lat, 100.5), lon=FAR.lon, free=3, total=10)
    far_ngo = agency(21, "ngo", FAR)
    # Quiet: an AHTU, a CWC and an NGO that never refer to each other.
    quiet_ahtu = agency(30, "ahtu", QUIET, name="AHTU Quiet")
    quiet_cwc = agency(31, "cwc", QUIET)
    quiet_ngo = agency(32, "ngo", QUIET)
    agencies = [ahtu, cwc, ngo, shelter, home, just_outside, far_ngo, quiet_ahtu, quiet_cwc, quiet_ngo]
    activity = Activity(
        rescued={1: 40, 2: 3},
        rescued_last_12m={1: 40, 2: 3, 3: 12},
        originating={2: 7},
        referral_pairs=[(12, 13), (10, 11), (32, 20)],  # Quiet's NGO referred only outside the district
        ahtus_referring_to_cwc=frozenset({10}),
    )
    return [PUNE, FAR, QUIET], agencies, activity


def test_a_district_without_an_ahtu_has_the_no_ahtu_gap_and_knows_the_nearest_one():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))
    far = rows["Far"]
    assert not far.has_ahtu and coverage.NO_AHTU in far.gap_slugs and coverage.NO_CWC in far.gap_slugs
    assert far.nearest_ahtu.id == 10 and far.nearest_ahtu_km == pytest.approx(300, abs=0.5)
    assert coverage.NO_AHTU not in rows["Pune"].gap_slugs
    assert "300 km" in next(g.text for g in far.gaps if g.slug == coverage.NO_AHTU)


def test_a_shelter_just_outside_the_radius_leaves_the_district_out_of_reach():
    districts, agencies, activity = planted()
    far = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))["Far"]
    assert far.nearest_women_shelter.id == 20
    assert far.nearest_women_shelter_km == pytest.approx(100.5, abs=0.05)
    assert far.beds_within_radius == 0
    gap = next(g for g in far.gaps if g.slug == coverage.NO_SHELTER_IN_REACH)
    assert "for women the nearest with free beds is 100.5 km away" in gap.text
    # One more kilometre of reach and it counts.
    far_101 = by_name(coverage.analyse(districts, agencies, activity, radius_km=101))["Far"]
    assert far_101.beds_within_radius == 10 and far_101.free_beds_within_radius == 3


def test_no_shelter_in_reach_names_women_and_children_separately():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=101))
    far_gap = next(g.text for g in rows["Far"].gaps if g.slug == coverage.NO_SHELTER_IN_REACH)
    assert "children" in far_gap and "women" not in far_gap  # women's shelter now in reach, children's home 300 km
    assert coverage.NO_SHELTER_IN_REACH not in rows["Pune"].gap_slugs


def test_a_district_whose_agencies_never_refer_to_each_other_is_unlinked():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))
    quiet = rows["Quiet"]
    assert quiet.linked is False and coverage.UNLINKED_AGENCIES in quiet.gap_slugs
    assert quiet.isolated_agencies == 2  # the NGO referred (outside); the AHTU and the CWC never did
    assert coverage.UNLINKED_AGENCIES not in rows["Pune"].gap_slugs  # the NGO referred to the shelter next door


def test_an_ahtu_that_never_referred_to_a_cwc_is_named():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))
    gap = next(g for g in rows["Quiet"].gaps if g.slug == coverage.AHTU_NEVER_REFERS_TO_CWC)
    assert "AHTU Quiet" in gap.text
    assert coverage.AHTU_NEVER_REFERS_TO_CWC not in rows["Pune"].gap_slugs


def test_referral_gaps_are_not_claimed_where_the_user_cannot_count_every_referral():
    districts, agencies, activity = planted()
    activity.network_state_ids = frozenset({99})
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))
    quiet = rows["Quiet"]
    assert not quiet.network_assessed and quiet.linked is None
    assert not set(quiet.gap_slugs) & coverage.NETWORK_GAPS
    assert coverage.NO_AHTU in rows["Far"].gap_slugs  # registry gaps still stand


def test_more_rescued_victims_than_beds_in_reach_is_a_gap():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))
    assert rows["Pune"].beds_within_radius == 45  # 30 + 15, both in Pune
    assert coverage.BEDS_SHORT not in rows["Pune"].gap_slugs  # 40 rescued, 45 beds
    assert coverage.BEDS_SHORT in rows["Quiet"].gap_slugs  # 12 rescued, no bed
    assert coverage.BEDS_SHORT in rows["Far"].gap_slugs  # 3 rescued, no bed


def test_with_suppression_a_gap_never_reveals_a_small_count():
    districts, agencies, activity = planted()
    rows = by_name(coverage.analyse(
        districts, agencies, activity, radius_km=100, count_label=lambda n: "<5" if 0 < n < 5 else n, small_count_threshold=5,
    ))
    assert coverage.BEDS_SHORT not in rows["Far"].gap_slugs  # 3 < 5: not claimed
    assert "12 victims" in next(g.text for g in rows["Quiet"].gaps if g.slug == coverage.BEDS_SHORT)


def test_it_counts_agencies_by_kind_and_rates_per_100k():
    districts, agencies, activity = planted()
    pune = by_name(coverage.analyse(districts, agencies, activity, radius_km=100))["Pune"]
    assert pune.agencies == {"ahtu": 1, "cci": 1, "cwc": 1, "ngo": 1, "shelter_home": 1}
    assert pune.ahtu_functional and pune.has_cwc and not pune.has_dcpu
    assert pune.ahtus_per_100k == pytest.approx(100_000 / 9_429_408)
    assert pune.beds_per_100k == pytest.approx(45 * 100_000 / 9_429_408)
    assert (pune.rescued, pune.rescued_last_12m) == (40, 40)


def test_the_state_summary_counts_districts_with_an_ahtu_against_one_per_district():
    districts, agencies, activity = planted()
    result = coverage.analyse(districts, agencies, activity, radius_km=100)
    (state,) = result.states
    assert (state.districts, state.with_ahtu, state.with_functional_ahtu, state.shortfall) == (3, 2, 1, 1)
    assert state.pct_with_ahtu == pytest.approx(66.7)
    assert result.summary["with_ahtu"] == 2 and result.summary["gaps"]["no_ahtu"] == 1


def test_a_district_without_a_centre_gets_no_distances_and_no_reach_gap():
    nowhere = district(9, "Nowhere", None, None)
    result = coverage.analyse([nowhere], [], radius_km=100)
    (row,) = result.rows
    assert row.nearest_ahtu_km is None and row.nearest_women_shelter_km is None
    assert coverage.NO_SHELTER_IN_REACH not in row.gap_slugs and coverage.NO_AHTU in row.gap_slugs


# ----------------------------------------------------------------------------------------------- eligibility


@pytest.mark.parametrize(
    "kind, kwargs, expected",
    [
        ("shelter_home", {"serves_female": True, "min_age": 18, "max_age": None}, (True, False)),
        ("shelter_home", {"serves_female": True, "min_age": None, "max_age": None, "services": ["shelter_children"]}, (False, True)),
        ("shelter_home", {"serves_female": False, "min_age": None, "max_age": None}, (False, False)),
        ("cci", {"serves_female": True, "min_age": None, "max_age": 17}, (False, True)),
        ("cci", {"serves_female": True, "min_age": 18, "max_age": None}, (False, False)),
        ("one_stop_centre", {"serves_female": True, "min_age": None, "max_age": None}, (True, False)),
        ("ngo", {"serves_female": True, "min_age": None, "max_age": None, "services": ["shelter_women"]}, (False, False)),
    ],
)
def test_shelter_eligibility_follows_services_then_kind_and_ages(kind, kwargs, expected):
    assert coverage.shelter_eligibility(kind, **kwargs) == expected


# ----------------------------------------------------------------------------------------------- neighbours


def test_neighbours_are_districts_whose_centres_lie_within_the_radius():
    mumbai = district(4, "Mumbai", 18.9388, 72.8354)
    goa = district(5, "North Goa", 15.4989, 73.8278)
    everyone = [PUNE, mumbai, goa]
    assert coverage.districts_within(everyone, {PUNE.id}, 100) == {PUNE.id}
    assert coverage.districts_within(everyone, {PUNE.id}, 150) == {PUNE.id, mumbai.id}


# ----------------------------------------------------------------------------------------------- suggestions


def line_of_districts():
    """Five districts 150 km apart along a meridian, populations chosen so the answer is known."""
    pops = [100, 1000, 50, 800, 10]
    return [district(i + 1, f"D{i + 1}", north_of(20.0, 150 * i), 78.0, population=p) for i, p in enumerate(pops)]


def test_the_greedy_cover_places_units_where_they_newly_cover_most():
    ds = line_of_districts()
    weights = {d.id: d.population for d in ds}
    picks = coverage.suggest_sites(ds, [], weights, unit="ahtu", count=3, radius_km=160)
    # D3 reaches D2, D3 and D4 (1,850); then D1 newly reaches only itself (100; D2 is taken), and a
    # unit at D4 or D5 newly reaches D5 (10): the tie goes to D4, first by name.
    assert [(s.district.name, s.newly_covered) for s in picks] == [("D3", 1850), ("D1", 100), ("D4", 10)]
    assert [d.name for d in picks[0].covered_districts] == ["D2", "D3", "D4"]
    assert picks[2].cumulative == 1960


def test_existing_units_stay_and_their_districts_are_not_proposed():
    ds = line_of_districts()
    existing = [agency(1, "ahtu", ds[1])]  # an AHTU in D2 already covers D1-D3
    picks = coverage.suggest_sites(ds, existing, {d.id: d.population for d in ds}, unit="ahtu", count=3, radius_km=160)
    assert [s.district.name for s in picks] == ["D4"]  # then nothing is left to cover
    assert picks[0].newly_covered == 810


def test_suggestions_stop_when_nothing_weighs_anything():
    ds = line_of_districts()
    assert coverage.suggest_sites(ds, [], {}, unit="shelter", count=3, radius_km=160) == []


def test_with_suppression_a_hidden_count_weighs_one_whatever_it_is():
    rows = coverage.analyse([PUNE, FAR], [], Activity(rescued={PUNE.id: 3, FAR.id: 7}), radius_km=100).rows
    assert coverage.suggestion_weights(rows, "rescued") == {PUNE.id: 3, FAR.id: 7}
    assert coverage.suggestion_weights(rows, "rescued", small_count_threshold=5) == {PUNE.id: 1, FAR.id: 7}
    assert coverage.suggestion_weights(rows, "population", small_count_threshold=5)[PUNE.id] == PUNE.population


def test_referral_gaps_assessed_nowhere_are_unknown_in_the_summary_not_zero():
    rows = [PUNE, FAR]
    agencies = [agency(1, "ahtu", PUNE), agency(2, "cwc", PUNE)]
    nowhere = coverage.analyse(rows, agencies, Activity(network_state_ids=frozenset()), radius_km=100).summary
    assert nowhere["gaps"]["unlinked_agencies"] is None and nowhere["gaps"]["ahtu_never_refers_to_cwc"] is None
    assert nowhere["gaps"]["no_ahtu"] == 1 and nowhere["referral_gaps_not_assessed"] == 2
    everywhere = coverage.analyse(rows, agencies, Activity(), radius_km=100).summary
    assert everywhere["gaps"]["unlinked_agencies"] == 1 and everywhere["referral_gaps_not_assessed"] == 0
