"""The pure network analysis (mapping/network.py) on hand-built networks with known answers; no database."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import networkx as nx
import pytest

from mapping import network
from mapping.network import (
    CaseFlowRow,
    DistrictDelayRow,
    NetworkInput,
    Options,
    Window,
    analyse,
    compare,
    ego_network,
    explain,
    redact,
    what_if_closed,
)
from mapping.pathways import PATHWAYS, REFERRAL_KINDS, TWO_WAY_KINDS
from tests.network_fixtures import agency, planted_articulation, random_network, tie

NOW = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)


def findings_of(result, kind):
    return [f for f in result.findings if f.type == kind]


def test_a_planted_articulation_point_is_found_with_the_agencies_it_cuts_off():
    result = analyse(planted_articulation())
    points = {f.agencies[0]: set(f.agencies[1:]) for f in findings_of(result, "articulation_point")}
    assert points == {
        "AHTU-3": {"NGO-1", "NGO-2"},
        "CWC-4": {"NGO-1", "NGO-2", "AHTU-3", "CCI-5"},
        "DCPU-6": {"SHELTER_HOME-7", "LEGAL_SERVICES-8", "HOSPITAL-9"},
    }
    by_code = {a.code: a for a in result.agencies}
    assert [c for c, a in by_code.items() if a.articulation] == ["AHTU-3", "CWC-4", "DCPU-6"]
    cwc = next(f for f in findings_of(result, "articulation_point") if f.agencies[0] == "CWC-4")
    assert cwc.metric == 4 and cwc.severity == "medium"


def test_bridges_between_groups_are_found_and_single_partner_ties_are_left_to_the_articulation_point():
    result = analyse(planted_articulation())
    bridges = {f.agencies[:2]: (f.metric, set(f.agencies[2:])) for f in findings_of(result, "bridge")}
    assert bridges == {
        ("AHTU-3", "CWC-4"): (3, {"NGO-1", "NGO-2"}),
        ("CWC-4", "DCPU-6"): (4, {"SHELTER_HOME-7", "LEGAL_SERVICES-8", "HOSPITAL-9"}),
    }


@pytest.mark.parametrize("seed", range(8))
def test_the_cut_structure_agrees_with_networkx_and_with_removing_each_agency(seed):
    rng = random.Random(seed)
    graph = nx.gnm_random_graph(60, rng.randint(50, 90), seed=seed)
    graph.remove_nodes_from([n for n in list(graph) if graph.degree(n) == 0])
    structure = network._cut_structure(graph)
    assert set(structure.articulation) == set(nx.articulation_points(graph))
    assert {(u, v) for u, v, _ in structure.bridges} == {tuple(sorted(e)) for e in nx.bridges(graph)}
    for node, pieces in structure.articulation.items():
        component = nx.node_connected_component(graph, node)
        rest = graph.subgraph(component - {node})
        sizes = sorted(len(c) for c in nx.connected_components(rest))
        assert sorted(len(p) for p in pieces) == sizes[:-1]
        assert sum(len(p) for p in pieces) == len(component) - 1 - sizes[-1]


def test_an_isolated_ahtu_is_reported_with_its_district_and_kind():
    data = planted_articulation()
    data.agencies.append(agency(20, "ahtu", "Mumbai", code="MUMBAI-AHTU"))
    data.agencies.append(agency(21, "ministry", None, code="MHA"))  # ministries do not take referrals: no gap
    data.agencies.append(agency(22, "cwc", "Mumbai", code="MUMBAI-CWC-OLD", active=False))
    result = analyse(data)
    isolated = findings_of(result, "isolated")
    assert [(f.agencies, f.severity, f.facts["district"], f.facts["kind"]) for f in isolated] == [
        (("MUMBAI-AHTU",), "high", "Mumbai", "ahtu"),
    ]


def test_a_district_with_an_ahtu_and_a_cwc_but_no_referral_between_them_is_a_missing_pathway():
    data = planted_articulation()
    data.agencies += [agency(30, "ahtu", "Patna", code="PATNA-AHTU"), agency(31, "cwc", "Patna", code="PATNA-CWC"),
                      agency(32, "ngo", "Patna", code="PATNA-NGO")]
    data.ties += [tie(32, 30, 3), tie(32, 31, 2)]
    result = analyse(data)
    missing = [f for f in findings_of(result, "missing_pathway") if f.facts["pathway"] == "police_to_cwc"]
    assert [(f.agencies, f.facts["district"], f.severity) for f in missing] == [(("PATNA-AHTU", "PATNA-CWC"), "Patna", "high")]
    # Pune's AHTU does refer to its CWC: no finding there.
    assert all(f.facts.get("district") != "Pune" for f in missing)


def test_a_shelter_that_never_refers_to_legal_services_and_a_district_with_rescues_but_no_dlsa_referral():
    data = NetworkInput(
        agencies=[agency(1, "ahtu"), agency(2, "shelter_home", code="SS"), agency(3, "legal_services", code="DLSA")],
        ties=[tie(1, 2, 4)],
        case_flows=[CaseFlowRow(None, None, "", 1, "Pune", 1, "Maharashtra", 6)],
    )
    result = analyse(data)
    missing = {f.facts["pathway"]: f for f in findings_of(result, "missing_pathway")}
    assert missing["shelter_to_legal"].agencies == ("SS",)
    assert missing["shelter_to_legal"].facts["received"] == 4
    assert missing["rescues_to_dlsa"].agencies == ("DLSA",) and missing["rescues_to_dlsa"].facts["rescues"] == 6
    data.ties.append(tie(2, 3, 1))
    again = {f.facts["pathway"] for f in findings_of(analyse(data), "missing_pathway")}
    assert "shelter_to_legal" not in again and "rescues_to_dlsa" not in again


def test_a_stuck_referral_is_grouped_by_receiving_agency_with_days_overdue():
    data = planted_articulation()
    due = NOW - timedelta(days=3, hours=2)
    data.ties[3] = tie(3, 4, 5, pending=2, overdue=2, oldest_overdue_due=due)
    data.ties.append(tie(1, 4, 1, pending=1, overdue=1, oldest_overdue_due=NOW - timedelta(hours=5)))
    data.now = NOW
    (stuck,) = findings_of(analyse(data), "stuck_referral")
    assert stuck.agencies == ("CWC-4", "AHTU-3", "NGO-1")
    assert stuck.metric == 3 and stuck.facts["days"] == 3 and stuck.severity == "high"


def test_a_silent_agency_referred_in_the_previous_window_and_not_in_this_one():
    data = planted_articulation()
    data.agencies.append(agency(40, "police", "Mumbai", code="MUMBAI-POL"))
    data.previous_senders = {40: 7, 1: 3}  # NGO-1 still refers: not silent
    data.previous_window = Window(since=NOW.date() - timedelta(days=180), until=NOW.date() - timedelta(days=91))
    (silent,) = findings_of(analyse(data), "silent_agency")
    assert silent.agencies == ("MUMBAI-POL",) and silent.metric == 7


def test_one_way_agencies_where_their_kind_normally_sends_and_receives():
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ngo"), agency(3, "ahtu"), agency(4, "legal_services")],
        ties=[tie(1, 3, 2), tie(2, 3, 2), tie(1, 4, 3), tie(2, 4, 3)],
    )
    one_way = {f.agencies[0]: f.facts["direction"] for f in findings_of(analyse(data), "one_way")}
    # The AHTU only receives; NGOs that only send and a DLSA that only receives work as designed.
    assert one_way == {"AHTU-3": "receives"}
    assert {"legal_services", "ngo"}.isdisjoint(TWO_WAY_KINDS) and "ahtu" in TWO_WAY_KINDS


def test_the_broker_is_the_agency_most_paths_run_through_weighted_by_volume():
    # Two routes from the NGOs to the CWC: through the AHTU (busy) or the police (one referral).
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ngo"), agency(3, "ahtu"), agency(4, "police"), agency(5, "cwc"), agency(6, "cci")],
        ties=[tie(1, 3, 20), tie(2, 3, 20), tie(3, 5, 20), tie(1, 4, 1), tie(4, 5, 1), tie(5, 6, 10)],
    )
    result = analyse(data)
    (broker,) = findings_of(result, "broker")
    assert broker.agencies == ("AHTU-3",)
    by_code = {a.code: a for a in result.agencies}
    assert by_code["AHTU-3"].betweenness > by_code["POLICE-4"].betweenness == 0.0
    assert result.betweenness_mode == "exact"


def test_small_components_outside_the_main_network_are_reported():
    data = planted_articulation()
    data.agencies += [agency(50, "ngo", "Kolkata", code="K-NGO"), agency(51, "shelter_home", "Kolkata", code="K-SS")]
    data.ties.append(tie(50, 51, 2))
    result = analyse(data)
    (outside,) = findings_of(result, "outside_main_component")
    assert outside.agencies == ("K-NGO", "K-SS") and outside.facts["main"] == 9
    assert result.summary["components"] == 2


def test_slow_links_and_high_decline_ties():
    data = NetworkInput(
        agencies=[agency(1, "ahtu"), agency(2, "cwc"), agency(3, "shelter_home"), agency(4, "ngo")],
        ties=[
            tie(1, 2, 4, answered=4, deadline_due=4, deadline_met=1, median_response_hours=30.0),
            tie(4, 3, 6, accepted=1, declined=5, answered=6, median_response_hours=100.0, top_decline_reason="at_capacity"),
            tie(4, 1, 6, accepted=6, answered=6, median_response_hours=2.0),
        ],
    )
    result = analyse(data)
    slow = {f.agencies: (f.severity, f.metric) for f in findings_of(result, "slow_link")}
    assert slow == {("AHTU-1", "CWC-2"): ("high", 30.0), ("NGO-4", "SHELTER_HOME-3"): ("medium", 100.0)}
    (decline,) = findings_of(result, "high_decline")
    assert decline.agencies == ("NGO-4", "SHELTER_HOME-3") and decline.metric == pytest.approx(5 / 6, abs=1e-4)
    assert "At capacity" in explain(decline)[0]


def test_districts_where_rescued_minors_did_not_reach_a_cwc_in_24_hours():
    data = planted_articulation()
    data.minor_cwc = [DistrictDelayRow(1, "Pune", "Maharashtra", total=8, late=2), DistrictDelayRow(2, "Mumbai", "Maharashtra", total=5, late=0)]
    (delay,) = findings_of(analyse(data), "minor_cwc_delay")
    assert delay.agencies == ("CWC-4",) and delay.metric == 0.25 and delay.facts["late"] == 2 and delay.severity == "high"


def test_states_and_communities_between_which_cases_cross_without_a_referral_tie():
    data = planted_articulation()
    data.agencies += [agency(60, "ahtu", "Patna", code="PATNA-AHTU"), agency(61, "cwc", "Patna", code="PATNA-CWC"),
                      agency(62, "state_department", None, code="MH-WCD"), agency(63, "ngo", "Patna", code="PATNA-NGO")]
    data.agencies[-2] = replace(data.agencies[-2], state="Maharashtra", state_id=1)
    data.ties += [tie(60, 61, 3), tie(63, 60, 2), tie(63, 61, 1)]
    data.case_flows = [CaseFlowRow(3, 2, "Bihar", 1, "Pune", 1, "Maharashtra", 4)]
    result = analyse(data)
    levels = {f.facts["level"]: f for f in findings_of(result, "separated_communities")}
    assert levels["states"].facts["a"] == "Bihar" and levels["states"].facts["b"] == "Maharashtra"
    assert levels["states"].agencies == ("MH-WCD",) and levels["states"].metric == 4
    # Communities: the Pune group (around its busiest agency, the CWC) and the Patna group (around its AHTU).
    assert levels["communities"].agencies == ("CWC-4", "PATNA-AHTU")
    # Once an agency of Bihar refers to one in Maharashtra, the states are no longer separated.
    data.ties.append(tie(60, 4, 1))
    assert not findings_of(analyse(data), "separated_communities")


def test_every_finding_type_has_a_plain_explanation_and_an_action():
    data = planted_articulation()
    data.agencies += [agency(20, "ahtu", "Mumbai"), agency(50, "ngo", "Kolkata"), agency(51, "shelter_home", "Kolkata"),
                      agency(40, "police", "Mumbai"), agency(60, "ahtu", "Patna"), agency(61, "cwc", "Patna"),
                      agency(62, "ngo", "Patna")]
    data.ties += [tie(50, 51, 2), tie(62, 61, 3),
                  tie(62, 60, 6, accepted=1, declined=5, answered=6, median_response_hours=99.0, overdue=1, pending=1)]
    data.previous_senders = {40: 2}
    data.minor_cwc = [DistrictDelayRow(1, "Pune", "Maharashtra", total=3, late=1)]
    data.case_flows = [CaseFlowRow(3, 2, "Bihar", 1, "Pune", 1, "Maharashtra", 2)]
    data.now = NOW
    result = analyse(data)
    assert set(network.FINDING_TYPES) == {f.type for f in result.findings}
    for finding in result.findings:
        explanation, action = explain(finding)
        assert len(explanation) > 20 and len(action) > 20, finding
        assert finding.severity in network.SEVERITIES


def test_explanations_say_plainly_what_the_numbers_mean():
    # A broker: its share of routes read as a number of agency pairs (a share of a percent says little).
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ngo"), agency(3, "ahtu"), agency(4, "police"), agency(5, "cwc"), agency(6, "cci")],
        ties=[tie(1, 3, 20), tie(2, 3, 20), tie(3, 5, 20), tie(1, 4, 1), tie(4, 5, 1), tie(5, 6, 10)],
    )
    (broker,) = findings_of(analyse(data), "broker")
    # NGO-1 and NGO-2 reach the CWC and the CCI through the AHTU: 4 of the 5 × 4 ordered pairs of other agencies.
    assert broker.facts["pairs"] == 4 and "about 4 pairs of other agencies (20% of all such routes)" in explain(broker)[0]

    # A tie slow by its median, and one whose answers come fast but after a deadline counted from the rescue.
    data = NetworkInput(
        agencies=[agency(1, "ahtu"), agency(2, "cwc"), agency(3, "hospital"), agency(4, "shelter_home")],
        ties=[tie(1, 4, 6, accepted=6, answered=6, median_response_hours=100.0),
              tie(2, 3, 6, accepted=6, answered=6, deadline_due=6, deadline_met=1, median_response_hours=9.0)],
    )
    slow = {f.agencies: f for f in findings_of(analyse(data), "slow_link")}
    by_median = explain(slow[("AHTU-1", "SHELTER_HOME-4")])[0]
    assert "answered slowly" in by_median and "100.0 hours" in by_median
    by_law = explain(slow[("CWC-2", "HOSPITAL-3")])[0]
    assert "often miss their legal deadline: 17% were answered within it" in by_law and "answered slowly" not in by_law
    # Hidden figures are said to be hidden, not shown as a dash.
    data.ties[1] = tie(2, 3, 6, accepted=3, answered=3, deadline_due=3, deadline_met=0, median_response_hours=9.0)
    (hidden,) = [f for f in findings_of(redact(analyse(data), 5), "slow_link") if f.agencies == ("CWC-2", "HOSPITAL-3")]
    assert "—" not in explain(hidden)[0] and "hidden" in explain(hidden)[0]
    # Six answers, but a deadline share over three referrals (one in time) is hidden as well.
    data.ties[1] = tie(2, 3, 6, accepted=6, answered=6, deadline_due=3, deadline_met=1, median_response_hours=9.0)
    (hidden,) = [f for f in findings_of(redact(analyse(data), 5), "slow_link") if f.agencies == ("CWC-2", "HOSPITAL-3")]
    assert hidden.facts["deadline_share"] is None and "33%" not in explain(hidden)[0]

    # Minors late to a CWC with hidden counts: no empty share; a referral due an hour ago is not "0 days" past due.
    data = planted_articulation()
    data.minor_cwc = [DistrictDelayRow(1, "Pune", "Maharashtra", total=3, late=1)]
    data.ties[3] = tie(3, 4, 5, pending=1, overdue=1, oldest_overdue_due=NOW - timedelta(hours=1))
    data.now = NOW
    result = redact(analyse(data), 5)
    (delay,) = findings_of(result, "minor_cwc_delay")
    assert explain(delay)[0] == "In Pune (Maharashtra), <5 of <5 rescued minors did not reach a Child Welfare Committee within 24 hours (JJ Act s.31)."
    (stuck,) = findings_of(result, "stuck_referral")
    assert "less than a day ago" in explain(stuck)[0] and "0 days" not in explain(stuck)[0]


def test_the_summary_counts_agencies_ties_density_reciprocity_and_components():
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ahtu"), agency(3, "cwc"), agency(4, "cci")],
        ties=[tie(1, 2, 3), tie(2, 1, 1), tie(2, 3, 2)],
    )
    summary = analyse(data).summary
    assert summary == {"agencies": 4, "active_agencies": 3, "ties": 3, "referrals": 6, "density": 0.25,
                       "reciprocity": round(2 / 3, 4), "components": 1}


def test_kind_and_state_matrices_add_up_with_acceptance_rates():
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ngo", "Patna"), agency(3, "ahtu"), agency(4, "cwc")],
        ties=[tie(1, 3, 4, accepted=3, declined=1), tie(2, 3, 2, accepted=0, declined=2), tie(3, 4, 5)],
    )
    result = analyse(data)
    flows = {(f.source, f.target): (f.referrals, f.accepted_rate, f.expected) for f in result.flows}
    assert flows == {("ngo", "ahtu"): (6, 0.5, True), ("ahtu", "cwc"): (5, 1.0, True)}
    states = {(f.source, f.target): f.referrals for f in result.state_flows}
    assert states == {("Maharashtra", "Maharashtra"): 9, ("Bihar", "Maharashtra"): 2}


def test_results_are_deterministic_across_runs_and_input_order():
    data = random_network()
    options = Options(exact_betweenness_max=50, betweenness_samples=20)  # sampled betweenness
    first = analyse(data, options)
    assert first.betweenness_mode == "sampled (k=20)"
    shuffled = NetworkInput(agencies=random.Random(9).sample(data.agencies, len(data.agencies)),
                            ties=random.Random(9).sample(data.ties, len(data.ties)))
    for again in (analyse(data, options), analyse(shuffled, options)):
        assert again.as_json() == first.as_json()
        assert [(a.code, a.community, a.betweenness) for a in again.agencies] == [
            (a.code, a.community, a.betweenness) for a in first.agencies]


def test_an_empty_network_one_agency_and_a_window_without_referrals():
    empty = analyse(NetworkInput(agencies=[], ties=[]))
    assert empty.summary == {"agencies": 0, "active_agencies": 0, "ties": 0, "referrals": 0, "density": 0.0,
                             "reciprocity": 0.0, "components": 0}
    assert empty.findings == [] and empty.as_json()["agencies"] == []

    one = analyse(NetworkInput(agencies=[agency(1, "cwc", code="ONE")], ties=[]))
    assert one.summary["agencies"] == 1 and one.summary["components"] == 0
    assert [(f.type, f.agencies) for f in one.findings] == [("isolated", ("ONE",))]

    quiet = planted_articulation()
    quiet.ties = []
    result = analyse(quiet)
    assert result.summary["referrals"] == 0 and result.summary["active_agencies"] == 0
    assert {f.type for f in result.findings} <= {"isolated", "missing_pathway"}
    assert sum(f.metric for f in findings_of(result, "isolated")) == 9


def test_what_if_an_agency_closes_lists_who_loses_their_only_route_to_a_shelter():
    data = NetworkInput(
        agencies=[agency(1, "ngo"), agency(2, "ahtu", code="AHTU"), agency(3, "shelter_home", code="SS-A"),
                  agency(4, "police", code="POL"), agency(5, "shelter_home", code="SS-B"), agency(6, "magistrate", code="DM")],
        ties=[tie(1, 2, 5), tie(2, 3, 4), tie(4, 3, 1), tie(4, 5, 2), tie(6, 4, 1)],
    )
    result = analyse(data)
    closed = what_if_closed(result, "SS-A")
    lost = {(r.agency, r.pathway) for r in closed.lost_routes}
    # The AHTU's only shelter is SS-A; the police still reach SS-B, and the magistrate through the police.
    assert lost == {("AHTU", "rescue_to_shelter")}
    assert closed.ties == 2 and closed.referrals_in == 5
    # Without the AHTU the NGO reaches no police unit at all, whatever the route length.
    closed = what_if_closed(result, "AHTU", max_hops=None)
    assert {(r.agency, r.pathway) for r in closed.lost_routes} == {("NGO-1", "ngo_to_police")}
    assert what_if_closed(result, "NOPE") is None


def test_what_if_reports_the_agencies_an_articulation_point_cuts_off():
    result = analyse(planted_articulation())
    closed = what_if_closed(result, "DCPU-6")
    assert set(closed.cut_off) == {"SHELTER_HOME-7", "LEGAL_SERVICES-8", "HOSPITAL-9"}
    assert ("CWC-4", "cwc_to_dcpu") in {(r.agency, r.pathway) for r in closed.lost_routes}


def test_the_ego_network_follows_direction_and_steps():
    result = analyse(planted_articulation())
    out1 = ego_network(result, "CWC-4", direction="out", steps=1)
    assert {a.code for a in out1.agencies} == {"CWC-4", "CCI-5", "DCPU-6"}
    in2 = ego_network(result, "CWC-4", direction="in", steps=2)
    assert {a.code for a in in2.agencies} == {"CWC-4", "AHTU-3", "NGO-1", "NGO-2"}
    assert in2.distance["NGO-1"] == 2 and in2.agencies[0].code == "CWC-4"
    both = ego_network(result, "CWC-4", direction="both", steps=1)
    assert {(t.source, t.target) for t in both.ties} == {("AHTU-3", "CWC-4"), ("CWC-4", "CCI-5"), ("CWC-4", "DCPU-6")}
    assert ego_network(result, "NOPE") is None


def test_comparing_two_windows_lists_new_lost_and_weakened_ties_and_changed_findings():
    before_data = planted_articulation()
    after_data = planted_articulation()
    after_data.ties = [t for t in after_data.ties if (t.source, t.target) != (4, 5)]  # CWC stopped placing in the CCI
    after_data.ties[0] = tie(1, 3, 2)  # NGO-1 → AHTU fell from 6 to 2
    after_data.ties.append(tie(7, 4, 3))  # the shelter now refers to the CWC
    result = compare(analyse(before_data), analyse(after_data))
    assert [(c.source, c.target, c.after) for c in result.new_ties] == [("SHELTER_HOME-7", "CWC-4", 3)]
    assert [(c.source, c.target, c.before) for c in result.lost_ties] == [("CWC-4", "CCI-5", 3)]
    assert [(c.source, c.target, c.before, c.after) for c in result.weakened_ties] == [("NGO-1", "AHTU-3", 6, 2)]
    assert "isolated:Maharashtra:Pune:cci" in {f.key for f in result.appeared}
    assert "articulation_point:DCPU-6" in {f.key for f in result.resolved}


def test_redaction_hides_small_counts_and_the_rates_that_would_reveal_them():
    data = planted_articulation()
    data.ties[3] = tie(3, 4, 5, accepted=4, declined=1, overdue=2, pending=2, median_response_hours=12.0)
    data.ties[0] = tie(1, 3, 3, accepted=2, declined=1, median_response_hours=5.0)
    data.ties[4] = tie(4, 5, 6, accepted=2, pending=4, answered=2, deadline_due=2, deadline_met=2, median_response_hours=3.0)
    data.now = NOW
    result = redact(analyse(data), 5)
    ties = {(t.source, t.target): t for t in result.ties}
    small = ties[("NGO-1", "AHTU-3")]
    assert (small.referrals, small.accepted, small.acceptance_rate, small.median_response_hours) == ("<5", "<5", None, None)
    big = ties[("AHTU-3", "CWC-4")]
    assert (big.referrals, big.accepted, big.declined, big.overdue, big.median_response_hours) == (5, "<5", "<5", "<5", 12.0)
    # Enough referrals but few answers: the rates and the median over those answers are hidden too.
    few = ties[("CWC-4", "CCI-5")]
    assert (few.referrals, few.accepted, few.pending) == (6, "<5", "<5")
    assert (few.acceptance_rate, few.decline_rate, few.deadline_share, few.median_response_hours) == (None, None, None, None)
    (stuck,) = findings_of(result, "stuck_referral")
    assert stuck.metric == "<5" and "<5 referrals" in explain(stuck)[0]
    assert result.agency("NGO-2").out_volume == "<5" and result.agency("AHTU-3").in_volume == 7
    assert all(not isinstance(f.referrals, int) or f.referrals == 0 or f.referrals >= 5 for f in result.flows)


def test_graphml_and_gexf_exports_read_back_in_networkx():
    result = analyse(planted_articulation())
    graph = nx.read_graphml(io.BytesIO(network.graphml_bytes(result)))
    assert graph.number_of_nodes() == 9 and graph.number_of_edges() == 11
    assert graph.nodes["CWC-4"]["articulation"] is True and graph.edges["NGO-1", "AHTU-3"]["referrals"] == 6
    gexf = nx.read_gexf(io.BytesIO(network.gexf_bytes(redact(result, 5))))
    assert gexf.edges["NGO-1", "AHTU-3"]["referrals"] == "6" and gexf.edges["AHTU-3", "CWC-4"]["referrals"] == "5"
    assert gexf.edges["NGO-2", "AHTU-3"]["referrals"] == "<5"


def test_the_pathways_table_is_consistent():
    assert len({p.slug for p in PATHWAYS}) == len(PATHWAYS)
    assert {"ahtu", "cwc", "shelter_home", "legal_services"} <= REFERRAL_KINDS
    from referrals.vocab import Purpose
    from stakeholders.vocab import AgencyKind

    kinds = set(AgencyKind.values)
    for p in PATHWAYS:
        assert p.from_kinds <= kinds and p.to_kinds <= kinds, p.slug
        assert p.purpose == "" or p.purpose in Purpose.values, p.slug
        assert p.basis and str(p.label)


def test_a_result_pickles_compactly_with_its_ties_stored_apart():
    import pickle

    result = analyse(planted_articulation())
    expected_ties = list(result.ties)
    stored_ties = result.detach_ties()  # columns
    copy = pickle.loads(pickle.dumps(result))
    loads = []
    copy.ties_loader = lambda: loads.append(1) or stored_ties
    assert copy.as_json() == result.as_json() and loads == []  # the report needs no tie
    assert copy.ties == expected_ties and loads == [1]
    view = redact(pickle.loads(pickle.dumps(result)), 5)
    view.ties_loader = lambda: stored_ties
    assert {t.referrals for t in view.ties} == {5, 6, "<5"} and view.agency("NGO-1").out_volume == 8
