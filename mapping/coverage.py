"""Coverage analysis: which districts are not served, and where a new unit would help most.

Pure functions over plain rows (`DistrictPoint`, `AgencyPoint`, `Activity`), tested without the
database; `mapping/coverage_selectors.py` reads those rows through the counting gates.

Distances are great-circle distances between district centres and agency locations. Every
district × agency comparison is one numpy operation: points become unit vectors on the sphere,
a matrix product gives the cosine of every central angle at once, the nearest agency is the
largest cosine and "within r km" is a cosine threshold. The exact distance of each chosen pair
is then recomputed with the haversine formula (accurate at short range, where arccos is not).

A straight line is a floor, not a travel time: a shelter 80 km away across a river without a
bridge is further than it looks. The radius is therefore a setting (COVERAGE_RADIUS_KM) and a
choice on every page, not a constant.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from stakeholders.vocab import RESIDENTIAL_KINDS, AgencyKind

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

NO_AHTU = "no_ahtu"
NO_CWC = "no_cwc"
NO_SHELTER_IN_REACH = "no_shelter_in_reach"
BEDS_SHORT = "beds_short"
UNLINKED_AGENCIES = "unlinked_agencies"
AHTU_NEVER_REFERS_TO_CWC = "ahtu_never_refers_to_cwc"
GAP_SLUGS = (NO_AHTU, NO_CWC, NO_SHELTER_IN_REACH, BEDS_SHORT, UNLINKED_AGENCIES, AHTU_NEVER_REFERS_TO_CWC)
GAP_LABELS = {
    NO_AHTU: gettext_lazy("No AHTU"),
    NO_CWC: gettext_lazy("No CWC"),
    NO_SHELTER_IN_REACH: gettext_lazy("No shelter with free beds in reach"),
    BEDS_SHORT: gettext_lazy("More rescued victims than beds in reach"),
    UNLINKED_AGENCIES: gettext_lazy("Agencies not linked by referrals"),
    AHTU_NEVER_REFERS_TO_CWC: gettext_lazy("AHTU has never referred to a CWC"),
}
# Gaps that come from referrals rather than the registry: assessed only where every referral is counted.
NETWORK_GAPS = frozenset({UNLINKED_AGENCIES, AHTU_NEVER_REFERS_TO_CWC})

UNIT_AHTU = "ahtu"
UNIT_SHELTER = "shelter"
WEIGHT_POPULATION = "population"
WEIGHT_RESCUED = "rescued"


# ---------------------------------------------------------------------------------------------
# Rows in


@dataclass(frozen=True)
class DistrictPoint:
    """A district: its centre (median of its post offices) and, when imported, its population."""

    id: int
    state_id: int
    state: str
    name: str
    lat: float | None
    lon: float | None
    population: int | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class AgencyPoint:
    """An active agency as coverage sees it: where it is, what it is, what beds it has."""

    id: int
    name: str
    kind: str
    district_id: int | None
    state_id: int | None
    lat: float | None
    lon: float | None
    beds_total: int | None = None
    beds_available: int | None = None
    for_women: bool = False
    for_children: bool = False
    ahtu_notified: bool | None = None
    ahtu_functional: bool | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def residential(self) -> bool:
        return self.kind in RESIDENTIAL_KINDS

    @property
    def free_beds(self) -> int:
        return self.beds_available or 0


@dataclass
class Activity:
    """What the referral data says, already counted through the user's gates (never case rows)."""

    rescued: dict[int, int] = field(default_factory=dict)  # district -> victims rescued there in the period
    originating: dict[int, int] = field(default_factory=dict)  # district -> cases opened in the period from there
    rescued_last_12m: dict[int, int] = field(default_factory=dict)
    referral_pairs: Iterable[tuple[int, int]] = ()  # (from agency, to agency) referred in the period, or:
    linked_agency_ids: frozenset[int] = frozenset()  # agencies that sent or received a referral in the period
    linked_district_ids: frozenset[int] = frozenset()  # districts with a referral between two of their agencies
    ahtus_referring_to_cwc: frozenset[int] = frozenset()  # AHTUs that have ever referred to a CWC
    # States whose referrals the user's gate counts completely; None = every state. Referral-based gaps
    # elsewhere would be guesses from partial data, so they are not assessed there.
    network_state_ids: frozenset[int] | None = None


def shelter_eligibility(
    kind: str, *, serves_female: bool, min_age: int | None, max_age: int | None, services: Iterable[str] = ()
) -> tuple[bool, bool]:
    """(takes adult women, takes children) for a residential agency; (False, False) otherwise.

    A listed shelter service decides; without one, the kind and the age range do: children's homes
    (CCIs) take children, other residential agencies take adult women if they serve women.
    """
    if kind not in RESIDENTIAL_KINDS:
        return False, False
    services = set(services)
    accepts_adults = max_age is None or max_age >= 18
    accepts_minors = min_age is None or min_age < 18
    if "shelter_women" in services or "shelter_children" in services:
        women = "shelter_women" in services and serves_female and accepts_adults
        children = "shelter_children" in services and accepts_minors
        return women, children
    if kind == AgencyKind.CHILD_CARE_INSTITUTION:
        return False, accepts_minors
    return serves_female and accepts_adults, False


# ---------------------------------------------------------------------------------------------
# Distances


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; numpy broadcasting, so scalars, vectors and grids all work."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_vectors(lats, lons) -> np.ndarray:
    """Points on the unit sphere, one row per (lat, lon); NaN rows stay NaN."""
    lat = np.radians(np.asarray(lats, dtype=float))
    lon = np.radians(np.asarray(lons, dtype=float))
    cos_lat = np.cos(lat)
    return np.column_stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def cos_radius(radius_km: float) -> float:
    """Two points are within `radius_km` exactly when the cosine of their central angle is at least this."""
    return math.cos(min(radius_km / EARTH_RADIUS_KM, math.pi))


def nearest(from_vectors: np.ndarray, to_vectors: np.ndarray) -> np.ndarray:
    """Index of the nearest `to` point for every `from` point (-1 when there is none or no location)."""
    if len(from_vectors) == 0:
        return np.zeros(0, dtype=int)
    if len(to_vectors) == 0:
        return np.full(len(from_vectors), -1)
    cosines = from_vectors @ to_vectors.T
    cosines = np.where(np.isnan(cosines), -np.inf, cosines)
    index = np.argmax(cosines, axis=1)
    index[~np.isfinite(cosines[np.arange(len(index)), index])] = -1
    return index


def within(from_vectors: np.ndarray, to_vectors: np.ndarray, radius_km: float) -> np.ndarray:
    """Boolean matrix: from-point i is within `radius_km` of to-point j (False where a location is missing)."""
    if len(from_vectors) == 0 or len(to_vectors) == 0:
        return np.zeros((len(from_vectors), len(to_vectors)), dtype=bool)
    with np.errstate(invalid="ignore"):
        return (from_vectors @ to_vectors.T) >= cos_radius(radius_km) - 1e-12


def _coords(points) -> tuple[np.ndarray, np.ndarray]:
    lat = np.array([p.lat if p.lat is not None else np.nan for p in points], dtype=float)
    lon = np.array([p.lon if p.lon is not None else np.nan for p in points], dtype=float)
    return lat, lon


def districts_within(districts: list[DistrictPoint], centre_ids: Iterable[int], radius_km: float) -> set[int]:
    """Ids of the districts whose centres lie within `radius_km` of any of the given districts' centres
    (those districts included): the "neighbours" an agency admin sees around their own district."""
    centre_ids = set(centre_ids)
    centres = [d for d in districts if d.id in centre_ids and d.located]
    if not centres:
        return set(centre_ids)
    reach = within(unit_vectors(*_coords(districts)), unit_vectors(*_coords(centres)), radius_km).any(axis=1)
    return {d.id for d, near in zip(districts, reach) if near} | centre_ids


def agencies_near(districts: list[DistrictPoint], agencies: list[AgencyPoint], radius_km: float) -> set[int]:
    """Ids of the agencies located in, or within `radius_km` of the centre of, any of these districts."""
    ids = {d.id for d in districts}
    located = [a for a in agencies if a.located]
    near = within(unit_vectors(*_coords(located)), unit_vectors(*_coords([d for d in districts if d.located])), radius_km)
    result = {a.id for a, hit in zip(located, near.any(axis=1) if near.size else [False] * len(located)) if hit}
    return result | {a.id for a in agencies if a.district_id in ids}


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Gap:
    slug: str
    text: str

    @property
    def label(self) -> str:
        return str(GAP_LABELS[self.slug])


@dataclass
class DistrictCoverage:
    """Everything the coverage table, maps and report say about one district."""

    district: DistrictPoint
    agencies: dict[str, int]
    ahtu_count: int = 0
    ahtu_notified: bool = False
    ahtu_functional: bool = False
    has_cwc: bool = False
    has_dcpu: bool = False
    nearest_ahtu_km: float | None = None
    nearest_ahtu: AgencyPoint | None = None
    nearest_shelter_km: float | None = None  # any shelter with free beds
    nearest_shelter: AgencyPoint | None = None
    nearest_women_shelter_km: float | None = None
    nearest_women_shelter: AgencyPoint | None = None
    nearest_child_shelter_km: float | None = None
    nearest_child_shelter: AgencyPoint | None = None
    beds_within_radius: int = 0
    free_beds_within_radius: int = 0
    rescued: int = 0
    originating: int = 0
    rescued_last_12m: int = 0
    network_assessed: bool = True
    linked: bool | None = None
    isolated_agencies: int | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def has_ahtu(self) -> bool:
        return self.ahtu_count > 0

    @property
    def agency_total(self) -> int:
        return sum(self.agencies.values())

    @property
    def population(self) -> int | None:
        return self.district.population

    @property
    def beds_per_100k(self) -> float | None:
        """Beds (in total) within the radius per 100,000 people of the district."""
        if not self.district.population:
            return None
        return self.beds_within_radius * 100_000 / self.district.population

    @property
    def ahtus_per_100k(self) -> float | None:
        if not self.district.population:
            return None
        return self.ahtu_count * 100_000 / self.district.population

    @property
    def gap_slugs(self) -> list[str]:
        return [g.slug for g in self.gaps]

    def has_gap(self, slug: str) -> bool:
        return any(g.slug == slug for g in self.gaps)


@dataclass
class StateSummary:
    """A state's districts against the national target of one AHTU per district."""

    state_id: int
    state: str
    districts: int = 0
    with_ahtu: int = 0
    with_notified_ahtu: int = 0
    with_functional_ahtu: int = 0
    with_cwc: int = 0
    no_shelter_in_reach: int = 0
    population: int = 0
    population_known: int = 0

    @property
    def target(self) -> int:
        return self.districts

    @property
    def shortfall(self) -> int:
        return self.districts - self.with_ahtu

    @property
    def pct_with_ahtu(self) -> float:
        return round(100 * self.with_ahtu / self.districts, 1) if self.districts else 0.0


@dataclass
class Suggestion:
    """One new unit: where, and what it would newly cover that nothing covers today."""

    rank: int
    kind: str
    district: DistrictPoint
    newly_covered: float
    covered_districts: list[DistrictPoint]
    cumulative: float


@dataclass
class CoverageResult:
    rows: list[DistrictCoverage]
    states: list[StateSummary]
    radius_km: float

    @property
    def summary(self) -> dict:
        rows = self.rows
        count = len(rows)
        with_ahtu = sum(1 for r in rows if r.has_ahtu)
        gaps = Counter(slug for r in rows for slug in r.gap_slugs)
        not_assessed = sum(1 for r in rows if not r.network_assessed)
        # Referral gaps assessed in none of these districts are unknown (None), not zero.
        unknown = NETWORK_GAPS if rows and not_assessed == count else frozenset()
        return {
            "districts": count,
            "with_ahtu": with_ahtu,
            "pct_with_ahtu": round(100 * with_ahtu / count, 1) if count else 0.0,
            "with_notified_ahtu": sum(1 for r in rows if r.ahtu_notified),
            "with_functional_ahtu": sum(1 for r in rows if r.ahtu_functional),
            "with_cwc": sum(1 for r in rows if r.has_cwc),
            "with_dcpu": sum(1 for r in rows if r.has_dcpu),
            "target_ahtus": count,
            "ahtu_shortfall": count - with_ahtu,
            "with_population": sum(1 for r in rows if r.district.population),
            "radius_km": self.radius_km,
            "gaps": {slug: None if slug in unknown else gaps.get(slug, 0) for slug in GAP_SLUGS},
            "districts_with_gaps": sum(1 for r in rows if r.gaps),
            "referral_gaps_not_assessed": not_assessed,
        }


def _km(value, radius_km: float | None = None) -> str:
    """Whole kilometres, or tenths where rounding would put a distance beyond the radius at the radius."""
    if radius_km is not None and value > radius_km and round(value) <= radius_km:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def analyse(
    districts: list[DistrictPoint],
    agencies: list[AgencyPoint],
    activity: Activity | None = None,
    *,
    radius_km: float,
    district_ids: Iterable[int] | None = None,
    count_label: Callable[[int], object] = lambda n: n,
    small_count_threshold: int | None = None,
) -> CoverageResult:
    """Coverage of every district in `district_ids` (default all), against every agency given.

    Agencies anywhere count for distances (a shelter across a state border is still in reach).
    `count_label` renders victim counts inside explanations (pass `suppress` for roles without case
    access); with `small_count_threshold`, "more rescued than beds" is only claimed from that many
    victims up, so a gap never reveals a suppressed count.
    """
    activity = activity or Activity()
    wanted = None if district_ids is None else set(district_ids)
    rows_in = [d for d in districts if wanted is None or d.id in wanted]
    rows_in.sort(key=lambda d: (d.state, d.name))

    by_district: dict[int, list[AgencyPoint]] = defaultdict(list)
    for agency in agencies:
        if agency.district_id is not None:
            by_district[agency.district_id].append(agency)

    district_vectors = unit_vectors(*_coords(rows_in))
    located = [a for a in agencies if a.located]
    ahtus = [a for a in located if a.kind == AgencyKind.AHTU]
    residential = [a for a in located if a.residential]
    r_vectors = unit_vectors(*_coords(residential))

    def nearest_of(points, vectors):
        index = nearest(district_vectors, vectors)
        chosen = [points[i] if i >= 0 else None for i in index]
        return chosen

    nearest_ahtus = nearest_of(ahtus, unit_vectors(*_coords(ahtus)))
    free = np.array([a.free_beds > 0 for a in residential], dtype=bool)
    women = free & np.array([a.for_women for a in residential], dtype=bool)
    children = free & np.array([a.for_children for a in residential], dtype=bool)
    nearest_free = nearest_of([a for a, f in zip(residential, free) if f], r_vectors[free])
    nearest_women = nearest_of([a for a, f in zip(residential, women) if f], r_vectors[women])
    nearest_children = nearest_of([a for a, f in zip(residential, children) if f], r_vectors[children])
    reach = within(district_vectors, r_vectors, radius_km)
    beds_total = np.array([a.beds_total or 0 for a in residential], dtype=float)
    beds_free = np.array([a.free_beds for a in residential], dtype=float)
    beds_in_reach = reach @ beds_total if len(residential) else np.zeros(len(rows_in))
    free_in_reach = reach @ beds_free if len(residential) else np.zeros(len(rows_in))

    district_of = {a.id: a.district_id for a in agencies}
    linked_agencies: set[int] = set(activity.linked_agency_ids)
    linked_districts: set[int] = set(activity.linked_district_ids)
    for source, target in activity.referral_pairs:
        linked_agencies.update((source, target))
        if district_of.get(source) is not None and district_of.get(source) == district_of.get(target):
            linked_districts.add(district_of[source])

    def distances(chosen: list[AgencyPoint | None]) -> list[float | None]:
        """Exact haversine distance of each district to its chosen agency, in one vectorised call."""
        pairs = [(i, a) for i, a in enumerate(chosen) if a is not None and rows_in[i].located]
        result: list[float | None] = [None] * len(chosen)
        if pairs:
            km = haversine_km(
                [rows_in[i].lat for i, _a in pairs], [rows_in[i].lon for i, _a in pairs],
                [a.lat for _i, a in pairs], [a.lon for _i, a in pairs],
            )
            for (i, _a), value in zip(pairs, km.tolist()):
                result[i] = value
        return result

    ahtu_km, free_km = distances(nearest_ahtus), distances(nearest_free)
    women_km, children_km = distances(nearest_women), distances(nearest_children)

    rows: list[DistrictCoverage] = []
    for i, district in enumerate(rows_in):
        here = by_district.get(district.id, [])
        kinds = Counter(a.kind for a in here)
        here_ahtus = [a for a in here if a.kind == AgencyKind.AHTU]
        row = DistrictCoverage(
            district=district,
            agencies=dict(sorted(kinds.items())),
            ahtu_count=len(here_ahtus),
            ahtu_notified=any(a.ahtu_notified for a in here_ahtus),
            ahtu_functional=any(a.ahtu_functional for a in here_ahtus),
            has_cwc=kinds.get(AgencyKind.CWC, 0) > 0,
            has_dcpu=kinds.get(AgencyKind.DCPU, 0) > 0,
            nearest_ahtu=nearest_ahtus[i],
            nearest_shelter=nearest_free[i],
            nearest_women_shelter=nearest_women[i],
            nearest_child_shelter=nearest_children[i],
            beds_within_radius=int(beds_in_reach[i]),
            free_beds_within_radius=int(free_in_reach[i]),
            rescued=activity.rescued.get(district.id, 0),
            originating=activity.originating.get(district.id, 0),
            rescued_last_12m=activity.rescued_last_12m.get(district.id, 0),
        )
        row.nearest_ahtu_km, row.nearest_shelter_km = ahtu_km[i], free_km[i]
        row.nearest_women_shelter_km, row.nearest_child_shelter_km = women_km[i], children_km[i]
        row.network_assessed = activity.network_state_ids is None or district.state_id in activity.network_state_ids
        if row.network_assessed:
            row.linked = district.id in linked_districts
            row.isolated_agencies = sum(1 for a in here if a.id not in linked_agencies)
        row.gaps = district_gaps(
            row, here_ahtus, activity, radius_km=radius_km, count_label=count_label,
            small_count_threshold=small_count_threshold,
        )
        rows.append(row)
    return CoverageResult(rows=rows, states=state_summaries(rows), radius_km=radius_km)


def district_gaps(
    row: DistrictCoverage,
    here_ahtus: list[AgencyPoint],
    activity: Activity,
    *,
    radius_km: float,
    count_label: Callable[[int], object] = lambda n: n,
    small_count_threshold: int | None = None,
) -> list[Gap]:
    """The district's gaps, each with a sentence a committee member can read aloud."""
    gaps: list[Gap] = []
    radius = _km(radius_km)
    if not row.has_ahtu:
        if row.nearest_ahtu is not None and row.nearest_ahtu_km is not None:
            text = _("No Anti-Human Trafficking Unit is based in this district; the nearest is %(name)s, %(km)s km away.") % {
                "name": row.nearest_ahtu.name, "km": _km(row.nearest_ahtu_km)}
        else:
            text = _("No Anti-Human Trafficking Unit is based in this district.")
        gaps.append(Gap(NO_AHTU, text))
    if not row.has_cwc:
        gaps.append(Gap(NO_CWC, _("No Child Welfare Committee is registered in this district: rescued children must be produced before a CWC elsewhere.")))
    missing = []
    for label, km in ((_("women"), row.nearest_women_shelter_km), (_("children"), row.nearest_child_shelter_km)):
        if km is None:
            missing.append(_("for %(whom)s there is none with free beds anywhere") % {"whom": label})
        elif km > radius_km:
            missing.append(_("for %(whom)s the nearest with free beds is %(km)s km away") % {"whom": label, "km": _km(km, radius_km)})
    if missing and row.district.located:
        gaps.append(Gap(NO_SHELTER_IN_REACH, _("No shelter with free beds within %(radius)s km: %(details)s.") % {
            "radius": radius, "details": "; ".join(missing)}))
    rescued = row.rescued_last_12m
    floor = small_count_threshold or 1
    if rescued >= floor and rescued > row.beds_within_radius:
        gaps.append(Gap(BEDS_SHORT, ngettext(
            "%(rescued)s victims were rescued here in the last 12 months, but there is %(beds)s shelter bed within %(radius)s km.",
            "%(rescued)s victims were rescued here in the last 12 months, but there are %(beds)s shelter beds within %(radius)s km.",
            row.beds_within_radius,
        ) % {"rescued": count_label(rescued), "beds": row.beds_within_radius, "radius": radius}))
    if row.network_assessed:
        total = row.agency_total
        if total >= 2 and not row.linked:
            text = _("%(total)s agencies are registered here, but none referred a case to another agency of the district in the period.") % {"total": total}
            if row.isolated_agencies:
                text += " " + ngettext(
                    "%(isolated)s of them made or received no referral at all.",
                    "%(isolated)s of them made or received no referral at all.",
                    row.isolated_agencies,
                ) % {"isolated": row.isolated_agencies}
            gaps.append(Gap(UNLINKED_AGENCIES, text))
        silent = [a.name for a in here_ahtus if a.id not in activity.ahtus_referring_to_cwc]
        if silent:
            gaps.append(Gap(AHTU_NEVER_REFERS_TO_CWC, ngettext(
                "%(names)s has never referred a case to a Child Welfare Committee.",
                "%(names)s have never referred a case to a Child Welfare Committee.",
                len(silent),
            ) % {"names": ", ".join(silent)}))
    return gaps


def state_summaries(rows: list[DistrictCoverage]) -> list[StateSummary]:
    summaries: dict[int, StateSummary] = {}
    for row in rows:
        d = row.district
        s = summaries.setdefault(d.state_id, StateSummary(state_id=d.state_id, state=d.state))
        s.districts += 1
        s.with_ahtu += row.has_ahtu
        s.with_notified_ahtu += row.ahtu_notified
        s.with_functional_ahtu += row.ahtu_functional
        s.with_cwc += row.has_cwc
        s.no_shelter_in_reach += row.has_gap(NO_SHELTER_IN_REACH)
        if d.population:
            s.population += d.population
            s.population_known += 1
    return sorted(summaries.values(), key=lambda s: s.state)


# ---------------------------------------------------------------------------------------------
# Suggestions


def existing_units(agencies: list[AgencyPoint], unit: str) -> list[AgencyPoint]:
    """The units a suggestion adds to: AHTUs, or residential agencies with beds."""
    if unit == UNIT_AHTU:
        return [a for a in agencies if a.kind == AgencyKind.AHTU and a.located]
    return [a for a in agencies if a.residential and a.located and (a.beds_total or 0) > 0]


def suggest_sites(
    districts: list[DistrictPoint],
    existing: list[AgencyPoint],
    weights: dict[int, float],
    *,
    unit: str,
    count: int,
    radius_km: float,
    candidate_ids: Iterable[int] | None = None,
    demand_ids: Iterable[int] | None = None,
) -> list[Suggestion]:
    """Greedy maximal covering: place `count` new units, one at a time, at the district centre that
    newly covers the most weight (population or rescued victims) within `radius_km`.

    Existing units stay where they are: whatever lies within the radius of one is already covered.
    Districts that already host the unit are not candidates. The greedy choice is within (1 - 1/e)
    of the best possible cover and, unlike an exact solver, explains itself one step at a time.
    Ties go to the first district by state and name, so the answer is stable.
    """
    located = sorted((d for d in districts if d.located), key=lambda d: (d.state, d.name))
    hosts = {a.district_id for a in existing}
    candidate_set = None if candidate_ids is None else set(candidate_ids)
    demand_set = None if demand_ids is None else set(demand_ids)
    candidates = [d for d in located if d.id not in hosts and (candidate_set is None or d.id in candidate_set)]
    demand = [d for d in located if demand_set is None or d.id in demand_set]
    if not candidates or not demand or count <= 0:
        return []
    weight = np.array([float(weights.get(d.id) or 0) for d in demand])
    demand_vectors = unit_vectors(*_coords(demand))
    uncovered = ~within(demand_vectors, unit_vectors(*_coords(existing)), radius_km).any(axis=1)
    cover = within(unit_vectors(*_coords(candidates)), demand_vectors, radius_km).astype(float)
    suggestions: list[Suggestion] = []
    total = 0.0
    for rank in range(1, count + 1):
        gains = cover @ (weight * uncovered)
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        newly = (cover[best] > 0) & uncovered
        uncovered &= ~(cover[best] > 0)
        total += float(gains[best])
        suggestions.append(
            Suggestion(
                rank=rank,
                kind=unit,
                district=candidates[best],
                newly_covered=float(gains[best]),
                covered_districts=[d for d, hit, w in zip(demand, newly, weight) if hit and w > 0],
                cumulative=total,
            )
        )
    return suggestions


def suggestion_weights(
    rows: list[DistrictCoverage], weight: str, *, small_count_threshold: int | None = None
) -> dict[int, float]:
    """Need per district: its population, or the victims rescued there in the period.

    With `small_count_threshold` (a viewer who sees victim counts suppressed), a count below it weighs 1,
    whatever it is: the sites chosen and the need they newly cover then follow from what that viewer sees,
    and no total can be taken apart, against the counts shown, to reveal a hidden one.
    """
    if weight == WEIGHT_RESCUED:
        if small_count_threshold:
            return {r.district.id: 1 if 0 < r.rescued < small_count_threshold else r.rescued for r in rows}
        return {r.district.id: r.rescued for r in rows}
    return {r.district.id: r.district.population or 0 for r in rows}
