from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.mixins import YesNoAnySelect
from referrals.models import AuditEvent, Case, Referral
from referrals.vocab import OPEN_STATUSES, PENDING_STATUSES, AgeStatus, Purpose, Status, Urgency
from stakeholders.models import District

STATUS_CHOICES = [
    ("pending", _("Waiting for an answer (sent or acknowledged)")),
    ("open", _("Open (waiting or accepted)")),
    *[(value, label) for value, label in Status.choices],
]


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


class DateInput(forms.DateInput):
    input_type = "date"


class ReferralFilterSet(django_filters.FilterSet):
    """Filters of the inbox, sent and state-review lists (and of their CSV export)."""

    q = django_filters.CharFilter(method="search", label=_("Reference or case code"))
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", label=_("Status"), empty_label=_("Any status"))
    purpose = django_filters.ChoiceFilter(choices=Purpose.choices, label=_("Purpose"), empty_label=_("Any purpose"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"), widget=YesNoAnySelect)
    minor = django_filters.BooleanFilter(method="filter_minor", label=_("Child (under 18)"), widget=YesNoAnySelect)
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, label=_("Urgency"), empty_label=_("Any urgency"))
    from_agency = django_filters.CharFilter(method="filter_from", label=_("From agency (name or code)"))
    to_agency = django_filters.CharFilter(method="filter_to", label=_("To agency (name or code)"))
    district = django_filters.ModelChoiceFilter(
        queryset=District.objects.none(), method="filter_district", label=_("District (either agency)"), empty_label=_("All districts")
    )
    sent_from = django_filters.DateFilter(method="filter_sent_from", label=_("Sent on or after"), widget=DateInput)
    sent_to = django_filters.DateFilter(method="filter_sent_to", label=_("Sent on or before"), widget=DateInput)

    class Meta:
        model = Referral
        fields = ["q", "status", "purpose", "overdue", "minor", "urgency", "from_agency", "to_agency", "district", "sent_from", "sent_to"]

    def __init__(self, data=None, *args, districts=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        field = self.filters["district"]
        if districts is not None:
            field.queryset = districts
            field.field.queryset = districts

    def search(self, queryset, name, value):
        value = value.strip().upper()
        if not value:
            return queryset
        return queryset.filter(Q(reference=value) | Q(case__code=value) | Q(reference__startswith=value))

    def filter_status(self, queryset, name, value):
        if value == "pending":
            return queryset.filter(status__in=PENDING_STATUSES)
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status__in=PENDING_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_minor(self, queryset, name, value):
        if value is None:
            return queryset
        # A correlated EXISTS (one primary-key probe per referral) lets the database keep walking the list's
        # own order and stop after a page, instead of starting from every child case and sorting.
        child = Exists(Case.objects.filter(pk=OuterRef("case_id"), age_status=AgeStatus.MINOR))
        return queryset.filter(child) if value else queryset.filter(~child)

    @staticmethod
    def _agency(prefix, value):
        value = value.strip()
        return Q(**{f"{prefix}__code__iexact": value}) | Q(**{f"{prefix}__name__icontains": value})

    def filter_from(self, queryset, name, value):
        return queryset.filter(self._agency("from_agency", value)) if value.strip() else queryset

    def filter_to(self, queryset, name, value):
        return queryset.filter(self._agency("to_agency", value)) if value.strip() else queryset

    def filter_district(self, queryset, name, value):
        return queryset.filter(Q(from_agency__district=value) | Q(to_agency__district=value))

    def filter_sent_from(self, queryset, name, value):
        return queryset.filter(sent_at__gte=_day_start(value))

    def filter_sent_to(self, queryset, name, value):
        return queryset.filter(sent_at__lt=_day_start(value + timedelta(days=1)))


class AuditFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditEvent.Action.choices, label=_("Action"), empty_label=_("Any action"))
    object_ref = django_filters.CharFilter(method="filter_ref", label=_("Case code or reference"))
    user = django_filters.CharFilter(field_name="user__username", lookup_expr="iexact", label=_("User name"))
    since = django_filters.DateFilter(method="filter_since", label=_("On or after"), widget=DateInput)
    until = django_filters.DateFilter(method="filter_until", label=_("On or before"), widget=DateInput)

    class Meta:
        model = AuditEvent
        fields = ["action", "object_ref", "user", "since", "until"]

    def filter_ref(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(object_ref__iexact=value) if value else queryset

    def filter_since(self, queryset, name, value):
        return queryset.filter(at__gte=_day_start(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1)))
