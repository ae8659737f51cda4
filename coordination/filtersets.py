import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.forms import MonthField
from coordination.mixins import YesNoAnySelect
from coordination.models import ActionItem, ActionStatus, AhtuReturn, ReturnStatus, TrainingEvent, TrainingTopic
from coordination.selectors import impact_states
from stakeholders.models import State


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class ReturnFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("AHTU"))
    state = django_filters.ModelChoiceFilter(
        field_name="ahtu__state", queryset=State.objects.none(), label=_("State"), empty_label=_("All states")
    )
    status = django_filters.MultipleChoiceFilter(choices=ReturnStatus.choices, label=_("Status"))
    since = MonthFilter(field_name="month", lookup_expr="gte", label=_("From month"))
    until = MonthFilter(field_name="month", lookup_expr="lte", label=_("To month"))

    class Meta:
        model = AhtuReturn
        fields = ["q", "state", "status", "since", "until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["state"].queryset = impact_states()
        self.form.fields["state"].queryset = self.filters["state"].queryset

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(ahtu__name__icontains=value) | Q(ahtu__code__istartswith=value) | Q(ahtu__district__name__icontains=value))


class TrainingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    state = django_filters.ModelChoiceFilter(queryset=State.objects.none(), label=_("State"), empty_label=_("All states"))
    topic = django_filters.ChoiceFilter(choices=TrainingTopic.choices, label=_("Topic"), empty_label=_("Any topic"))
    year = django_filters.NumberFilter(field_name="starts_on", lookup_expr="year", label=_("Year"))

    class Meta:
        model = TrainingEvent
        fields = ["q", "state", "topic", "year"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        states = State.objects.filter(pk__in=TrainingEvent.objects.values("state_id")).order_by("name")
        self.filters["state"].queryset = states
        self.form.fields["state"].queryset = states

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(organiser__name__icontains=value) | Q(district__name__icontains=value))


class ActionItemFilterSet(django_filters.FilterSet):
    SHOW_CHOICES = [("open", _("Open")), ("overdue", _("Overdue")), ("closed", _("Done or dropped")), ("all", _("All"))]

    show = django_filters.ChoiceFilter(choices=SHOW_CHOICES, method="filter_show", label=_("Show"), empty_label=None)
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("Owned by my agencies"), widget=YesNoAnySelect)
    q = django_filters.CharFilter(method="search", label=_("Search"))

    class Meta:
        model = ActionItem
        fields = ["show", "mine", "q"]

    def __init__(self, data=None, *args, agency_ids=frozenset(), **kwargs):
        super().__init__(data, *args, **kwargs)
        self.agency_ids = agency_ids

    def filter_show(self, queryset, name, value):
        if value == "overdue":
            return queryset.overdue(timezone.localdate())
        if value == "closed":
            return queryset.filter(status__in=[ActionStatus.DONE, ActionStatus.DROPPED])
        if value == "all":
            return queryset
        return queryset.open()

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(owner_id__in=self.agency_ids) if value else queryset.exclude(owner_id__in=self.agency_ids)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(owner__name__icontains=value) | Q(owner__code__istartswith=value))
