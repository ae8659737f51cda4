"""Reads for the registry, and the one description of who a user is in the network."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch

from stakeholders.models import Agency, AgencyService, Membership
from stakeholders.vocab import SUPERVISING_KINDS, AgencyKind, JurisdictionLevel


@dataclass(frozen=True)
class UserScope:
    """Where a user stands: their agencies by role, the states they supervise, committee membership.

    Built from one query and kept on the user object for the rest of the request, so every gate
    (referrals, maps, dashboards) asks the same question the same way.
    """

    agency_ids: frozenset[int] = frozenset()
    acting_agency_ids: frozenset[int] = frozenset()  # admin or caseworker: may act on referrals
    admin_agency_ids: frozenset[int] = frozenset()
    supervised_state_ids: frozenset[int] = frozenset()  # any member of a state department / bureau
    state_admin_state_ids: frozenset[int] = frozenset()  # admins of those: edit the state's registry
    committee: bool = False
    superuser: bool = False
    agency_district_ids: frozenset[int] = frozenset()
    agency_state_ids: frozenset[int] = frozenset()
    memberships: tuple = field(default=(), compare=False)

    @property
    def has_agency(self) -> bool:
        return bool(self.agency_ids)

    @property
    def is_supervisor(self) -> bool:
        return bool(self.supervised_state_ids)

    @property
    def sees_all_states(self) -> bool:
        return self.superuser or self.committee


def user_scope(user) -> UserScope:
    if not getattr(user, "is_authenticated", False):
        return UserScope()
    cached = getattr(user, "_coordination_scope", None)
    if cached is not None:
        return cached
    memberships = tuple(
        Membership.objects.filter(user=user, agency__active=True).select_related("agency", "agency__state")
    )
    agency_ids, acting, admin, supervised, state_admin, districts, states = set(), set(), set(), set(), set(), set(), set()
    committee = False
    for membership in memberships:
        agency = membership.agency
        agency_ids.add(agency.pk)
        if membership.role in (Membership.Role.ADMIN, Membership.Role.CASEWORKER):
            acting.add(agency.pk)
        if membership.role == Membership.Role.ADMIN:
            admin.add(agency.pk)
        if agency.kind == AgencyKind.COMMITTEE and agency.level == JurisdictionLevel.NATIONAL:
            committee = True
        if agency.kind in SUPERVISING_KINDS and agency.state_id:
            supervised.add(agency.state_id)
            if membership.role == Membership.Role.ADMIN:
                state_admin.add(agency.state_id)
        if agency.district_id:
            districts.add(agency.district_id)
        if agency.state_id:
            states.add(agency.state_id)
    scope = UserScope(
        agency_ids=frozenset(agency_ids),
        acting_agency_ids=frozenset(acting),
        admin_agency_ids=frozenset(admin),
        supervised_state_ids=frozenset(supervised),
        state_admin_state_ids=frozenset(state_admin),
        committee=committee,
        superuser=user.is_superuser,
        agency_district_ids=frozenset(districts),
        agency_state_ids=frozenset(states),
        memberships=memberships,
    )
    user._coordination_scope = scope
    return scope


def agency_list_queryset():
    """Agencies with everything the list and the CSV export show, in a fixed number of queries."""
    return Agency.objects.with_list_related().prefetch_related(
        Prefetch("services", queryset=AgencyService.objects.only("agency_id", "service"))
    )


def agency_detail_queryset():
    return Agency.objects.with_list_related().prefetch_related("services")
