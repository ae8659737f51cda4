"""A realistic demo registry for the five IND/S16 states plus national bodies.

Every agency code starts with DEMO- and every name with "[Demo]", so demo data can never be
mistaken for a real registry. Locations are the real PIN codes of district headquarters
(`demo/district_headquarters.csv`, taken from the India Post directory).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.utils import timezone

from stakeholders.geography import GeographyIndex, lookup_pin
from stakeholders.models import Agency, AgencyService, Partnership
from stakeholders.vocab import AgencyKind as K
from stakeholders.vocab import JurisdictionLevel as L
from stakeholders.vocab import LocationPrecision, PartnershipKind, normalise
from stakeholders.vocab import Service as S

DEMO_PREFIX = "DEMO-"
STATES = {  # state key -> (short code, capital PIN, languages)
    "maharashtra": ("MH", "400001", "Marathi; Hindi; English"),
    "goa": ("GA", "403001", "Konkani; Marathi; English"),
    "andhrapradesh": ("AP", "520001", "Telugu; Urdu; English"),
    "bihar": ("BR", "800001", "Hindi; Maithili; Bhojpuri"),
    "westbengal": ("WB", "700001", "Bengali; Hindi; Nepali"),
}
# Districts deliberately left without an AHTU, so coverage analysis has real gaps to show.
NO_AHTU = {
    "MH": {"nandurbar", "washim", "hingoli", "sindhudurg", "gadchiroli"},
    "AP": {"alluristharamaraju", "parvathipurammanyam", "annamayya", "srisathyasai", "konaseema", "bapatla"},
    "BR": {"sheohar", "arwal", "sheikhpura", "lakhisarai", "jamui", "khagaria"},
    "WB": {"jhargram", "kalimpong", "alipurduar", "purulia"},
    "GA": set(),
}
# Border forces and railway police where they operate (district keys).
SSB_DISTRICTS = {"pashchimchamparan", "purbichamparan", "sitamarhi", "madhubani", "supaul", "araria", "kishanganj", "darjeeling", "jalpaiguri", "alipurduar"}
BSF_DISTRICTS = {"24paraganasnorth", "nadia", "murshidabad", "maldah", "dinajpuruttar", "dinajpurdakshin", "coochbehar"}
RAILWAY_JUNCTIONS = {
    "mumbai": "CSMT", "pune": "Pune Jn", "nagpur": "Nagpur Jn", "jalgaon": "Bhusawal Jn", "solapur": "Solapur Jn",
    "southgoa": "Madgaon Jn", "ntr": "Vijayawada Jn", "visakhapatanam": "Visakhapatnam Jn", "anantapur": "Guntakal Jn",
    "patna": "Patna Jn", "muzaffarpur": "Muzaffarpur Jn", "katihar": "Katihar Jn", "howrah": "Howrah",
    "kolkata": "Sealdah", "medinipurwest": "Kharagpur Jn", "jalpaiguri": "New Jalpaiguri",
}
NGO_NAMES = ["Mukti Sanstha", "Aasha Trust", "Sahyog Foundation", "Nirbhaya Kendra", "Jeevan Rekha Society", "Sakhi Samiti", "Disha Collective", "Prerna Seva"]


@dataclass
class DemoRegistry:
    agencies: dict[str, Agency] = field(default_factory=dict)  # code -> agency
    services: dict[str, list[str]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)


def district_headquarters() -> list[dict]:
    with open(Path(__file__).parent / "demo" / "district_headquarters.csv", newline="") as f:
        return list(csv.DictReader(f))


def build_registry(rng: random.Random) -> DemoRegistry:
    """Plan every demo agency (unsaved); `save_registry` writes them."""
    geo = GeographyIndex.load()
    registry = DemoRegistry()

    def add(code, name, kind, level, *, state=None, district=None, pin="", services=(), parent=None, **extra):
        location = lookup_pin(pin) if pin else None
        agency = Agency(
            code=DEMO_PREFIX + code, name=f"[Demo] {name}", kind=kind, level=level, state=state, district=district,
            pincode=pin, latitude=location.latitude if location else (district.latitude if district else None),
            longitude=location.longitude if location else (district.longitude if district else None),
            location_precision=LocationPrecision.PIN if location else (LocationPrecision.DISTRICT if district else LocationPrecision.NONE),
            verified=rng.random() < 0.8, active=True, **extra,
        )
        if agency.verified:
            agency.last_verified_on = date(2026, rng.randint(1, 10), rng.randint(1, 28))
        registry.agencies[agency.code] = agency
        registry.services[agency.code] = list(services)
        if parent:
            registry.parents[agency.code] = DEMO_PREFIX + parent
        return agency

    delhi = "110001"
    add("MHA", "Ministry of Home Affairs – Women Safety Division", K.MINISTRY, L.NATIONAL, pin=delhi, services=[S.TRAINING])
    add("MWCD", "Ministry of Women and Child Development", K.MINISTRY, L.NATIONAL, pin=delhi)
    add("MEA", "Ministry of External Affairs – CPV Division", K.MINISTRY, L.NATIONAL, pin="110011", services=[S.REPATRIATION])
    add("MOLE", "Ministry of Labour and Employment", K.MINISTRY, L.NATIONAL, pin=delhi, services=[S.BONDED_LABOUR_RELEASE])
    add("SC", "IND/S16 Project Steering Committee", K.COMMITTEE, L.NATIONAL, pin=delhi)
    add("UNODC", "UNODC Regional Office for South Asia", K.INTERNATIONAL_ORG, L.NATIONAL, pin="110003", services=[S.TRAINING])

    hq_by_state: dict[str, list[dict]] = {}
    for row in district_headquarters():
        hq_by_state.setdefault(normalise(row["state"]), []).append(row)

    for state_key, (st, capital_pin, languages) in STATES.items():
        state = geo.states_by_key[state_key]
        name = state.name
        add(f"{st}-WCD", f"{name} Women & Child Development Department", K.STATE_DEPARTMENT, L.STATE, state=state,
            pin=capital_pin, parent="MWCD", services=[S.SHELTER_WOMEN, S.CHILD_PROTECTION, S.REPATRIATION])
        add(f"{st}-AHTB", f"{name} Anti-Human Trafficking Bureau (Nodal Cell)", K.STATE_AHT_BUREAU, L.STATE, state=state,
            pin=capital_pin, parent="MHA", services=[S.INVESTIGATION, S.RESCUE])
        add(f"{st}-SLSA", f"{name} State Legal Services Authority", K.LEGAL_SERVICES, L.STATE, state=state,
            pin=capital_pin, services=[S.LEGAL_AID, S.COMPENSATION])
        add(f"{st}-LAB", f"{name} Labour Department", K.LABOUR_DEPARTMENT, L.STATE, state=state, pin=capital_pin,
            parent="MOLE", services=[S.BONDED_LABOUR_RELEASE])
        add(f"{st}-CHL", f"{name} Child Helpline 1098 Control Room", K.HELPLINE, L.STATE, state=state, pin=capital_pin,
            parent=f"{st}-WCD", services=[S.HELPLINE])
        add(f"{st}-TF", f"{name} State Task Force on Trafficking", K.COMMITTEE, L.STATE, state=state, pin=capital_pin,
            parent=f"{st}-WCD")
        if st in {"MH", "WB", "AP"}:
            add(f"{st}-PTI", f"{name} Police Training Institute", K.TRAINING_INSTITUTE, L.STATE, state=state,
                pin=capital_pin, services=[S.TRAINING])

        for row in hq_by_state[state_key]:
            district, message = geo.match_district(state, row["district"])
            if message:
                raise ValueError(message)
            dk = district.key
            code = f"{st}-{dk.upper()[:14]}"
            dn, pin = district.name, row["pincode"]
            common = {"state": state, "district": district, "pin": pin}
            add(f"{code}-POL", f"{dn} District Police", K.POLICE, L.DISTRICT, parent=f"{st}-AHTB",
                services=[S.RESCUE, S.INVESTIGATION], **common)
            if dk not in NO_AHTU[st]:
                sanctioned = rng.randint(8, 14)
                add(f"{code}-AHTU", f"AHTU {dn}", K.AHTU, L.DISTRICT, parent=f"{st}-AHTB",
                    services=[S.RESCUE, S.INVESTIGATION], ahtu_notified=rng.random() < 0.9,
                    ahtu_functional=rng.random() < 0.8, can_register_fir=(st != "AP") and rng.random() < 0.7,
                    staff_sanctioned=sanctioned, staff_in_position=rng.randint(sanctioned // 2, sanctioned),
                    vehicles=rng.randint(0, 3), nodal_officer_role="Deputy Superintendent of Police", **common)
            add(f"{code}-CWC", f"Child Welfare Committee {dn}", K.CWC, L.DISTRICT, parent=f"{st}-WCD",
                services=[S.CHILD_PROTECTION, S.AGE_DETERMINATION], min_age=0, max_age=17, **common)
            add(f"{code}-DCPU", f"District Child Protection Unit {dn}", K.DCPU, L.DISTRICT, parent=f"{st}-WCD",
                services=[S.CHILD_PROTECTION, S.FAMILY_TRACING, S.COUNSELLING], **common)
            add(f"{code}-DLSA", f"District Legal Services Authority {dn}", K.LEGAL_SERVICES, L.DISTRICT,
                parent=f"{st}-SLSA", services=[S.LEGAL_AID, S.COMPENSATION], **common)
            add(f"{code}-HOSP", f"District Hospital {dn}", K.HOSPITAL, L.DISTRICT,
                services=[S.MEDICAL, S.AGE_DETERMINATION], **common)
            add(f"{code}-DM", f"District Magistrate {dn}", K.MAGISTRATE, L.DISTRICT,
                services=[S.BONDED_LABOUR_RELEASE], **common)
            if rng.random() < 0.45 or dk in {"pune", "mumbai", "kolkata", "patna", "northgoa", "ntr"}:
                total = rng.randint(25, 60)
                add(f"{code}-SS", f"Shakti Sadan {dn}", K.SHELTER_HOME, L.DISTRICT, parent=f"{st}-WCD",
                    services=[S.SHELTER_WOMEN, S.COUNSELLING, S.VOCATIONAL_TRAINING], serves_male=False,
                    serves_transgender=rng.random() < 0.3, min_age=18, beds_total=total,
                    beds_available=6 if dk == "pune" else rng.choice([0, rng.randint(0, total // 2), rng.randint(0, total)]),
                    capacity_updated_at=timezone.now(), languages=languages, **common)
            if rng.random() < 0.5 or dk in {"pune", "mumbai", "kolkata", "patna"}:
                total = rng.randint(30, 80)
                add(f"{code}-CCI", f"Children's Home {dn}", K.CHILD_CARE_INSTITUTION, L.DISTRICT, parent=f"{st}-WCD",
                    services=[S.SHELTER_CHILDREN, S.COUNSELLING], min_age=0, max_age=17, beds_total=total,
                    beds_available=rng.randint(0, total), capacity_updated_at=timezone.now(), **common)
            if rng.random() < 0.6:
                total = rng.randint(5, 10)
                add(f"{code}-OSC", f"One Stop Centre (Sakhi) {dn}", K.ONE_STOP_CENTRE, L.DISTRICT, parent=f"{st}-WCD",
                    services=[S.SHELTER_WOMEN, S.MEDICAL, S.LEGAL_AID, S.COUNSELLING], serves_male=False, beds_total=total,
                    beds_available=rng.randint(0, total), capacity_updated_at=timezone.now(), **common)
            ngo_count = 2 if rng.random() < 0.3 else (1 if rng.random() < 0.75 else 0)
            for n in range(max(ngo_count, 1 if dk in {"patna", "pune", "kolkata"} else 0)):
                ngo_services = rng.sample([S.RESCUE, S.COUNSELLING, S.LEGAL_AID, S.VOCATIONAL_TRAINING, S.REPATRIATION,
                                           S.FAMILY_TRACING, S.SHELTER_WOMEN], k=rng.randint(2, 4))
                add(f"{code}-NGO{n + 1}", f"{rng.choice(NGO_NAMES)} {dn}", K.NGO, L.DISTRICT, services=ngo_services, **common)
            if dk in RAILWAY_JUNCTIONS:
                add(f"{code}-RPF", f"RPF AHTU {RAILWAY_JUNCTIONS[dk]}", K.RAILWAY_POLICE, L.SUB_DISTRICT,
                    services=[S.RESCUE], **common)
            if dk in SSB_DISTRICTS:
                add(f"{code}-SSB", f"SSB Anti-Human Trafficking Unit, {dn} border", K.BORDER_FORCE, L.SUB_DISTRICT,
                    services=[S.RESCUE], parent="MHA", **common)
            if dk in BSF_DISTRICTS:
                add(f"{code}-BSF", f"BSF Anti-Human Trafficking Unit, {dn} border", K.BORDER_FORCE, L.SUB_DISTRICT,
                    services=[S.RESCUE, S.REPATRIATION], parent="MHA", **common)
    # Pune's demo NGO is where the demo caseworkers work; give it a stable code and name.
    add("MH-PUNE-SAATHI", "Saathi Anti-Trafficking Network, Pune", K.NGO, L.DISTRICT,
        state=geo.states_by_key["maharashtra"], district=geo.match_district(geo.states_by_key["maharashtra"], "Pune")[0],
        pin="411001", services=[S.RESCUE, S.COUNSELLING, S.LEGAL_AID, S.REPATRIATION])
    return registry


def save_registry(registry: DemoRegistry) -> dict[str, Agency]:
    """Upsert the planned agencies by code (idempotent), then services and hierarchy."""
    existing = {a.code: a for a in Agency.objects.filter(code__startswith=DEMO_PREFIX)}
    # Live capacity figures are the shelters' own; a re-seed leaves them alone.
    fields = [
        f.name for f in Agency._meta.concrete_fields
        if f.name not in {"id", "code", "parent", "created_at", "updated_at", "beds_available", "capacity_updated_at"}
    ]
    to_create, to_update = [], []
    for code, planned in registry.agencies.items():
        current = existing.get(code)
        if current is None:
            to_create.append(planned)
        elif any(getattr(current, name) != getattr(planned, name) for name in fields):
            for name in fields:
                setattr(current, name, getattr(planned, name))
            to_update.append(current)
    Agency.objects.bulk_create(to_create, batch_size=500)
    Agency.objects.bulk_update(to_update, fields, batch_size=200)
    agencies = {a.code: a for a in Agency.objects.filter(code__startswith=DEMO_PREFIX)}
    reparented = []
    for code, parent_code in registry.parents.items():
        if agencies[code].parent_id != agencies[parent_code].pk:
            agencies[code].parent_id = agencies[parent_code].pk
            reparented.append(agencies[code])
    Agency.objects.bulk_update(reparented, ["parent"], batch_size=500)
    AgencyService.objects.filter(agency__code__startswith=DEMO_PREFIX).delete()
    AgencyService.objects.bulk_create(
        [AgencyService(agency=agencies[code], service=s) for code, services in registry.services.items() for s in set(services)],
        batch_size=1000,
    )
    return agencies


def save_partnerships(agencies: dict[str, Agency], rng: random.Random) -> None:
    Partnership.objects.filter(from_agency__code__startswith=DEMO_PREFIX).delete()
    links = []
    for code, agency in agencies.items():
        if agency.kind == K.NGO and rng.random() < 0.5:
            ahtu = agencies.get(code.rsplit("-", 1)[0] + "-AHTU")
            if ahtu:
                links.append(Partnership(from_agency=agency, to_agency=ahtu, kind=PartnershipKind.MOU,
                                         title="MoU on rescue and post-rescue support", starts_on=date(2024, rng.randint(1, 12), 1)))
        if agency.kind in {K.STATE_AHT_BUREAU, K.STATE_DEPARTMENT, K.LABOUR_DEPARTMENT, K.BORDER_FORCE}:
            st = code.split("-")[1]
            task_force = agencies.get(f"{DEMO_PREFIX}{st}-TF")
            if task_force:
                links.append(Partnership(from_agency=agency, to_agency=task_force, kind=PartnershipKind.TASK_FORCE,
                                         title="State Task Force member", starts_on=date(2023, 4, 1)))
    for st in ("MH", "GA", "AP", "BR", "WB"):
        links.append(Partnership(from_agency=agencies[f"{DEMO_PREFIX}{st}-AHTB"], to_agency=agencies[f"{DEMO_PREFIX}SC"],
                                 kind=PartnershipKind.TASK_FORCE, title="IND/S16 state nodal member", starts_on=date(2024, 1, 1)))
    Partnership.objects.bulk_create(links)
