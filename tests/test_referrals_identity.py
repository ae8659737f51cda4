"""The identity vault: encrypted at rest, read in one audited place, never in lists, exports, mail or logs."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse

from referrals import services
from referrals.identity import encrypt_identity, identity_access, identity_read, identity_rotate
from referrals.models import AuditEvent, CaseIdentity
from referrals.notifications import overdue_reminders
from tests.referrals_fixtures import IDENTITY, IDENTITY_TEXTS, SECRET_NAME, case_with_consent, refer


def test_identity_is_stored_encrypted(cast):
    case = case_with_consent(cast)
    stored = CaseIdentity.objects.get(case=case).ciphertext
    assert SECRET_NAME not in stored and "Sunita" not in stored
    assert identity_read(case=case, user=cast.asha)["name"] == SECRET_NAME


def test_reading_it_writes_an_audit_event_without_the_text(cast):
    case = case_with_consent(cast)
    identity_read(case=case, user=cast.asha)
    event = AuditEvent.objects.get(action="view_identity")
    assert (event.user, event.agency, event.object_ref) == (cast.asha, cast.ngo, case.code)
    assert event.legal_basis.startswith("Consent")
    assert not any(text in str(event.detail) + event.legal_basis for text in IDENTITY_TEXTS)


@pytest.mark.parametrize("who, allowed", [
    ("asha", True), ("nina", True), ("bina", False), ("chitra", True), ("devi", False), ("rahul", False),
    ("mitra", False), ("omar", False), ("sunil", False), ("root", False), ("priya", False),
])
def test_who_may_read_an_identity_on_an_open_placement(cast, who, allowed):
    referral = refer(cast, purpose="shelter_placement")
    user = getattr(cast, who)
    assert identity_access(case=referral.case, user=user).allowed is allowed
    if not allowed:
        with pytest.raises(PermissionDenied):
            identity_read(case=referral.case, user=user)
        assert not AuditEvent.objects.filter(action="view_identity").exists()


def test_a_receiver_reads_it_only_while_the_referral_is_open_and_its_purpose_needs_it(cast):
    counselling = refer(cast, purpose="counselling")
    assert not identity_access(case=counselling.case, user=cast.chitra).allowed
    placement = refer(cast, case=counselling.case, purpose="shelter_placement")
    assert identity_access(case=placement.case, user=cast.chitra).allowed
    services.referral_decline(referral=placement, by=cast.chitra, reason="not_eligible")
    assert not identity_access(case=placement.case, user=cast.chitra).allowed


def test_the_holder_reads_it_after_custody_passes(cast):
    child = case_with_consent(cast, age_status="minor")
    referral = refer(cast, case=child, to=cast.cwc, purpose="produce_before_cwc")
    services.referral_accept(referral=referral, by=cast.kavita)
    services.referral_complete(referral=referral, by=cast.kavita, outcome="produced")
    child.refresh_from_db()
    assert identity_access(case=child, user=cast.kavita).allowed
    assert not identity_access(case=child, user=cast.asha).allowed  # the NGO no longer holds the child


def test_rotation_re_encrypts_every_record_with_the_first_key(cast, settings):
    old_key = settings.IDENTITY_KEYS[0]
    cases = [case_with_consent(cast) for _ in range(3)]
    new_key = Fernet.generate_key().decode()
    settings.IDENTITY_KEYS = [new_key, old_key]
    assert identity_rotate(batch_size=2) == 3
    settings.IDENTITY_KEYS = [new_key]
    for case in cases:
        case.refresh_from_db()
        assert identity_read(case=case, user=cast.asha)["phone"] == IDENTITY["phone"]


def test_the_rotation_command_reports_and_a_missing_key_is_an_error(cast, settings):
    case_with_consent(cast)
    from io import StringIO

    out = StringIO()
    call_command("rotate_identity_key", stdout=out, stderr=StringIO())
    assert "Re-encrypted 1 identity records" in out.getvalue()
    settings.IDENTITY_KEYS = [Fernet.generate_key().decode()]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_identity_key", stdout=StringIO(), stderr=StringIO())


def test_a_record_the_keys_cannot_decrypt_is_reported_on_the_page_not_a_server_error(cast, login, settings):
    case = case_with_consent(cast)
    settings.IDENTITY_KEYS = [Fernet.generate_key().decode()]  # the old key was dropped too early
    client = login(cast.asha)
    client.raise_request_exception = False
    response = client.post(reverse("referrals:case_identity", args=[case.code]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "IDENTITY_KEYS" in response.content.decode()
    response = client.get(reverse("referrals:case_identity_edit", args=[case.code]), follow=True)
    assert response.redirect_chain[-1][0] == case.get_absolute_url()
    assert "IDENTITY_KEYS" in response.content.decode()


def test_identity_never_appears_in_lists_exports_or_mail(cast, login, caplog):
    caplog.set_level(logging.DEBUG)
    referral = refer(cast, purpose="shelter_placement", note="Needs a quiet room")
    services.referral_accept(referral=referral, by=cast.chitra)
    client = login(cast.chitra)
    outputs = [
        client.get(reverse("referrals:inbox")).content.decode(),
        client.get(referral.get_absolute_url()).content.decode(),
        client.get(referral.case.get_absolute_url()).content.decode(),
        b"".join(client.get(reverse("referrals:inbox") + "?format=csv").streaming_content).decode(),
        b"".join(login(cast.asha).get(reverse("referrals:sent") + "?format=csv").streaming_content).decode(),
        login(cast.devi).get(reverse("referrals:review")).content.decode(),
        login(cast.root).get(reverse("referrals:audit_log")).content.decode(),
    ]
    overdue = refer(cast, case=case_with_consent(cast, age_status="minor"), to=cast.cwc, purpose="produce_before_cwc")
    from django.utils import timezone

    type(overdue).objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timezone.timedelta(hours=1))
    overdue_reminders()
    assert mail.outbox, "the test needs some mail to look at"
    outputs += [m.subject + m.body for m in mail.outbox]
    outputs += [record.getMessage() for record in caplog.records]
    outputs += [str(e.detail) + e.legal_basis + e.object_ref for e in AuditEvent.objects.all()]
    for output in outputs:
        for text in IDENTITY_TEXTS:
            assert text not in output


def test_the_identity_panel_shows_only_after_an_audited_post(cast, login):
    case = case_with_consent(cast)
    client = login(cast.asha)
    page = client.get(case.get_absolute_url()).content.decode()
    assert SECRET_NAME not in page and "Show identity" in page
    response = client.post(reverse("referrals:case_identity", args=[case.code]), HTTP_HX_REQUEST="true")
    assert SECRET_NAME in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="view_identity", user=cast.asha).count() == 1


def test_editing_the_identity_keeps_it_encrypted_and_audited(cast, login):
    case = case_with_consent(cast)
    client = login(cast.asha)
    response = client.post(reverse("referrals:case_identity_edit", args=[case.code]), {**IDENTITY, "name": "New Demoname"})
    assert response.status_code == 302
    assert "New Demoname" not in CaseIdentity.objects.get(case=case).ciphertext
    assert identity_read(case=case, user=cast.asha)["name"] == "New Demoname"
    assert AuditEvent.objects.filter(action="update", object_type="identity", object_ref=case.code).exists()


def test_encrypting_keeps_only_the_identity_fields():
    import json

    from referrals.identity import FIELD_NAMES, _fernet

    token = encrypt_identity({"name": " A ", "secret_extra": "should not be kept"})
    data = json.loads(_fernet().decrypt(token.encode()))
    assert set(data) == set(FIELD_NAMES) and data["name"] == "A"
