"""The AHTU monthly return's figures and the rules they obey, defined once.

Forms, the CSV import, the services and the impact report all read this module, so a rule cannot hold
on one path and not on another. The rules are pure functions on plain mappings (tested without the
database); the model adds the ones a database can check on its own (non-negative, parts within wholes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from coordination.periods import month_key


@dataclass(frozen=True)
class Indicator:
    field: str
    label: str  # the wording of the IND/S16 results table
    short: str  # column header
    in_seed_layout: bool  # one of the nine rows of the steering committee's table
    part_of: str | None = None  # this figure counts a subset of another figure of the same month


INDICATORS: tuple[Indicator, ...] = (
    Indicator("cases_registered", _("Cases registered"), _("Cases"), True),
    Indicator("rescue_operations", _("Rescue operations held"), _("Rescue ops"), True),
    Indicator("victims_rescued", _("Total victims rescued"), _("Rescued"), True),
    Indicator("minors_rescued", _("Minors among those rescued"), _("Minors"), True, part_of="victims_rescued"),
    Indicator("female_rescued", _("Women and girls among those rescued"), _("Female"), False, part_of="victims_rescued"),
    Indicator("arrested", _("Traffickers and exploiters arrested"), _("Arrested"), True),
    Indicator("customers_arrested", _("Customers among those arrested"), _("Customers"), True, part_of="arrested"),
    Indicator("chargesheets", _("Chargesheets filed"), _("Chargesheets"), False),
    Indicator("convicted", _("Traffickers convicted"), _("Convicted"), True),
    Indicator("places_closed", _("Places of exploitation closed"), _("Places closed"), True),
    Indicator(
        "rehabilitation_initiated", _("Rescued persons whose rehabilitation has been initiated"), _("Rehab. initiated"), True
    ),
)
FIELDS: tuple[str, ...] = tuple(i.field for i in INDICATORS)
BY_FIELD = {i.field: i for i in INDICATORS}
# The order of the steering committee's table: the seed layout first, then the other figures of the return.
REPORT_ORDER: tuple[Indicator, ...] = tuple(i for i in INDICATORS if i.in_seed_layout) + tuple(
    i for i in INDICATORS if not i.in_seed_layout
)

# No AHTU rescues 100,000 people in a month: a larger figure is a typing error, not a record.
MAX_MONTHLY_VALUE = 100_000

# Figures that accumulate over time: what is counted "to date" for an AHTU may not exceed its whole to date.
# (A person's rehabilitation starts after their rescue, a chargesheet is filed in a registered case, a
# convicted trafficker was arrested, possibly in an earlier month.)
CUMULATIVE_RULES: tuple[tuple[str, str], ...] = (
    ("rehabilitation_initiated", "victims_rescued"),
    ("chargesheets", "cases_registered"),
    ("convicted", "arrested"),
)


def label(field: str) -> str:
    return str(BY_FIELD[field].label)


def row_problems(values: Mapping[str, int | None]) -> dict[str, list[str]]:
    """Problems of one month's figures on their own: each is a whole number from 0 to the maximum, and
    each part is within its whole. Returns {field: [messages]} (empty when all is well)."""
    problems: dict[str, list[str]] = {}
    for field in FIELDS:
        value = values.get(field)
        if value is None:
            problems.setdefault(field, []).append(str(_("A number is required (0 if none).")))
        elif value < 0:
            problems.setdefault(field, []).append(str(_("Cannot be negative.")))
        elif value > MAX_MONTHLY_VALUE:
            problems.setdefault(field, []).append(
                str(_("%(value)s is not plausible for one month; check the figure.") % {"value": value})
            )
    for indicator in INDICATORS:
        part, whole = values.get(indicator.field), values.get(indicator.part_of) if indicator.part_of else None
        if indicator.part_of and part is not None and whole is not None and part > whole:
            problems.setdefault(indicator.field, []).append(
                str(
                    _("%(part)s (%(p)s) cannot exceed %(whole)s (%(w)s).")
                    % {"part": indicator.label, "p": part, "whole": label(indicator.part_of).lower(), "w": whole}
                )
            )
    return problems


@dataclass(frozen=True)
class CumulativeViolation:
    month: date
    part: str
    whole: str
    part_to_date: int
    whole_to_date: int

    def message(self) -> str:
        return str(
            _("By %(month)s, %(part)s to date (%(p)s) would exceed %(whole)s to date (%(w)s).")
            % {
                "month": month_key(self.month),
                "part": label(self.part).lower(),
                "p": self.part_to_date,
                "whole": label(self.whole).lower(),
                "w": self.whole_to_date,
            }
        )


def cumulative_violations(
    months: Iterable[tuple[date, Mapping[str, int | None]]], *, from_month: date | None = None
) -> list[CumulativeViolation]:
    """Check the "to date" rules over one AHTU's returns (every month it filed, any order).

    Only months from `from_month` on are reported: figures before it are unchanged by the edit being
    checked, so a problem there is not this edit's (an excess already there before it is tolerated, not
    made worse). One violation per rule: the first month it fails.
    """
    totals = {field: 0 for rule in CUMULATIVE_RULES for field in rule}
    tolerated = {part: 0 for part, _whole in CUMULATIVE_RULES}
    reported: set[str] = set()
    violations = []
    for month, values in sorted(months, key=lambda item: item[0]):
        for field in totals:
            totals[field] += values.get(field) or 0
        if from_month is not None and month < from_month:
            for part, whole in CUMULATIVE_RULES:
                tolerated[part] = max(0, totals[part] - totals[whole])
            continue
        for part, whole in CUMULATIVE_RULES:
            if part not in reported and totals[part] - totals[whole] > tolerated[part]:
                reported.add(part)
                violations.append(CumulativeViolation(month, part, whole, totals[part], totals[whole]))
    return violations
