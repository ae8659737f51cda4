"""Network pages and exports: who sees what, small counts suppressed, bad input refused, maps offline."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import networkx as nx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mapping.maps import external_urls
from tests.factories import make_case, make_referral

WHOLE_NETWORK_PAGES = [
    ("mapping:network", ""),
    ("mapping:network_map", ""),
    ("mapping:network_map_frame", ""),
    ("mapping:network_diagram", ""),
    ("mapping:network_whatif", "agency=PUNE-SS"),
    ("mapping:network_compare", ""),
    ("mapping:network_findings_export", "format=csv"),
    ("mapping:network_findings_export", "format=json"),
    ("mapping:network_agencies_export", "format=csv"),
    ("mapping:network_agencies_export", "format=json"),
    ("mapping:network_graph_export", "format=graphml"),
    ("mapping:network_graph_export", "format=gexf"),
]


@pytest.fixture
def referrals(cast):
    """NGO → AHTU 3 (small: "<5" for the committee), AHTU → CWC 6, AHTU → shelter 2 (one overdue),
    shelter → DLSA 1, Patna NGO → Pune DLSA 1 (crosses states)."""
    now = timezone.now()

    def refer(source, target, count, **kwargs):
        for i in range(count):
            make_referral(case=make_case(opened_by=source), from_agency=source, to_agency=target,
                          sent_at=now - timedelta(days=2, hours=i), **kwargs)

    refer(cast.ngo, cast.ahtu, 3, status="accepted", responded_at=now - timedelta(days=1))
    refer(cast.ahtu, cast.cwc, 6, status="accepted", responded_at=now - timedelta(days=1), purpose="produce_before_cwc")
    refer(cast.ahtu, cast.shelter, 1, status="accepted", responded_at=now - timedelta(days=1), purpose="shelter_placement")
    refer(cast.ahtu, cast.shelter, 1, status="sent", due_at=now - timedelta(hours=3), purpose="shelter_placement")
    refer(cast.shelter, cast.dlsa, 1, status="sent", purpose="legal_aid")
    refer(cast.outsider_agency, cast.dlsa, 1, status="sent", purpose="victim_compensation")
    return now


def url(name, query=""):
    return reverse(name) + (f"?{query}" if query else "")


def body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


@pytest.mark.parametrize("name, query", WHOLE_NETWORK_PAGES)
def test_the_committee_superusers_and_state_departments_see_every_network_page(cast, referrals, login, name, query):
    for user in (cast.sunil, cast.root, cast.devi, cast.rahul):
        response = login(user).get(url(name, query))
        assert response.status_code == 200, (user, name)


@pytest.mark.parametrize("name, query", WHOLE_NETWORK_PAGES)
def test_everyone_else_gets_404_for_the_whole_network(cast, referrals, login, name, query):
    for user in (cast.asha, cast.bina, cast.chitra, cast.kavita, cast.priya, cast.omar):
        assert login(user).get(url(name, query)).status_code == 404, (user, name)
    # An agency admin sees their own agency's ego network, not the whole network.
    response = login(cast.arjun).get(url(name, query))
    if name == "mapping:network":
        assert response.status_code == 302 and response["Location"] == reverse("mapping:network_agency", args=["PUNE-AHTU"])
    else:
        assert response.status_code == 404, name


def test_anonymous_visitors_are_sent_to_the_login_page(referrals, client):
    response = client.get(url("mapping:network"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_ego_network_is_open_to_whom_it_concerns(cast, referrals, login):
    def status(user, code):
        return login(user).get(reverse("mapping:network_agency", args=[code])).status_code

    assert status(cast.arjun, "PUNE-AHTU") == 200  # admin of the AHTU
    assert status(cast.nina, "PUNE-NGO") == 200
    assert status(cast.arjun, "PUNE-CWC") == 404  # another agency's network
    assert status(cast.asha, "PUNE-NGO") == 403  # her own agency, but only its admins open its network
    assert status(cast.chitra, "PUNE-AHTU") == 404
    assert status(cast.devi, "PUNE-CWC") == 200  # Maharashtra
    assert status(cast.devi, "PATNA-NGO") == 404  # Bihar is not hers
    assert status(cast.sunil, "PATNA-NGO") == 200
    assert status(cast.sunil, "NO-SUCH-AGENCY") == 404
    assert status(cast.omar, "PUNE-AHTU") == 404


def test_an_agency_admin_sees_only_their_own_referrals_unsuppressed(cast, referrals, login):
    page = login(cast.arjun).get(reverse("mapping:network_agency", args=["PUNE-AHTU"]), {"steps": 2}).content.decode()
    assert "Saathi Pune" in page and "CWC Pune" in page  # its own ties, counts as they are
    assert "&lt;5" not in page
    assert "DLSA Pune" not in page  # two steps away: not its referrals
    assert 'name="steps"' not in page  # so the page offers no second step
    assert 'name="steps"' in login(cast.root).get(reverse("mapping:network_agency", args=["PUNE-AHTU"])).content.decode()


def test_small_tie_counts_are_suppressed_for_the_committee_and_not_for_superusers(cast, referrals, login):
    ego = reverse("mapping:network_agency", args=["PUNE-AHTU"])
    committee = login(cast.sunil).get(ego).content.decode()
    assert "&lt;5" in committee
    root = login(cast.root).get(ego).content.decode()
    assert "&lt;5" not in root

    rows = list(csv.DictReader(io.StringIO(body(login(cast.sunil).get(url("mapping:network_agencies_export", "format=csv"))))))
    ngo = next(r for r in rows if r["code"] == "PUNE-NGO")
    ahtu = next(r for r in rows if r["code"] == "PUNE-AHTU")
    assert (ngo["out_volume"], ahtu["out_volume"]) == ("<5", "8")
    rows = list(csv.DictReader(io.StringIO(body(login(cast.root).get(url("mapping:network_agencies_export", "format=csv"))))))
    assert next(r for r in rows if r["code"] == "PUNE-NGO")["out_volume"] == "3"


def test_every_export_suppresses_small_counts_for_the_committee(cast, referrals, login):
    client = login(cast.sunil)
    findings = json.loads(body(client.get(url("mapping:network_findings_export", "format=json"))))
    assert findings["suppressed"] is True
    stuck = [f for f in findings["findings"] if f["type"] == "stuck_referral"]
    assert stuck and all(f["metric"] == "<5" for f in stuck) and "<5 referral" in stuck[0]["explanation"]
    findings_csv = body(client.get(url("mapping:network_findings_export", "format=csv")))
    assert findings_csv.startswith("type,severity,agencies,metric,explanation,action")
    agencies = json.loads(body(client.get(url("mapping:network_agencies_export", "format=json"))))
    assert {a["code"]: a["in_volume"] for a in agencies["agencies"]}["PUNE-AHTU"] == "<5"
    graph = nx.read_graphml(io.BytesIO(body(client.get(url("mapping:network_graph_export", "format=graphml"))).encode()))
    assert graph.edges["PUNE-NGO", "PUNE-AHTU"]["referrals"] == "<5" and graph.edges["PUNE-AHTU", "PUNE-CWC"]["referrals"] == "6"
    assert "weight" not in graph.edges["PUNE-NGO", "PUNE-AHTU"]
    gexf = nx.read_gexf(io.BytesIO(body(client.get(url("mapping:network_graph_export", "format=gexf"))).encode()))
    assert gexf.edges["PUNE-NGO", "PUNE-AHTU"]["referrals"] == "<5"
    root = login(cast.root)
    graph = nx.read_graphml(io.BytesIO(body(root.get(url("mapping:network_graph_export", "format=graphml"))).encode()))
    assert graph.edges["PUNE-NGO", "PUNE-AHTU"]["referrals"] == 3


def test_a_state_department_sees_its_state_unsuppressed_and_cannot_choose_another(cast, referrals, login):
    client = login(cast.devi)
    page = client.get(url("mapping:network")).content.decode()
    assert "&lt;5" not in page and "Saathi Pune" in page
    response = client.get(url("mapping:network", f"state={cast.geo.bihar.pk}"))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    agencies = json.loads(body(client.get(url("mapping:network_agencies_export", "format=json"))))
    codes = {a["code"] for a in agencies["agencies"]}
    assert "PUNE-AHTU" in codes and "WB-WCD" not in codes
    assert {a["code"]: a["out_volume"] for a in agencies["agencies"]}["PUNE-NGO"] == 3


def test_the_report_shows_summary_findings_agencies_and_matrices(cast, referrals, login):
    page = login(cast.root).get(url("mapping:network")).content.decode()
    for text in ("Findings", "Stuck referrals", "What to do:", "Who refers to whom", "Between states", "Bihar", "CWC"):
        assert text in page, text
    assert reverse("mapping:network_agency", args=["PUNE-SS"]) in page  # findings link to the agencies
    sorted_page = login(cast.root).get(url("mapping:network", "sort=-out_volume")).content.decode()
    assert sorted_page.index("AHTU Pune") < sorted_page.index("Saathi Pune")
    assert "Only referrals between the chosen kinds are counted" not in page
    kinds = login(cast.root).get(url("mapping:network", "kinds=ahtu&kinds=cwc")).content.decode()
    assert "Only referrals between the chosen kinds are counted" in kinds
    only = login(cast.root).get(url("mapping:network", "finding=stuck_referral")).content.decode()
    assert only.count('class="finding ') == 1  # the AHTU's overdue shelter placement
    # The state × state matrix: the Patna NGO's referral to the Pune DLSA crosses from Bihar to Maharashtra.
    states = page[page.index("Between states"):]
    assert 'title="Bihar → Maharashtra">1<' in states and 'title="Maharashtra → Maharashtra">12<' in states


def test_the_state_matrix_keeps_the_busiest_states():
    from mapping.network import Flow
    from mapping.network_views import STATE_MATRIX_SIZE, _matrix

    flows = [Flow(f"S{i:02}", f"S{i:02}", i + 1, 0, 0, None) for i in range(STATE_MATRIX_SIZE + 5)]
    matrix = _matrix(flows, limit=STATE_MATRIX_SIZE)
    assert matrix["more"] and matrix["total"] == STATE_MATRIX_SIZE + 5
    assert [key for key, _label in matrix["columns"]] == [f"S{i:02}" for i in range(5, STATE_MATRIX_SIZE + 5)]


def test_bad_filters_are_refused_with_a_message_and_no_analysis(cast, referrals, login):
    client = login(cast.sunil)
    response = client.get(url("mapping:network", "since=2026-05-01&until=2026-01-01"))
    assert response.status_code == 400 and "The end date is before the start date." in response.content.decode()
    assert client.get(url("mapping:network", "since=yesterday")).status_code == 400
    export = client.get(url("mapping:network_findings_export", "since=2026-05-01&until=2026-01-01&format=csv"))
    assert export.status_code == 400 and b"Invalid filters" in export.content
    response = client.get(url("mapping:network", f"district={cast.geo.patna.pk}&state={cast.geo.mh.pk}"))
    assert response.status_code == 400


def test_what_if_lists_agencies_that_lose_their_only_route(cast, referrals, login):
    client = login(cast.sunil)
    page = client.get(url("mapping:network_whatif", "agency=PUNE-SS")).content.decode()
    assert "Without Shakti Sadan Pune" in page
    assert "Police / AHTU / magistrate → shelter" in page and "AHTU Pune" in page
    assert '<option value="2" selected>' in page  # the route length it counted is the one shown
    assert "2 ties would end" in page
    one = client.get(url("mapping:network_whatif", "agency=PUNE-NGO")).content.decode()
    assert "1 tie would end" in one
    unknown = client.get(url("mapping:network_whatif", "agency=NOPE"))
    assert unknown.status_code == 400 and "No agency with this code" in unknown.content.decode()


def test_comparing_windows_shows_new_ties_and_findings(cast, referrals, login):
    today = timezone.localdate()
    query = f"since={today - timedelta(days=6)}&until={today}&previous_since={today - timedelta(days=60)}&previous_until={today - timedelta(days=7)}"
    page = login(cast.root).get(url("mapping:network_compare", query)).content.decode()
    assert "5 new ties" in page and "AHTU Pune" in page
    bad = login(cast.root).get(url("mapping:network_compare", "since=2026-05-01&until=2026-01-01"))
    assert bad.status_code == 400


def test_the_map_is_a_full_offline_document_with_a_layer_per_kind(cast, referrals, login):
    client = login(cast.sunil)
    html = client.get(url("mapping:network_map_frame")).content.decode()
    assert html.startswith("<!DOCTYPE html>") and external_urls(html) == []
    assert "/static/vendor/leaflet/leaflet.js" in html and "L.control.layers" in html
    assert "Child Welfare Committee (CWC) (1)" in html
    page = client.get(url("mapping:network_map", "colour=speed")).content.decode()
    assert reverse("mapping:network_map_frame") in page and "<iframe" in page
    # An agency admin's map of its own ego network.
    own = login(cast.arjun).get(url("mapping:network_map_frame", "agency=PUNE-AHTU"))
    assert own.status_code == 200 and external_urls(own.content.decode()) == []
    assert login(cast.arjun).get(url("mapping:network_map_frame", "agency=PUNE-CWC")).status_code == 404


def test_the_diagram_is_server_rendered_svg_without_scripts(cast, referrals, login):
    page = login(cast.sunil).get(url("mapping:network_diagram")).content.decode()
    svg = page[page.index("<svg class=\"network-diagram\""):page.index("</svg>")]
    assert "<circle" in svg and "<line" in svg and "<script" not in svg
    assert reverse("mapping:network_agency", args=["PUNE-AHTU"]) in svg
    assert "Saathi Pune → AHTU Pune: &lt;5 referrals</title>" in svg
    root = login(cast.root).get(url("mapping:network_diagram")).content.decode()
    assert "Shakti Sadan Pune → DLSA Pune: 1 referral</title>" in root


def test_pages_render_from_the_cache_until_referrals_change(cast, referrals, login):
    client = login(cast.sunil)
    with CaptureQueriesContext(connection) as first:
        client.get(url("mapping:network"))
    with CaptureQueriesContext(connection) as second:
        client.get(url("mapping:network"))
    cached_count = len(second.captured_queries)  # read now: a later request outside a context clears the log
    assert cached_count < len(first.captured_queries) - 5
    make_referral(case=make_case(opened_by=cast.ngo), from_agency=cast.ngo, to_agency=cast.dlsa)
    page = client.get(url("mapping:network")).content.decode()
    assert "DLSA Pune" in page
    with CaptureQueriesContext(connection) as third:
        client.get(url("mapping:network"))
    assert len(third.captured_queries) == cached_count


def test_an_empty_window_renders_without_findings_about_referrals(cast, login):
    page = login(cast.root).get(url("mapping:network")).content.decode()
    assert "Isolated agencies" in page and "Stuck referrals" not in page
    assert login(cast.root).get(url("mapping:network_diagram")).status_code == 200
    assert login(cast.root).get(url("mapping:network_map_frame")).status_code == 200


def test_an_agency_page_shows_the_agency_own_referrals_whoever_opened_it_first(cast, referrals, login):
    """An admin who is also a member of another agency may count that agency's referrals, but the own-agency
    page shows only the agency's own: and a colleague opening the same page (from the cache) sees no more."""
    from stakeholders.services import membership_grant
    from tests.factories import make_user

    make_referral(case=make_case(opened_by=cast.outsider_agency), from_agency=cast.outsider_agency, to_agency=cast.cwc,
                  sent_at=referrals - timedelta(days=1))
    both = make_user("vikram", agency=cast.ahtu, role="admin")
    membership_grant(agency=cast.outsider_agency, user=both, role="caseworker")
    ego = reverse("mapping:network_agency", args=["PUNE-AHTU"])
    for user in (both, cast.arjun):
        page = login(user).get(ego, {"steps": 2}).content.decode()
        assert "CWC Pune" in page and "Patna NGO" not in page, user
        frame = login(user).get(url("mapping:network_map_frame", "agency=PUNE-AHTU")).content.decode()
        assert "Patna NGO" not in frame, user


def test_links_lead_to_pages_the_viewer_may_open(cast, referrals, login):
    """Agencies whose network page would answer 404 for this viewer link to their registry entry instead."""
    patna_network = reverse("mapping:network_agency", args=["PATNA-NGO"])
    patna_registry = reverse("stakeholders:agency_detail", args=[cast.outsider_agency.pk])
    devi = login(cast.devi)
    for name, query in (("mapping:network", ""), ("mapping:network_diagram", ""), ("mapping:network_map_frame", ""),
                        ("mapping:network_agency", "")):
        target = reverse(name, args=["PUNE-DLSA"]) if name == "mapping:network_agency" else reverse(name)
        page = devi.get(target + (f"?{query}" if query else "")).content.decode()
        assert patna_network not in page and patna_registry in page, name
    assert devi.get(patna_registry).status_code == 200
    committee = login(cast.sunil).get(reverse("mapping:network_agency", args=["PUNE-DLSA"])).content.decode()
    assert patna_network in committee

    own = login(cast.arjun).get(reverse("mapping:network_agency", args=["PUNE-AHTU"])).content.decode()
    assert reverse("mapping:network_agency", args=["PUNE-CWC"]) not in own
    assert reverse("stakeholders:agency_detail", args=[cast.cwc.pk]) in own
    frame = login(cast.arjun).get(url("mapping:network_map_frame", "agency=PUNE-AHTU")).content.decode()
    assert reverse("mapping:network_agency", args=["PUNE-CWC"]) not in frame and "Registry entry" in frame
