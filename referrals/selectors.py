"""Reads of cases and referrals. Every one starts from the gate (`visible_to`) and fetches what a page
shows in a fixed number of queries, whatever the size of the tables."""

from __future__ import annotations

from django.db.models import Case as CaseWhen
from django.db.models import IntegerField, Q, Value, When
from django.http import Http404
from django.utils import timezone

from referrals.matching import Candidate, rank, serves, target_for
from referrals.models import Case, CaseGroupObjectPermission, Referral, ReferralEvent, ReferralGroupObjectPermission
from referrals.vocab import PENDING_STATUSES, SENT_STATUSES, Purpose, Status
from stakeholders.models import Agency, AgencyService, District
from stakeholders.selectors import user_scope
from stakeholders.vocab import AgencyKind

BOXES = ("inbox", "sent", "review")

def attention_rank(now=None):
    """0 overdue, 1 waiting for an answer, 2 accepted (in progress), 3 closed or draft: what needs action first."""
    now = now or timezone.now()
    return CaseWhen(
        When(status__in=PENDING_STATUSES, due_at__lt=now, then=Value(0)),
        When(status__in=PENDING_STATUSES, then=Value(1)),
        When(status=Status.ACCEPTED, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def referral_box(user, box: str):
    """The referrals of one list page, through the gate: received (inbox), sent, or every referral
    touching the supervisor's states (review). Raises Http404 for a review by a non-supervisor."""
    scope = user_scope(user)
    if box == "inbox":
        referrals = Referral.objects.received_by(user)
    elif box == "sent":
        referrals = Referral.objects.visible_to(user).filter(from_agency_id__in=scope.agency_ids)
    elif box == "review":
        referrals = Referral.objects.visible_to(user)
        if scope.superuser:
            referrals = referrals.filter(status__in=SENT_STATUSES)
        elif scope.supervised_state_ids:
            states = scope.supervised_state_ids
            referrals = referrals.filter(Q(from_state_id__in=states) | Q(to_state_id__in=states), status__in=SENT_STATUSES)
        else:
            raise Http404
    else:
        raise ValueError(box)
    return referrals.annotate(attention=attention_rank())


def inbox_pending_count(user) -> int:
    """Referrals waiting for the user's agencies to answer (the navigation badge): one indexed count."""
    return Referral.objects.received_by(user).filter(status__in=PENDING_STATUSES).count()


def referral_for(user, reference: str) -> Referral:
    """One referral the user may read, with what its page shows; Http404 otherwise."""
    try:
        return (
            Referral.objects.visible_to(user)
            .select_related(
                "case", "case__holder", "case__rescue_district", "case__origin_state", "from_agency", "from_agency__district",
                "to_agency", "to_agency__district", "rerouted_from", "rerouted_from__to_agency",
            )
            .get(reference=reference)
        )
    except Referral.DoesNotExist:
        raise Http404 from None


def referral_events(referral: Referral):
    return referral.events.select_related("actor", "actor_agency").order_by("at", "pk")


def visible_reroutes(user, referral: Referral):
    return Referral.objects.visible_to(user).filter(rerouted_from=referral).select_related("to_agency").only(
        "reference", "status", "to_agency__name"
    )


def case_for(user, code: str) -> Case:
    """One case the user may read; Http404 otherwise."""
    try:
        return (
            Case.objects.visible_to(user)
            .select_related("opened_by", "holder", "origin_state", "origin_district", "rescue_district__state")
            .get(code=code)
        )
    except Case.DoesNotExist:
        raise Http404 from None


def case_pathway(user, case: Case) -> list[Referral]:
    """The case's referrals the user may read, in order: the person's path across agencies."""
    return list(
        Referral.objects.visible_to(user).filter(case=case)
        .select_related("from_agency", "to_agency", "from_agency__district", "to_agency__district")
        .order_by("created_at", "pk")
    )


def pathway_events(referrals: list[Referral]):
    return (
        ReferralEvent.objects.filter(referral__in=[r.pk for r in referrals])
        .select_related("actor_agency", "referral")
        .order_by("-at", "-pk")
    )


def case_shares(case: Case) -> list[dict]:
    """Agencies a case is explicitly shared with (guardian group grants), with identity access or not."""
    rows = CaseGroupObjectPermission.objects.filter(content_object=case).values_list("group__name", "permission__codename")
    granted: dict[int, set[str]] = {}
    for name, codename in rows:
        if name.startswith("agency-") and name.endswith("-members"):
            granted.setdefault(int(name.split("-")[1]), set()).add(codename)
    agencies = Agency.objects.in_bulk(list(granted))
    return [
        {"agency": agencies[pk], "identity": "view_identity" in codes}
        for pk, codes in sorted(granted.items())
        if pk in agencies
    ]


def referral_shares(referral: Referral) -> list[dict]:
    """Third agencies a referral is explicitly shared with (guardian group grants), and whether the receiver
    delegated acting on it to them."""
    rows = ReferralGroupObjectPermission.objects.filter(content_object=referral).values_list("group__name", "permission__codename")
    granted: dict[int, set[str]] = {}
    for name, codename in rows:
        if name.startswith("agency-") and name.endswith("-members"):
            granted.setdefault(int(name.split("-")[1]), set()).add(codename)
    agencies = Agency.objects.in_bulk(list(granted))
    return [
        {"agency": agencies[pk], "act": "act_on_referral" in codes}
        for pk, codes in sorted(granted.items())
        if pk in agencies
    ]


def district_choices_for(user):
    """Districts offered by the list filters: those of the user's agencies' and supervised states."""
    scope = user_scope(user)
    districts = District.objects.select_related("state").order_by("state__name", "name")
    if scope.superuser:
        return districts
    return districts.filter(state_id__in=scope.agency_state_ids | scope.supervised_state_ids)


def origin_for(*, case: Case | None = None, rescue_district: District | None = None, from_agency: Agency | None = None):
    """Where distances are measured from: the rescue district, else the holder's, else the sender's."""
    for place in (
        rescue_district,
        case.rescue_district if case is not None and case.rescue_district_id else None,
        case.holder.district if case is not None and case.holder.district_id else None,
        from_agency.district if from_agency is not None and from_agency.district_id else None,
    ):
        if place is not None and place.latitude is not None and place.longitude is not None:
            return (place.latitude, place.longitude), place
    if from_agency is not None and from_agency.latitude is not None:
        return (from_agency.latitude, from_agency.longitude), None
    return None, None


CANDIDATE_COLUMNS = (
    "pk", "code", "name", "kind", "district_id", "district__name", "state__name", "latitude", "longitude",
    "serves_female", "serves_male", "serves_transgender", "min_age", "max_age", "beds_total", "beds_available",
)


def agency_candidates(*, purpose: str = "", gender: str = "", age_status: str = "", age_years: int | None = None,
                      origin=None, exclude_ids=(), service: str = "", district_id: int | None = None,
                      within_km: float | None = None, free_beds: bool | None = None, q: str = "",
                      limit: int = 30) -> list[Candidate]:
    """Agencies that can take a referral, nearest first, in one query.

    The purpose decides the service or kind asked for (a shelter placement asks for the shelter
    service matching the person's gender and age, and only shelters with a free bed whose
    eligibility admits the person); `service`, `district_id`, `within_km`, `free_beds` and `q`
    narrow the list further.
    """
    # Committees never receive case-level data (services.refuse_committee): never offer them.
    agencies = Agency.objects.filter(active=True).exclude(pk__in=list(exclude_ids)).exclude(kind=AgencyKind.COMMITTEE)
    target = ("service", service) if service else target_for(purpose, gender=gender, age_status=age_status)
    if target is not None:
        kind, value = target
        if kind == "kind":
            agencies = agencies.filter(kind=value)
        else:
            agencies = agencies.filter(pk__in=AgencyService.objects.filter(service=value).values("agency_id"))
    placement = purpose == Purpose.SHELTER_PLACEMENT
    if free_beds or (placement and free_beds is None):
        agencies = agencies.filter(beds_available__gt=0)
    if district_id:
        agencies = agencies.filter(district_id=district_id)
    if q.strip():
        agencies = agencies.filter(Q(name__icontains=q.strip()) | Q(code__istartswith=q.strip()))
    candidates = [Candidate(*row) for row in agencies.values_list(*CANDIDATE_COLUMNS)]
    if placement:
        candidates = [c for c in candidates if serves(c, gender=gender, age_status=age_status, age_years=age_years)]
    return rank(candidates, origin=origin, within_km=within_km, limit=limit)
