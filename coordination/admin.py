from django.contrib import admin

from coordination.indicators import FIELDS
from coordination.models import (
    ActionItem,
    ActionItemUpdate,
    AhtuReturn,
    AhtuReturnEvent,
    CommitteeMeeting,
    TrainingEvent,
)


class AhtuReturnEventInline(admin.TabularInline):
    model = AhtuReturnEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "actor_agency", "from_status", "to_status", "comment"]


@admin.register(AhtuReturn)
class AhtuReturnAdmin(admin.ModelAdmin):
    """Read-only: returns are filed, reviewed and imported through the pages and `import_returns`, whose
    services apply the rules (parts within wholes, figures to date, who may do each step)."""

    list_display = ["ahtu", "month", "status", "victims_rescued", "arrested", "submitted_at", "imported"]
    list_filter = ["status", "imported", "ahtu__state"]
    search_fields = ["ahtu__name", "ahtu__code"]
    list_select_related = ["ahtu"]
    date_hierarchy = "month"
    readonly_fields = [f.name for f in AhtuReturn._meta.concrete_fields if f.name != "id"]
    fieldsets = [
        (None, {"fields": ["ahtu", "month", "status", "review_comment", "remarks", "imported"]}),
        ("Figures", {"fields": list(FIELDS)}),
        ("Workflow", {"fields": ["created_by", "created_at", "first_submitted_at", "submitted_at", "submitted_by",
                                 "reviewed_at", "reviewed_by", "updated_at"]}),
    ]
    inlines = [AhtuReturnEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrainingEvent)
class TrainingEventAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_on", "state", "topic", "organiser", "participants_police", "participants_prosecutors"]
    list_filter = ["topic", "state"]
    search_fields = ["title", "organiser__name"]
    list_select_related = ["state", "organiser"]
    autocomplete_fields = ["organiser", "district", "state"]
    date_hierarchy = "starts_on"


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ["title", "owner", "due_on", "status", "closed_on"]
    autocomplete_fields = ["owner"]


@admin.register(CommitteeMeeting)
class CommitteeMeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "committee", "held_on"]
    list_filter = ["committee"]
    search_fields = ["title", "summary"]
    autocomplete_fields = ["committee", "agencies_present"]
    inlines = [ActionItemInline]


class ActionItemUpdateInline(admin.TabularInline):
    model = ActionItemUpdate
    extra = 0
    readonly_fields = ["at", "author", "author_agency", "from_status", "to_status", "note"]
    can_delete = False


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "due_on", "status", "meeting"]
    list_filter = ["status", "meeting__committee"]
    search_fields = ["title", "owner__name", "owner__code"]
    list_select_related = ["owner", "meeting"]
    autocomplete_fields = ["owner"]
    inlines = [ActionItemUpdateInline]
