"""E-mail to the other side of a referral, and the daily overdue reminders.

Messages carry the reference, purpose, agencies, status and deadline, and a link to the referral;
never a name, a note or any other case detail (the link leads through the login and the gate).
Mail is sent after the transaction commits, so a refused action never e-mails anyone, and a mail
server failure is logged (without content) instead of undoing the action.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from referrals.models import Referral
from referrals.vocab import PENDING_STATUSES
from stakeholders.models import Agency, Membership

logger = logging.getLogger(__name__)

RECEIVER_ACTIONS = {"acknowledge", "accept", "decline", "complete"}


def recipients(agency_ids, *, exclude_user_id=None) -> dict[int, list[str]]:
    """E-mail addresses per agency: its active members', else the agency's own address (one query each kind)."""
    found: dict[int, set[str]] = defaultdict(set)
    rows = (
        Membership.objects.filter(agency_id__in=agency_ids, user__is_active=True)
        .exclude(user__email="")
        .values_list("agency_id", "user__email", "user_id")
    )
    for agency_id, email, user_id in rows:
        if user_id != exclude_user_id:
            found[agency_id].add(email)
    missing = [a for a in agency_ids if not found.get(a)]
    if missing:
        for agency_id, email in Agency.objects.filter(pk__in=missing).exclude(email="").values_list("pk", "email"):
            found[agency_id].add(email)
    return {agency_id: sorted(emails) for agency_id, emails in found.items()}


def _send(messages: list[EmailMessage], what: str) -> int:
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # a mail server problem must not undo or hide the referral's change
        logger.exception("Could not send %s e-mail(s) about %s", len(messages), what)
        return 0


def notify_transition(*, referral_id: int, action: str, actor_id: int | None) -> int:
    """E-mail the other side's members about a new referral or a response; returns messages sent."""
    referral = Referral.objects.select_related("from_agency", "to_agency").get(pk=referral_id)
    if action in RECEIVER_ACTIONS:
        actor_agency, other = referral.to_agency, referral.from_agency
    elif action == "comment":
        # A comment goes to both agencies' members except the author.
        actor_agency, other = None, None
    else:
        actor_agency, other = referral.from_agency, referral.to_agency
    targets = [other.pk] if other else [referral.from_agency_id, referral.to_agency_id]
    if action in RECEIVER_ACTIONS:
        # An agency the receiver delegated the referral to answered: the receiver is told as well.
        acted_for = referral.events.order_by("-at", "-pk").values_list("actor_agency_id", flat=True).first()
        if acted_for is not None and acted_for != referral.to_agency_id:
            targets.append(referral.to_agency_id)
    addresses = recipients(targets, exclude_user_id=actor_id)
    context = {
        "referral": referral,
        "action": action,
        "actor_agency": actor_agency,
        "url": settings.SITE_URL + referral.get_absolute_url(),
        "pending": referral.status in PENDING_STATUSES,
    }
    messages = []
    for agency_id in targets:
        agency = referral.to_agency if agency_id == referral.to_agency_id else referral.from_agency
        context["member_of"] = agency
        subject = " ".join(render_to_string("referrals/email/transition_subject.txt", context).split())
        body = render_to_string("referrals/email/transition_body.txt", context)
        messages.extend(EmailMessage(subject, body, to=[address]) for address in addresses.get(agency_id, []))
    return _send(messages, referral.reference)


@dataclass
class ReminderReport:
    referrals: int = 0
    agencies: int = 0
    messages: int = 0
    references: list[str] = field(default_factory=list)


def overdue_reminders(*, now=None, dry_run: bool = False) -> ReminderReport:
    """E-mail both agencies of every overdue referral not yet reminded today (one message per address
    and agency, listing its overdue referrals), then remember the reminder. Safe to run often."""
    now = now or timezone.now()
    start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    due = list(
        Referral.objects.overdue(now)
        .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=start_of_today))
        .select_related("from_agency", "to_agency")
        .order_by("due_at", "pk")
    )
    report = ReminderReport(referrals=len(due), references=[r.reference for r in due])
    by_agency: dict[int, dict[str, list[Referral]]] = defaultdict(lambda: {"received": [], "sent": []})
    agencies: dict[int, Agency] = {}
    for referral in due:
        by_agency[referral.to_agency_id]["received"].append(referral)
        by_agency[referral.from_agency_id]["sent"].append(referral)
        agencies[referral.to_agency_id], agencies[referral.from_agency_id] = referral.to_agency, referral.from_agency
    report.agencies = len(by_agency)
    if dry_run or not due:
        return report
    addresses = recipients(list(by_agency))
    messages = []
    for agency_id, lists in by_agency.items():
        context = {"agency": agencies[agency_id], "received": lists["received"], "sent": lists["sent"], "now": now,
                   "total": len(lists["received"]) + len(lists["sent"]),
                   "site_url": settings.SITE_URL}
        subject = " ".join(render_to_string("referrals/email/overdue_subject.txt", context).split())
        body = render_to_string("referrals/email/overdue_body.txt", context)
        messages.extend(EmailMessage(subject, body, to=[address]) for address in addresses.get(agency_id, []))
    report.messages = _send(messages, f"{len(due)} overdue referrals")
    if messages and not report.messages:
        return report  # the mail server failed: leave them unreminded so the next run tries again
    Referral.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
    return report
