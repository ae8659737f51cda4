"""Legal deadlines: purpose × minor/adult -> how long the receiver has, from when, and on what authority.

Sources are in ../shared/reference/domain-india.md ("Referral types and rules"); each rule names its
statute so the figure can be checked against the gazetted text. A referral's deadline is met when the
receiver accepts it (the child is before the CWC, the shelter has taken the person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from referrals.vocab import AgeStatus, Purpose


@dataclass(frozen=True)
class DeadlineRule:
    slug: str
    purpose: str
    applies_to: frozenset  # AgeStatus values
    within: timedelta
    from_rescue: bool  # counted from the rescue time (when known) instead of from sending
    source: str
    note: str = ""

    def due_at(self, *, sent_at: datetime, rescued_at: datetime | None) -> datetime:
        start = rescued_at if (self.from_rescue and rescued_at and rescued_at <= sent_at) else sent_at
        return start + self.within


_MINOR = frozenset({AgeStatus.MINOR, AgeStatus.UNDETERMINED})  # until age is determined, treat as a child
_ADULT = frozenset({AgeStatus.ADULT})
_ANY = _MINOR | _ADULT

RULES: tuple[DeadlineRule, ...] = (
    DeadlineRule("cwc_24h", Purpose.PRODUCE_BEFORE_CWC, _ANY, timedelta(hours=24), True,
                 "JJ Act 2015 s.31", "Produce a child before the CWC within 24 hours (journey time excluded)."),
    DeadlineRule("medical_24h", Purpose.MEDICAL_EXAMINATION, _ANY, timedelta(hours=24), True,
                 "BNSS 2023 s.184; POCSO Rules 2020", "Medical examination within 24 hours of the information."),
    DeadlineRule("magistrate_forthwith", Purpose.MAGISTRATE_PRODUCTION, _ADULT, timedelta(hours=24), True,
                 "ITPA 1956 s.15(5)", "Produce persons removed at a rescue before the magistrate forthwith (24 h used)."),
    DeadlineRule("itpa_custody_10d", Purpose.SHELTER_PLACEMENT, _ADULT, timedelta(days=10), True,
                 "ITPA 1956 s.17(1)", "Intermediate custody may not exceed 10 days: a placement decision is due."),
    DeadlineRule("sir_15d", Purpose.HOME_INVESTIGATION, _MINOR, timedelta(days=15), False,
                 "JJ Act 2015 s.36", "Social investigation report within 15 days."),
    DeadlineRule("dlsa_2m", Purpose.VICTIM_COMPENSATION, _ANY, timedelta(days=61), False,
                 "BNSS 2023 s.396", "The DLSA completes the compensation enquiry within two months."),
    DeadlineRule("bonded_24h", Purpose.BONDED_LABOUR_RELEASE, _ANY, timedelta(hours=24), True,
                 "BLSA 1976 s.12; Delhi SOP 2018", "Prima-facie order and release certificate within 24 hours (state SOP)."),
)

_BY_KEY = {(rule.purpose, status): rule for rule in RULES for status in rule.applies_to}


def rule_for(purpose: str, age_status: str) -> DeadlineRule | None:
    return _BY_KEY.get((purpose, age_status))


def due_at_for(*, purpose: str, age_status: str, sent_at: datetime, rescued_at: datetime | None) -> datetime | None:
    rule = rule_for(purpose, age_status)
    return rule.due_at(sent_at=sent_at, rescued_at=rescued_at) if rule else None
