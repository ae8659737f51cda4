"""`analyse_network`: the same answers as the pure analysis, through the database and the JSON shape of the issue."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import networkx as nx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import make_agency, make_case, make_referral

# Mumbai: the planted network of tests/network_fixtures.py (articulation points AHTU, CWC, DCPU).
PLANTED = [("NGO-1", "ngo"), ("NGO-2", "ngo"), ("AHTU-3", "ahtu"), ("CWC-4", "cwc"), ("CCI-5", "cci"),
           ("DCPU-6", "dcpu"), ("SS-7", "shelter_home"), ("DLSA-8", "legal_services"), ("HOSP-9", "hospital")]
TIES = [("NGO-1", "AHTU-3", 6), ("NGO-2", "AHTU-3", 4), ("NGO-1", "NGO-2", 2), ("AHTU-3", "CWC-4", 5), ("CWC-4", "CCI-5", 3),
        ("CWC-4", "DCPU-6", 4), ("DCPU-6", "SS-7", 2), ("SS-7", "DLSA-8", 2), ("DLSA-8", "DCPU-6", 1),
        ("DCPU-6", "HOSP-9", 1), ("HOSP-9", "SS-7", 1)]


@pytest.fixture
def planted(geo):
    now = timezone.now()
    agencies = {code: make_agency(code=code, kind=kind, district=geo.mumbai) for code, kind in PLANTED}
    for source, target, count in TIES:
        for i in range(count):
            make_referral(case=make_case(opened_by=agencies[source]), from_agency=agencies[source],
                          to_agency=agencies[target], status="accepted", sent_at=now - timedelta(days=3, hours=i),
                          responded_at=now - timedelta(days=3, hours=i) + timedelta(hours=3))
    # A stuck referral: AHTU-3 → CWC-4, due two days ago, unanswered.
    make_referral(case=make_case(opened_by=agencies["AHTU-3"]), from_agency=agencies["AHTU-3"], to_agency=agencies["CWC-4"],
                  status="sent", sent_at=now - timedelta(days=3), due_at=now - timedelta(days=2))
    # An isolated AHTU in Thane.
    make_agency(code="THANE-AHTU", kind="ahtu", district=geo.thane)
    # North Goa has an AHTU and a CWC that never referred to each other (the AHTU works with an NGO only).
    goa = {code: make_agency(code=code, kind=kind, district=geo.north_goa)
           for code, kind in (("GOA-AHTU", "ahtu"), ("GOA-CWC", "cwc"), ("GOA-NGO", "ngo"))}
    make_referral(case=make_case(opened_by=goa["GOA-NGO"]), from_agency=goa["GOA-NGO"], to_agency=goa["GOA-AHTU"],
                  sent_at=now - timedelta(days=1))
    make_referral(case=make_case(opened_by=goa["GOA-NGO"]), from_agency=goa["GOA-NGO"], to_agency=goa["GOA-CWC"],
                  sent_at=now - timedelta(days=1))
    # A Patna police station referred last quarter and not this one.
    patna = make_agency(code="PATNA-POL", kind="police", district=geo.patna)
    make_referral(case=make_case(opened_by=patna), from_agency=patna, to_agency=goa["GOA-AHTU"], sent_at=now - timedelta(days=120))
    return agencies


def run(*args) -> str:
    out = io.StringIO()
    call_command("analyse_network", *args, stdout=out)
    return out.getvalue()


def findings(report, kind):
    return [f for f in report["findings"] if f["type"] == kind]


def test_the_json_has_exactly_the_shape_of_the_issue(planted):
    report = json.loads(run("--format", "json"))
    assert set(report) == {"window", "summary", "findings", "agencies", "flows"}
    assert set(report["window"]) == {"since", "until"}
    assert set(report["summary"]) == {"agencies", "active_agencies", "ties", "referrals", "density", "reciprocity", "components"}
    assert all(set(f) == {"type", "severity", "agencies", "detail", "metric"} for f in report["findings"])
    assert all(set(a) == {"code", "name", "kind", "state", "district", "in_degree", "out_degree", "in_volume", "out_volume",
                          "betweenness", "community", "core", "articulation"} for a in report["agencies"])
    assert all(set(f) == {"from_kind", "to_kind", "referrals", "accepted_rate"} for f in report["flows"])


def test_the_planted_answers_come_through_the_command(planted):
    report = json.loads(run("--format", "json"))
    points = {f["agencies"][0]: set(f["agencies"][1:]) for f in findings(report, "articulation_point")}
    assert points["AHTU-3"] == {"NGO-1", "NGO-2"}
    assert points["CWC-4"] == {"NGO-1", "NGO-2", "AHTU-3", "CCI-5"}
    assert points["DCPU-6"] == {"SS-7", "DLSA-8", "HOSP-9"}
    assert ["THANE-AHTU"] in [f["agencies"] for f in findings(report, "isolated")]
    missing = [f for f in findings(report, "missing_pathway") if set(f["agencies"]) == {"GOA-AHTU", "GOA-CWC"}]
    assert len(missing) == 1 and "North Goa" in missing[0]["detail"]
    (stuck,) = findings(report, "stuck_referral")
    assert stuck["agencies"] == ["CWC-4", "AHTU-3"] and stuck["metric"] == 1
    assert ["PATNA-POL"] in [f["agencies"] for f in findings(report, "silent_agency")]
    by_code = {a["code"]: a for a in report["agencies"]}
    assert by_code["AHTU-3"]["articulation"] is True and by_code["AHTU-3"]["in_volume"] == 10
    assert report["summary"]["referrals"] == 34  # 31 planted + the stuck one + two in Goa, not last quarter's
    flows = {(f["from_kind"], f["to_kind"]): f for f in report["flows"]}
    assert flows[("ahtu", "cwc")]["referrals"] == 6 and flows[("ahtu", "cwc")]["accepted_rate"] == 1.0


def test_the_command_is_deterministic(planted):
    assert run("--format", "json") == run("--format", "json")


def test_area_and_window_options(planted, geo):
    goa = json.loads(run("--format", "json", "--state", "goa"))
    assert {a["code"] for a in goa["agencies"]} == {"GOA-AHTU", "GOA-CWC", "GOA-NGO", "PATNA-POL"} - {"PATNA-POL"}
    thane = json.loads(run("--format", "json", "--district", "Thane", "--state", "Maharashtra"))
    assert [a["code"] for a in thane["agencies"]] == ["THANE-AHTU"] and thane["summary"]["referrals"] == 0
    old = json.loads(run("--format", "json", "--since", str(timezone.localdate() - timedelta(days=150)),
                         "--until", str(timezone.localdate() - timedelta(days=100))))
    assert old["window"]["since"] == str(timezone.localdate() - timedelta(days=150))
    assert old["summary"]["referrals"] == 1


def test_an_empty_registry_gives_an_empty_report(db):
    report = json.loads(run("--format", "json"))
    assert report["summary"] == {"agencies": 0, "active_agencies": 0, "ties": 0, "referrals": 0, "density": 0.0,
                                 "reciprocity": 0.0, "components": 0}
    assert report["findings"] == [] and report["agencies"] == [] and report["flows"] == []


def test_text_graphml_gexf_and_output_file(planted, tmp_path):
    text = run()
    assert "articulation_point" in text and "What to do:" in text
    graph = nx.read_graphml(io.BytesIO(run("--format", "graphml").encode()))
    assert graph.has_edge("NGO-1", "AHTU-3") and graph.edges["NGO-1", "AHTU-3"]["referrals"] == 6
    target = tmp_path / "network.gexf"
    call_command("analyse_network", "--format", "gexf", "--output", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    assert nx.read_gexf(target).number_of_edges() == len(TIES) + 2  # and the two Goa ties


@pytest.mark.parametrize("args, message", [
    (["--since", "2026-02-30"], "--since must be a date"),
    (["--since", "2026-03-01", "--until", "2026-02-01"], "after --until"),
    (["--state", "Atlantis"], "No state or UT called"),
    (["--district", "Nowhere"], "No district called"),
    (["--district", "Pune", "--state", "Goa"], "No district called 'Pune' in Goa"),
])
def test_bad_options_are_refused_with_a_clear_message(geo, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
