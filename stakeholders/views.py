import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coordination.mixins import Echo, FilteredListView
from stakeholders.filtersets import AgencyFilterSet
from stakeholders.forms import (
    AgencyForm,
    AgencyImportForm,
    FreeBedsForm,
    MembershipForm,
    MembershipRoleForm,
    PartnershipForm,
)
from stakeholders.geography import display_name, is_well_formed_pin, lookup_pin
from stakeholders.imports import COLUMNS, agency_csv_rows, import_agencies
from stakeholders.models import Agency, District, Membership, Partnership
from stakeholders.selectors import agency_detail_queryset, agency_list_queryset, user_scope
from stakeholders.services import (
    agency_create,
    agency_set_free_beds,
    agency_update,
    membership_grant,
    membership_revoke,
    partnership_create,
)
from stakeholders.vocab import RESIDENTIAL_KINDS


class AgencyListView(FilteredListView):
    filterset_class = AgencyFilterSet
    template_name = "stakeholders/agency_list.html"
    context_object_name = "agencies"
    # Agencies without a state, district or bed count come last in both directions, on every database
    # (PostgreSQL would otherwise put them first when sorting descending: thousands of rows without beds).
    sort_fields = {
        "name": ("name", "pk"),
        "kind": ("kind", "name", "pk"),
        "state": (F("state__name").asc(nulls_last=True), F("district__name").asc(nulls_last=True), "name", "pk"),
        "district": (F("district__name").asc(nulls_last=True), "name", "pk"),
        "beds": (F("beds_available").desc(nulls_last=True), "name", "pk"),
        "updated": ("-updated_at", "pk"),
    }
    default_sort = "name"

    def get_base_queryset(self):
        return agency_list_queryset()

    def export_csv(self, queryset):
        writer = csv.writer(Echo())
        return self.csv_response((writer.writerow(row) for row in agency_csv_rows(queryset)), "agencies.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = user_scope(self.request.user)
        context["can_create"] = scope.superuser or bool(scope.state_admin_state_ids)
        return context


def _can_manage_members(user, agency) -> bool:
    # An agency admin's right is a guardian object permission held through the agency's admin group.
    return (
        user.is_superuser
        or agency.state_id in user_scope(user).state_admin_state_ids
        or user.has_perm("stakeholders.manage_members", agency)
    )


CHILDREN_SHOWN = 200


@login_required
def agency_detail_view(request, pk):
    agency = get_object_or_404(agency_detail_queryset(), pk=pk)
    scope = user_scope(request.user)
    can_edit = Agency.objects.editable_by(request.user).filter(pk=agency.pk).exists()
    can_manage = _can_manage_members(request.user, agency)
    partnerships = Partnership.objects.filter(Q(from_agency=agency) | Q(to_agency=agency)).select_related(
        "from_agency", "to_agency"
    )
    context = {
        "agency": agency,
        "children": agency.children.select_related("district").order_by("name")[:CHILDREN_SHOWN],
        "children_count": agency.children.count(),
        "partnerships": partnerships,
        "can_edit": can_edit,
        "can_manage_members": can_manage,
        "members": agency.memberships.select_related("user").order_by("user__username") if can_manage else None,
        "can_update_beds": agency.kind in RESIDENTIAL_KINDS and (can_edit or agency.pk in scope.acting_agency_ids),
        "beds_form": FreeBedsForm(agency=agency, initial={"beds_available": agency.beds_available}),
    }
    return render(request, "stakeholders/agency_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def agency_create_view(request):
    scope = user_scope(request.user)
    if not (scope.superuser or scope.state_admin_state_ids):
        raise PermissionDenied
    allowed = None if scope.superuser else scope.state_admin_state_ids
    form = AgencyForm(request.POST or None, allowed_states=allowed)
    if request.method == "POST" and form.is_valid():
        try:
            agency = agency_create(agency=form.instance, services=form.cleaned_data["services"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Agency %(name)s was added to the registry.") % {"name": agency.name})
            return redirect(agency)
    return render(request, "stakeholders/agency_form.html", {"form": form, "creating": True})


@login_required
@require_http_methods(["GET", "POST"])
def agency_edit_view(request, pk):
    agency = get_object_or_404(Agency, pk=pk)
    if not Agency.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    scope = user_scope(request.user)
    state_admin = agency.state_id in scope.state_admin_state_ids
    form = AgencyForm(
        request.POST or None,
        instance=agency,
        allowed_states=None if scope.superuser else (scope.state_admin_state_ids if state_admin else None),
        restricted=not (scope.superuser or state_admin),
    )
    if request.method == "POST" and form.is_valid():
        try:
            agency_update(agency=form.instance, services=form.cleaned_data["services"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(agency)
    return render(request, "stakeholders/agency_form.html", {"form": form, "agency": agency})


@login_required
@require_POST
def agency_free_beds_view(request, pk):
    agency = get_object_or_404(Agency, pk=pk)
    scope = user_scope(request.user)
    allowed = agency.kind in RESIDENTIAL_KINDS and (
        agency.pk in scope.acting_agency_ids or Agency.objects.editable_by(request.user).filter(pk=pk).exists()
    )
    if not allowed:
        raise PermissionDenied
    form = FreeBedsForm(request.POST, agency=agency)
    if form.is_valid():
        agency_set_free_beds(agency=agency, beds_available=form.cleaned_data["beds_available"], by=request.user)
        if not request.htmx:
            messages.success(request, _("Free beds updated."))
    template = "stakeholders/includes/beds.html"
    if request.htmx:
        return render(request, template, {"agency": agency, "beds_form": form, "can_update_beds": True})
    if form.errors:
        messages.error(request, " ".join(form.errors["beds_available"]))
    return redirect(agency)


@login_required
@require_http_methods(["GET", "POST"])
def agency_members_view(request, pk):
    agency = get_object_or_404(Agency, pk=pk)
    if not _can_manage_members(request.user, agency):
        raise PermissionDenied
    form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership_grant(agency=agency, user=form.cleaned_data["username"], role=form.cleaned_data["role"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(user)s is now a member.") % {"user": form.cleaned_data["username"]})
            return redirect("stakeholders:agency_members", pk=agency.pk)
    members = agency.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "stakeholders/agency_members.html",
        {"agency": agency, "form": form, "members": members, "roles": Membership.Role.choices},
    )


@login_required
@require_POST
def membership_change_view(request, pk, membership_pk):
    agency = get_object_or_404(Agency, pk=pk)
    if not _can_manage_members(request.user, agency):
        raise PermissionDenied
    membership = get_object_or_404(Membership, pk=membership_pk, agency=agency)
    try:
        if request.POST.get("action") == "remove":
            membership_revoke(membership=membership, by=request.user)
            messages.success(request, _("Membership removed."))
        else:
            form = MembershipRoleForm(request.POST)
            if form.is_valid():
                membership_grant(agency=agency, user=membership.user, role=form.cleaned_data["role"], by=request.user)
                messages.success(request, _("Role changed."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("stakeholders:agency_members", pk=agency.pk)


@login_required
@require_http_methods(["GET", "POST"])
def partnership_add_view(request, pk):
    agency = get_object_or_404(Agency, pk=pk)
    if not Agency.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    form = PartnershipForm(request.POST or None, instance=Partnership(from_agency=agency))
    if request.method == "POST" and form.is_valid():
        try:
            partnership_create(partnership=form.instance, by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Partnership recorded."))
            return redirect(agency)
    return render(request, "stakeholders/partnership_form.html", {"form": form, "agency": agency})


@login_required
@require_http_methods(["GET", "POST"])
def agency_import_view(request):
    scope = user_scope(request.user)
    if not (scope.superuser or scope.state_admin_state_ids):
        raise PermissionDenied
    form = AgencyImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = import_agencies(
            form.cleaned_data["file"].splitlines(keepends=True),
            dry_run=form.cleaned_data["dry_run"],
            skip_invalid=form.cleaned_data["skip_invalid"],
            allowed_state_ids=None if scope.superuser else scope.state_admin_state_ids,
        )
    return render(request, "stakeholders/agency_import.html", {"form": form, "report": report, "columns": COLUMNS})


@login_required
@require_GET
def district_options_view(request):
    """<option>s of a state's districts, for the htmx-driven district select."""
    state_id = request.GET.get("state")
    districts = District.objects.filter(state_id=state_id).only("pk", "name") if str(state_id).isdigit() else []
    # The list filter's empty choice means "all districts"; in the agency form it means "no district".
    empty_label = "---------" if request.GET.get("form") else _("All districts")
    return render(
        request, "stakeholders/includes/district_options.html", {"districts": districts, "empty_label": empty_label}
    )


@login_required
@require_GET
def pincode_hint_view(request):
    pin = (request.GET.get("pincode") or "").strip()
    if not pin:
        return HttpResponse("")
    location = lookup_pin(pin)
    context = {
        "pin": pin,
        "well_formed": is_well_formed_pin(pin),
        "location": location,
        "districts": ", ".join(display_name(name) for name in location.district_names) if location else "",
        "state": display_name(location.state_name) if location else "",
    }
    return render(request, "stakeholders/includes/pincode_hint.html", context)
