"""Which agencies can take a referral, and how far they are: plain functions over plain rows.

The receiving-agency picker reads candidate agencies in one query (`selectors.agency_candidates`)
and ranks them here, so the ranking is tested without a database and the page never makes one
query per agency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from referrals.vocab import AgeStatus, CaseGender, Purpose
from stakeholders.vocab import AgencyKind, Service

# What a purpose asks of the receiver: an agency kind (the law names the body) or a service.
PURPOSE_TARGETS: dict[str, tuple[str, str]] = {
    Purpose.PRODUCE_BEFORE_CWC: ("kind", AgencyKind.CWC),
    Purpose.MEDICAL_EXAMINATION: ("service", Service.MEDICAL),
    Purpose.MAGISTRATE_PRODUCTION: ("kind", AgencyKind.MAGISTRATE),
    Purpose.HOME_INVESTIGATION: ("service", Service.FAMILY_TRACING),
    Purpose.LEGAL_AID: ("service", Service.LEGAL_AID),
    Purpose.VICTIM_COMPENSATION: ("service", Service.COMPENSATION),
    Purpose.BONDED_LABOUR_RELEASE: ("service", Service.BONDED_LABOUR_RELEASE),
    Purpose.REPATRIATION: ("service", Service.REPATRIATION),
    Purpose.COUNSELLING: ("service", Service.COUNSELLING),
    Purpose.VOCATIONAL_REHABILITATION: ("service", Service.VOCATIONAL_TRAINING),
    Purpose.INVESTIGATION_HANDOVER: ("service", Service.INVESTIGATION),
}
SHELTER_SERVICES = frozenset({Service.SHELTER_WOMEN, Service.SHELTER_CHILDREN, Service.SHELTER_MEN})


def shelter_service_for(*, gender: str, age_status: str) -> str:
    """The shelter service a person needs: children's homes for minors (and until age is determined),
    else by gender (transgender adults and unrecorded gender go to women's shelters that serve them)."""
    if age_status != AgeStatus.ADULT:
        return Service.SHELTER_CHILDREN
    if gender == CaseGender.MALE:
        return Service.SHELTER_MEN
    return Service.SHELTER_WOMEN


def target_for(purpose: str, *, gender: str = "", age_status: str = "") -> tuple[str, str] | None:
    """("service", slug) or ("kind", slug) a receiver must have for this purpose; None = any agency."""
    if purpose == Purpose.SHELTER_PLACEMENT:
        return ("service", shelter_service_for(gender=gender, age_status=age_status))
    return PURPOSE_TARGETS.get(purpose)


@dataclass
class Candidate:
    """One agency offered by the picker (a plain row, filled from one query)."""

    pk: int
    code: str
    name: str
    kind: str
    district_id: int | None
    district_name: str
    state_name: str
    latitude: float | None
    longitude: float | None
    serves_female: bool
    serves_male: bool
    serves_transgender: bool
    min_age: int | None
    max_age: int | None
    beds_total: int | None
    beds_available: int | None
    distance_km: float | None = None

    @property
    def has_free_bed(self) -> bool:
        return bool(self.beds_available and self.beds_available > 0)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def serves(candidate, *, gender: str, age_status: str, age_years: int | None) -> bool:
    """Whether an agency's eligibility (gender, age range) admits the person. Unknown facts admit.

    `candidate` is a `Candidate` or an `Agency` (both have serves_* and min_age/max_age)."""
    if gender == CaseGender.FEMALE and not candidate.serves_female:
        return False
    if gender == CaseGender.MALE and not candidate.serves_male:
        return False
    if gender == CaseGender.TRANSGENDER and not candidate.serves_transgender:
        return False
    if age_years is not None:
        if candidate.min_age is not None and age_years < candidate.min_age:
            return False
        if candidate.max_age is not None and age_years > candidate.max_age:
            return False
    elif age_status == AgeStatus.MINOR:
        if candidate.min_age is not None and candidate.min_age >= 18:
            return False
    elif age_status == AgeStatus.ADULT:
        if candidate.max_age is not None and candidate.max_age < 18:
            return False
    return True


def rank(candidates: list[Candidate], *, origin: tuple[float, float] | None, within_km: float | None = None,
         limit: int | None = None) -> list[Candidate]:
    """Nearest first from `origin` (agencies without coordinates last, by name); drop those beyond
    `within_km`; keep the first `limit`."""
    for candidate in candidates:
        if origin and candidate.latitude is not None and candidate.longitude is not None:
            candidate.distance_km = haversine_km(origin[0], origin[1], candidate.latitude, candidate.longitude)
        else:
            candidate.distance_km = None
    if within_km is not None:
        candidates = [c for c in candidates if c.distance_km is not None and c.distance_km <= within_km]
    candidates.sort(key=lambda c: (c.distance_km is None, c.distance_km or 0.0, c.name))
    return candidates[:limit] if limit else candidates
