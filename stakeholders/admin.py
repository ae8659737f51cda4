from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from stakeholders.models import Agency, AgencyService, District, Membership, Partnership, State
from stakeholders.services import agency_create, agency_update, membership_grant, membership_revoke


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


@admin.register(Agency)
class AgencyAdmin(GuardedModelAdmin):
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
