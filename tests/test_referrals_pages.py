"""The referral pages: lists and their filters, constant query counts, the referral form and picker,
actions through htmx, exports and the audit log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.imports import COLUMNS
from referrals.models import AuditEvent, Case, Consent, Referral
from tests.factories import make_agency, make_case, make_referral
from tests.referrals_fixtures import IDENTITY_TEXTS, case_with_consent, refer

INBOX, SENT, REVIEW = reverse("referrals:inbox"), reverse("referrals:sent"), reverse("referrals:review")


def refs(response):
    return [r["reference"] for r in response.context["referrals"]]


def rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _bulk(cast, n, *, offset=0):
    """n referrals in every direction the lists care about (bulk, no events): sent, received, other states."""
    now = timezone.now()
    cases = Case.objects.bulk_create([Case(code=f"C-BULK-{offset + i:04d}", opened_by=cast.ngo, holder=cast.ngo,
                                           exploitation="forced_labour") for i in range(n)])
    statuses = ["sent", "acknowledged", "accepted", "declined", "completed"]
    pairs = [(cast.ngo, cast.shelter), (cast.ahtu, cast.ngo), (cast.cwc, cast.dlsa), (cast.outsider_agency, cast.dlsa)]
    Referral.objects.bulk_create([
        Referral(reference=f"R-BULK-{offset + i:04d}", case=cases[i], from_agency=pairs[i % 4][0], to_agency=pairs[i % 4][1],
                 from_state_id=pairs[i % 4][0].state_id, to_state_id=pairs[i % 4][1].state_id, purpose="counselling",
                 status=statuses[i % 5], sent_at=now - timedelta(hours=i), created_at=now - timedelta(hours=i),
                 due_at=now + timedelta(hours=5 - i % 10))
        for i in range(n)
    ])


class TestLists:
    def test_inbox_puts_overdue_first_then_waiting_soonest_due(self, cast, login):
        now = timezone.now()
        case = case_with_consent(cast)
        done = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, status="completed", sent_at=now)
        later = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, due_at=now + timedelta(days=2), sent_at=now - timedelta(hours=1))
        soon = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, due_at=now + timedelta(hours=2), sent_at=now - timedelta(hours=2))
        late = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, due_at=now - timedelta(hours=1), sent_at=now - timedelta(hours=3))
        accepted = make_referral(case=case, from_agency=cast.ngo, to_agency=cast.shelter, status="accepted", sent_at=now - timedelta(hours=4))
        response = login(cast.chitra).get(INBOX)
        assert refs(response) == [late.reference, soon.reference, later.reference, accepted.reference, done.reference]
        assert 'class="overdue"' in response.content.decode()

    def test_each_list_shows_only_its_side(self, cast, login):
        sent = refer(cast)
        received = refer(cast, case=case_with_consent(cast, agency=cast.ahtu, user=cast.arjun), from_agency=cast.ahtu,
                         by=cast.arjun, to=cast.ngo, purpose="counselling")
        assert refs(login(cast.asha).get(INBOX)) == [received.reference]
        assert refs(login(cast.asha).get(SENT)) == [sent.reference]
        assert set(refs(login(cast.devi).get(REVIEW))) == {sent.reference, received.reference}
        assert refs(login(cast.devi).get(INBOX)) == []

    @pytest.mark.parametrize("params, expected", [
        ({"status": "pending"}, {"R-BULK-0000", "R-BULK-0016"}),
        ({"status": "accepted"}, {"R-BULK-0012"}),
        ({"overdue": "true"}, {"R-BULK-0016"}),
        ({"purpose": "legal_aid"}, set()),
        ({"to_agency": "PUNE-SS", "status": "declined"}, {"R-BULK-0008"}),
        ({"to_agency": "Shakti", "status": "completed"}, {"R-BULK-0004"}),
        ({"q": "R-BULK-0004"}, {"R-BULK-0004"}),
        ({"q": "c-bulk-0012"}, {"R-BULK-0012"}),
    ])
    def test_filters_narrow_the_sent_list(self, cast, login, params, expected):
        _bulk(cast, 20)
        assert set(refs(login(cast.asha).get(SENT, {**params, "per_page": 100}))) == expected

    def test_minor_district_and_date_filters(self, cast, login):
        child = case_with_consent(cast, age_status="minor")
        adult_referral = refer(cast, purpose="counselling")
        child_referral = refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc")
        client = login(cast.devi)
        assert refs(client.get(REVIEW, {"minor": "true"})) == [child_referral.reference]
        assert refs(client.get(REVIEW, {"minor": "false"})) == [adult_referral.reference]
        assert len(refs(client.get(REVIEW, {"district": cast.geo.pune.pk}))) == 2
        today = timezone.localdate().isoformat()
        assert len(refs(client.get(REVIEW, {"sent_from": today, "sent_to": today}))) == 2
        yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
        assert refs(client.get(REVIEW, {"sent_to": yesterday})) == []
        assert set(refs(client.get(REVIEW, {"from_agency": "saathi"}))) == {child_referral.reference, adult_referral.reference}
        assert refs(client.get(REVIEW, {"to_agency": "PUNE-CWC"})) == [child_referral.reference]

    def test_a_bad_filter_shows_nothing_rather_than_everything(self, cast, login):
        refer(cast)
        assert refs(login(cast.asha).get(SENT, {"status": "nonsense"})) == []

    @pytest.mark.parametrize("url, user", [(INBOX, "chitra"), (SENT, "asha"), (REVIEW, "devi"), (INBOX + "?overdue=true&district=", "asha"),
                                           (SENT + "?sort=-due&per_page=200", "asha"), (REVIEW + "?status=pending&minor=true", "devi")])
    def test_list_pages_use_a_constant_number_of_queries(self, cast, login, url, user):
        client = login(getattr(cast, user))
        _bulk(cast, 8)
        client.get(url)
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        _bulk(cast, 150, offset=1000)
        with CaptureQueriesContext(connection) as large:
            assert client.get(url).status_code == 200
        assert len(small) == len(large) <= 12, [q["sql"][:120] for q in large.captured_queries]

    def test_the_nav_badge_counts_what_waits_for_an_answer(self, cast, login):
        refer(cast)
        refer(cast, case=case_with_consent(cast))
        page = login(cast.chitra).get(reverse("home")).content.decode()
        assert 'class="count"' in page and ">2</span>" in page
        assert 'class="count"' not in login(cast.asha).get(reverse("home")).content.decode()


class TestExport:
    def test_it_exports_the_filtered_list_in_the_import_columns_and_logs_it(self, cast, login):
        referral = refer(cast, note="Secret note text")
        refer(cast, case=case_with_consent(cast), to=cast.dlsa, purpose="legal_aid")
        response = login(cast.asha).get(SENT, {"purpose": "shelter_placement", "format": "csv"})
        table = rows(response)
        assert table[0][: len(COLUMNS)] == COLUMNS
        assert [row[0] for row in table[1:]] == [referral.reference]
        assert table[1][1] == referral.case.code and table[1][9] == "no"
        body = b"".join(login(cast.asha).get(SENT, {"format": "csv"}).streaming_content).decode()
        assert "Secret note text" not in body
        event = AuditEvent.objects.filter(action="export").order_by("pk").first()
        assert event.user == cast.asha and event.object_ref == "sent.csv" and event.detail["filters"]["purpose"] == ["shelter_placement"]

    def test_an_export_holds_only_what_the_gate_lets_through(self, cast, login):
        refer(cast)
        assert len(rows(login(cast.omar).get(SENT, {"format": "csv"}))) == 1
        assert len(rows(login(cast.devi).get(REVIEW, {"format": "csv"}))) == 2

    def test_a_formula_is_never_exported_as_one(self, cast, login):
        evil = make_agency(code="EVIL", name="=HYPERLINK(1)", kind="shelter_home", district=cast.geo.pune,
                           services=["shelter_women"], beds_total=3, beds_available=3)
        refer(cast, to=evil)
        table = rows(login(cast.asha).get(SENT, {"format": "csv"}))
        assert table[1][-1] == "'=HYPERLINK(1)"


class TestReferralForm:
    def _new_case_data(self, cast, **extra):
        data = {
            "from_agency": cast.ngo.pk, "purpose": "shelter_placement", "to_agency": cast.shelter.pk, "urgency": "routine",
            "case-age_status": "adult", "case-gender": "female", "case-exploitation": "sexual_exploitation",
            "case-rescue_district": cast.geo.pune.pk, "case-rescued_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "consent-given_by": "person", "consent-legal_basis": "consent", "consent-scope": "Share for care",
        }
        data.update(extra)
        return data

    def test_a_field_worker_refers_a_new_case_in_one_post(self, cast, login, django_capture_on_commit_callbacks, mailoutbox):
        client = login(cast.asha)
        data = self._new_case_data(cast, **{"identity-name": IDENTITY_TEXTS[0]})
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("referrals:referral_create"), data)
        assert response.status_code == 302, response.context and [f.errors for f in response.context["forms"]]
        referral = Referral.objects.get()
        assert response["Location"] == referral.get_absolute_url()
        assert (referral.status, referral.from_agency, referral.to_agency, referral.created_by) == ("sent", cast.ngo, cast.shelter, cast.asha)
        case = referral.case
        assert (case.opened_by, case.holder, case.age_status, case.gender) == (cast.ngo, cast.ngo, "adult", "female")
        assert Consent.objects.get(case=case).given_by == "person"
        assert IDENTITY_TEXTS[0] not in case.identity.ciphertext
        assert len(queries) <= 20  # the whole request: session, user, forms, writes, and the e-mail to the shelter
        assert [m.to for m in mailoutbox] == [["chitra@example.org"]]

    def test_minor_or_adult_and_gender_start_unchosen(self, cast, login):
        import re

        page = login(cast.asha).get(reverse("referrals:referral_create")).content.decode()
        for name in ("case-age_status", "case-gender"):
            radios = re.findall(rf'<input type="radio" name="{name}"[^>]*>', page)
            assert radios and not any("checked" in tag for tag in radios), radios

    def test_missing_fields_are_marked_and_nothing_is_saved(self, cast, login):
        data = self._new_case_data(cast)
        for name in ("purpose", "to_agency", "case-gender", "case-exploitation"):
            data.pop(name)
        response = login(cast.asha).post(reverse("referrals:referral_create"), data)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Choose the agency to refer to." in page and "This field is required." in page
        assert not Case.objects.exists() and not Referral.objects.exists()

    def test_a_refused_referral_leaves_no_half_made_case(self, cast, login):
        data = self._new_case_data(cast, **{"case-age_status": "minor", "case-age_years": "", "purpose": "produce_before_cwc",
                                            "to_agency": cast.cwc.pk})
        response = login(cast.asha).post(reverse("referrals:referral_create"), data)
        assert response.status_code == 200
        assert "own consent is not enough" in response.content.decode()
        assert not Case.objects.exists() and not Consent.objects.exists() and not AuditEvent.objects.exists()

    def test_a_child_with_the_cwcs_legal_basis_goes_through(self, cast, login):
        data = self._new_case_data(cast, **{"case-age_status": "minor", "purpose": "produce_before_cwc", "to_agency": cast.cwc.pk,
                                            "consent-given_by": "legal_basis", "consent-legal_basis": "child_function"})
        assert login(cast.asha).post(reverse("referrals:referral_create"), data).status_code == 302
        consent = Consent.objects.get()
        assert consent.statutory_reference.startswith("JJ Act 2015 s.31")

    def test_an_existing_case_is_referred_with_few_fields(self, cast, login, django_capture_on_commit_callbacks):
        case = case_with_consent(cast)
        client = login(cast.asha)
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("referrals:case_refer", args=[case.code]),
                                   {"from_agency": cast.ngo.pk, "purpose": "legal_aid", "to_agency": cast.dlsa.pk, "urgency": "urgent"})
        assert response.status_code == 302
        assert len(queries) <= 20
        assert Referral.objects.get().urgency == "urgent"

    def test_it_saves_a_draft(self, cast, login):
        response = login(cast.asha).post(reverse("referrals:referral_create"), {**self._new_case_data(cast), "draft": "1"})
        assert response.status_code == 302
        assert Referral.objects.get().status == "draft"

    def test_without_javascript_the_find_button_fills_the_picker(self, cast, login):
        data = self._new_case_data(cast, find="1")
        data.pop("to_agency")
        response = login(cast.asha).post(reverse("referrals:referral_create"), data)
        assert response.status_code == 200 and not Case.objects.exists()
        assert [c.pk for c in response.context["candidates"]] == [cast.shelter.pk]


class TestPicker:
    URL = reverse("referrals:agency_options")

    def _pick(self, client, **params):
        return [c.code for c in client.get(self.URL, params).context["candidates"]]

    def test_shelters_matching_the_person_with_free_beds_nearest_first(self, cast, login):
        mumbai = make_agency(code="MUM-SS", kind="shelter_home", district=cast.geo.mumbai, services=["shelter_women"], beds_total=9, beds_available=2)
        make_agency(code="THANE-FULL", kind="shelter_home", district=cast.geo.thane, services=["shelter_women"], beds_total=9, beds_available=0)
        make_agency(code="THANE-MEN", kind="shelter_home", district=cast.geo.thane, services=["shelter_men"], beds_total=9, beds_available=5)
        make_agency(code="KIDS", kind="cci", district=cast.geo.pune, services=["shelter_children"], beds_total=9, beds_available=5, max_age=17)
        make_agency(code="NO-TG", kind="shelter_home", district=cast.geo.thane, services=["shelter_women"], beds_total=9, beds_available=5, serves_transgender=False)
        client = login(cast.asha)
        woman = {"purpose": "shelter_placement", "case-gender": "female", "case-age_status": "adult", "case-rescue_district": cast.geo.pune.pk}
        assert self._pick(client, **woman) == ["PUNE-SS", "MUM-SS", "NO-TG"]
        assert self._pick(client, **{**woman, "case-rescue_district": cast.geo.mumbai.pk})[0] == mumbai.code
        assert self._pick(client, **{**woman, "case-gender": "transgender"}) == ["PUNE-SS", "MUM-SS"]
        assert self._pick(client, **{**woman, "case-gender": "male"}) == ["THANE-MEN"]
        assert self._pick(client, **{**woman, "case-age_status": "minor"}) == ["KIDS"]
        assert "THANE-FULL" in self._pick(client, **{**woman, "pick_beds": "any"})
        assert self._pick(client, **{**woman, "pick_within": "50"}) == ["PUNE-SS"]

    def test_the_general_picker_filters_by_service_district_and_name(self, cast, login):
        client = login(cast.asha)
        assert self._pick(client, purpose="victim_compensation") == ["PUNE-DLSA"]
        assert self._pick(client, purpose="produce_before_cwc") == ["PUNE-CWC"]
        assert self._pick(client, pick_service="rescue") == ["PUNE-AHTU", "PATNA-NGO"]
        assert self._pick(client, pick_service="rescue", pick_district=cast.geo.patna.pk) == ["PATNA-NGO"]
        assert self._pick(client, purpose="counselling", pick_q="shakti") == ["PUNE-SS"]

    def test_it_never_offers_the_referring_agency_and_stays_at_one_query_for_the_list(self, cast, login):
        for n in range(30):
            make_agency(code=f"C-{n}", kind="ngo", district=cast.geo.thane, services=["counselling"])
        client = login(cast.asha)
        client.get(self.URL, {"purpose": "counselling"})
        with CaptureQueriesContext(connection) as queries:
            codes = self._pick(client, purpose="counselling")
        assert "PUNE-NGO" not in codes and len(codes) == 30
        assert len(queries) <= 8


class TestActions:
    def test_an_htmx_accept_answers_with_the_refreshed_panel(self, cast, login):
        referral = refer(cast)
        response = login(cast.chitra).post(reverse("referrals:referral_action", args=[referral.reference, "accept"]),
                                           HTTP_HX_REQUEST="true")
        page = response.content.decode()
        assert response.status_code == 200 and 'id="referral-live"' in page and "Accepted" in page
        assert "<html" not in page

    def test_an_invalid_transition_says_why_and_changes_nothing(self, cast, login):
        referral = refer(cast)
        services.referral_withdraw(referral=referral, by=cast.asha)
        response = login(cast.chitra).post(reverse("referrals:referral_action", args=[referral.reference, "accept"]),
                                           HTTP_HX_REQUEST="true")
        assert "withdrawn now, so it cannot be accepted" in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == "withdrawn"

    def test_a_decline_without_a_reason_is_refused_with_the_form(self, cast, login):
        referral = refer(cast)
        response = login(cast.chitra).post(reverse("referrals:referral_action", args=[referral.reference, "decline"]), follow=True)
        assert "Please complete the form" in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == "sent"

    def test_an_unknown_action_is_404(self, cast, login):
        referral = refer(cast)
        assert login(cast.chitra).post(reverse("referrals:referral_action", args=[referral.reference, "delete"])).status_code == 404

    def test_rerouting_through_the_page(self, cast, login):
        referral = refer(cast, to=cast.dlsa, purpose="legal_aid")
        services.referral_decline(referral=referral, by=cast.priya, reason="service_unavailable")
        client = login(cast.asha)
        page = client.get(reverse("referrals:referral_reroute", args=[referral.reference]))
        assert page.status_code == 200 and cast.dlsa.pk not in [c.pk for c in page.context["candidates"]]
        response = client.post(reverse("referrals:referral_reroute", args=[referral.reference]),
                               {"to_agency": cast.shelter.pk, "urgency": "routine"})
        new = Referral.objects.get(rerouted_from=referral)
        assert response["Location"] == new.get_absolute_url()
        assert cast.shelter.name in client.get(referral.get_absolute_url()).content.decode()  # the sender sees where
        declined_page = login(cast.priya).get(referral.get_absolute_url()).content.decode()
        assert cast.shelter.name not in declined_page and new.reference not in login(cast.priya).get(
            reverse("referrals:inbox")).content.decode()


class TestCasePage:
    def test_it_shows_the_pathway_consents_and_logs_the_view(self, cast, login):
        referral = refer(cast, to=cast.dlsa, purpose="legal_aid")
        services.referral_decline(referral=referral, by=cast.priya, reason="service_unavailable")
        services.referral_reroute(referral=referral, to_agency=cast.shelter, by=cast.asha)
        response = login(cast.asha).get(referral.case.get_absolute_url())
        assert [r.purpose for r in response.context["pathway"]] == ["legal_aid", "legal_aid"]
        assert "The person" in response.content.decode()
        assert AuditEvent.objects.filter(action="view_case", user=cast.asha, object_ref=referral.case.code).exists()

    def test_consent_is_recorded_and_withdrawn_through_the_page(self, cast, login):
        case = make_case(opened_by=cast.ngo)
        client = login(cast.asha)
        response = client.post(reverse("referrals:consent_add", args=[case.code]),
                               {"given_by": "legal_basis", "legal_basis": "court_order", "scope": "Share"})
        assert response.status_code == 200 and not case.consents.exists()
        response = client.post(reverse("referrals:consent_add", args=[case.code]),
                               {"given_by": "guardian", "legal_basis": "consent", "scope": "Share", "language": "Marathi"})
        assert response.status_code == 302
        consent = case.consents.get()
        client.post(reverse("referrals:consent_withdraw", args=[case.code, consent.pk]), {"note": "Changed her mind"})
        consent.refresh_from_db()
        assert consent.withdrawn_at is not None and consent.withdrawal_note == "Changed her mind"


class TestAuditLog:
    def test_agency_admins_read_their_agencys_entries_only(self, cast, login):
        referral = refer(cast)
        login(cast.chitra).get(referral.get_absolute_url())
        login(cast.asha).get(referral.get_absolute_url())
        entries = login(cast.nina).get(reverse("referrals:audit_log")).context["events"]
        assert {e.agency_id for e in entries} == {cast.ngo.pk}
        assert len(login(cast.root).get(reverse("referrals:audit_log")).context["events"]) == AuditEvent.objects.count()
        assert login(cast.chitra).get(reverse("referrals:audit_log")).status_code == 404

    def test_nobody_changes_or_deletes_an_entry(self, cast, login):
        refer(cast)
        event = AuditEvent.objects.first()
        with pytest.raises(PermissionError):
            event.save()
        with pytest.raises(PermissionError):
            event.delete()
        client = login(cast.root)
        assert client.get(reverse("admin:referrals_auditevent_change", args=[event.pk])).status_code == 200
        assert client.post(reverse("admin:referrals_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()
        if connection.vendor == "postgresql":
            from django.db import DatabaseError, transaction

            with pytest.raises(DatabaseError), transaction.atomic():
                AuditEvent.objects.filter(pk=event.pk).update(action="export")


def test_list_rows_escape_what_agencies_typed(cast, login):
    evil = make_agency(code="EVIL-LIST", name='<script>alert("x")</script>', kind="ngo", district=cast.geo.pune,
                       services=["counselling"])
    refer(cast, to=evil, purpose="counselling")
    page = login(cast.asha).get(SENT).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_after_an_htmx_decline_the_identity_panel_is_replaced_too(cast, login):
    referral = refer(cast)
    response = login(cast.chitra).post(reverse("referrals:referral_action", args=[referral.reference, "decline"]),
                                       {"reason": "not_eligible"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'id="identity-panel"' in page and 'hx-swap-oob="true"' in page
    assert "not shared with your agency" in page and "Show identity" not in page
