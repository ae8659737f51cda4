"""The impact table on planted returns whose totals are known: the selector, the page, the CSV export and
`impact_report`; approved returns only; suppression of small counts; a constant number of queries."""

import csv
import io
import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination.indicators import FIELDS
from coordination.selectors import ImpactFilter, impact_table
from tests.factories import make_agency, make_district, make_user
from tests.steering_fixtures import plant_return

IMPACT = reverse("coordination:impact")
JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
PUNE_JAN = dict(cases_registered=10, rescue_operations=6, victims_rescued=20, minors_rescued=6, female_rescued=15, arrested=12,
                customers_arrested=5, chargesheets=5, convicted=2, places_closed=1, rehabilitation_initiated=10)
PUNE_FEB = dict(cases_registered=5, rescue_operations=2, victims_rescued=10, minors_rescued=3, female_rescued=9, arrested=8,
                customers_arrested=1, chargesheets=5, convicted=1, places_closed=0, rehabilitation_initiated=12)
KOL_JAN = dict(cases_registered=7, rescue_operations=3, victims_rescued=30, minors_rescued=25, female_rescued=30, arrested=9,
               customers_arrested=0, chargesheets=7, convicted=0, places_closed=5, rehabilitation_initiated=30)


def total(*rows):
    return {name: sum(row.get(name, 0) for row in rows) for name in FIELDS}


@pytest.fixture
def planted(cast):
    kolkata_ahtu = make_agency(code="KOL-AHTU", name="AHTU Kolkata", kind="ahtu", district=cast.geo.kolkata)
    plant_return(cast.ahtu, JAN, **PUNE_JAN)
    plant_return(cast.ahtu, FEB, **PUNE_FEB)
    plant_return(kolkata_ahtu, JAN, **KOL_JAN)
    # None of these count: only approved returns do.
    plant_return(cast.ahtu, MAR, status="submitted", victims_rescued=100, cases_registered=100)
    plant_return(kolkata_ahtu, FEB, status="returned", victims_rescued=100)
    plant_return(kolkata_ahtu, MAR, status="draft", victims_rescued=100)
    return kolkata_ahtu


class TestTheTable:
    def test_totals_months_states_and_ahtus_add_up(self, cast, planted):
        table = impact_table(ImpactFilter())
        assert table.totals == total(PUNE_JAN, PUNE_FEB, KOL_JAN)
        assert (table.returns, table.ahtus) == (3, 2)
        assert [(row["month"], row["victims_rescued"]) for row in table.by_month] == [(JAN, 50), (FEB, 10)]
        states = {row["state"]: row for row in table.by_state}
        assert states["Maharashtra"]["arrested"] == 20 and states["Maharashtra"]["ahtus"] == 1
        assert states["West Bengal"]["minors_rescued"] == 25
        ahtus = {row["code"]: row for row in table.by_ahtu}
        assert ahtus["PUNE-AHTU"]["months"] == 2 and ahtus["PUNE-AHTU"]["rehabilitation_initiated"] == 22

    def test_a_period_and_a_set_of_states_narrow_it(self, cast, planted):
        assert impact_table(ImpactFilter(since=FEB)).totals == total(PUNE_FEB)
        assert impact_table(ImpactFilter(until=JAN, state_ids=(cast.geo.mh.pk,))).totals == total(PUNE_JAN)
        table = impact_table(ImpactFilter(since=JAN, until=MAR, state_ids=(cast.geo.wb.pk,)))
        assert table.totals == total(KOL_JAN)
        # Every month of the period is listed, empty ones as zeros.
        assert [row["victims_rescued"] for row in table.by_month] == [30, 0, 0]

    def test_a_unit_that_is_no_longer_an_ahtu_keeps_its_name_in_the_table(self, cast, planted):
        planted.__class__.objects.filter(pk=planted.pk).update(kind="police")
        assert {row["name"] for row in impact_table(ImpactFilter()).by_ahtu} == {"AHTU Pune", "AHTU Kolkata"}

    def test_nothing_approved_is_an_empty_table(self, cast):
        table = impact_table(ImpactFilter(since=JAN, until=FEB))
        assert table.totals == {name: 0 for name in FIELDS} and table.by_state == [] and len(table.by_month) == 2


class TestThePage:
    def test_it_shows_the_totals_to_a_superuser(self, login, cast, planted):
        response = login(cast.root).get(IMPACT, {"since": "2024-01", "until": "2024-12"})
        assert response.status_code == 200
        assert response.context["table"].totals == total(PUNE_JAN, PUNE_FEB, KOL_JAN)
        assert response.context["suppressed"] is False
        html = response.content.decode()
        assert re.search(r"Total victims rescued</th><td class=\"num\">60</td>", html)
        assert "<svg" in html and "http://" not in html.split("<main", 1)[1]

    def test_it_filters_by_state_and_period_from_the_query(self, login, cast, planted):
        response = login(cast.root).get(IMPACT, {"since": "2024-02", "until": "2024-02", "state": [cast.geo.mh.pk]})
        assert response.context["table"].totals == total(PUNE_FEB)

    def test_a_bad_period_falls_back_to_the_default_with_a_message(self, login, cast, planted):
        response = login(cast.root).get(IMPACT, {"since": "2024-05", "until": "2024-01"})
        assert response.status_code == 200 and response.context["form"].errors

    def test_the_csv_has_every_breakdown_with_the_returns_columns(self, login, cast, planted):
        response = login(cast.root).get(IMPACT, {"since": "2024-01", "until": "2024-02", "format": "csv"})
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        by_kind = {}
        for r in rows:
            by_kind.setdefault(r["breakdown"], []).append(r)
        assert by_kind["total"][0]["victims_rescued"] == "60"
        assert [r["month"] for r in by_kind["month"]] == ["2024-01", "2024-02"]
        assert {r["state"] for r in by_kind["state"]} == {"Maharashtra", "West Bengal"}
        assert {r["ahtu_code"] for r in by_kind["ahtu"]} == {"PUNE-AHTU", "KOL-AHTU"}
        # Exports are suppressed whoever asks: Pune's one customer in February never leaves the system.
        assert by_kind["total"][0]["customers_arrested"] == "6"
        feb = next(r for r in by_kind["month"] if r["month"] == "2024-02")
        assert feb["customers_arrested"] == "<5" and feb["convicted"] == "<5" and feb["places_closed"] == "0"

    @pytest.mark.parametrize("user, status", [("sunil", 200), ("devi", 200), ("arjun", 200), ("omar", 200), ("root", 200)])
    def test_who_reads_it(self, login, cast, user, status):
        assert login(getattr(cast, user)).get(IMPACT).status_code == status

    def test_a_user_of_no_agency_is_refused_and_anonymous_users_log_in(self, client, login, cast):
        assert client.get(IMPACT).status_code == 302
        assert login(make_user("nobody")).get(IMPACT).status_code == 403

    def test_it_uses_the_same_number_of_queries_whatever_the_data(self, login, cast, planted):
        client = login(cast.sunil)
        client.get(IMPACT, {"since": "2023-01", "until": "2024-12"})
        with CaptureQueriesContext(connection) as small:
            client.get(IMPACT, {"since": "2023-01", "until": "2024-12"})
        for n in range(12):
            district = make_district(f"D{n}", cast.geo.bihar)
            ahtu = make_agency(kind="ahtu", district=district)
            for month in range(1, 13):
                plant_return(ahtu, date(2023, month, 1), victims_rescued=n, cases_registered=1)
        with CaptureQueriesContext(connection) as large:
            response = client.get(IMPACT, {"since": "2023-01", "until": "2024-12"})
        assert response.context["table"].ahtus == 14
        assert len(large) == len(small) <= 15


class TestSuppression:
    """A count of 3 never reaches a committee page or an export."""

    @pytest.fixture
    def three(self, cast):
        # Every figure is 0 or at least 5, except convictions: 3 in all (one AHTU, one month).
        plant_return(cast.ahtu, JAN, victims_rescued=40, minors_rescued=10, arrested=20, cases_registered=12, convicted=3)
        plant_return(cast.ahtu, FEB, victims_rescued=50, arrested=30, cases_registered=9)

    def test_the_committee_page_shows_it_as_less_than_five(self, login, cast, three):
        html = login(cast.sunil).get(IMPACT, {"since": "2024-01", "until": "2024-02"}).content.decode()
        assert "Traffickers convicted</th><td class=\"num\">&lt;5</td>" in html
        assert not re.search(r">\s*3\s*<", html)
        assert "Convicted 3" not in html  # nor in a chart's tooltip
        assert "Convicted &lt;5" in html

    def test_a_state_supervisor_sees_their_own_state_unsuppressed_but_not_all_states(self, login, cast, three):
        client = login(cast.devi)
        assert client.get(IMPACT, {"since": "2024-01", "until": "2024-02", "state": [cast.geo.mh.pk]}).context["suppressed"] is False
        assert client.get(IMPACT, {"since": "2024-01", "until": "2024-02"}).context["suppressed"] is True
        assert login(cast.mitra).get(IMPACT, {"state": [cast.geo.mh.pk]}).context["suppressed"] is True

    def test_no_export_carries_it(self, login, cast, three):
        exported = login(cast.root).get(IMPACT, {"since": "2024-01", "until": "2024-02", "format": "csv"}).content.decode()
        document = StringIO()
        call_command("impact_report", "--format", "json", stdout=document)
        text, table = StringIO(), StringIO()
        call_command("impact_report", "--format", "text", stdout=text)
        call_command("impact_report", "--format", "csv", stdout=table)
        for output in (exported, table.getvalue()):
            convicted = [r["convicted"] for r in csv.DictReader(io.StringIO(output))]
            assert "3" not in convicted and "<5" in convicted
        data = json.loads(document.getvalue())
        assert data["totals"]["convicted"] == "<5" and data["suppressed_below"] == 5
        assert all(row["convicted"] in (0, "<5") for row in data["by_month"] + data["by_state"] + data["by_ahtu"])
        assert "<5" in text.getvalue() and not re.search(r"convicted\s+3\b", text.getvalue())

    def test_sorting_by_a_figure_does_not_rank_the_suppressed_counts(self, login, cast):
        for name, convicted in (("AHTU A", 4), ("AHTU B", 1), ("AHTU C", 10)):
            plant_return(make_agency(kind="ahtu", name=name, district=cast.geo.mumbai), JAN, arrested=20, convicted=convicted)
        period = {"since": "2024-01", "until": "2024-01"}

        def order(user, sort):
            return [row["name"] for row in login(user).get(IMPACT, {**period, "sort": sort}).context["ahtu_page"]]

        # On screen, unsuppressed: by the figure.
        assert order(cast.root, "convicted") == ["AHTU C", "AHTU A", "AHTU B"]
        # Suppressed: the "<5" counts tie and keep the order of their names, whichever way.
        assert order(cast.sunil, "convicted") == ["AHTU C", "AHTU B", "AHTU A"]
        assert order(cast.sunil, "-convicted") == ["AHTU A", "AHTU B", "AHTU C"]

    def test_the_threshold_is_a_setting(self, login, cast, three, settings):
        settings.SMALL_COUNT_THRESHOLD = 3
        html = login(cast.sunil).get(IMPACT, {"since": "2024-01", "until": "2024-02"}).content.decode()
        assert "Traffickers convicted</th><td class=\"num\">3</td>" in html


class TestTheCommand:
    def test_json_keys_are_the_returns_columns(self, cast, planted):
        out = StringIO()
        call_command("impact_report", "--since", "2024-01", "--until", "2024-02", "--format", "json", stdout=out)
        data = json.loads(out.getvalue())
        assert set(data["totals"]) == set(FIELDS)
        assert data["totals"]["victims_rescued"] == 60 and data["totals"]["cases_registered"] == 22
        assert (data["since"], data["until"], data["approved_returns"], data["ahtus"]) == ("2024-01", "2024-02", 3, 2)
        assert [m["month"] for m in data["by_month"]] == ["2024-01", "2024-02"]
        assert {row["ahtu_code"] for row in data["by_ahtu"]} == {"PUNE-AHTU", "KOL-AHTU"}

    def test_states_by_name_any_case_and_repeated(self, cast, planted):
        out = StringIO()
        call_command("impact_report", "--state", "west bengal", "--format", "json", stdout=out)
        assert json.loads(out.getvalue())["totals"]["victims_rescued"] == 30
        out = StringIO()
        call_command("impact_report", "--state", "Maharashtra", "--state", "West Bengal", "--format", "json", stdout=out)
        assert json.loads(out.getvalue())["totals"]["victims_rescued"] == 60
        with pytest.raises(CommandError, match="Unknown state 'Atlantis'"):
            call_command("impact_report", "--state", "Atlantis", stdout=StringIO())

    def test_it_names_the_states_asked_for_even_without_returns(self, cast, planted):
        out = StringIO()
        call_command("impact_report", "--state", "Bihar", "--format", "text", stdout=out)
        assert out.getvalue().splitlines()[0] == "AHTU results, first return to latest return; Bihar"
        out = StringIO()
        call_command("impact_report", "--state", "bihar,west bengal", "--format", "json", stdout=out)
        data = json.loads(out.getvalue())
        assert (data["states"], data["totals"]["victims_rescued"]) == (["Bihar", "West Bengal"], 30)
        out = StringIO()
        call_command("impact_report", "--format", "text", stdout=out)
        assert out.getvalue().splitlines()[0].endswith("; all states")

    def test_bad_months_are_refused(self, cast):
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("impact_report", "--since", "Jan 2024", stdout=StringIO())
        with pytest.raises(CommandError, match="after"):
            call_command("impact_report", "--since", "2024-05", "--until", "2024-01", stdout=StringIO())

    def test_text_lists_the_seed_layout(self, cast, planted):
        out = StringIO()
        call_command("impact_report", "--format", "text", stdout=out)
        text = out.getvalue()
        assert text.index("Cases registered") < text.index("Rescue operations held") < text.index("Traffickers convicted")
        assert re.search(r"Total victims rescued\s+60", text)
