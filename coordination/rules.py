"""Who may do what with returns, trainings, meetings and action items. Views and services both ask here.

AHTU returns:
- **file** (create, edit, submit): admins and caseworkers of the AHTU (viewers read only);
- **review** (approve, return with a comment, reopen an approved return): the state's nodal agency, i.e.
  admins and caseworkers of the state's anti-trafficking bureau (`state_aht_bureau`), to which district AHTUs
  report under MHA's 2020 three-tier structure; in a state with no active bureau, the admins and caseworkers
  of its state department(s) instead. Nobody approves a return they submitted themselves (superusers aside);
- **read**: see `AhtuReturn.objects.visible_to` (the AHTU's members, the state's supervisors, superusers).
"""

from __future__ import annotations

from django.db.models import Q

from stakeholders.models import Agency, Membership
from stakeholders.selectors import user_scope
from stakeholders.vocab import AgencyKind

_ACTING = (Membership.Role.ADMIN, Membership.Role.CASEWORKER)
# Agencies that typically organise trainings, offered as organisers beyond the user's own agencies.
TRAINING_ORGANISER_KINDS = (
    AgencyKind.TRAINING_INSTITUTE, AgencyKind.STATE_AHT_BUREAU, AgencyKind.STATE_DEPARTMENT,
    AgencyKind.INTERNATIONAL_ORG, AgencyKind.MINISTRY, AgencyKind.LEGAL_SERVICES,
)


def member_ahtus(user) -> list[Agency]:
    """The AHTUs the user belongs to (any role), from the memberships already loaded by `user_scope`."""
    return [m.agency for m in user_scope(user).memberships if m.agency.kind == AgencyKind.AHTU]


def filing_ahtu_ids(user) -> frozenset[int]:
    return frozenset(
        m.agency_id for m in user_scope(user).memberships if m.agency.kind == AgencyKind.AHTU and m.role in _ACTING
    )


def review_state_ids(user) -> frozenset[int]:
    """States whose AHTU returns this user reviews (cached on the user for the request)."""
    cached = getattr(user, "_coordination_review_states", None)
    if cached is not None:
        return cached
    bureau, department = set(), set()
    for m in user_scope(user).memberships:
        if m.role not in _ACTING or not m.agency.state_id:
            continue
        if m.agency.kind == AgencyKind.STATE_AHT_BUREAU:
            bureau.add(m.agency.state_id)
        elif m.agency.kind == AgencyKind.STATE_DEPARTMENT:
            department.add(m.agency.state_id)
    if department - bureau:
        with_bureau = set(
            Agency.objects.filter(
                kind=AgencyKind.STATE_AHT_BUREAU, active=True, state_id__in=department - bureau
            ).values_list("state_id", flat=True)
        )
        bureau |= department - with_bureau
    result = frozenset(bureau)
    if getattr(user, "is_authenticated", False):
        user._coordination_review_states = result
    return result


def can_read_returns(user) -> bool:
    scope = user_scope(user)
    return scope.superuser or scope.is_supervisor or bool(member_ahtus(user))


def can_file(user, ahtu: Agency) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ahtu.pk in filing_ahtu_ids(user)


def can_review(user, ahtu_return) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    if ahtu_return.submitted_by_id is not None and ahtu_return.submitted_by_id == user.pk:
        return False
    return ahtu_return.ahtu.state_id in review_state_ids(user)


def reviewer_agency(user, state_id) -> Agency | None:
    """The agency in whose name the user reviews a state's returns (for the review history)."""
    for m in user_scope(user).memberships:
        if m.agency.state_id == state_id and m.agency.kind in (AgencyKind.STATE_AHT_BUREAU, AgencyKind.STATE_DEPARTMENT):
            return m.agency
    return None


def acting_agency(user, agency_ids) -> Agency | None:
    for m in user_scope(user).memberships:
        if m.agency_id in agency_ids:
            return m.agency
    return None


# Trainings -----------------------------------------------------------------------------------------


def can_read_trainings(user) -> bool:
    scope = user_scope(user)
    return scope.superuser or bool(scope.agency_ids)


def can_record_training(user) -> bool:
    scope = user_scope(user)
    return scope.superuser or bool(scope.acting_agency_ids)


def training_organisers(user):
    """Agencies a user may name as a training's organiser: their own (as admin or caseworker), and the
    usual organising institutions (training institutes, state bodies, ministries…) national or of their states."""
    scope = user_scope(user)
    queryset = Agency.objects.active().only("pk", "name", "code").order_by("name")
    usual = Q(kind__in=TRAINING_ORGANISER_KINDS)
    if scope.superuser:
        return queryset.filter(usual | Q(kind=AgencyKind.AHTU))
    if not scope.acting_agency_ids:
        return queryset.none()
    states = scope.agency_state_ids | scope.supervised_state_ids
    return queryset.filter(Q(pk__in=scope.acting_agency_ids) | (usual & (Q(state__isnull=True) | Q(state_id__in=states))))


def can_edit_training(user, event) -> bool:
    scope = user_scope(user)
    return (
        scope.superuser
        or event.organiser_id in scope.acting_agency_ids
        or (event.created_by_id == user.pk and bool(scope.acting_agency_ids))
        or event.state_id in scope.state_admin_state_ids
    )


# Meetings and action items -------------------------------------------------------------------------


def recording_committees(user):
    """Committees whose meetings this user may record: those where they are an admin or caseworker."""
    queryset = Agency.objects.filter(kind=AgencyKind.COMMITTEE, active=True).order_by("name")
    if user_scope(user).superuser:
        return queryset
    return queryset.filter(pk__in=user_scope(user).acting_agency_ids)


def can_record_meeting(user, committee: Agency) -> bool:
    scope = user_scope(user)
    return committee.kind == AgencyKind.COMMITTEE and (scope.superuser or committee.pk in scope.acting_agency_ids)


def can_update_action(user, item) -> bool:
    """The owner agency reports progress; the committee that decided the action may too (and close it)."""
    scope = user_scope(user)
    return scope.superuser or item.owner_id in scope.acting_agency_ids or item.meeting.committee_id in scope.acting_agency_ids


def can_read_meetings(user) -> bool:
    scope = user_scope(user)
    return scope.superuser or bool(scope.agency_ids)
