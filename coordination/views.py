"""The home page (a dashboard per role) and the steering committee's pages: impact table, AHTU returns,
trainings, committee meetings and action items. Views parse, call one service or selector, and render."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coordination import rules
from coordination.charts import Series, bar_chart, line_chart
from coordination.filtersets import ActionItemFilterSet, ReturnFilterSet, TrainingFilterSet
from coordination.forms import (
    ActionItemForm,
    ActionUpdateForm,
    AhtuReturnForm,
    ImpactFilterForm,
    MeetingForm,
    ReturnImportForm,
    ReviewForm,
    TrackerFilterForm,
    TrainingEventForm,
)
from coordination.imports import IMPORT_COLUMNS, OPTIONAL_COLUMNS, import_returns
from coordination.indicators import BY_FIELD, FIELDS, INDICATORS, REPORT_ORDER
from coordination.mixins import Echo, FilteredListView
from coordination.models import (
    PARTICIPANT_FIELDS,
    PARTICIPANT_GROUPS,
    ActionItem,
    ActionStatus,
    AhtuReturn,
    CommitteeMeeting,
    ReturnStatus,
    TrainingEvent,
)
from coordination.periods import add_months, last_ended_month, month_key, months_between
from coordination.selectors import (
    ImpactFilter,
    dashboard,
    impact_rows,
    impact_table,
    tracker_ahtus,
    tracker_grid,
    tracker_summary,
    training_summary,
)
from coordination.services import (
    action_item_create,
    action_item_update,
    ahtu_return_approve,
    ahtu_return_create,
    ahtu_return_send_back,
    ahtu_return_submit,
    ahtu_return_update,
    meeting_create,
    training_event_create,
    training_event_update,
)
from coordination.suppression import needs_suppression, suppress
from coordination.templatetags.steering import figure
from stakeholders.models import Agency, District, State
from stakeholders.selectors import user_scope

AHTU_PAGE_SIZE = 50


@login_required
def home(request):
    board = dashboard(request.user)
    return render(request, "coordination/home.html", {
        "board": board, "suppressed": needs_suppression(request.user), "today": timezone.localdate(),
    })


@require_GET
def about(request):
    context = {
        "states": State.objects.count(),
        "districts": District.objects.count(),
        "agencies": Agency.objects.filter(active=True).count(),
    }
    return render(request, "coordination/about.html", context)


@require_GET
def healthz(request):
    """For load balancers: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


# The impact table -----------------------------------------------------------------------------


def _default_period():
    last = last_ended_month(timezone.localdate())
    return add_months(last, -11), last


@login_required
@require_GET
def impact_view(request):
    scope = user_scope(request.user)
    if not (scope.superuser or scope.agency_ids):
        raise PermissionDenied
    data = request.GET.copy()
    if "since" not in data and "until" not in data:
        since, until = _default_period()
        data["since"], data["until"] = month_key(since), month_key(until)
    form = ImpactFilterForm(data)
    if form.is_valid():
        states = tuple(sorted(s.pk for s in form.cleaned_data["state"]))
        impact_filter = ImpactFilter(since=form.cleaned_data["since"], until=form.cleaned_data["until"], state_ids=states)
    else:
        impact_filter = ImpactFilter(*_default_period())
    table = impact_table(impact_filter)
    if request.GET.get("format") == "csv":
        # Every export of aggregates is suppressed, whoever asks: files travel beyond the screen.
        writer = csv.writer(Echo())
        response = HttpResponse((writer.writerow(row) for row in impact_rows(table, suppressed=True)),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="impact-{_period_slug(table)}.csv"'
        return response
    suppressed = needs_suppression(request.user, state_ids=impact_filter.state_ids or None)
    paginator = Paginator(_sorted_ahtus(table.by_ahtu, request.GET.get("sort"), suppressed), AHTU_PAGE_SIZE)
    ahtu_page = paginator.get_page(request.GET.get("page"))
    _with_cells([*table.by_month, *table.by_state, *ahtu_page.object_list], REPORT_ORDER, suppressed)
    footer = _with_cells([dict(table.totals)], REPORT_ORDER, suppressed)[0]
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    context = {
        "form": form, "table": table, "suppressed": suppressed, "indicators": REPORT_ORDER,
        "seed_indicators": [i for i in REPORT_ORDER if i.in_seed_layout],
        "other_indicators": [i for i in REPORT_ORDER if not i.in_seed_layout],
        "ahtu_page": ahtu_page, "querystring": params.urlencode(), "sort": request.GET.get("sort") or "",
        "trend_chart": _trend_chart(table, suppressed), "state_chart": _state_chart(table, suppressed),
        "chosen_states": [s.name for s in form.cleaned_data["state"]] if form.is_valid() else [],
        "generated_at": timezone.now(), "footer": footer,
    }
    return render(request, "coordination/impact.html", context)


def _with_cells(rows, indicators, suppressed):
    """Each row gets `cells`: its figures as ready <td>s. A table of a few thousand numbers renders far faster
    from one escaped string per row than from a template lookup, filter and translation per cell."""
    labels = [(i.field, escape(str(i.short))) for i in indicators]
    for row in rows:
        row["cells"] = mark_safe("".join(
            f'<td class="num" data-label="{label}">{escape(figure(row[field], suppressed))}</td>' for field, label in labels
        ))
    return rows


def _period_slug(table) -> str:
    first = month_key(table.filter.since) if table.filter.since else "start"
    last = month_key(table.filter.until) if table.filter.until else "now"
    return f"{first}-to-{last}"


def _sorted_ahtus(rows, sort, suppressed=False):
    key = (sort or "").lstrip("-")
    if key in FIELDS:
        # Counts shown as "<5" sort as one value: their order would tell a 4 from a 1.
        value = (lambda n: settings.SMALL_COUNT_THRESHOLD - 0.5 if suppress(n) != n else n) if suppressed else (lambda n: n)
        return sorted(rows, key=lambda r: (value(r[key]), r["name"]), reverse=not (sort or "").startswith("-"))
    if key == "months":
        return sorted(rows, key=lambda r: (r[key], r["name"]), reverse=not (sort or "").startswith("-"))
    if key == "name":
        return sorted(rows, key=lambda r: r["name"], reverse=(sort or "").startswith("-"))
    return rows


def _trend_chart(table, suppressed):
    shown = ["victims_rescued", "arrested", "cases_registered", "convicted"]
    labels = [month_key(row["month"]) for row in table.by_month]
    series = [
        Series(str(BY_FIELD[name].short), [suppress(row[name]) if suppressed else row[name] for row in table.by_month], f"s{i + 1}")
        for i, name in enumerate(shown)
    ]
    return {
        "svg": line_chart(series, labels, title=_("Monthly trend"),
                          description=_("Victims rescued, persons arrested, cases registered and convictions per month.")),
        "series": series,
    }


def _state_chart(table, suppressed):
    rows = [(row["state"], suppress(row["victims_rescued"]) if suppressed else row["victims_rescued"]) for row in table.by_state]
    return bar_chart(rows, title=_("Victims rescued by state"), description=_("Total victims rescued in the period, per state."))


# AHTU returns ---------------------------------------------------------------------------------


class ReturnListView(FilteredListView):
    filterset_class = ReturnFilterSet
    template_name = "coordination/return_list.html"
    context_object_name = "returns"
    sort_fields = {
        "month": ("-month", "ahtu__name", "pk"),
        "ahtu": ("ahtu__name", "-month", "pk"),
        "state": ("ahtu__state__name", "ahtu__name", "-month", "pk"),
        "status": ("status", "-month", "pk"),
        "submitted": ("-submitted_at", "pk"),
        "rescued": ("-victims_rescued", "pk"),
    }
    default_sort = "month"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not rules.can_read_returns(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            raise PermissionDenied  # returns are not exported one by one; the impact table exports aggregates
        return super().get(request, *args, **kwargs)

    def get_base_queryset(self):
        return AhtuReturn.objects.visible_to(self.request.user).with_list_related()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_file=user.is_superuser or bool(rules.filing_ahtu_ids(user)),
            can_import=user.is_superuser or bool(rules.review_state_ids(user)),
            review_states=rules.review_state_ids(user),
            statuses=ReturnStatus,
        )
        return context


@login_required
@require_GET
def return_tracker_view(request):
    scope = user_scope(request.user)
    if not (scope.superuser or scope.committee or scope.is_supervisor or rules.member_ahtus(request.user)):
        raise PermissionDenied
    ahtus = tracker_ahtus(request.user)
    state_choices = None if (scope.superuser or scope.committee) else scope.supervised_state_ids | scope.agency_state_ids
    form = TrackerFilterForm(request.GET or None, state_ids=state_choices)
    last = last_ended_month(timezone.localdate())
    if form.is_valid():
        if form.cleaned_data["state"]:
            ahtus = ahtus.filter(state=form.cleaned_data["state"])
        if form.cleaned_data["q"]:
            ahtus = ahtus.filter(name__icontains=form.cleaned_data["q"].strip())
        last = min(form.cleaned_data["until"] or last, timezone.localdate().replace(day=1))
    months = months_between(add_months(last, -11), last)
    ordered = ahtus.select_related("state", "district").order_by("state__name", "name", "pk")
    page = Paginator(ordered, AHTU_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    grid = tracker_grid(list(page.object_list), months)
    context = {
        "form": form, "months": months, "grid": grid,
        # Cells link to the returns this user may open (the committee follows who filed, not the figures).
        "rows": _tracker_rows(grid, readable=lambda ahtu: scope.superuser or ahtu.pk in scope.agency_ids
                              or ahtu.state_id in scope.supervised_state_ids),
        "can_read_returns": rules.can_read_returns(request.user),
        "summary": tracker_summary(ahtus, months), "page_obj": page, "is_paginated": page.has_other_pages(),
        "querystring": params.urlencode(), "statuses": ReturnStatus, "due_day": settings.AHTU_RETURN_DUE_DAY,
    }
    return render(request, "coordination/return_tracker.html", context)


def _tracker_rows(grid, readable=lambda ahtu: True):
    """(AHTU, cells as ready <td>s): 600 cells render from strings, not from 600 template branches."""
    words = {
        "approved": ("✓", _("approved")), "submitted": ("S", _("submitted, awaiting review")),
        "returned": ("R", _("returned for correction")), "missing": ("✗", _("missing")), "due": ("…", _("not due yet")),
        "": ("·", _("before the AHTU was registered")),
    }
    late, draft = _("filed late"), _("a draft, not submitted")
    detail = reverse("coordination:return_detail", args=[0])[:-2]
    rows = []
    for ahtu, cells in grid:
        parts = []
        for cell in cells:
            mark, label = words[cell.status]
            title = f"{cell.month:%b %Y}: {label}" + (f", {late}" if cell.late and cell.status not in ("missing",) else "") + (
                f" ({draft})" if cell.status == "missing" and cell.return_pk else "")
            css = (cell.status or "none") + (" late" if cell.late and cell.status in ("approved", "submitted", "returned") else "")
            if cell.return_pk and cell.status in ("approved", "submitted", "returned") and readable(ahtu):
                inner = f'<a class="{css}" href="{detail}{cell.return_pk}/" title="{escape(title)}">{mark}</a>'
            else:
                inner = f'<span class="{css}" title="{escape(title)}">{mark}</span>'
            parts.append(f'<td class="cell">{inner}</td>')
        rows.append((ahtu, mark_safe("".join(parts))))
    return rows


def _visible_return(request, pk) -> AhtuReturn:
    return get_object_or_404(AhtuReturn.objects.visible_to(request.user).with_list_related(), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def return_create_view(request):
    if not (request.user.is_superuser or rules.filing_ahtu_ids(request.user)):
        raise PermissionDenied
    initial = {}
    if request.GET.get("ahtu", "").isdigit():
        initial["ahtu"] = int(request.GET["ahtu"])
    if request.GET.get("month"):
        initial["month"] = request.GET["month"]
    else:
        initial["month"] = month_key(last_ended_month(timezone.localdate()))
    form = AhtuReturnForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            # "Save and submit" is one step: a return that cannot be submitted yet is not left behind as a draft.
            with transaction.atomic():
                ahtu_return = ahtu_return_create(
                    ahtu=form.cleaned_data["ahtu"], month=form.cleaned_data["month"], values=form.values,
                    remarks=form.cleaned_data["remarks"], by=request.user,
                )
                if request.POST.get("submit"):
                    ahtu_return_submit(ahtu_return=ahtu_return, by=request.user)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Return submitted to the state for review.") if request.POST.get("submit") else _("Draft saved."))
            return redirect(ahtu_return)
    return render(request, "coordination/return_form.html", {"form": form, "creating": True})


def _form_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
@require_GET
def return_detail_view(request, pk):
    ahtu_return = _visible_return(request, pk)
    can_file = rules.can_file(request.user, ahtu_return.ahtu)
    can_review = rules.can_review(request.user, ahtu_return)
    context = {
        "r": ahtu_return,
        "figures": [(i, getattr(ahtu_return, i.field)) for i in INDICATORS],
        "indicators": INDICATORS,
        # The same AHTU's previous months, so a reviewer can spot a figure out of line.
        "previous": list(AhtuReturn.objects.filter(ahtu_id=ahtu_return.ahtu_id, month__lt=ahtu_return.month)
                         .order_by("-month")[:6]),
        "events": ahtu_return.events.select_related("actor", "actor_agency"),
        "can_edit": can_file and ahtu_return.is_editable,
        "can_submit": can_file and ahtu_return.is_editable,
        "can_review": can_review and ahtu_return.status in (ReturnStatus.SUBMITTED, ReturnStatus.APPROVED),
        "review_form": ReviewForm(initial={"action": "approve" if ahtu_return.status == ReturnStatus.SUBMITTED else "return"}),
        "self_submitted": ahtu_return.submitted_by_id == request.user.pk and not request.user.is_superuser,
    }
    return render(request, "coordination/return_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def return_edit_view(request, pk):
    ahtu_return = _visible_return(request, pk)
    if not rules.can_file(request.user, ahtu_return.ahtu):
        raise PermissionDenied
    if not ahtu_return.is_editable:
        messages.warning(request, _("This return is %(status)s; it can no longer be changed.") % {"status": ahtu_return.get_status_display().lower()})
        return redirect(ahtu_return)
    form = AhtuReturnForm(request.POST or None, instance=ahtu_return, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # saved and submitted, or nothing changed
                ahtu_return_update(ahtu_return=ahtu_return, values=form.values, remarks=form.cleaned_data["remarks"], by=request.user)
                if request.POST.get("submit"):
                    ahtu_return_submit(ahtu_return=ahtu_return, by=request.user)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Return submitted to the state for review.") if request.POST.get("submit") else _("Saved."))
            return redirect(ahtu_return)
    return render(request, "coordination/return_form.html", {"form": form, "r": ahtu_return})


@login_required
@require_POST
def return_submit_view(request, pk):
    ahtu_return = _visible_return(request, pk)
    if not rules.can_file(request.user, ahtu_return.ahtu):
        raise PermissionDenied
    try:
        ahtu_return_submit(ahtu_return=ahtu_return, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Return submitted to the state for review."))
    return redirect(ahtu_return)


@login_required
@require_POST
def return_review_view(request, pk):
    ahtu_return = _visible_return(request, pk)
    if not rules.can_review(request.user, ahtu_return):
        raise PermissionDenied
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect(ahtu_return)
    try:
        if form.cleaned_data["action"] == "approve":
            ahtu_return_approve(ahtu_return=ahtu_return, by=request.user, comment=form.cleaned_data["comment"])
            messages.success(request, _("Approved: the figures now count in the impact table."))
        else:
            ahtu_return_send_back(ahtu_return=ahtu_return, by=request.user, comment=form.cleaned_data["comment"])
            messages.success(request, _("Returned to the AHTU for correction."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(ahtu_return)


@login_required
@require_http_methods(["GET", "POST"])
def return_import_view(request):
    states = rules.review_state_ids(request.user)
    if not (request.user.is_superuser or states):
        raise PermissionDenied
    form = ReturnImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = import_returns(
            form.cleaned_data["file"].splitlines(keepends=True), status=form.cleaned_data["status"],
            dry_run=form.cleaned_data["dry_run"], skip_invalid=form.cleaned_data["skip_invalid"], by=request.user,
            allowed_state_ids=None if request.user.is_superuser else states,
        )
    return render(request, "coordination/return_import.html", {
        "form": form, "report": report, "columns": IMPORT_COLUMNS, "optional_columns": OPTIONAL_COLUMNS,
    })


# Trainings ------------------------------------------------------------------------------------


class TrainingListView(FilteredListView):
    filterset_class = TrainingFilterSet
    template_name = "coordination/training_list.html"
    context_object_name = "trainings"
    sort_fields = {
        "date": ("-starts_on", "-pk"),
        "title": ("title", "pk"),
        "state": ("state__name", "-starts_on", "pk"),
    }
    default_sort = "date"
    paginate_by = 25

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not rules.can_read_trainings(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return TrainingEvent.objects.with_list_related()

    def export_csv(self, queryset):
        from coordination.csvio import safe_cell

        def rows():
            yield ["title", "topic", "starts_on", "ends_on", "state", "district", "organiser_code", "organiser",
                   *PARTICIPANT_FIELDS, "participants_total", "master_trainers", "pre_test_mean", "post_test_mean"]
            for event in queryset.iterator(chunk_size=1000):
                yield [safe_cell(event.title), event.topic, event.starts_on, event.ends_on, event.state.name,
                       event.district.name if event.district else "", event.organiser.code, safe_cell(event.organiser.name),
                       *(getattr(event, f) for f in PARTICIPANT_FIELDS), event.participants_total, event.master_trainers,
                       "" if event.pre_test_mean is None else event.pre_test_mean,
                       "" if event.post_test_mean is None else event.post_test_mean]

        writer = csv.writer(Echo())
        return self.csv_response((writer.writerow(row) for row in rows()), "trainings.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        summary = training_summary(self.object_list)
        context.update(
            summary=summary, groups=PARTICIPANT_GROUPS, can_record=rules.can_record_training(self.request.user),
            year_chart=bar_chart([(str(r["year"]), r["participants"]) for r in summary["by_year"]],
                                 title=_("People trained per year"), css="s2"),
        )
        return context


@login_required
@require_http_methods(["GET", "POST"])
def training_create_view(request):
    if not rules.can_record_training(request.user):
        raise PermissionDenied
    form = TrainingEventForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            event = training_event_create(event=form.instance, by=request.user)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Training recorded."))
            return redirect(event)
    return render(request, "coordination/training_form.html", {"form": form, "creating": True})


@login_required
@require_GET
def training_detail_view(request, pk):
    if not rules.can_read_trainings(request.user):
        raise PermissionDenied
    event = get_object_or_404(TrainingEvent.objects.with_list_related(), pk=pk)
    return render(request, "coordination/training_detail.html", {
        "event": event, "can_edit": rules.can_edit_training(request.user, event),
    })


@login_required
@require_http_methods(["GET", "POST"])
def training_edit_view(request, pk):
    event = get_object_or_404(TrainingEvent, pk=pk)
    if not rules.can_edit_training(request.user, event):
        raise PermissionDenied
    form = TrainingEventForm(request.POST or None, instance=event, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            training_event_update(event=form.instance, by=request.user)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(event)
    return render(request, "coordination/training_form.html", {"form": form, "event": event})


# Meetings and action items --------------------------------------------------------------------


@login_required
@require_GET
def meeting_list_view(request):
    if not rules.can_read_meetings(request.user):
        raise PermissionDenied
    from django.db.models import Count, Q

    today = timezone.localdate()
    meetings = (
        CommitteeMeeting.objects.visible_to(request.user).select_related("committee")
        .annotate(
            items=Count("action_items", distinct=True),
            open_items=Count("action_items", filter=Q(action_items__status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS]), distinct=True),
            overdue_items=Count("action_items", filter=Q(action_items__status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS],
                                                          action_items__due_on__lt=today), distinct=True),
            present=Count("agencies_present", distinct=True),
        )
        .order_by("-held_on", "-pk")
    )
    page = Paginator(meetings, 25).get_page(request.GET.get("page"))
    return render(request, "coordination/meeting_list.html", {
        "meetings": page.object_list, "page_obj": page, "is_paginated": page.has_other_pages(), "querystring": "",
        "can_record": rules.recording_committees(request.user).exists(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create_view(request):
    if not rules.recording_committees(request.user).exists():
        raise PermissionDenied
    form = MeetingForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = meeting_create(meeting=form.instance, agencies_present=form.cleaned_data["agencies_present"], by=request.user)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Meeting recorded. Add its action items below."))
            return redirect(meeting)
    return render(request, "coordination/meeting_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def meeting_detail_view(request, pk):
    meeting = get_object_or_404(CommitteeMeeting.objects.visible_to(request.user).select_related("committee"), pk=pk)
    can_record = rules.can_record_meeting(request.user, meeting.committee)
    form = ActionItemForm(request.POST or None, instance=ActionItem(meeting=meeting))
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        if form.is_valid():
            try:
                action_item_create(item=form.instance, by=request.user)
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Action item added."))
                return redirect(meeting)
    return render(request, "coordination/meeting_detail.html", {
        "meeting": meeting, "present": meeting.agencies_present.order_by("name"),
        "items": meeting.action_items.select_related("owner").order_by("due_on", "pk"),
        "can_record": can_record, "form": form, "owner_choices": ActionItemForm.suggestions() if can_record else [],
        "today": timezone.localdate(),
    })


class ActionItemListView(FilteredListView):
    filterset_class = ActionItemFilterSet
    template_name = "coordination/action_list.html"
    context_object_name = "items"
    sort_fields = {"due": ("due_on", "pk"), "owner": ("owner__name", "due_on", "pk"), "status": ("status", "due_on", "pk")}
    default_sort = "due"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not rules.can_read_meetings(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            raise PermissionDenied
        return super().get(request, *args, **kwargs)

    def get_filterset_kwargs(self):
        data = self.request.GET.copy()
        data.setdefault("show", "open")
        return {"data": data, "queryset": self.get_base_queryset(), "request": self.request,
                "agency_ids": user_scope(self.request.user).agency_ids}

    def get_base_queryset(self):
        return ActionItem.objects.visible_to(self.request.user).with_list_related()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["today"] = timezone.localdate()
        return context


@login_required
@require_http_methods(["GET", "POST"])
def action_item_detail_view(request, pk):
    item = get_object_or_404(ActionItem.objects.visible_to(request.user).with_list_related(), pk=pk)
    can_update = rules.can_update_action(request.user, item)
    form = ActionUpdateForm(request.POST or None, initial={"status": item.status})
    if request.method == "POST":
        if not can_update:
            raise PermissionDenied
        if form.is_valid():
            try:
                action_item_update(item=item, by=request.user, note=form.cleaned_data["note"], status=form.cleaned_data["status"])
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Update recorded."))
                return redirect(item)
    return render(request, "coordination/action_detail.html", {
        "item": item, "updates": item.updates.select_related("author", "author_agency"), "can_update": can_update,
        "form": form, "today": timezone.localdate(),
    })

