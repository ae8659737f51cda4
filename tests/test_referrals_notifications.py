"""E-mail to the other side of a referral, and the daily overdue reminders."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from referrals import services
from referrals.models import Referral
from referrals.notifications import overdue_reminders
from tests.referrals_fixtures import IDENTITY_TEXTS, case_with_consent, refer


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit mail of the services inside a test."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_a_new_referral_mails_the_receivers_members_with_a_link_and_no_case_detail(cast, commit, settings):
    settings.SITE_URL = "https://aht.example.gov.in"
    referral = commit(refer, cast, note="She fears her employer " + IDENTITY_TEXTS[0])
    assert [m.to for m in mail.outbox] == [["chitra@example.org"]]
    message = mail.outbox[0]
    assert referral.reference in message.subject and "Shelter placement" in message.subject
    assert f"https://aht.example.gov.in/referrals/r/{referral.reference}/" in message.body
    for secret in [*IDENTITY_TEXTS, "fears her employer", referral.case.code]:
        assert secret not in message.subject + message.body


def test_answers_mail_the_sender_and_nobody_mails_themselves(cast, commit):
    referral = refer(cast)
    commit(services.referral_accept, referral=referral, by=cast.chitra)
    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == ["asha@example.org", "bina@example.org", "nina@example.org"]
    assert all("accepted" in m.subject for m in mail.outbox)
    mail.outbox.clear()
    commit(services.referral_comment, referral=referral, by=cast.asha, note="Thank you")
    assert sorted(a for m in mail.outbox for a in m.to) == ["bina@example.org", "chitra@example.org", "nina@example.org"]


def test_when_a_delegate_answers_the_receiver_is_told_too(cast, commit):
    referral = refer(cast)
    services.referral_share(referral=referral, agency=cast.ahtu, by=cast.chitra, act=True)
    mail.outbox.clear()
    commit(services.referral_accept, referral=referral, by=cast.arjun)
    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == ["asha@example.org", "bina@example.org", "chitra@example.org", "nina@example.org"]


def test_a_refused_action_mails_nobody(cast, commit):
    referral = refer(cast)
    with pytest.raises(Exception):
        commit(services.referral_complete, referral=referral, by=cast.chitra, outcome="placed")
    assert mail.outbox == []


def test_an_agency_without_members_is_mailed_at_its_registry_address(cast, commit):
    cast.dlsa.email = "dlsa@example.gov.in"
    cast.dlsa.save()
    for membership in cast.dlsa.memberships.all():
        membership.delete()
    commit(refer, cast, to=cast.dlsa, purpose="legal_aid")
    assert [m.to for m in mail.outbox] == [["dlsa@example.gov.in"]]


def test_a_mail_server_failure_does_not_undo_the_referral(cast, commit, settings, caplog):
    settings.EMAIL_BACKEND = "tests.test_referrals_notifications.BrokenBackend"
    referral = commit(refer, cast)
    assert Referral.objects.get(pk=referral.pk).status == "sent"
    assert "Could not send" in caplog.text


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


def _overdue(cast, **kwargs):
    referral = refer(cast, case=case_with_consent(cast), **kwargs)
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - timedelta(hours=3))
    return referral


def test_reminders_mail_both_agencies_once_a_day(cast):
    first = _overdue(cast)
    _overdue(cast, to=cast.dlsa, purpose="legal_aid")
    refer(cast, case=case_with_consent(cast), to=cast.dlsa, purpose="counselling")  # no deadline: never overdue
    report = overdue_reminders()
    assert (report.referrals, report.agencies) == (2, 3)
    to_shelter = [m for m in mail.outbox if m.to == ["chitra@example.org"]]
    assert len(to_shelter) == 1 and first.reference in to_shelter[0].body and "Waiting for your answer" in to_shelter[0].body
    to_ngo = [m for m in mail.outbox if m.to == ["asha@example.org"]]
    assert len(to_ngo) == 1 and "2 overdue referrals" in to_ngo[0].subject
    mail.outbox.clear()
    assert overdue_reminders().referrals == 0 and mail.outbox == []
    tomorrow = timezone.now() + timedelta(days=1)
    assert overdue_reminders(now=tomorrow).referrals == 2


def test_answered_referrals_are_not_reminded(cast):
    referral = _overdue(cast)
    services.referral_decline(referral=referral, by=cast.chitra, reason="not_eligible")
    assert overdue_reminders().referrals == 0


def test_the_command_reports_and_has_a_dry_run(cast):
    _overdue(cast)
    out = StringIO()
    call_command("send_overdue_reminders", "--dry-run", stdout=out)
    assert "Would remind 2 agencies about 1 overdue referrals" in out.getvalue() and mail.outbox == []
    call_command("send_overdue_reminders", stdout=out)
    assert "Reminded 2 agencies about 1 overdue referrals" in out.getvalue() and len(mail.outbox) == 4
    assert Referral.objects.get().reminded_at is not None
