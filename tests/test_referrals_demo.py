"""The demo cases and referrals: legal pathways, gaps, work for every demo user, and idempotent seeding."""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from referrals.demo import SHOWCASE, seed_referrals
from referrals.models import Case, CaseIdentity, Consent, Referral, ReferralEvent
from referrals.services import consent_problem


@pytest.fixture
def demo(db):
    from coordination.demo import seed_registry_and_users

    call_command("load_geography", stdout=open("/dev/null", "w"))
    agencies = seed_registry_and_users(random.Random(2011))
    counts = seed_referrals(agencies, random.Random(2012), cases=400)
    return agencies, counts


def test_the_demo_follows_the_pathways_and_gives_every_demo_user_work(demo):
    _every_demo_users_agency_has_recent_work_including_overdue()
    _it_follows_the_pathways_with_declines_reroutes_and_stuck_referrals()
    _every_case_has_consent_fake_identity_and_consistent_events()


def _every_demo_users_agency_has_recent_work_including_overdue():
    recent = timezone.now() - timedelta(days=30)
    for key in ("ngo", "shelter", "cwc", "ahtu", "dlsa", "patna"):
        code = "DEMO-" + SHOWCASE[key]
        touching = Referral.objects.filter(sent_at__gte=recent).filter(from_agency__code=code) | \
            Referral.objects.filter(sent_at__gte=recent, to_agency__code=code)
        assert touching.exists(), code
    for code in ("DEMO-MH-PUNE-SS", "DEMO-MH-PUNE-CWC", "DEMO-MH-PUNE-DLSA"):
        assert Referral.objects.overdue().filter(to_agency__code=code).exists(), code
    assert Referral.objects.overdue().filter(from_agency__code="DEMO-BR-PATNA-NGO1").exists()


def _it_follows_the_pathways_with_declines_reroutes_and_stuck_referrals():
    purposes = dict(Referral.objects.values_list("purpose").annotate(n=Count("id")))
    for purpose in ("produce_before_cwc", "shelter_placement", "victim_compensation", "repatriation", "medical_examination"):
        assert purposes.get(purpose, 0) > 0, purpose
    assert not Referral.objects.filter(purpose="produce_before_cwc", case__age_status="adult").exists()
    assert Referral.objects.filter(status="declined", decline_reason="at_capacity").exists()
    assert Referral.objects.filter(rerouted_from__isnull=False).exists()
    assert Referral.objects.filter(status__in=["sent", "acknowledged"], sent_at__lt=timezone.now() - timedelta(days=60)).exists()
    cwc = Referral.objects.filter(purpose="produce_before_cwc", responded_at__isnull=False)
    in_time = sum(1 for r in cwc if r.responded_at <= r.due_at)
    assert in_time / cwc.count() > 0.6
    assert Referral.objects.earliest("sent_at").sent_at < timezone.now() - timedelta(days=2 * 365)


def _every_case_has_consent_fake_identity_and_consistent_events():
    assert Consent.objects.count() == Case.objects.count() == CaseIdentity.objects.count()
    assert all(consent_problem(case) is None for case in Case.objects.all()[:200])
    for referral in Referral.objects.prefetch_related("events")[:300]:
        events = list(referral.events.all())
        assert events[0].from_status == "" and events[-1].to_status == referral.status


def test_seeding_again_replaces_the_demo_cases(demo):
    agencies, counts = demo
    again = seed_referrals(agencies, random.Random(2012), cases=400)
    assert again == counts
    assert Referral.objects.count() == counts["demo referrals"]
    assert ReferralEvent.objects.count() == counts["referral events"]
