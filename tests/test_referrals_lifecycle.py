"""The referral lifecycle: every transition valid and invalid, the consent gate, beds, custody, re-routing,
and (on PostgreSQL) two people acting at once."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from referrals import services
from referrals.models import AuditEvent, Case, Referral, ReferralEvent
from referrals.vocab import Status
from tests.factories import make_case
from tests.referrals_fixtures import case_with_consent, consent_for, refer

ALL = [s.value for s in Status]
# action -> (statuses it may start from, status it leads to, who acts)
VALID = {
    "send": ({"draft"}, "sent", "asha"),
    "acknowledge": ({"sent"}, "acknowledged", "chitra"),
    "accept": ({"sent", "acknowledged"}, "accepted", "chitra"),
    "decline": ({"sent", "acknowledged"}, "declined", "chitra"),
    "complete": ({"accepted"}, "completed", "chitra"),
    "withdraw": ({"draft", "sent", "acknowledged"}, "withdrawn", "asha"),
}
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SQLite serialises writers)")
KWARGS = {"decline": {"reason": "not_eligible"}, "complete": {"outcome": "placed"}}


def _referral_in(cast, status, purpose="counselling"):
    referral = refer(cast, purpose=purpose, to=cast.shelter, send=status != "draft")
    if status not in {"draft", "sent"}:
        Referral.objects.filter(pk=referral.pk).update(status=status)
        referral.refresh_from_db()
    return referral


@pytest.mark.parametrize("action", list(VALID))
@pytest.mark.parametrize("status", ALL)
def test_each_transition_is_allowed_only_from_its_statuses(cast, action, status):
    allowed_from, to_status, actor = VALID[action]
    referral = _referral_in(cast, status)
    events_before = referral.events.count()
    audits_before = AuditEvent.objects.filter(action="transition").count()
    service = services.ACTION_SERVICES[action]
    if status in allowed_from:
        result = service(referral=referral, by=getattr(cast, actor), **KWARGS.get(action, {}))
        assert result.status == to_status
        referral.refresh_from_db()
        assert referral.status == to_status
        event = referral.events.order_by("-pk").first()
        assert (event.from_status, event.to_status, event.actor) == (status, to_status, getattr(cast, actor))
        assert AuditEvent.objects.filter(action="transition", object_ref=referral.reference).count() == audits_before + 1
    else:
        with pytest.raises(ValidationError) as refused:
            service(referral=referral, by=getattr(cast, actor), **KWARGS.get(action, {}))
        assert "Nothing was changed" in " ".join(refused.value.messages)
        referral.refresh_from_db()
        assert referral.status == status
        assert referral.events.count() == events_before
        assert AuditEvent.objects.filter(action="transition").count() == audits_before


@pytest.mark.parametrize("action", ["acknowledge", "accept", "decline", "complete"])
@pytest.mark.parametrize("who", ["asha", "bina", "nina", "devi", "root", "kavita"])
def test_only_the_receivers_caseworkers_answer(cast, action, who):
    referral = _referral_in(cast, "accepted" if action == "complete" else "sent")
    with pytest.raises(PermissionDenied):
        services.ACTION_SERVICES[action](referral=referral, by=getattr(cast, who), **KWARGS.get(action, {}))
    referral.refresh_from_db()
    assert referral.status == ("accepted" if action == "complete" else "sent")


@pytest.mark.parametrize("who", ["chitra", "bina", "devi", "root"])
def test_only_the_senders_caseworkers_withdraw(cast, who):
    referral = _referral_in(cast, "sent")
    with pytest.raises(PermissionDenied):
        services.referral_withdraw(referral=referral, by=getattr(cast, who))
    services.referral_withdraw(referral=referral, by=cast.nina, note="Person moved")
    referral.refresh_from_db()
    assert referral.status == "withdrawn" and referral.closed_at is not None


def test_a_sent_referral_gets_its_deadline_identity_flag_and_states(cast):
    case = case_with_consent(cast, age_status="minor", gender="female")
    case.rescued_at = case.created_at
    case.save()
    referral = refer(cast, case=case, to=cast.cwc, purpose="produce_before_cwc")
    assert referral.status == "sent" and referral.sent_at is not None
    assert referral.deadline_rule == "cwc_24h"
    assert referral.due_at == case.rescued_at + __import__("datetime").timedelta(hours=24)
    assert referral.identity_shared is True
    assert (referral.from_state_id, referral.to_state_id) == (cast.ngo.state_id, cast.cwc.state_id)
    counselling = refer(cast, case=case, to=cast.shelter, purpose="counselling")
    assert counselling.identity_shared is False and counselling.due_at is None


def test_a_referral_needs_consent_or_a_legal_basis(cast):
    case = make_case(opened_by=cast.ngo)
    with pytest.raises(ValidationError, match="No active consent or legal basis"):
        refer(cast, case=case)
    assert not Referral.objects.exists()
    consent = consent_for(case, cast.asha, cast.ngo)
    refer(cast, case=case)
    services.consent_withdraw(consent=consent, by=cast.asha)
    with pytest.raises(ValidationError, match="No active consent"):
        refer(cast, case=case, to=cast.dlsa, purpose="legal_aid")


def test_a_childs_own_consent_is_not_enough(cast):
    child = make_case(opened_by=cast.ngo, age_status="minor")
    consent_for(child, cast.asha, cast.ngo, given_by="person")
    with pytest.raises(ValidationError, match="child's own consent"):
        refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc")
    consent_for(child, cast.asha, cast.ngo, given_by="legal_basis", legal_basis="child_function", statutory_reference="JJ Act 2015 s.31")
    assert refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc").status == "sent"


def test_a_legal_basis_needs_its_statute(cast):
    case = make_case(opened_by=cast.ngo)
    with pytest.raises(ValidationError):
        services.consent_record(case=case, by=cast.asha, given_by="legal_basis", legal_basis="court_order", scope="x")
    with pytest.raises(ValidationError):
        services.consent_record(case=case, by=cast.asha, given_by="legal_basis", legal_basis="consent", scope="x",
                                statutory_reference="x")
    assert not case.consents.exists()


def test_self_referral_is_refused(cast):
    with pytest.raises(ValidationError, match="cannot refer to itself"):
        refer(cast, to=cast.ngo, purpose="counselling")
    assert not Referral.objects.exists()


def test_an_agency_without_a_stake_in_the_case_cannot_refer_it(cast):
    case = case_with_consent(cast)
    with pytest.raises(PermissionDenied):
        refer(cast, case=case, from_agency=cast.outsider_agency, by=cast.omar, to=cast.dlsa, purpose="legal_aid")
    with pytest.raises(PermissionDenied):
        refer(cast, case=case, by=cast.bina, to=cast.dlsa, purpose="legal_aid")


def test_the_same_request_twice_is_refused(cast):
    referral = refer(cast)
    with pytest.raises(ValidationError, match=referral.reference):
        refer(cast, case=referral.case)
    assert Referral.objects.count() == 1


def test_the_cwc_is_for_children(cast):
    with pytest.raises(ValidationError, match="children"):
        refer(cast, case=case_with_consent(cast, age_status="adult"), to=cast.cwc, purpose="produce_before_cwc")


def test_a_shelter_must_take_the_person(cast):
    man = case_with_consent(cast, gender="male")
    with pytest.raises(ValidationError, match="does not take"):
        refer(cast, case=man, to=cast.shelter)
    with pytest.raises(ValidationError, match="offers no shelter"):
        refer(cast, to=cast.dlsa, purpose="shelter_placement")


class TestBeds:
    def test_accepting_a_placement_takes_a_bed_and_completing_gives_it_back(self, cast):
        referral = refer(cast)
        services.referral_accept(referral=referral, by=cast.chitra)
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 4
        referral.refresh_from_db()
        assert referral.bed_taken
        services.referral_complete(referral=referral, by=cast.chitra, outcome="placed")
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 5

    def test_no_free_bed_refuses_the_acceptance_clearly_and_changes_nothing(self, cast):
        referral = refer(cast)
        cast.shelter.beds_available = 0
        cast.shelter.save()
        with pytest.raises(ValidationError, match="no free bed"):
            services.referral_accept(referral=referral, by=cast.chitra)
        referral.refresh_from_db()
        assert referral.status == "sent" and not referral.bed_taken
        assert referral.case.holder_id == cast.ngo.pk

    def test_giving_a_bed_back_never_exceeds_the_total(self, cast):
        referral = refer(cast)
        services.referral_accept(referral=referral, by=cast.chitra)
        cast.shelter.beds_available = 30
        cast.shelter.save()
        services.referral_complete(referral=referral, by=cast.chitra, outcome="placed")
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 30

    def test_declining_at_capacity_records_no_free_bed(self, cast):
        services.referral_decline(referral=refer(cast), by=cast.chitra, reason="at_capacity")
        cast.shelter.refresh_from_db()
        assert cast.shelter.beds_available == 0


def test_accepting_a_custody_purpose_makes_the_receiver_the_holder(cast):
    child = case_with_consent(cast, age_status="minor")
    referral = refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc")
    services.referral_accept(referral=referral, by=cast.kavita)
    child.refresh_from_db()
    assert child.holder_id == cast.cwc.pk
    assert Case.objects.visible_to(cast.kavita).filter(pk=child.pk).exists()
    counselling = refer(cast, case=child, to=cast.dlsa, purpose="legal_aid")
    services.referral_accept(referral=counselling, by=cast.priya)
    child.refresh_from_db()
    assert child.holder_id == cast.cwc.pk


def test_decline_needs_a_reason_and_complete_an_outcome(cast):
    referral = refer(cast)
    with pytest.raises(ValidationError):
        services.referral_decline(referral=referral, by=cast.chitra, reason="")
    with pytest.raises(ValidationError):
        services.referral_decline(referral=referral, by=cast.chitra, reason="other", note="  ")
    services.referral_accept(referral=referral, by=cast.chitra)
    with pytest.raises(ValidationError):
        services.referral_complete(referral=referral, by=cast.chitra, outcome="")
    referral.refresh_from_db()
    assert referral.status == "accepted"


class TestReroute:
    def test_a_declined_referral_is_rerouted_once_as_a_linked_referral(self, cast):
        referral = refer(cast, to=cast.dlsa, purpose="legal_aid")
        services.referral_decline(referral=referral, by=cast.priya, reason="service_unavailable")
        new = services.referral_reroute(referral=referral, to_agency=cast.shelter, by=cast.asha, note="Try the shelter's lawyer")
        assert new.rerouted_from_id == referral.pk and new.status == "sent" and new.purpose == "legal_aid"
        assert referral.events.filter(note__contains=new.reference).exists()
        with pytest.raises(ValidationError, match="already re-routed"):
            services.referral_reroute(referral=referral, to_agency=cast.ahtu, by=cast.asha)
        assert Referral.objects.count() == 2

    def test_only_declined_referrals_and_only_the_sender(self, cast):
        referral = refer(cast, to=cast.dlsa, purpose="legal_aid")
        with pytest.raises(ValidationError, match="Only a declined referral"):
            services.referral_reroute(referral=referral, to_agency=cast.shelter, by=cast.asha)
        services.referral_decline(referral=referral, by=cast.priya, reason="not_eligible")
        with pytest.raises(PermissionDenied):
            services.referral_reroute(referral=referral, to_agency=cast.shelter, by=cast.priya)
        with pytest.raises(ValidationError, match="another agency"):
            services.referral_reroute(referral=referral, to_agency=cast.dlsa, by=cast.asha)
        assert Referral.objects.count() == 1


def test_comments_go_on_the_timeline_without_changing_the_status(cast):
    referral = refer(cast)
    services.referral_comment(referral=referral, by=cast.chitra, note="We call tomorrow")
    services.referral_comment(referral=referral, by=cast.asha, note="Thanks")
    with pytest.raises(PermissionDenied):
        services.referral_comment(referral=referral, by=cast.devi, note="Hello")
    referral.refresh_from_db()
    assert referral.status == "sent"
    assert list(referral.events.values_list("note", flat=True))[1:] == ["We call tomorrow", "Thanks"]


def test_a_draft_is_sent_later_after_consent(cast):
    case = make_case(opened_by=cast.ngo)
    draft = refer(cast, case=case, send=False)
    assert draft.status == "draft" and draft.due_at is None
    with pytest.raises(ValidationError):
        services.referral_send(referral=draft, by=cast.asha)
    consent_for(case, cast.asha, cast.ngo)
    sent = services.referral_send(referral=draft, by=cast.asha)
    assert sent.status == "sent" and sent.due_at is not None


@pytest.fixture
def slow_transitions(monkeypatch):
    """Hold each transition open for a moment after its checks, so two threads really overlap."""
    import time

    original = services.case_legal_basis

    def slow(case):
        time.sleep(0.4)
        return original(case)

    monkeypatch.setattr(services, "case_legal_basis", slow)


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_acting_at_once_exactly_one_wins(cast, slow_transitions):
    from django.db import close_old_connections

    referral = refer(cast)
    barrier = threading.Barrier(2)
    results = {}

    def act(name, action, user, **kwargs):
        close_old_connections()
        try:
            barrier.wait()
            services.ACTION_SERVICES[action](referral=Referral.objects.get(pk=referral.pk), by=user, **kwargs)
            results[name] = "won"
        except (ValidationError, PermissionDenied) as exc:
            results[name] = f"refused: {exc}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("accept", "accept", cast.chitra)),
        threading.Thread(target=act, args=("decline", "decline", cast.chitra), kwargs={"reason": "at_capacity"}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(v.split(":")[0] for v in results.values()) == ["refused", "won"], results
    referral.refresh_from_db()
    answers = ReferralEvent.objects.filter(referral=referral, from_status="sent")
    assert answers.count() == 1
    assert referral.status == answers.get().to_status
    cast.shelter.refresh_from_db()
    assert cast.shelter.beds_available == (4 if referral.status == "accepted" else 0)


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_bed_goes_to_exactly_one_of_two_placements(cast, slow_transitions):
    from django.db import close_old_connections

    cast.shelter.beds_available = 1
    cast.shelter.save()
    first, second = refer(cast), refer(cast, case=case_with_consent(cast))
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(referral):
        close_old_connections()
        try:
            barrier.wait()
            services.referral_accept(referral=referral, by=cast.chitra)
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    cast.shelter.refresh_from_db()
    assert cast.shelter.beds_available == 0
    assert Referral.objects.filter(status="accepted", bed_taken=True).count() == 1
