"""Reads for coverage: plain rows for `mapping.coverage`, and who may see which districts.

A fixed handful of queries whatever the size of the registry: districts, agencies, their shelter
services, two GROUP BY counts of cases (through `Case.objects.for_aggregates`), the agencies and
the districts linked by a referral in the period and the AHTUs that ever referred to a CWC (through
`Referral.objects.for_aggregates`), and boundaries when a map needs them. No case row is ever
listed here: only counts per district leave the database. `coverage_view` keeps the analysis in the
shared cache (see ANALYSIS_CACHE_SECONDS), so a page and its map compute it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone, translation

from coordination.suppression import needs_suppression, suppress
from mapping import coverage
from mapping.coverage import Activity, AgencyPoint, CoverageResult, DistrictPoint, Suggestion
from mapping.network_selectors import data_version
from referrals.models import Case, Referral
from referrals.vocab import Status
from stakeholders.models import Agency, AgencyService, District, DistrictBoundary, StateBoundary
from stakeholders.selectors import user_scope
from stakeholders.vocab import RESIDENTIAL_KINDS, AgencyKind

# Periods offered for activity counts, in months (0 = since records began), and their length in days.
PERIOD_DAYS = {3: 91, 6: 182, 12: 365, 24: 730, 0: None}
DEFAULT_PERIOD_MONTHS = 12
OPERATOR = None  # `user=None`: the operator at the command line, who counts everything
# A page and the map in its iframe show the same analysis a second apart: the second (and every other viewer
# with the same scope and choices) reads it from the shared cache. Keys carry the data version, so any change
# saved through the ORM is seen at once; bulk imports and sharing changes within this many seconds at most.
ANALYSIS_CACHE_SECONDS = 300
CACHE_VERSION = "coverage-v1"


def district_points() -> list[DistrictPoint]:
    """Every district with its centre, state and population (one query)."""
    rows = District.objects.order_by().values_list("pk", "state_id", "state__name", "name", "latitude", "longitude", "population")
    return [DistrictPoint(*row) for row in rows]


def agency_points() -> list[AgencyPoint]:
    """Every active agency, with who its beds are for (two queries)."""
    services: dict[int, set[str]] = {}
    for agency_id, service in AgencyService.objects.filter(
        agency__active=True, agency__kind__in=list(RESIDENTIAL_KINDS), service__in=["shelter_women", "shelter_children"]
    ).values_list("agency_id", "service"):
        services.setdefault(agency_id, set()).add(service)
    points = []
    for (pk, name, kind, district_id, state_id, lat, lon, beds_total, beds_available, female, min_age, max_age, notified,
         functional) in Agency.objects.filter(active=True).order_by().values_list(
        "pk", "name", "kind", "district_id", "state_id", "latitude", "longitude", "beds_total", "beds_available",
        "serves_female", "min_age", "max_age", "ahtu_notified", "ahtu_functional",
    ):
        women, children = coverage.shelter_eligibility(
            kind, serves_female=female, min_age=min_age, max_age=max_age, services=services.get(pk, ())
        )
        points.append(AgencyPoint(pk, name, kind, district_id, state_id, lat, lon, beds_total, beds_available, women, children,
                                  notified, functional))
    return points


def district_boundaries(district_ids=None) -> dict[int, dict]:
    """district id -> simplified GeoJSON geometry, for the districts that have one (one query)."""
    rows = DistrictBoundary.objects.order_by()
    if district_ids is not None:
        rows = rows.filter(district_id__in=list(district_ids))
    return dict(rows.values_list("district_id", "geometry"))


def state_boundaries(state_ids=None) -> dict[int, dict]:
    rows = StateBoundary.objects.order_by()
    if state_ids is not None:
        rows = rows.filter(state_id__in=list(state_ids))
    return dict(rows.values_list("state_id", "geometry"))


def boundary_sources() -> list[str]:
    sources = set(DistrictBoundary.objects.order_by().values_list("source", flat=True).distinct())
    sources |= set(StateBoundary.objects.order_by().values_list("source", flat=True).distinct())
    return sorted(s for s in sources if s)


def period_start(months: int, now=None):
    days = PERIOD_DAYS.get(months)
    return None if days is None else (now or timezone.now()) - timedelta(days=days)


def activity(user, *, period_months: int = DEFAULT_PERIOD_MONTHS, network_state_ids=None, now=None) -> Activity:
    """Victim counts per district and referral links, counted through the user's gates (five queries)."""
    now = now or timezone.now()
    since = period_start(period_months, now)
    year_ago = now - timedelta(days=365)
    cases = Case.objects.all() if user is OPERATOR else Case.objects.for_aggregates(user)
    cases = cases.order_by()

    in_period = Q() if since is None else Q(rescued_at__gte=since)
    rescued, rescued_12m = {}, {}
    earliest = year_ago if since is None else min(since, year_ago)
    rescue_rows = (
        cases.filter(rescue_district__isnull=False, rescued_at__lte=now)
        .filter(Q(rescued_at__gte=earliest) if since is not None else Q())
        .values_list("rescue_district")
        .annotate(in_period=Count("pk", filter=in_period), last_12m=Count("pk", filter=Q(rescued_at__gte=year_ago)))
    )
    for district_id, n_period, n_12m in rescue_rows:
        if n_period:
            rescued[district_id] = n_period
        if n_12m:
            rescued_12m[district_id] = n_12m

    origin = cases.filter(origin_district__isnull=False)
    if since is not None:
        origin = origin.filter(created_at__gte=since)
    originating = dict(origin.values_list("origin_district").annotate(n=Count("pk")))

    referrals = Referral.objects.all() if user is OPERATOR else Referral.objects.for_aggregates(user)
    referrals = referrals.order_by().exclude(status=Status.DRAFT)
    in_period_referrals = referrals if since is None else referrals.filter(sent_at__gte=since)
    linked_agencies = frozenset(
        in_period_referrals.values_list("from_agency_id", flat=True).union(in_period_referrals.values_list("to_agency_id", flat=True))
    )
    linked_districts = frozenset(
        in_period_referrals.filter(from_agency__district_id=F("to_agency__district_id"))
        .values_list("from_agency__district_id", flat=True)
        .distinct()
    )
    to_cwc = frozenset(
        referrals.filter(from_agency__kind=AgencyKind.AHTU, to_agency__kind=AgencyKind.CWC)
        .values_list("from_agency_id", flat=True)
        .distinct()
    )
    return Activity(
        rescued=rescued,
        originating=originating,
        rescued_last_12m=rescued_12m,
        linked_agency_ids=linked_agencies,
        linked_district_ids=linked_districts,
        ahtus_referring_to_cwc=to_cwc,
        network_state_ids=network_state_ids,
    )


def coverage_data_version() -> str:
    """The network's data version (referrals, cases, agencies), plus what only coverage reads: district
    centres and populations, and shelter services (both written in bulk by imports, without signals)."""
    districts = District.objects.order_by().aggregate(
        n=Count("pk"), people=Sum("population"), known=Count("population"), lat=Sum("latitude"), lon=Sum("longitude")
    )
    services = AgencyService.objects.order_by().aggregate(n=Count("pk"), last=Max("pk"))
    return "/".join([data_version(), *(str(districts[k]) for k in ("n", "people", "known", "lat", "lon")),
                     str(services["n"]), str(services["last"])])


def analysis_cache_key(user, scope: CoverageScope, shown, *parts) -> str:
    """Who counts what (every case and referral for the committee, superusers and the operator; otherwise this
    user's gates, which follow their memberships), which districts, which choices, in which language."""
    if scope.everything:
        who = "all"
    else:
        gate = user_scope(user)
        who = "u{}|a{}|s{}".format(
            user.pk, ",".join(map(str, sorted(gate.agency_ids))), ",".join(map(str, sorted(gate.supervised_state_ids)))
        )
    text = "\x1f".join([who, ",".join(map(str, sorted(shown))), translation.get_language() or "", *map(str, parts)])
    return f"{CACHE_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


# ---------------------------------------------------------------------------------------------
# Who sees what


@dataclass(frozen=True)
class CoverageScope:
    """The districts a user may see on coverage pages.

    The steering committee and superusers: all. Members of a state department or state
    anti-trafficking bureau: their states. Agency admins: their agency's district and its
    neighbours, the districts whose centres lie within COVERAGE_RADIUS_KM of it (the setting, never
    the radius chosen on the page, so nobody widens their own view); an admin of a state-level agency
    without a district, its state. Everyone else: nothing.

    Referral-based gaps are assessed only in `network_state_ids`: there the user's counting gate
    covers every referral (supervisors). A state-level admin's gate does not, so for them those gaps
    stay unassessed even in their state.
    """

    everything: bool = False
    state_ids: frozenset[int] = frozenset()  # whole states (supervisors, admins of state-level agencies)
    supervised_state_ids: frozenset[int] = frozenset()
    home_district_ids: frozenset[int] = frozenset()  # agency admins' own districts
    district_ids: frozenset[int] | None = None  # None = every district
    neighbour_radius_km: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.everything and not self.district_ids

    @property
    def network_state_ids(self) -> frozenset[int] | None:
        """States whose every referral the user's gate counts: all for the committee, their own for supervisors."""
        return None if self.everything else self.supervised_state_ids

    def allows(self, district_id: int) -> bool:
        return self.everything or district_id in (self.district_ids or ())


def coverage_scope(user, districts: list[DistrictPoint]) -> CoverageScope:
    if user is OPERATOR:
        return CoverageScope(everything=True)
    scope = user_scope(user)
    if scope.superuser or scope.committee:
        return CoverageScope(everything=True)
    admin_agencies = [m.agency for m in scope.memberships if m.role == m.Role.ADMIN]
    homes = frozenset(a.district_id for a in admin_agencies if a.district_id is not None)
    # An admin of a state-level agency (no district of its own) sees its state, like its supervisors do.
    states = frozenset(scope.supervised_state_ids) | {
        a.state_id for a in admin_agencies if a.district_id is None and a.state_id is not None
    }
    radius = settings.COVERAGE_RADIUS_KM
    visible = {d.id for d in districts if d.state_id in states}
    if homes:
        visible |= coverage.districts_within(districts, homes, radius)
    return CoverageScope(
        state_ids=frozenset(states), supervised_state_ids=frozenset(scope.supervised_state_ids), home_district_ids=homes,
        district_ids=frozenset(visible), neighbour_radius_km=radius,
    )


# ---------------------------------------------------------------------------------------------
# One call per page


@dataclass
class CoverageView:
    """What a coverage page, map, export or report shows, computed once."""

    scope: CoverageScope
    districts: list[DistrictPoint]  # every district (distances cross state borders)
    agencies: list[AgencyPoint]  # every active agency
    shown_district_ids: set[int]
    state_id: int | None
    result: CoverageResult
    suggestions: list[Suggestion]
    suppressed: bool
    radius_km: float
    period_months: int
    unit: str
    weight: str
    count: int
    threshold: int = field(default_factory=lambda: settings.SMALL_COUNT_THRESHOLD)

    @property
    def rows(self):
        return self.result.rows

    @property
    def shown_states(self) -> list[tuple[int, str]]:
        return sorted({(d.state_id, d.state) for d in self.districts if self.scope.allows(d.id)}, key=lambda s: s[1])

    def count_label(self, n):
        """A victim count as this user may see it."""
        return suppress(n, self.threshold) if self.suppressed else n

    def need_label(self, suggestion: Suggestion):
        """What a suggestion newly covers, as this user may see it. People are never suppressed. Rescued victims
        are: a district whose count is hidden weighed 1 (`coverage.suggestion_weights`), so a total that includes
        one is a floor, shown as "≥N" (or "<5" when it is that one district alone)."""
        amount = int(suggestion.newly_covered)
        if self.weight != coverage.WEIGHT_RESCUED or not self.suppressed:
            return amount
        rescued = {r.district.id: r.rescued for r in self.rows}
        hidden = [d for d in suggestion.covered_districts if 0 < rescued.get(d.id, 0) < self.threshold]
        if not hidden:
            return self.count_label(amount)
        if len(suggestion.covered_districts) == 1:
            return suppress(1, self.threshold)
        return f"≥{amount}"

    def agencies_shown(self) -> list[AgencyPoint]:
        """Agencies in the shown districts or within the radius of their centres (the registry is public)."""
        if self.scope.everything and self.state_id is None:
            return [a for a in self.agencies if a.located]
        shown = [d for d in self.districts if d.id in self.shown_district_ids]
        near = coverage.agencies_near(shown, self.agencies, self.radius_km)
        return [a for a in self.agencies if a.id in near and a.located]


class OutOfScope(Exception):
    """The user may not see coverage at all, or not the state asked for."""


def coverage_view(
    user,
    *,
    state_id: int | None = None,
    radius_km: float | None = None,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    unit: str = coverage.UNIT_AHTU,
    weight: str = coverage.WEIGHT_POPULATION,
    count: int = 5,
    suppress_counts: bool | None = None,
    districts: list[DistrictPoint] | None = None,
    scope: CoverageScope | None = None,
) -> CoverageView:
    """The analysis a page (or command) shows to `user` (None: the operator), restricted to their scope.

    `districts` and `scope` may be passed when the caller already read them (a page builds its form
    from the scope first)."""
    radius_km = float(radius_km or settings.COVERAGE_RADIUS_KM)
    districts = district_points() if districts is None else districts
    scope = coverage_scope(user, districts) if scope is None else scope
    if scope.empty:
        raise OutOfScope
    shown = {d.id for d in districts if scope.allows(d.id) and (state_id is None or d.state_id == state_id)}
    if state_id is not None and not shown:
        raise OutOfScope
    shown_states = {d.state_id for d in districts if d.id in shown}
    if suppress_counts is None:
        suppress_counts = user is not OPERATOR and needs_suppression(user, state_ids=shown_states)
    threshold = settings.SMALL_COUNT_THRESHOLD
    agencies = agency_points()
    key = analysis_cache_key(
        user, scope, shown, coverage_data_version(), radius_km, period_months, unit, weight, count,
        suppress_counts, threshold,
    )
    cached = cache.get(key)
    if cached is not None:
        result, suggestions = cached
    else:
        counts = activity(user, period_months=period_months, network_state_ids=scope.network_state_ids)
        result = coverage.analyse(
            districts, agencies, counts, radius_km=radius_km, district_ids=shown,
            count_label=(lambda n: suppress(n, threshold)) if suppress_counts else (lambda n: n),
            small_count_threshold=threshold if suppress_counts else None,
        )
        suggestions = coverage.suggest_sites(
            districts, coverage.existing_units(agencies, unit),
            coverage.suggestion_weights(result.rows, weight, small_count_threshold=threshold if suppress_counts else None),
            unit=unit, count=count, radius_km=radius_km, candidate_ids=shown, demand_ids=shown,
        )
        cache.set(key, (result, suggestions), ANALYSIS_CACHE_SECONDS)
    return CoverageView(
        scope=scope, districts=districts, agencies=agencies, shown_district_ids=shown, state_id=state_id, result=result,
        suggestions=suggestions, suppressed=suppress_counts, radius_km=radius_km, period_months=period_months, unit=unit,
        weight=weight, count=count, threshold=threshold,
    )
