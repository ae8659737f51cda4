"""The network selector: aggregates per agency pair through the counting gate, in a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mapping.network_selectors import NetworkFilters, aggregate_scope, network_input, network_result
from tests.factories import make_agency, make_case, make_referral


def _window(days=90):
    today = timezone.localdate()
    return NetworkFilters(since=today - timedelta(days=days - 1), until=today)


def _ties(data):
    codes = {a.id: a.code for a in data.agencies}
    return {(codes[t.source], codes[t.target]): t for t in data.ties}


@pytest.fixture
def pune_referrals(cast):
    """AHTU → CWC: two accepted (2 h, 4 h), one completed (6 h), one declined (10 h, at capacity), one overdue;
    one draft and one sent before the window, which do not count."""
    now = timezone.now()
    sent = now - timedelta(days=5)
    child = make_case(opened_by=cast.ahtu, age_status="minor", rescue_district=cast.geo.pune, rescued_at=sent)
    common = {"case": child, "from_agency": cast.ahtu, "to_agency": cast.cwc, "purpose": "produce_before_cwc",
              "sent_at": sent, "due_at": sent + timedelta(hours=24)}
    make_referral(status="accepted", responded_at=sent + timedelta(hours=2), **common)
    make_referral(status="accepted", responded_at=sent + timedelta(hours=4), **common)
    make_referral(status="completed", responded_at=sent + timedelta(hours=6), **common)
    make_referral(status="declined", responded_at=sent + timedelta(hours=10), decline_reason="at_capacity", **common)
    make_referral(status="sent", **common)  # overdue: due four days ago
    make_referral(status="draft", case=child, from_agency=cast.ahtu, to_agency=cast.cwc)
    make_referral(status="accepted", case=child, from_agency=cast.ahtu, to_agency=cast.cwc,
                  sent_at=now - timedelta(days=200), responded_at=now - timedelta(days=199))
    return now


def test_it_aggregates_each_directed_pair_in_the_window(cast, pune_referrals):
    data = network_input(scope=aggregate_scope(None), filters=_window())
    tie = _ties(data)[("PUNE-AHTU", "PUNE-CWC")]
    assert (tie.referrals, tie.accepted, tie.declined, tie.completed, tie.pending, tie.overdue, tie.answered) == (5, 3, 1, 1, 1, 1, 4)
    assert tie.median_response_hours == pytest.approx(5.0, abs=0.01)  # median of 2, 4, 6, 10 hours
    assert (tie.deadline_due, tie.deadline_met) == (5, 4)
    assert tie.top_decline_reason == "at_capacity"
    assert tie.oldest_overdue_due is not None and tie.oldest_overdue_due < pune_referrals
    assert len(data.ties) == 1


def test_agencies_without_referrals_are_part_of_the_network_and_the_area_keeps_ties_that_cross_it(cast, pune_referrals):
    make_referral(case=make_case(opened_by=cast.outsider_agency), from_agency=cast.outsider_agency, to_agency=cast.shelter)
    data = network_input(scope=aggregate_scope(None), filters=NetworkFilters(state_id=cast.geo.mh.pk, **_dates()))
    focus = {a.code: a.focus for a in data.agencies}
    assert focus["PUNE-DLSA"] is True  # no referral, still in the registry's network
    assert focus["PATNA-NGO"] is False  # outside Maharashtra, but refers into it
    assert ("PATNA-NGO", "PUNE-SS") in _ties(data)
    assert "SC" not in focus  # national bodies are not part of a state's network


def _dates():
    window = _window()
    return {"since": window.since, "until": window.until}


def test_kind_filters_keep_referrals_between_those_kinds_only(cast, pune_referrals):
    make_referral(case=make_case(opened_by=cast.ngo), from_agency=cast.ngo, to_agency=cast.ahtu)
    data = network_input(scope=aggregate_scope(None), filters=NetworkFilters(kinds=("ahtu", "cwc"), **_dates()))
    assert set(_ties(data)) == {("PUNE-AHTU", "PUNE-CWC")}
    assert {a.kind for a in data.agencies if a.focus} == {"ahtu", "cwc"}


def test_a_referral_withdrawn_unanswered_missed_no_deadline(cast, pune_referrals):
    child = make_case(opened_by=cast.ahtu, age_status="minor", rescue_district=cast.geo.pune)
    sent = pune_referrals - timedelta(days=3)
    make_referral(status="withdrawn", case=child, from_agency=cast.ahtu, to_agency=cast.cwc, purpose="produce_before_cwc",
                  sent_at=sent, due_at=sent + timedelta(hours=24))
    data = network_input(scope=aggregate_scope(None), filters=_window())
    tie = _ties(data)[("PUNE-AHTU", "PUNE-CWC")]
    assert tie.referrals == 6 and (tie.deadline_due, tie.deadline_met) == (5, 4)
    (delay,) = data.minor_cwc
    assert (delay.total, delay.late) == (5, 2)


def test_minors_late_to_the_cwc_and_case_flows_are_counted_by_district(cast, pune_referrals):
    data = network_input(scope=aggregate_scope(None), filters=_window())
    (delay,) = data.minor_cwc
    # Four answered (one declined, so the child did not reach the CWC) and one overdue: 3 in time, 2 not.
    assert (delay.district, delay.total, delay.late) == ("Pune", 5, 2)
    (flow,) = data.case_flows
    assert (flow.rescue_district, flow.cases) == ("Pune", 1)


def test_the_previous_window_gives_the_senders_for_silent_agencies(cast):
    today = timezone.localdate()
    make_referral(case=make_case(opened_by=cast.ngo), from_agency=cast.ngo, to_agency=cast.ahtu,
                  sent_at=timezone.now() - timedelta(days=120))
    data = network_input(scope=aggregate_scope(None), filters=_window())
    assert data.previous_senders == {cast.ngo.pk: 1}
    assert data.previous_window.until == today - timedelta(days=90)


def test_the_gate_limits_what_a_user_counts(cast, pune_referrals):
    make_referral(case=make_case(opened_by=cast.outsider_agency), from_agency=cast.outsider_agency, to_agency=cast.dlsa)
    make_referral(case=make_case(opened_by=cast.outsider_agency), from_agency=cast.outsider_agency,
                  to_agency=make_agency(code="PATNA-CWC", kind="cwc", district=cast.geo.patna))
    mitra = network_input(scope=aggregate_scope(cast.mitra), filters=_window())  # West Bengal: nothing
    assert mitra.ties == []
    omar = network_input(scope=aggregate_scope(cast.omar), filters=_window())  # his agency's ties only
    assert set(_ties(omar)) == {("PATNA-NGO", "PUNE-DLSA"), ("PATNA-NGO", "PATNA-CWC")}
    sunil = network_input(scope=aggregate_scope(cast.sunil), filters=_window())
    assert len(sunil.ties) == 3


def test_the_selector_uses_the_same_number_of_queries_whatever_the_data_size(cast, pune_referrals):
    scope = aggregate_scope(cast.sunil)  # who Sunil is is read once per request, not per query

    def count():
        with CaptureQueriesContext(connection) as queries:
            network_input(scope=scope, filters=_window())
        return len(queries.captured_queries)

    small = count()
    kinds = ["ngo", "ahtu", "cwc", "shelter_home", "legal_services"]
    agencies = [make_agency(code=f"X-{i}", kind=kinds[i % 5], district=cast.geo.mumbai) for i in range(15)]
    for i in range(60):
        source, target = agencies[i % 15], agencies[(i * 7 + 3) % 15]
        if source != target:
            make_referral(case=make_case(opened_by=source, age_status="minor"), from_agency=source, to_agency=target,
                          status=["sent", "accepted", "declined", "completed"][i % 4], purpose="produce_before_cwc",
                          responded_at=timezone.now() if i % 4 else None, due_at=timezone.now() - timedelta(hours=1))
    assert count() == small
    assert small <= 9


def test_results_are_cached_until_referrals_change(cast, pune_referrals, django_assert_max_num_queries):
    scope, filters = aggregate_scope(None), _window()
    first, key = network_result(scope=scope, filters=filters)
    with django_assert_max_num_queries(3):  # only the version check: referrals, cases, agencies
        again, same_key = network_result(scope=scope, filters=filters)
    assert same_key == key and again.summary == first.summary
    make_referral(case=make_case(opened_by=cast.ngo), from_agency=cast.ngo, to_agency=cast.ahtu)
    changed, new_key = network_result(scope=scope, filters=filters)
    assert new_key != key and changed.summary["referrals"] == first.summary["referrals"] + 1
