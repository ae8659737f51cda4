"""Recording a person's age once determined (JJ Act 2015 s.94), or correcting it: the derivation of minor/adult,
who may do it, the legal deadlines of pending referrals, the audit log and the case page.

The scene: Saathi (NGO, Asha's agency) opened a case whose age is to be determined, rescued two days ago, and
holds it; it has referred it to the Shakti Sadan (Chitra) for a shelter placement.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.models import AuditEvent, Case, Referral, ReferralEvent
from tests.referrals_fixtures import case_with_consent, refer

AGE_FIELDS = ("age_years", "age_band", "age_status", "age_basis", "age_determined_at", "updated_at")
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SQLite serialises writers)")


def age_of(case):
    return Case.objects.filter(pk=case.pk).values(*AGE_FIELDS).get()


@pytest.fixture
def scene(cast):
    case = case_with_consent(cast, age_status="undetermined", age_band="undetermined",
                             rescued_at=timezone.now() - timedelta(days=2))
    placement = refer(cast, case=case, purpose="shelter_placement")
    return type("Scene", (), {"case": case, "placement": placement, "cast": cast})


# --- the service ------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ({"age_years": 19}, (19, "18-24", "adult")),
    ({"age_years": 16}, (16, "15-17", "minor")),
    ({"age_years": 17, "age_band": "15-17"}, (17, "15-17", "minor")),
    ({"age_band": "25-39"}, (None, "25-39", "adult")),
    ({"age_band": "12-14"}, (None, "12-14", "minor")),
])
def test_the_age_is_derived_as_when_the_case_was_opened(scene, cast, given, expected):
    case = services.case_determine_age(case=scene.case, basis="medical", by=cast.asha, **given)
    stored = age_of(scene.case)
    assert (stored["age_years"], stored["age_band"], stored["age_status"]) == expected
    assert (case.age_years, case.age_band, case.age_status) == expected
    assert stored["age_basis"] == "medical" and stored["age_determined_at"] is not None
    band, status = services.derive_age(age_years=given.get("age_years"), age_band=given.get("age_band"), age_status=None)
    assert (band, status) == expected[1:]


def test_an_audit_entry_records_what_changed_and_how_it_was_determined(scene, cast):
    services.case_determine_age(case=scene.case, age_years=19, basis="documents", by=cast.asha)
    entry = AuditEvent.objects.get(action="update", object_type="case", object_ref=scene.case.code)
    assert entry.user == cast.asha and entry.agency == cast.ngo
    assert entry.legal_basis  # the case's consent or legal basis
    assert entry.detail["age"] == ["age_band", "age_basis", "age_status", "age_years"]
    assert entry.detail["age_status"] == ["undetermined", "adult"]
    assert entry.detail["basis"] == "documents"
    assert entry.detail["deadlines"] == [{"referral": scene.placement.reference, "from": "", "to": "itpa_custody_10d"}]


@pytest.mark.parametrize("given, field", [
    ({"basis": "astrology", "age_years": 19}, "basis"),
    ({"basis": "", "age_years": 19}, "basis"),
    ({"basis": "medical"}, "age_years"),
    ({"basis": "medical", "age_years": 121}, "age_years"),
    ({"basis": "medical", "age_years": -1}, "age_years"),
    ({"basis": "medical", "age_band": "undetermined"}, "age_band"),
    ({"basis": "medical", "age_band": "18-20"}, "age_band"),
    ({"basis": "medical", "age_years": 19, "age_band": "15-17"}, "age_band"),
    # A person's own word never makes them an adult: the benefit of the doubt keeps them a child.
    ({"basis": "self_declared", "age_years": 19}, "basis"),
    ({"basis": "self_declared", "age_band": "25-39"}, "basis"),
])
def test_invalid_input_is_refused_and_changes_nothing(scene, cast, given, field):
    before = age_of(scene.case)
    placement = Referral.objects.values("due_at", "deadline_rule").get(pk=scene.placement.pk)
    audits, events = AuditEvent.objects.count(), ReferralEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.case_determine_age(case=scene.case, by=cast.asha, **given)
    assert field in refused.value.message_dict
    assert age_of(scene.case) == before
    assert Referral.objects.values("due_at", "deadline_rule").get(pk=scene.placement.pk) == placement
    assert (AuditEvent.objects.count(), ReferralEvent.objects.count()) == (audits, events)


def test_a_self_declared_age_may_record_a_child(scene, cast):
    case = services.case_determine_age(case=scene.case, age_years=15, basis="self_declared", by=cast.asha)
    assert (case.age_status, case.age_basis) == ("minor", "self_declared")


def test_the_same_age_determined_the_same_way_again_changes_nothing(scene, cast):
    services.case_determine_age(case=scene.case, age_years=16, basis="self_declared", by=cast.asha)
    before, audits = age_of(scene.case), AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="Nothing was changed"):
        services.case_determine_age(case=scene.case, age_years=16, basis="self_declared", by=cast.asha)
    assert age_of(scene.case) == before and AuditEvent.objects.count() == audits
    # The same age, now from documents, is a change worth recording.
    assert services.case_determine_age(case=scene.case, age_years=16, basis="documents", by=cast.asha).age_basis == "documents"


@pytest.mark.parametrize("who", ["bina", "chitra", "kavita", "devi", "omar", "sunil", "root"])
def test_only_the_holders_caseworkers_and_admins_record_the_age(scene, cast, who):
    before, audits = age_of(scene.case), AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.case_determine_age(case=scene.case, age_years=19, basis="medical", by=getattr(cast, who))
    assert age_of(scene.case) == before and AuditEvent.objects.count() == audits
    scene.placement.refresh_from_db()
    assert scene.placement.due_at is None


def test_the_holder_changes_with_custody(scene, cast):
    assert services.case_determine_age(case=scene.case, age_years=19, basis="order", by=cast.nina).age_status == "adult"
    services.referral_accept(referral=scene.placement, by=cast.chitra)
    with pytest.raises(PermissionDenied):
        services.case_determine_age(case=scene.case, age_years=20, basis="order", by=cast.asha)
    assert services.case_determine_age(case=scene.case, age_years=20, basis="order", by=cast.chitra).age_years == 20


# --- legal deadlines --------------------------------------------------------------------------------


def test_becoming_an_adult_recomputes_the_deadlines_of_pending_referrals_only(scene, cast):
    case, rescued = scene.case, scene.case.rescued_at
    investigation = refer(cast, case=case, to=cast.dlsa, purpose="home_investigation")  # a child's SIR: 15 days
    acknowledged = refer(cast, case=case, to=cast.ahtu, purpose="home_investigation")
    services.referral_acknowledge(referral=acknowledged, by=cast.arjun)
    counselling = refer(cast, case=case, to=cast.cwc, purpose="counselling")  # no statutory clock
    answered = refer(cast, case=case, to=cast.cwc, purpose="home_investigation")
    services.referral_accept(referral=answered, by=cast.kavita)
    draft = refer(cast, case=case, to=cast.ahtu, purpose="medical_examination", send=False)
    assert investigation.deadline_rule == "sir_15d" and scene.placement.due_at is None
    kept = {r.pk: Referral.objects.values("due_at", "deadline_rule", "status").get(pk=r.pk) for r in (counselling, answered, draft)}
    events = {r.pk: r.events.count() for r in (counselling, answered, draft)}

    case = services.case_determine_age(case=case, age_years=22, basis="medical", by=cast.asha)

    scene.placement.refresh_from_db()
    assert (scene.placement.deadline_rule, scene.placement.due_at) == ("itpa_custody_10d", rescued + timedelta(days=10))
    for referral in (investigation, acknowledged):
        referral.refresh_from_db()
        assert (referral.deadline_rule, referral.due_at) == ("", None)
    for referral in (counselling, answered, draft):
        assert Referral.objects.values("due_at", "deadline_rule", "status").get(pk=referral.pk) == kept[referral.pk]
        assert referral.events.count() == events[referral.pk]
    assert sorted(case.changed_deadlines) == sorted([scene.placement.reference, investigation.reference, acknowledged.reference])

    note = scene.placement.events.order_by("-pk").first()
    assert (note.from_status, note.to_status, note.actor, note.actor_agency) == ("sent", "sent", cast.asha, cast.ngo)
    assert "Deadline changed" in note.note and "adult" in note.note and "medical age assessment" in note.note
    assert "ITPA 1956 s.17(1)" in note.note
    ack_note = acknowledged.events.order_by("-pk").first()
    assert (ack_note.from_status, ack_note.to_status) == ("acknowledged", "acknowledged")
    assert "JJ Act 2015 s.36" in ack_note.note and "none" in ack_note.note
    page = Client()
    page.force_login(cast.chitra)
    assert "Deadline changed" in page.get(scene.placement.get_absolute_url()).content.decode()


def test_determining_a_child_keeps_the_deadlines_undetermined_already_had(scene, cast):
    """Until determined the rule table treats the person as a child (the benefit of the doubt), so a child
    changes no deadline."""
    investigation = refer(cast, case=scene.case, to=cast.dlsa, purpose="home_investigation")
    events = ReferralEvent.objects.count()
    case = services.case_determine_age(case=scene.case, age_years=15, basis="documents", by=cast.asha)
    assert case.changed_deadlines == []
    investigation.refresh_from_db()
    assert investigation.deadline_rule == "sir_15d"
    assert investigation.due_at == investigation.sent_at + timedelta(days=15)
    assert ReferralEvent.objects.count() == events


def test_a_correction_from_adult_to_child_recomputes_them_too(cast):
    adult = case_with_consent(cast, age_years=25, age_band="25-39", age_status="adult",
                              rescued_at=timezone.now() - timedelta(days=1))
    placement = refer(cast, case=adult, purpose="shelter_placement")
    assert placement.deadline_rule == "itpa_custody_10d"
    services.case_determine_age(case=adult, age_years=16, basis="documents", by=cast.asha)
    placement.refresh_from_db()
    assert (placement.deadline_rule, placement.due_at) == ("", None)
    assert "minor (under 18)" in placement.events.order_by("-pk").first().note


# --- the page -----------------------------------------------------------------------------------------


def _url(scene):
    return reverse("referrals:case_age", args=[scene.case.code])


@pytest.mark.parametrize("who, get, post", [
    ("asha", 200, 302), ("nina", 200, 302),
    ("bina", 403, 403), ("chitra", 403, 403), ("devi", 403, 403), ("root", 403, 403),
    ("omar", 404, 404), ("mitra", 404, 404), ("kavita", 404, 404), ("sunil", 404, 404),
    ("anonymous", 302, 302),
])
def test_the_page_answers_each_cast_member(scene, cast, who, get, post):
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(cast, who))
    response = client.get(_url(scene))
    assert response.status_code == get
    if get >= 400:
        assert scene.case.code not in response.content.decode()
    before = age_of(scene.case)
    response = client.post(_url(scene), {"basis": "medical", "age_years": "19"})
    assert response.status_code == post
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if post == 302 and who != "anonymous":
        assert response["Location"] == scene.case.get_absolute_url()
        assert age_of(scene.case)["age_status"] == "adult"
    else:
        assert age_of(scene.case) == before


def test_the_case_page_shows_the_age_and_how_it_was_determined(scene, cast, login):
    client = login(cast.asha)
    page = client.get(scene.case.get_absolute_url()).content.decode()
    assert "Treated as a child until determined" in page and _url(scene) in page
    response = client.post(_url(scene), {"basis": "medical", "age_years": "19"}, follow=True)
    page = response.content.decode()
    assert "Age recorded: Adult." in page and scene.placement.reference in page  # its deadline was recomputed
    assert "Determined from: Medical age assessment" in page and "(19)" in page
    assert "Correct the age" in page
    for user in (cast.bina, cast.chitra):
        page = login(user).get(scene.case.get_absolute_url()).content.decode()
        assert "Medical age assessment" in page and _url(scene) not in page


def test_correcting_the_age_on_the_form_the_years_decide_the_band(scene, cast, login):
    client = login(cast.asha)
    assert client.post(_url(scene), {"basis": "medical", "age_years": "19"}).status_code == 302
    form = client.get(_url(scene)).context["form"]
    assert (form["age_years"].value(), form["age_band"].value(), form["basis"].value()) == (19, "", "medical")
    # A band the browser still sends from before does not contradict the new age.
    response = client.post(_url(scene), {"basis": "documents", "age_years": "16", "age_band": "18-24"})
    assert response.status_code == 302
    stored = age_of(scene.case)
    assert (stored["age_years"], stored["age_band"], stored["age_status"], stored["age_basis"]) == (16, "15-17", "minor", "documents")
    assert client.post(_url(scene), {"basis": "order", "age_band": "12-14"}).status_code == 302
    assert client.get(_url(scene)).context["form"]["age_band"].value() == "12-14"


def test_a_refused_form_says_why_and_changes_nothing(scene, cast, login):
    before = age_of(scene.case)
    response = login(cast.asha).post(_url(scene), {"basis": "self_declared", "age_years": "20"})
    assert response.status_code == 200
    assert "cannot record the person as an adult" in response.content.decode()
    response = login(cast.asha).post(_url(scene), {"basis": "medical"})
    assert response.status_code == 200 and "age in years" in response.content.decode()
    assert age_of(scene.case) == before


def test_recording_the_age_needs_a_csrf_token(scene, cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.asha)
    before, audits = age_of(scene.case), AuditEvent.objects.count()
    assert client.post(_url(scene), {"basis": "medical", "age_years": "19"}).status_code == 403
    assert age_of(scene.case) == before and AuditEvent.objects.count() == audits


# --- PostgreSQL: a determination and a custody hand-over at once ------------------------------------


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_recording_the_age_while_the_shelter_accepts_does_not_deadlock(cast, monkeypatch):
    """Both lock the referral, then the case: whichever comes second waits and then sees the other's result."""
    import time

    from django.db import close_old_connections

    original = services.case_legal_basis

    def slow(case):
        time.sleep(0.4)
        return original(case)

    monkeypatch.setattr(services, "case_legal_basis", slow)
    adult = case_with_consent(cast, age_years=25, age_band="25-39", age_status="adult",
                              rescued_at=timezone.now() - timedelta(days=1))
    placement = refer(cast, case=adult, purpose="shelter_placement")
    barrier = threading.Barrier(2)
    results = {}

    def act(name, call):
        close_old_connections()
        try:
            barrier.wait()
            call()
            results[name] = "done"
        except PermissionDenied:
            results[name] = "refused"
        except Exception as exc:  # a deadlock would land here
            results[name] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("accept", lambda: services.referral_accept(
            referral=Referral.objects.get(pk=placement.pk), by=cast.chitra))),
        threading.Thread(target=act, args=("age", lambda: services.case_determine_age(
            case=Case.objects.get(pk=adult.pk), age_years=16, basis="documents", by=cast.asha))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["accept"] == "done", results
    placement.refresh_from_db()
    adult.refresh_from_db()
    assert placement.status == "accepted" and adult.holder_id == cast.shelter.pk
    if results["age"] == "done":  # the age came first: the placement was pending, its deadline went
        assert (adult.age_status, placement.due_at) == ("minor", None)
    else:  # the shelter came first: it holds the case now, so the NGO may no longer record the age
        assert results["age"] == "refused", results
        assert adult.age_status == "adult" and placement.deadline_rule == "itpa_custody_10d"
