"""Legal deadlines: each rule of the table sets `due_at` from the right start, and overdue means what it says."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from referrals.deadlines import RULES, due_at_for, rule_for
from referrals.models import Referral
from tests.referrals_fixtures import case_with_consent, refer

IST = ZoneInfo("Asia/Kolkata")
RESCUE = datetime(2026, 3, 1, 22, 0, tzinfo=IST)
SENT = datetime(2026, 3, 2, 6, 30, tzinfo=IST)

# purpose, age status, expected rule, expected due
EXPECTED = [
    ("produce_before_cwc", "minor", "cwc_24h", RESCUE + timedelta(hours=24)),
    ("produce_before_cwc", "undetermined", "cwc_24h", RESCUE + timedelta(hours=24)),
    ("medical_examination", "adult", "medical_24h", RESCUE + timedelta(hours=24)),
    ("medical_examination", "minor", "medical_24h", RESCUE + timedelta(hours=24)),
    ("magistrate_production", "adult", "magistrate_forthwith", RESCUE + timedelta(hours=24)),
    ("shelter_placement", "adult", "itpa_custody_10d", RESCUE + timedelta(days=10)),
    ("home_investigation", "minor", "sir_15d", SENT + timedelta(days=15)),
    ("victim_compensation", "adult", "dlsa_2m", SENT + timedelta(days=61)),
    ("victim_compensation", "minor", "dlsa_2m", SENT + timedelta(days=61)),
    ("bonded_labour_release", "adult", "bonded_24h", RESCUE + timedelta(hours=24)),
]


@pytest.mark.parametrize("purpose, age_status, slug, due", EXPECTED)
def test_each_rule_counts_from_the_right_moment(purpose, age_status, slug, due):
    assert rule_for(purpose, age_status).slug == slug
    assert due_at_for(purpose=purpose, age_status=age_status, sent_at=SENT, rescued_at=RESCUE) == due


@pytest.mark.parametrize("purpose, age_status", [
    ("shelter_placement", "minor"), ("magistrate_production", "minor"), ("home_investigation", "adult"),
    ("counselling", "adult"), ("legal_aid", "minor"), ("other", "adult"),
])
def test_purposes_without_a_statutory_clock_have_no_deadline(purpose, age_status):
    assert due_at_for(purpose=purpose, age_status=age_status, sent_at=SENT, rescued_at=RESCUE) is None


def test_without_a_rescue_time_the_clock_starts_when_sent():
    assert due_at_for(purpose="produce_before_cwc", age_status="minor", sent_at=SENT, rescued_at=None) == SENT + timedelta(hours=24)


def test_a_rescue_time_after_sending_is_ignored():
    later = SENT + timedelta(hours=3)
    assert due_at_for(purpose="medical_examination", age_status="adult", sent_at=SENT, rescued_at=later) == SENT + timedelta(hours=24)


def test_every_rule_names_its_statute():
    assert all(rule.source and rule.within > timedelta(0) for rule in RULES)


def test_sending_applies_the_rule_and_overdue_follows_the_clock(cast):
    rescued = timezone.now() - timedelta(hours=30)
    child = case_with_consent(cast, age_status="minor", rescued_at=rescued)
    late = refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc")
    assert late.due_at == rescued + timedelta(hours=24)
    assert late.is_overdue
    fresh = refer(cast, case=case_with_consent(cast, age_status="minor", rescued_at=timezone.now() - timedelta(hours=2)),
                  to=cast.cwc, purpose="produce_before_cwc")
    assert not fresh.is_overdue
    assert list(Referral.objects.overdue()) == [late]
    Referral.objects.filter(pk=late.pk).update(status="accepted")
    assert not Referral.objects.overdue().exists()
