"""List rows prepared in Python once per page: labels from dictionaries built once per request, links
and dates formatted without a template tag per cell. A 200-row page renders in a few milliseconds."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from referrals.templatetags.referrals_tags import STATUS_CLASSES
from referrals.vocab import PENDING_STATUSES, AgeStatus, CaseGender, Purpose, Status, Urgency


@dataclass(slots=True)
class Row:
    url: str
    reference: str
    case_code: str
    person: str
    urgency: str
    purpose: str
    from_name: str
    to_name: str
    status: str
    status_class: str
    due: str
    sent: str
    overdue: bool


def _span(seconds: float) -> str:
    """'3 hours', '2 days', '5 weeks': the largest whole unit (the list only needs a rough figure)."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    days = hours // 24
    if days < 14:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if days < 61:
        return ngettext("%(n)d week", "%(n)d weeks", days // 7) % {"n": days // 7}
    return ngettext("%(n)d month", "%(n)d months", days // 30) % {"n": days // 30}


class Formatter:
    """Everything translated or looked up once per request."""

    def __init__(self, now=None):
        self.now = now or timezone.now()
        self.labels = {
            "purpose": {v: str(label) for v, label in Purpose.choices},
            "status": {v: str(label) for v, label in Status.choices},
            "age": {v: str(label) for v, label in AgeStatus.choices},
            "gender": {v: str(label) for v, label in CaseGender.choices},
            "urgency": {v: str(label) for v, label in Urgency.choices},
        }
        self.months = {i: str(MONTHS_3[i]).title() for i in range(1, 13)}
        self.base = reverse("referrals:referral_detail", args=["REF"]).replace("REF", "{}")
        self.texts = {"overdue": _("overdue by %(time)s"), "due": _("due in %(time)s"), "met": _("deadline met"),
                      "late": _("answered late")}

    def date(self, value) -> str:
        if value is None:
            return "—"
        local = timezone.localtime(value)
        return f"{local.day} {self.months[local.month]} {local.year}, {local:%H:%M}"

    def due(self, r: dict) -> str:
        due_at, status = r["due_at"], r["status"]
        if due_at is None:
            return ""
        stamp = self.date(due_at)
        if status in PENDING_STATUSES:
            left = (due_at - self.now).total_seconds()
            if left < 0:
                return format_html('<span class="badge bad" title="{}">{}</span>', stamp, self.texts["overdue"] % {"time": _span(-left)})
            return format_html('<span class="badge {}" title="{}">{}</span>', "warn" if left < 6 * 3600 else "", stamp,
                               self.texts["due"] % {"time": _span(left)})
        answered = r["responded_at"] or r["closed_at"]
        if answered is None:
            return ""
        met = answered <= due_at
        return format_html('<span class="badge {}" title="{}">{}</span>', "ok" if met else "warn", stamp,
                           self.texts["met" if met else "late"])

    def row(self, r: dict, cases: dict, agencies: dict) -> Row:
        labels, status = self.labels, r["status"]
        case = cases.get(r["case_id"], {})
        overdue = status in PENDING_STATUSES and r["due_at"] is not None and r["due_at"] < self.now
        return Row(
            url=self.base.format(r["reference"]), reference=r["reference"], case_code=case.get("code", ""),
            person=f"{labels['age'].get(case.get('age_status'), '')} · {labels['gender'].get(case.get('gender'), '')}",
            urgency="" if r["urgency"] == Urgency.ROUTINE else labels["urgency"].get(r["urgency"], r["urgency"]),
            purpose=labels["purpose"].get(r["purpose"], r["purpose"]), from_name=agencies.get(r["from_agency_id"], ""),
            to_name=agencies.get(r["to_agency_id"], ""), status=labels["status"].get(status, status),
            status_class=STATUS_CLASSES.get(status, ""), due=self.due(r), sent=self.date(r["sent_at"]), overdue=overdue,
        )


# What a list row needs from the referral table itself, read with values(): the page query touches one
# table (so the database keeps to the list's index order), and cases and agencies come in one query each.
ROW_VALUES = (
    "pk", "reference", "purpose", "urgency", "status", "due_at", "sent_at", "responded_at", "closed_at",
    "case_id", "from_agency_id", "to_agency_id",
)


def referral_rows(referrals, now=None) -> list[Row]:
    """Rows for a list page from dicts of ROW_VALUES (two more queries: the page's cases and agencies)."""
    from referrals.models import Case
    from stakeholders.models import Agency

    referrals = list(referrals)
    if not referrals:
        return []
    cases = {c["pk"]: c for c in Case.objects.filter(pk__in={r["case_id"] for r in referrals}).values("pk", "code", "age_status", "gender")}
    agency_ids = {r["from_agency_id"] for r in referrals} | {r["to_agency_id"] for r in referrals}
    agencies = dict(Agency.objects.filter(pk__in=agency_ids).values_list("pk", "name"))
    formatter = Formatter(now)
    return [formatter.row(r, cases, agencies) for r in referrals]
