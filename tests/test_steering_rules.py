"""The return's rules, month arithmetic and the SVG charts: pure functions, no database."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from coordination.charts import Series, bar_chart, line_chart, nice_ceiling
from coordination.indicators import FIELDS, MAX_MONTHLY_VALUE, REPORT_ORDER, cumulative_violations, row_problems
from coordination.periods import add_months, due_at, is_late, last_ended_month, months_between, parse_month
from tests.steering_fixtures import figures

IST = "Asia/Kolkata"


class TestMonths:
    @pytest.mark.parametrize("text, expected", [
        ("2024-03", date(2024, 3, 1)), (" 2024-3 ", date(2024, 3, 1)), ("2024-13", None), ("2024-00", None),
        ("24-03", None), ("2024/03", None), ("", None), ("March 2024", None),
    ])
    def test_it_reads_months_written_yyyy_mm(self, text, expected):
        assert parse_month(text) == expected

    def test_it_counts_months_across_years(self):
        assert add_months(date(2024, 11, 1), 3) == date(2025, 2, 1)
        assert add_months(date(2024, 1, 1), -1) == date(2023, 12, 1)
        assert months_between(date(2024, 11, 1), date(2025, 2, 1)) == [
            date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]
        assert months_between(date(2025, 2, 1), date(2024, 11, 1)) == []
        assert last_ended_month(date(2025, 1, 15)) == date(2024, 12, 1)

    def test_a_return_is_due_at_the_end_of_the_due_day_of_the_next_month(self):
        deadline = due_at(date(2024, 12, 1), due_day=10, tz=IST)
        assert deadline == datetime(2025, 1, 11, 0, 0, tzinfo=ZoneInfo(IST))
        assert not is_late(date(2024, 12, 1), datetime(2025, 1, 10, 23, 59, tzinfo=ZoneInfo(IST)), due_day=10, tz=IST)
        assert is_late(date(2024, 12, 1), datetime(2025, 1, 11, 0, 0, tzinfo=ZoneInfo(IST)), due_day=10, tz=IST)
        assert not is_late(date(2024, 12, 1), None, due_day=10, tz=IST)


class TestOneMonthsFigures:
    def test_good_figures_have_no_problem(self):
        assert row_problems(figures(victims_rescued=10, minors_rescued=10, female_rescued=10, arrested=4, customers_arrested=4)) == {}

    @pytest.mark.parametrize("part, whole", [
        ("minors_rescued", "victims_rescued"), ("female_rescued", "victims_rescued"), ("customers_arrested", "arrested"),
    ])
    def test_a_part_may_equal_its_whole_but_not_exceed_it(self, part, whole):
        assert row_problems(figures(**{part: 7, whole: 7})) == {}
        problems = row_problems(figures(**{part: 8, whole: 7}))
        assert list(problems) == [part]
        assert "cannot exceed" in problems[part][0]

    @pytest.mark.parametrize("name", FIELDS)
    def test_every_figure_refuses_negatives_and_blanks(self, name):
        assert name in row_problems(figures(**{name: -1}))
        assert name in row_problems(figures(**{name: None}))
        assert row_problems(figures(**{name: 0})) == {}

    def test_an_implausible_figure_is_refused_at_the_maximum_plus_one(self):
        assert row_problems(figures(cases_registered=MAX_MONTHLY_VALUE)) == {}
        assert "cases_registered" in row_problems(figures(cases_registered=MAX_MONTHLY_VALUE + 1))

    def test_the_report_keeps_the_seed_layout_first(self):
        assert [i.field for i in REPORT_ORDER][:9] == [
            "cases_registered", "rescue_operations", "victims_rescued", "minors_rescued", "arrested",
            "customers_arrested", "convicted", "places_closed", "rehabilitation_initiated",
        ]


class TestFiguresToDate:
    JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)

    def test_rehabilitation_may_reach_but_not_pass_the_persons_rescued_to_date(self):
        series = [(self.JAN, figures(victims_rescued=5)), (self.FEB, figures(rehabilitation_initiated=3)),
                  (self.MAR, figures(rehabilitation_initiated=2))]
        assert cumulative_violations(series) == []
        series[2] = (self.MAR, figures(rehabilitation_initiated=3))
        [violation] = cumulative_violations(series)
        assert (violation.month, violation.part, violation.part_to_date, violation.whole_to_date) == (
            self.MAR, "rehabilitation_initiated", 6, 5)
        assert "2024-03" in violation.message()

    @pytest.mark.parametrize("part, whole", [("chargesheets", "cases_registered"), ("convicted", "arrested")])
    def test_chargesheets_and_convictions_stay_within_cases_and_arrests_to_date(self, part, whole):
        assert cumulative_violations([(self.JAN, figures(**{whole: 2})), (self.FEB, figures(**{part: 2}))]) == []
        [violation] = cumulative_violations([(self.JAN, figures(**{whole: 2})), (self.FEB, figures(**{part: 3}))])
        assert violation.part == part

    def test_order_does_not_matter_and_only_months_from_the_edit_are_blamed(self):
        series = [(self.FEB, figures(rehabilitation_initiated=4)), (self.JAN, figures(victims_rescued=1))]
        assert [v.month for v in cumulative_violations(series)] == [self.FEB]
        # A problem before the month being edited is not this edit's.
        assert cumulative_violations([(self.JAN, figures(convicted=1)), (self.MAR, figures())], from_month=self.MAR) == []


class TestCharts:
    def test_axis_maxima_are_round(self):
        assert [nice_ceiling(v) for v in (0, 3, 7, 12, 130, 2500, 2501)] == [1, 5, 10, 20, 200, 2500, 5000]

    def test_a_line_chart_draws_each_series_and_labels_points(self):
        svg = line_chart([Series("Rescued", [1, 20, 40]), Series("Arrested", [5, 6, 7], "s2")], ["2024-01", "2024-02", "2024-03"],
                         title="Trend")
        assert svg.count('<path class="line') == 2
        assert "<title>Trend</title>" in svg and "2024-02: Rescued 20" in svg
        assert "http" not in svg  # nothing to fetch

    @pytest.mark.parametrize("labels", [
        [f"2025-{m:02d}" for m in range(1, 13)],  # the impact page's default year
        [f"2025-{m:02d}" for m in range(1, 12)] + ["December 2025 (latest)"],
        ["a", "b"], [f"{2000 + n}-01" for n in range(30)],
    ])
    def test_month_labels_never_overlap(self, labels):
        import re

        svg = line_chart([Series("Rescued", list(range(len(labels))))], labels, title="t")
        extents = []
        for x, anchor, text in re.findall(r'<text class="axis" x="([\d.]+)" y="232" text-anchor="(\w+)">([^<]*)</text>', svg):
            width = 6.2 * len(text)
            start = float(x) - (width / 2 if anchor == "middle" else width if anchor == "end" else 0)
            extents.append((start, start + width))
        assert extents and labels[0] in svg
        assert all(end <= next_start for (_s, end), (next_start, _e) in zip(extents, extents[1:])), extents
        assert extents[-1][1] <= 760 and extents[0][0] >= 0
        if len(labels) <= 24:
            assert f">{labels[-1]}</text>" in svg  # the latest month is always named

    def test_a_suppressed_point_is_never_drawn_at_its_height(self):
        svg = line_chart([Series("Minors", [40, "<5", 30])], ["a", "b", "c"], title="t")
        assert "b: Minors &lt;5" in svg
        assert svg.count('class="dot') == 2 and svg.count("<path") == 2  # the line breaks around it

    def test_a_bar_chart_writes_values_and_escapes_labels(self):
        svg = bar_chart([("<Goa>", 12), ("Bihar", "<5"), ("Empty", None)], title="By state")
        assert "&lt;Goa&gt;" in svg and "<Goa>" not in svg
        assert svg.count("<rect") == 1
        assert "&lt;5" in svg and "—" in svg


def test_an_old_excess_is_tolerated_but_not_made_worse():
    jan, mar = date(2024, 1, 1), date(2024, 3, 1)
    assert cumulative_violations([(jan, figures(convicted=1)), (mar, figures(convicted=1))], from_month=mar)[0].part == "convicted"
