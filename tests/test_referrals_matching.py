"""The receiving-agency picker's pure parts: what a purpose asks for, who is eligible, nearest first."""

from referrals.matching import Candidate, haversine_km, rank, serves, shelter_service_for, target_for


def candidate(pk, name, lat=None, lon=None, **kwargs):
    values = dict(code=f"A{pk}", kind="shelter_home", district_id=None, district_name="", state_name="", serves_female=True,
                  serves_male=True, serves_transgender=True, min_age=None, max_age=None, beds_total=None, beds_available=None)
    values.update(kwargs)
    return Candidate(pk=pk, name=name, latitude=lat, longitude=lon, **values)


def test_the_shelter_a_person_needs():
    assert shelter_service_for(gender="female", age_status="adult") == "shelter_women"
    assert shelter_service_for(gender="male", age_status="adult") == "shelter_men"
    assert shelter_service_for(gender="transgender", age_status="adult") == "shelter_women"
    assert shelter_service_for(gender="male", age_status="minor") == "shelter_children"
    assert shelter_service_for(gender="female", age_status="undetermined") == "shelter_children"


def test_what_each_purpose_asks_of_the_receiver():
    assert target_for("produce_before_cwc") == ("kind", "cwc")
    assert target_for("victim_compensation") == ("service", "compensation")
    assert target_for("shelter_placement", gender="male", age_status="adult") == ("service", "shelter_men")
    assert target_for("other") is None


def test_eligibility_by_gender_and_age():
    women_only = candidate(1, "W", serves_male=False, min_age=18)
    assert serves(women_only, gender="female", age_status="adult", age_years=None)
    assert not serves(women_only, gender="male", age_status="adult", age_years=None)
    assert not serves(women_only, gender="female", age_status="minor", age_years=None)
    assert not serves(women_only, gender="female", age_status="adult", age_years=16)
    assert serves(women_only, gender="unknown", age_status="undetermined", age_years=None)
    children = candidate(2, "C", max_age=17)
    assert not serves(children, gender="female", age_status="adult", age_years=None)
    assert serves(children, gender="female", age_status="minor", age_years=12)


def test_nearest_first_unlocated_last_and_within_a_radius():
    pune = (18.52, 73.86)
    far = candidate(1, "Nagpur", 21.15, 79.09)
    near = candidate(2, "Mumbai", 18.94, 72.84)
    nowhere = candidate(3, "Aardvark")
    ranked = rank([far, nowhere, near], origin=pune)
    assert [c.name for c in ranked] == ["Mumbai", "Nagpur", "Aardvark"]
    assert 110 < ranked[0].distance_km < 130
    assert [c.name for c in rank([far, nowhere, near], origin=pune, within_km=200)] == ["Mumbai"]
    assert [c.name for c in rank([far, near], origin=None)] == ["Mumbai", "Nagpur"]
    assert len(rank([far, near, nowhere], origin=pune, limit=2)) == 2


def test_haversine_is_symmetric_and_zero_at_home():
    assert haversine_km(18.5, 73.8, 18.5, 73.8) == 0
    assert abs(haversine_km(18.5, 73.8, 22.5, 88.3) - haversine_km(22.5, 88.3, 18.5, 73.8)) < 1e-9
