"""Read-only admin: cases and referrals change only through the services (events, audit, beds, holder),
and the audit log never changes. Identity records are not in the admin at all."""

from django.contrib import admin

from referrals.audit import audit
from referrals.models import AuditEvent, Case, Consent, Referral, ReferralEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ["given_by", "legal_basis", "statutory_reference", "scope", "given_on", "withdrawn_at", "recorded_by_agency"]
    readonly_fields = fields


class ReferralEventInline(ReadOnlyInline):
    model = ReferralEvent
    fields = ["at", "from_status", "to_status", "actor", "actor_agency", "note"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["code", "opened_by", "holder", "age_status", "gender", "exploitation", "created_at"]
    list_filter = ["age_status", "gender", "exploitation"]
    search_fields = ["code"]
    list_select_related = ["opened_by", "holder"]
    inlines = [ConsentInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        if case is not None:
            audit(user=request.user, action="view_case", object_type="case", object_ref=case.code, detail={"via": "admin"})
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["reference", "purpose", "from_agency", "to_agency", "status", "due_at", "sent_at"]
    list_filter = ["status", "purpose", "urgency"]
    search_fields = ["reference", "case__code"]
    list_select_related = ["from_agency", "to_agency"]
    raw_id_fields = ["case", "rerouted_from"]
    inlines = [ReferralEventInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        referral = self.get_object(request, object_id)
        if referral is not None:
            audit(user=request.user, action="view_referral", object_type="referral", object_ref=referral.reference,
                  detail={"via": "admin"})
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "agency", "action", "object_type", "object_ref", "legal_basis"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_ref", "user__username"]
    list_select_related = ["user", "agency"]
    date_hierarchy = "at"

    def get_actions(self, request):
        return {}  # not even the bulk "delete selected"
