"""Referral pages: inbox, sent, state review, referral and case pages, the referral form, the audit log.

Views stay thin: they parse the request, call one selector or service, and render. Everything a
user may read comes through the gates; anything they may not read is a 404. A visible referral the
user may not act on answers a POST with 403.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case as CaseWhen
from django.db.models import F, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coordination.mixins import Echo, FilteredListView
from referrals import services
from referrals.audit import agency_for, audit
from referrals.deadlines import RULES
from referrals.filtersets import AuditFilterSet, ReferralFilterSet
from referrals.forms import (
    ACTION_FORMS,
    AgeForm,
    CaseForm,
    ConsentForm,
    IdentityForm,
    ReferralForm,
    ReferralShareForm,
    RerouteForm,
    ShareForm,
    WithdrawConsentForm,
)
from referrals.identity import FIELD_NAMES, IDENTITY_FIELDS, case_legal_basis, identity_access, identity_read, identity_write
from referrals.imports import referral_csv_rows
from referrals.models import AuditEvent, Consent
from referrals.presenters import ROW_VALUES, referral_rows
from referrals.selectors import (
    agency_candidates,
    case_for,
    case_pathway,
    case_shares,
    district_choices_for,
    origin_for,
    pathway_events,
    referral_box,
    referral_events,
    referral_for,
    referral_shares,
    visible_reroutes,
)
from referrals.vocab import PENDING_STATUSES, AgeBand, AgeStatus, Purpose, Status
from stakeholders.models import Agency, District
from stakeholders.selectors import user_scope
from stakeholders.vocab import AgencyKind

# --- lists ---------------------------------------------------------------------------------------


class CappedPaginator(Paginator):
    """Counts at most `cap` rows: a state's list can hold hundreds of thousands of referrals, and counting
    them all would cost more than the page. Beyond the cap the page says "more than 500"; the cap grows
    with the page asked for, so paging on still works, and the CSV export is never capped."""

    capped = False

    def __init__(self, object_list, per_page, *, cap: int = 500, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self):
        # Only the keys: the count then reads the list's index, not every column the page shows.
        found = self.object_list.order_by().values("pk")[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


class ReferralListView(FilteredListView):
    box = "inbox"
    filterset_class = ReferralFilterSet
    template_name = "referrals/referral_list.html"
    context_object_name = "referrals"
    sort_fields = {
        "attention": ("attention",),
        "due": ("due_at", "pk"),
        "sent": ("-sent_at", "-pk"),
        "purpose": ("purpose", "-sent_at", "-pk"),
        "status": ("status", "-sent_at", "-pk"),
        "from": ("from_agency__name", "-sent_at", "-pk"),
        "to": ("to_agency__name", "-sent_at", "-pk"),
    }
    default_sort = "attention"
    titles = {"inbox": gettext_lazy("Inbox"), "sent": gettext_lazy("Sent"), "review": gettext_lazy("State review")}

    def get_base_queryset(self):
        return referral_box(self.request.user, self.box)

    def get_filterset_kwargs(self):
        kwargs = super().get_filterset_kwargs()
        kwargs["districts"] = district_choices_for(self.request.user)
        return kwargs

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.sort.lstrip("-") == "attention":
            # Overdue first, then waiting (soonest deadline first), then in progress, then the rest, newest first.
            pending_due = CaseWhen(When(status__in=PENDING_STATUSES, then=F("due_at")))
            ordering = [F("attention").asc(), pending_due.asc(nulls_last=True), F("sent_at").desc(nulls_last=True), F("pk").desc()]
            if self.sort.startswith("-"):
                ordering = [F("attention").desc(), F("sent_at").desc(nulls_last=True), F("pk").desc()]
            queryset = queryset.order_by(*ordering)
        return queryset

    def paginate_queryset(self, queryset, page_size):
        asked = self.request.GET.get("page") or "1"
        cap = max(500, (int(asked) + 4) * page_size) if asked.isdigit() and len(asked) < 7 else 500
        paginator = CappedPaginator(queryset.values(*ROW_VALUES), page_size, cap=cap)
        page = paginator.get_page(self.request.GET.get("page"))
        return paginator, page, page.object_list, page.has_other_pages()

    def export_csv(self, queryset):
        user = self.request.user
        filters = {k: v for k, v in self.request.GET.lists() if k not in {"format", "page"}}
        audit(user=user, action="export", object_type="referral_list", object_ref=f"{self.box}.csv",
              detail={"list": self.box, "filters": filters})
        writer = csv.writer(Echo())
        return self.csv_response((writer.writerow(row) for row in referral_csv_rows(queryset)), f"referrals-{self.box}.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = user_scope(self.request.user)
        context.update(
            box=self.box,
            rows=referral_rows(context["object_list"], box=self.box),
            title=self.titles[self.box],
            can_refer=bool(scope.acting_agency_ids),
            can_audit=scope.superuser or bool(scope.admin_agency_ids),
        )
        return context


class InboxView(ReferralListView):
    box = "inbox"


class SentView(ReferralListView):
    box = "sent"


OVERDUE_CAP = 200


class ReviewView(ReferralListView):
    """Every referral touching the supervisor's states, newest first: with a state's whole history in the
    list, newest-first walks the sent_at index and stops after one page; overdue ones are counted above
    the list (a small, indexed set) and one click away."""

    box = "review"
    default_sort = "sent"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["overdue_cap"] = OVERDUE_CAP
        context["overdue_count"] = self.get_base_queryset().filter(
            status__in=PENDING_STATUSES, due_at__lt=timezone.now()).order_by()[:OVERDUE_CAP].count()
        return context


class AuditLogView(FilteredListView):
    """Agency admins read their agencies' entries; superusers read all. Nobody changes them."""

    filterset_class = AuditFilterSet
    template_name = "referrals/audit_list.html"
    context_object_name = "events"
    sort_fields = {"at": ("-at", "-pk")}
    default_sort = "at"

    def get_base_queryset(self):
        scope = user_scope(self.request.user)
        events = AuditEvent.objects.select_related("user", "agency")
        if scope.superuser:
            return events
        if scope.admin_agency_ids:
            return events.filter(agency_id__in=scope.admin_agency_ids)
        raise Http404

    def export_csv(self, queryset):
        raise Http404


# --- a referral ----------------------------------------------------------------------------------


RULES_BY_SLUG = {rule.slug: rule for rule in RULES}


def _live_context(request, referral, *, forms=None, error=None):
    actions = services.allowed_actions(referral, request.user)
    bound = forms or {}
    rule = RULES_BY_SLUG.get(referral.deadline_rule)
    acting_for = services.side_agency(referral, request.user, services.RECEIVER)
    return {
        "referral": referral,
        "delegated": acting_for is not None and acting_for != referral.to_agency_id,
        "deadline_source": f"{rule.note} ({rule.source})" if rule else "",
        "case": referral.case,
        "events": referral_events(referral),
        "actions": actions,
        "action_forms": {name: bound.get(name) or ACTION_FORMS[name]() for name in actions if name in ACTION_FORMS},
        "reroutes": visible_reroutes(request.user, referral) if referral.status == Status.DECLINED else [],
        "error": error,
        "identity": identity_access(case=referral.case, user=request.user),
    }


def _share_context(request, referral):
    """The referral's third-agency shares, for the sender's and receiver's acting members only."""
    side = services.share_side(referral, request.user)
    if side is None or referral.status == Status.DRAFT:
        return {}
    return {"shares": referral_shares(referral), "share_form": ReferralShareForm(),
            "can_delegate": side == referral.to_agency_id}


@login_required
@require_GET
def referral_detail_view(request, reference):
    referral = referral_for(request.user, reference)
    audit(user=request.user, agency_id=agency_for(request.user, referral.to_agency_id, referral.from_agency_id),
          action="view_referral", object_type="referral", object_ref=referral.reference,
          legal_basis=case_legal_basis(referral.case), detail={"case": referral.case.code})
    return render(request, "referrals/referral_detail.html", {**_live_context(request, referral), **_share_context(request, referral)})


@login_required
@require_POST
def referral_share_view(request, reference):
    """Share the referral with a third agency (reading; with `act`, the receiver delegates acting on it)."""
    referral = referral_for(request.user, reference)
    if services.share_side(referral, request.user) is None:
        raise PermissionDenied(_("Only caseworkers and admins of the sending or receiving agency may share this referral."))
    form = ReferralShareForm(request.POST)
    if form.is_valid():
        agency, act = form.cleaned_data["agency"], form.cleaned_data["act"]
        try:
            services.referral_share(referral=referral, agency=agency, by=request.user, act=act)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            text = _("%(agency)s may now act on this referral for %(receiver)s.") if act else _("Referral shared with %(agency)s.")
            messages.success(request, text % {"agency": agency.name, "receiver": referral.to_agency.name})
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(referral)


@login_required
@require_POST
def referral_share_revoke_view(request, reference, agency_pk):
    referral = referral_for(request.user, reference)
    agency = get_object_or_404(Agency, pk=agency_pk)
    services.referral_share_revoke(referral=referral, agency=agency, by=request.user)
    messages.success(request, _("The share with %(agency)s was revoked.") % {"agency": agency.name})
    return redirect(referral)


def _action_kwargs(action, data):
    if action == "decline":
        return {"reason": data["reason"], "note": data.get("note") or ""}
    if action == "complete":
        return {"outcome": data["outcome"], "note": data.get("note") or ""}
    if action == "send":
        return {}
    return {"note": data.get("note") or ""}


@login_required
@require_POST
def referral_action_view(request, reference, action):
    if action not in services.ACTION_SERVICES:
        raise Http404
    referral = referral_for(request.user, reference)
    if services.side_agency(referral, request.user, services.TRANSITIONS[action].side) is None:
        services.refuse_side(referral, request.user, action)
    form = ACTION_FORMS[action](request.POST)
    error = None
    if form.is_valid():
        try:
            referral = services.ACTION_SERVICES[action](referral=referral, by=request.user, **_action_kwargs(action, form.cleaned_data))
        except ValidationError as exc:
            error = " ".join(exc.messages)
            referral = referral_for(request.user, reference)
    else:
        error = _("Please complete the form: nothing was changed.")
    if request.htmx:
        context = _live_context(request, referral, forms={action: form} if error else None, error=error)
        context["oob"] = True  # the identity panel may have changed with the status (e.g. after a decline)
        if not error:
            context["done"] = services.past_tense(action)
        return render(request, "referrals/includes/referral_live.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Referral %(ref)s %(done)s.") % {"ref": referral.reference, "done": services.past_tense(action)})
    return redirect(referral)


@login_required
@require_http_methods(["GET", "POST"])
def referral_reroute_view(request, reference):
    referral = referral_for(request.user, reference)
    if services.side_agency(referral, request.user, services.SENDER) is None:
        services.refuse_side(referral, request.user, "reroute")
    if referral.status != Status.DECLINED:
        messages.error(request, _("Only a declined referral can be re-routed."))
        return redirect(referral)
    form = RerouteForm(request.POST or None, initial={"urgency": referral.urgency})
    if request.method == "POST" and form.is_valid():
        try:
            new = services.referral_reroute(referral=referral, to_agency=form.cleaned_data["to_agency"], by=request.user,
                                            note=form.cleaned_data["note"], urgency=form.cleaned_data["urgency"])
        except ValidationError as exc:
            _attach(exc, form)
        else:
            messages.success(request, _("Re-routed to %(agency)s as %(ref)s.") % {"agency": new.to_agency.name, "ref": new.reference})
            return redirect(new)
    case = referral.case
    origin, origin_place = origin_for(case=case, from_agency=referral.from_agency)
    picker = _picker_context(
        request, purpose=referral.purpose, gender=case.gender, age_status=case.age_status, age_years=case.age_years,
        origin=origin, origin_place=origin_place, exclude_ids=(referral.from_agency_id, referral.to_agency_id),
        selected=form["to_agency"].value(), case_code=case.code, from_agency_id=referral.from_agency_id,
        exclude_extra=referral.to_agency_id,
    )
    return render(request, "referrals/reroute_form.html", {"referral": referral, "form": form, **picker})


def _attach(exc: ValidationError, *forms_) -> None:
    """Put a service's refusal on the form field it names, else on the first form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = next((f for f in forms_ if field in f.fields), forms_[0])
            for error in errors:
                target.add_error(field if field in target.fields else None, error)
    else:
        for message in exc.messages:
            forms_[0].add_error(None, message)


# --- the agency picker ------------------------------------------------------------------------------


def _float(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _int(value):
    return int(value) if str(value or "").isdigit() else None


def _picker_context(request, *, purpose, gender, age_status, age_years, origin, origin_place, exclude_ids, selected,
                    case_code="", from_agency_id=None, exclude_extra=None):
    params = request.GET if request.method == "GET" else request.POST
    service = params.get("pick_service") or ""
    district_id = _int(params.get("pick_district"))
    within_km = _float(params.get("pick_within"))
    beds = params.get("pick_beds") or ""
    free_beds = {"yes": True, "any": False}.get(beds)
    q = (params.get("pick_q") or "").strip()[:60]
    candidates = []
    if purpose or service or q or district_id:
        candidates = agency_candidates(
            purpose=purpose, gender=gender, age_status=age_status, age_years=age_years, origin=origin,
            exclude_ids=exclude_ids, service=service, district_id=district_id, within_km=within_km, free_beds=free_beds, q=q,
        )
    selected_id = _int(selected)
    selected_agency = None
    if selected_id and selected_id not in {c.pk for c in candidates}:
        selected_agency = Agency.objects.filter(pk=selected_id, active=True).only("pk", "name", "code").first()
    from stakeholders.vocab import Service

    return {
        "candidates": candidates,
        "selected_id": selected_id,
        "selected_agency": selected_agency,
        "picker": {
            "purpose": purpose, "service": service, "district_id": district_id, "within_km": params.get("pick_within") or "",
            "beds": beds, "q": q, "origin_place": origin_place, "placement": purpose == Purpose.SHELTER_PLACEMENT,
            "case_code": case_code, "from_agency_id": from_agency_id or "", "exclude": exclude_extra or "",
        },
        "service_choices": Service.choices,
        "picker_districts": district_choices_for(request.user),
    }


@login_required
@require_GET
def agency_options_view(request):
    """The receiving-agency picker (htmx): agencies for the purpose, nearest first, eligible, with free beds."""
    params = request.GET
    scope = user_scope(request.user)
    if not scope.acting_agency_ids:
        raise PermissionDenied
    from_agency_id = _int(params.get("from_agency"))
    if from_agency_id not in scope.acting_agency_ids:
        from_agency_id = min(scope.acting_agency_ids)
    from_agency = Agency.objects.select_related("district").get(pk=from_agency_id)
    case = None
    if params.get("case"):
        case = case_for(request.user, params["case"])
        gender, age_status, age_years = case.gender, case.age_status, case.age_years
        origin, place = origin_for(case=case, from_agency=from_agency)
    else:
        # The new-case form's fields carry the "case-" prefix; plain names work too.
        value = lambda name: params.get(f"case-{name}") or params.get(name) or ""  # noqa: E731
        gender = value("gender")
        age_years = _int(value("age_years"))
        age_status = value("age_status")
        if age_years is not None:
            age_status = AgeStatus.MINOR if age_years < 18 else AgeStatus.ADULT
        district_id = _int(value("rescue_district"))
        district = District.objects.filter(pk=district_id).first() if district_id else None
        origin, place = origin_for(rescue_district=district, from_agency=from_agency)
    exclude = {from_agency_id}
    if _int(params.get("exclude")):
        exclude.add(_int(params.get("exclude")))
    context = _picker_context(
        request, purpose=params.get("purpose") or "", gender=gender, age_status=age_status, age_years=age_years,
        origin=origin, origin_place=place, exclude_ids=exclude, selected=params.get("to_agency"),
        case_code=case.code if case else "", from_agency_id=from_agency_id, exclude_extra=_int(params.get("exclude")),
    )
    return render(request, "referrals/includes/agency_picker.html", context)


# --- making a referral ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def referral_create_view(request, code=None):
    """Refer a new case (case, consent, optional identity and referral in one form) or an existing one."""
    scope = user_scope(request.user)
    case = case_for(request.user, code) if code else None
    if not scope.acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers and admins of an agency can make referrals."))
    acting_ids = set(scope.acting_agency_ids)
    if case is not None:
        acting_ids &= services.stake_agency_ids(case)
        if not acting_ids:
            raise PermissionDenied(_("Your agency does not work on this case now, so it cannot refer it."))
    # Committees see no case-level data: they neither open cases nor refer (services.refuse_committee).
    acting = list(Agency.objects.filter(pk__in=acting_ids).exclude(kind=AgencyKind.COMMITTEE).select_related("district").order_by("name"))
    if not acting:
        raise PermissionDenied(_("Committees see no case-level data, so they make no referrals."))
    data = request.POST if request.method == "POST" else None
    referral_form = ReferralForm(data, acting_agencies=acting, initial={"purpose": request.GET.get("purpose", "")})
    home = acting[0]
    if data and str(data.get("from_agency", "")).isdigit():
        home = next((a for a in acting if a.pk == int(data["from_agency"])), home)
    case_form = None if case else CaseForm(data, prefix="case", home_agency=home,
                                           state_ids=scope.agency_state_ids | scope.supervised_state_ids)
    needs_consent = case is None or services.consent_problem(case) is not None
    consent_form = ConsentForm(data, prefix="consent") if needs_consent else None
    identity_form = IdentityForm(data, prefix="identity") if case is None else None
    forms_ = [f for f in (referral_form, case_form, consent_form, identity_form) if f is not None]

    if request.method == "POST" and "find" not in request.POST and all(f.is_valid() for f in forms_):
        data = referral_form.cleaned_data
        common = {"to_agency": data["to_agency"], "purpose": data["purpose"], "urgency": data["urgency"], "note": data["note"],
                  "by": request.user, "send": "draft" not in request.POST}
        try:
            if case is None:
                referral = services.case_refer(
                    agency=data["from_agency"], fields=dict(case_form.cleaned_data), consent=consent_form.service_kwargs(),
                    identity=identity_form.cleaned_data, **common,
                )
            else:
                referral = services.referral_create(
                    case=case, from_agency=data["from_agency"],
                    consent=consent_form.service_kwargs() if consent_form is not None else None, **common,
                )
        except ValidationError as exc:
            _attach(exc, referral_form, *(f for f in forms_ if f is not referral_form))
        else:
            if referral.status == Status.DRAFT:
                messages.success(request, _("Draft %(ref)s saved; send it when ready.") % {"ref": referral.reference})
            else:
                messages.success(request, _("Referral %(ref)s sent to %(agency)s.") % {
                    "ref": referral.reference, "agency": referral.to_agency.name})
            return redirect(referral)

    # The picker, rendered server-side too, so the form works without JavaScript.
    purpose = referral_form["purpose"].value() or ""
    if case is not None:
        gender, age_status, age_years = case.gender, case.age_status, case.age_years
        origin, place = origin_for(case=case, from_agency=home)
    else:
        gender = case_form["gender"].value() or ""
        age_status = case_form["age_status"].value() or ""
        age_years = _int(case_form["age_years"].value())
        if age_years is not None:
            age_status = AgeStatus.MINOR if age_years < 18 else AgeStatus.ADULT
        district = District.objects.filter(pk=_int(case_form["rescue_district"].value())).first()
        origin, place = origin_for(rescue_district=district, from_agency=home)
    picker = _picker_context(
        request, purpose=purpose, gender=gender, age_status=age_status, age_years=age_years, origin=origin,
        origin_place=place, exclude_ids={home.pk}, selected=referral_form["to_agency"].value(),
        case_code=case.code if case else "", from_agency_id=home.pk,
    )
    context = {
        "case": case, "referral_form": referral_form, "case_form": case_form, "consent_form": consent_form,
        "identity_form": identity_form, "forms": forms_, **picker,
    }
    return render(request, "referrals/referral_form.html", context)


# --- a case --------------------------------------------------------------------------------------


def _case_context(request, case):
    user = request.user
    scope = user_scope(user)
    pathway = case_pathway(user, case)
    stake = services.stake_agency_ids(case)
    holder_actor = case.holder_id in scope.acting_agency_ids
    return {
        "case": case,
        "pathway": pathway,
        "events": pathway_events(pathway)[:100],
        "consents": case.consents.select_related("recorded_by_agency").order_by("-given_on", "-created_at"),
        "consent_problem": services.consent_problem(case),
        "identity": identity_access(case=case, user=user),
        "can_refer": bool(stake & scope.acting_agency_ids),
        "can_consent": bool(stake & scope.acting_agency_ids),
        "can_share": holder_actor,
        "can_record_age": holder_actor,
        "shares": case_shares(case) if holder_actor else [],
        "share_form": ShareForm() if holder_actor else None,
    }


@login_required
@require_GET
def case_detail_view(request, code):
    case = case_for(request.user, code)
    audit(user=request.user, agency_id=agency_for(request.user, case.holder_id, case.opened_by_id), action="view_case",
          object_type="case", object_ref=case.code, legal_basis=case_legal_basis(case))
    return render(request, "referrals/case_detail.html", _case_context(request, case))


@never_cache
@login_required
@require_POST
def case_identity_view(request, code):
    """Reveal the identity (POST: it is an audited act); 403 for those who may see the case but not who it is."""
    case = case_for(request.user, code)
    if not identity_access(case=case, user=request.user).allowed:
        raise PermissionDenied(_("Your agency may not read this person's identity."))
    context = {"case": case, "identity": identity_access(case=case, user=request.user)}
    try:
        data = identity_read(case=case, user=request.user)
    except ValidationError as exc:  # a record the configured IDENTITY_KEYS cannot decrypt: say so, don't crash
        context["identity_error"] = " ".join(exc.messages)
    else:
        rows = [(label, data.get(name, "")) for name, label in IDENTITY_FIELDS] if data else []
        context.update(identity_rows=rows, revealed=True)
    if request.htmx:
        return render(request, "referrals/includes/identity_panel.html", context)
    return render(request, "referrals/case_identity.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def case_identity_edit_view(request, code):
    case = case_for(request.user, code)
    if not identity_access(case=case, user=request.user).allowed:
        raise PermissionDenied(_("Your agency may not record this person's identity."))
    if request.method == "POST":
        form = IdentityForm(request.POST)
        if form.is_valid():
            identity_write(case=case, data=form.cleaned_data, by=request.user)
            messages.success(request, _("Identity saved (encrypted)."))
            return redirect(case)
    else:
        try:
            form = IdentityForm(initial=identity_read(case=case, user=request.user, legal_basis=case_legal_basis(case)))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(case)
    return render(request, "referrals/identity_form.html", {"case": case, "form": form, "fields": FIELD_NAMES})


@login_required
@require_http_methods(["GET", "POST"])
def consent_add_view(request, code):
    case = case_for(request.user, code)
    scope = user_scope(request.user)
    if not services.stake_agency_ids(case) & scope.acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers of the agencies working on this case may record consent."))
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(case=case, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            _attach(exc, form)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect(case)
    return render(request, "referrals/consent_form.html", {"case": case, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def case_age_view(request, code):
    """Record the age once determined (or correct it) and how: the holder's caseworkers and admins only."""
    case = case_for(request.user, code)
    if case.holder_id not in user_scope(request.user).acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers and admins of the agency holding the case may record its age."))
    band_only = case.age_years is None and case.age_band != AgeBand.UNDETERMINED
    initial = {"age_years": case.age_years, "basis": case.age_basis or None, "age_band": case.age_band if band_only else ""}
    form = AgeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_determine_age(case=case, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            _attach(exc, form)
        else:
            text = _("Age recorded: %(status)s.") % {"status": case.get_age_status_display()}
            if case.changed_deadlines:
                text += " " + _("Deadlines recomputed for %(refs)s.") % {"refs": ", ".join(case.changed_deadlines)}
            messages.success(request, text)
            return redirect(case)
    return render(request, "referrals/age_form.html", {"case": case, "form": form})


@login_required
@require_POST
def consent_withdraw_view(request, code, pk):
    case = case_for(request.user, code)
    consent = get_object_or_404(Consent, pk=pk, case=case)
    form = WithdrawConsentForm(request.POST)
    form.is_valid()
    try:
        services.consent_withdraw(consent=consent, by=request.user, note=form.cleaned_data.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Consent marked as withdrawn. New referrals need another basis."))
    return redirect(case)


@login_required
@require_POST
def case_share_view(request, code):
    case = case_for(request.user, code)
    form = ShareForm(request.POST)
    if case.holder_id not in user_scope(request.user).acting_agency_ids:
        raise PermissionDenied(_("Only the agency holding the case may share it."))
    if form.is_valid():
        try:
            services.case_share(case=case, agency=form.cleaned_data["agency"], by=request.user,
                                identity=form.cleaned_data["identity"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Case shared with %(agency)s.") % {"agency": form.cleaned_data["agency"].name})
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(case)


@login_required
@require_POST
def case_share_revoke_view(request, code, agency_pk):
    case = case_for(request.user, code)
    agency = get_object_or_404(Agency, pk=agency_pk)
    services.case_share_revoke(case=case, agency=agency, by=request.user)
    messages.success(request, _("The share with %(agency)s was revoked.") % {"agency": agency.name})
    return redirect(case)

