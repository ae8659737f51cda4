"""The two gates on referral data: `visible_to` (rows a user may read) and `for_aggregates` (rows a user may count)."""

from referrals.models import Case, Referral
from tests.factories import make_case, make_referral


def test_a_referral_is_visible_to_both_sides_and_the_states_supervisor_only(cast):
    case = make_case(opened_by=cast.ngo)
    referral = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, purpose="shelter_placement")
    for user in (cast.asha, cast.bina, cast.chitra, cast.devi, cast.root):
        assert list(Referral.objects.visible_to(user)) == [referral], user
        assert list(Case.objects.visible_to(user)) == [case], user
    for user in (cast.omar, cast.mitra, cast.sunil, cast.kavita):
        assert not Referral.objects.visible_to(user).exists(), user
        assert not Case.objects.visible_to(user).exists(), user


def test_the_committee_counts_everything_but_reads_nothing(cast):
    case = make_case(opened_by=cast.ngo)
    make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter)
    make_referral(case=make_case(opened_by=cast.outsider_agency), from_agency=cast.outsider_agency, to_agency=cast.dlsa)
    assert Referral.objects.for_aggregates(cast.sunil).count() == 2
    assert Referral.objects.visible_to(cast.sunil).count() == 0
    assert Referral.objects.for_aggregates(cast.mitra).count() == 0
    assert Referral.objects.for_aggregates(cast.omar).count() == 1
    assert Case.objects.for_aggregates(cast.sunil).count() == 2


def test_anonymous_users_get_nothing(cast, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    make_referral(case=make_case(opened_by=cast.ngo), from_agency=cast.ngo, to_agency=cast.shelter)
    assert not Referral.objects.visible_to(AnonymousUser()).exists()
    assert not Referral.objects.for_aggregates(AnonymousUser()).exists()


def test_the_receiving_side_of_the_gate_is_part_of_the_gate(cast):
    case = make_case(opened_by=cast.ngo)
    sent = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter)
    make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, status="draft")
    make_referral(case=case, from_agency=cast.shelter, to_agency=cast.dlsa)
    for user in (cast.chitra, cast.asha, cast.devi, cast.omar, cast.root):
        received = set(Referral.objects.received_by(user))
        assert received <= set(Referral.objects.visible_to(user)), user
    assert list(Referral.objects.received_by(cast.chitra)) == [sent]
