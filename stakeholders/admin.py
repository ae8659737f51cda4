from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin

from stakeholders.locations import resolve_location
from stakeholders.models import Agency, AgencyService, District, Membership, Partnership, State
from stakeholders.services import agency_create, agency_update, membership_grant, membership_revoke, parent_cycle


@admin.register(State)
class StateAdmin(admin.ModelAdmin):
    list_display = ["name", "population"]
    search_fields = ["name"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "post_office_count", "population", "census_code"]
    list_filter = ["state"]
    search_fields = ["name", "state__name"]
    list_select_related = ["state"]


class AgencyServiceInline(admin.TabularInline):
    model = AgencyService
    extra = 1


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["user", "role"]
    can_delete = False
    show_change_link = True


class AgencyAdminForm(forms.ModelForm):
    """The admin's agency form: the checks of the registry's own form become field errors here too, instead of
    the service refusing the save with a server error. Locations are checked but not filled in."""

    class Meta:
        model = Agency
        fields = "__all__"

    def clean(self):
        data = super().clean()
        parent = data.get("parent")
        if parent is not None and self.instance.pk and parent_cycle(agency_pk=self.instance.pk, parent=parent):
            self.add_error("parent", _("This parent would make the agency its own ancestor."))
        _location, errors = resolve_location(
            state=data.get("state"), district=data.get("district"), pincode=data.get("pincode") or "",
            latitude=data.get("latitude"), longitude=data.get("longitude"), level=data.get("level"),
        )
        for field, message in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return data


@admin.register(Agency)
class AgencyAdmin(GuardedModelAdmin):
    form = AgencyAdminForm
    list_display = ["name", "code", "kind", "state", "district", "beds_available", "beds_total", "active", "verified"]
    list_filter = ["kind", "active", "verified", "state"]
    search_fields = ["name", "code", "district__name"]
    list_select_related = ["state", "district"]
    autocomplete_fields = ["parent", "district", "state"]
    inlines = [AgencyServiceInline, MembershipInline]

    def save_model(self, request, obj, form, change):
        # Services are saved by the inline; the service validates the hierarchy and the location.
        if change:
            agency_update(agency=obj, services=None, by=request.user)
        else:
            agency_create(agency=obj, services=(), by=request.user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "agency", "role", "created_at"]
    list_filter = ["role", "agency__kind"]
    search_fields = ["user__username", "user__email", "agency__name", "agency__code"]
    autocomplete_fields = ["user", "agency"]

    def save_model(self, request, obj, form, change):
        # Group membership (and with it the guardian permissions) follows the role.
        membership_grant(agency=obj.agency, user=obj.user, role=obj.role, by=request.user)

    def delete_model(self, request, obj):
        membership_revoke(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_revoke(membership=membership, by=request.user)


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["from_agency", "to_agency", "kind", "starts_on", "ends_on"]
    list_filter = ["kind"]
    autocomplete_fields = ["from_agency", "to_agency"]
