"""Synthetic registry and activity for the coverage benchmark (and for a development database).

Nothing here runs in the product. Agencies get codes starting with BENCH-; cases and referrals are
plain model rows written with bulk_create (no identities, no events).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from referrals.models import Case, Referral
from stakeholders.models import Agency, AgencyService, District
from stakeholders.vocab import AgencyKind, LocationPrecision

# Roughly the make-up of a district's network; shelters carry beds.
KIND_WEIGHTS = [
    (AgencyKind.NGO, 28), (AgencyKind.POLICE, 14), (AgencyKind.AHTU, 8), (AgencyKind.SHELTER_HOME, 8),
    (AgencyKind.CHILD_CARE_INSTITUTION, 8), (AgencyKind.ONE_STOP_CENTRE, 6), (AgencyKind.CWC, 8), (AgencyKind.DCPU, 6),
    (AgencyKind.LEGAL_SERVICES, 6), (AgencyKind.HOSPITAL, 6), (AgencyKind.MAGISTRATE, 2),
]


def make_agencies(count: int, rng: random.Random, *, prefix: str = "BENCH-") -> list[Agency]:
    """`count` agencies spread over every district with a centre, near its centre (bulk insert)."""
    districts = list(District.objects.exclude(latitude=None).select_related("state"))
    kinds = [k for k, w in KIND_WEIGHTS for _ in range(w)]
    agencies, services = [], []
    for i in range(count):
        district = districts[i % len(districts)]
        kind = rng.choice(kinds)
        residential = kind in (AgencyKind.SHELTER_HOME, AgencyKind.CHILD_CARE_INSTITUTION, AgencyKind.ONE_STOP_CENTRE)
        beds = rng.choice([10, 20, 25, 30, 50]) if residential else None
        agency = Agency(
            code=f"{prefix}{i:06d}", name=f"Bench {kind} {district.name} {i}", kind=kind, state=district.state,
            district=district, latitude=district.latitude + rng.uniform(-0.25, 0.25),
            longitude=district.longitude + rng.uniform(-0.25, 0.25), location_precision=LocationPrecision.PIN,
            beds_total=beds, beds_available=None if beds is None else rng.choice([0, 0, 1, 2, 5, beds // 2]),
            serves_male=kind == AgencyKind.CHILD_CARE_INSTITUTION, min_age=None if kind != AgencyKind.SHELTER_HOME else 18,
            max_age=17 if kind == AgencyKind.CHILD_CARE_INSTITUTION else None,
            ahtu_notified=rng.random() < 0.6 if kind == AgencyKind.AHTU else None,
            ahtu_functional=rng.random() < 0.3 if kind == AgencyKind.AHTU else None,
        )
        agencies.append(agency)
    Agency.objects.bulk_create(agencies, batch_size=1000)
    created = {a.code: a for a in Agency.objects.filter(code__startswith=prefix)}
    for agency in created.values():
        if agency.kind == AgencyKind.SHELTER_HOME:
            services.append(AgencyService(agency=agency, service="shelter_women"))
        elif agency.kind == AgencyKind.CHILD_CARE_INSTITUTION:
            services.append(AgencyService(agency=agency, service="shelter_children"))
    AgencyService.objects.bulk_create(services, batch_size=1000)
    return list(created.values())


def make_activity(agencies: list[Agency], cases: int, rng: random.Random) -> tuple[int, int]:
    """Cases rescued over the last two years and 1-3 referrals each, mostly within the district."""
    by_district: dict[int, dict[str, list[Agency]]] = {}
    for agency in agencies:
        if agency.district_id:
            by_district.setdefault(agency.district_id, {}).setdefault(agency.kind, []).append(agency)
    openers = [a for a in agencies if a.kind in (AgencyKind.NGO, AgencyKind.AHTU, AgencyKind.POLICE) and a.district_id]
    districts = list(District.objects.values_list("pk", "state_id"))
    now = timezone.now()
    plan, case_rows = [], []
    for _ in range(cases):
        opener = rng.choice(openers)
        rescued_at = now - timedelta(days=rng.uniform(0, 730))
        origin_id, origin_state = rng.choice(districts)
        case_rows.append(Case(
            opened_by=opener, holder=opener, exploitation=rng.choice(["sexual_exploitation", "forced_labour", "child_marriage"]),
            age_status=rng.choice(["adult", "minor"]), gender="female", origin_district_id=origin_id, origin_state_id=origin_state,
            rescued_at=rescued_at, rescue_district_id=opener.district_id,
        ))
        plan.append((opener, rescued_at))
    Case.objects.bulk_create(case_rows, batch_size=1000)
    referrals = []
    for case, (opener, rescued_at) in zip(case_rows, plan):
        local = by_district.get(opener.district_id, {})
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice([AgencyKind.CWC, AgencyKind.SHELTER_HOME, AgencyKind.LEGAL_SERVICES, AgencyKind.HOSPITAL])
            targets = local.get(kind) if rng.random() < 0.8 else None
            target = rng.choice(targets) if targets else rng.choice(agencies)
            if target.pk == opener.pk:
                continue
            sent = rescued_at + timedelta(hours=rng.uniform(1, 72))
            referrals.append(Referral(
                case=case, from_agency=opener, to_agency=target, from_state_id=opener.state_id, to_state_id=target.state_id,
                purpose="produce_before_cwc" if kind == AgencyKind.CWC else "counselling", status="accepted",
                created_at=sent, sent_at=sent, responded_at=sent + timedelta(hours=5),
            ))
    Referral.objects.bulk_create(referrals, batch_size=1000)
    return len(case_rows), len(referrals)
