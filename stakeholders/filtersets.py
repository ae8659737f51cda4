import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coordination.mixins import YesNoAnySelect
from stakeholders.models import Agency, AgencyService, District, State
from stakeholders.vocab import AgencyKind, Service


class AgencyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.MultipleChoiceFilter(choices=AgencyKind.choices, label=_("Kind"))
    # Plain choice filters fed from one query each: a model choice field would query once to
    # validate and again to render its options.
    state = django_filters.ChoiceFilter(field_name="state_id", label=_("State / UT"), empty_label=_("All states"))
    district = django_filters.ChoiceFilter(field_name="district_id", label=_("District"), empty_label=_("All districts"))
    service = django_filters.ChoiceFilter(
        choices=Service.choices, method="filter_service", label=_("Service"), empty_label=_("Any service")
    )
    free_beds = django_filters.BooleanFilter(method="filter_free_beds", label=_("Has free beds"), widget=YesNoAnySelect)
    verified = django_filters.BooleanFilter(label=_("Verified"), widget=YesNoAnySelect)
    active = django_filters.BooleanFilter(label=_("Active"), widget=YesNoAnySelect)

    class Meta:
        model = Agency
        fields = ["q", "kind", "state", "district", "service", "free_beds", "verified", "active"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters["state"].extra["choices"] = [(str(pk), name) for pk, name in State.objects.values_list("pk", "name")]
        # The district list follows the chosen state, so the page never renders ~750 options.
        state_id = (data or {}).get("state")
        district_id = (data or {}).get("district")
        districts = District.objects.order_by("name")
        if state_id and str(state_id).isdigit():
            districts = districts.filter(state_id=state_id)
        elif district_id and str(district_id).isdigit():
            districts = districts.filter(pk=district_id)
        else:
            districts = districts.none()
        self.filters["district"].extra["choices"] = [(str(pk), name) for pk, name in districts.values_list("pk", "name")]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value) | Q(district__name__icontains=value))

    def filter_service(self, queryset, name, value):
        return queryset.filter(pk__in=AgencyService.objects.filter(service=value).values("agency_id"))

    def filter_free_beds(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(beds_available__gt=0) if value else queryset.exclude(beds_available__gt=0)
