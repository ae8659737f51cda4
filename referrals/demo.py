"""Demo cases and referrals for `seed_demo`: about three years of synthetic work along the legal pathways.

Children go from the rescuing unit to the CWC (mostly within 24 hours), then to a children's home, a
medical examination, a social investigation, and home to their state; adult women to a magistrate, a
shelter, the DLSA; bonded labourers to the DM for release, the DLSA and repatriation. Some referrals are
declined ("at capacity") and re-routed, some are stuck past their deadline, some districts are dark (no
activity) and in some the local agencies never refer to each other, so the network and coverage
analyses find real-looking gaps. The demo users' agencies get recent work, overdue items included.

Everything is synthetic: identities are "Demo Person 0412". Re-running replaces the demo cases.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from referrals.deadlines import rule_for
from referrals.identity import encrypt_identity
from referrals.models import Case, CaseIdentity, Consent, Referral, ReferralEvent
from referrals.vocab import (
    CUSTODY_PURPOSES,
    IDENTITY_PURPOSES,
    OPEN_STATUSES,
    AgeBand,
    AgeStatus,
    CaseGender,
    ConsentGiver,
    DeclineReason,
    Exploitation,
    LegalBasis,
    Outcome,
    Purpose,
    Status,
    Urgency,
)
from stakeholders.models import Agency, AgencyService
from stakeholders.vocab import AgencyKind as K

DEMO_PREFIX = "DEMO-"
YEARS = 3
CASES = 4200
# Agencies (code without DEMO-) whose demo users must find recent work in their lists.
SHOWCASE = {
    "ngo": "MH-PUNE-SAATHI", "shelter": "MH-PUNE-SS", "cwc": "MH-PUNE-CWC", "ahtu": "MH-PUNE-AHTU",
    "dlsa": "MH-PUNE-DLSA", "wcd": "MH-WCD", "patna": "BR-PATNA-NGO1",
}
BUSY_DISTRICTS = {"pune": 9, "mumbai": 10, "thane": 4, "kolkata": 8, "howrah": 4, "24paraganasnorth": 5, "patna": 7,
                  "muzaffarpur": 4, "northgoa": 3, "southgoa": 2, "ntr": 3, "visakhapatanam": 3, "nagpur": 3, "gaya": 2}
SOURCE_STATES = {"bihar": 4, "westbengal": 3, "andhrapradesh": 1, "maharashtra": 1}
COUNTRIES = ["Nepal", "Bangladesh"]
RESPONSE_HOURS = {  # typical time to answer, by purpose (hours): the 24-hour rules are mostly met
    Purpose.PRODUCE_BEFORE_CWC: 8, Purpose.MEDICAL_EXAMINATION: 10, Purpose.MAGISTRATE_PRODUCTION: 12,
    Purpose.BONDED_LABOUR_RELEASE: 20, Purpose.SHELTER_PLACEMENT: 30,
}


@dataclass
class Step:
    """One planned referral of a demo case (turned into a Referral row and its events)."""

    from_agency: Agency
    to_agency: Agency
    purpose: str
    sent_at: datetime
    status: str = Status.SENT
    acknowledged_at: datetime | None = None
    responded_at: datetime | None = None
    closed_at: datetime | None = None
    decline_reason: str = ""
    outcome: str = ""
    urgency: str = Urgency.ROUTINE
    note: str = ""
    parent: Step | None = None  # the declined step this one re-routes
    row: Referral | None = None


@dataclass
class Plan:
    case: Case
    steps: list[Step] = field(default_factory=list)


class Network:
    """The demo registry indexed for planning: agencies by district and kind, nearest fallbacks."""

    def __init__(self, agencies: dict[str, Agency]):
        self.by_code = agencies
        self.services: dict[int, set[str]] = defaultdict(set)
        for agency_id, service in AgencyService.objects.filter(agency__code__startswith=DEMO_PREFIX).values_list("agency_id", "service"):
            self.services[agency_id].add(service)
        self.by_district: dict[int, dict[str, list[Agency]]] = defaultdict(lambda: defaultdict(list))
        self.districts = {}
        self.state_agencies: dict[tuple[int, str], list[Agency]] = defaultdict(list)
        for agency in agencies.values():
            if agency.district_id:
                self.by_district[agency.district_id][agency.kind].append(agency)
                self.districts[agency.district_id] = agency.district
            if agency.state_id:
                self.state_agencies[(agency.state_id, agency.kind)].append(agency)
        for kinds in self.by_district.values():
            for listed in kinds.values():
                listed.sort(key=lambda a: a.code)
        self._nearest: dict = {}

    def local(self, district_id, kind):
        return self.by_district.get(district_id, {}).get(kind, [])

    def nearest(self, district, kind, *, exclude_district=False, same_state=True, service=None):
        """Agencies of `kind` in the district, else in the nearest district that has one."""
        key = (district.pk, kind, exclude_district, same_state, service)
        if key not in self._nearest:
            options = []
            for district_id, kinds in self.by_district.items():
                other = self.districts[district_id]
                if exclude_district and district_id == district.pk:
                    continue
                if same_state and other.state_id != district.state_id:
                    continue
                found = [a for a in kinds.get(kind, []) if service is None or service in self.services[a.pk]]
                if found:
                    options.append((_km(district, other), district_id, found))
            options.sort(key=lambda o: (o[0], o[1]))
            self._nearest[key] = options[0][2] if options else []
        return self._nearest[key]


def _km(a, b) -> float:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return 10_000.0
    dlat, dlon = math.radians(b.latitude - a.latitude), math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(math.radians(a.latitude)) * math.cos(math.radians(b.latitude)) * math.sin(dlon / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


def _clear_demo_cases() -> None:
    demo_cases = Case.objects.filter(opened_by__code__startswith=DEMO_PREFIX)
    referrals = Referral.objects.filter(case__in=demo_cases)
    referrals.update(rerouted_from=None)
    ReferralEvent.objects.filter(referral__in=referrals).delete()
    referrals.delete()
    demo_cases.delete()


def seed_referrals(agencies, rng, *, cases: int = CASES) -> dict:
    """Create the demo cases and referrals; return counts for the command's summary."""
    with transaction.atomic():
        _clear_demo_cases()
        fresh = Agency.objects.filter(code__startswith=DEMO_PREFIX, active=True).select_related("district__state", "state")
        network = Network({a.code: a for a in fresh})
        now = timezone.now().replace(microsecond=0)
        planner = Planner(network, rng, now)
        plans = planner.random_cases(cases) + planner.showcase()
        return _save(plans, network, now, rng)


class Planner:
    def __init__(self, network: Network, rng: random.Random, now: datetime):
        self.net, self.rng, self.now = network, rng, now
        districts = sorted(network.districts.values(), key=lambda d: d.pk)
        showcase_districts = {network.by_code[DEMO_PREFIX + code].district_id for code in SHOWCASE.values()
                              if network.by_code.get(DEMO_PREFIX + code) and network.by_code[DEMO_PREFIX + code].district_id}
        plain = [d for d in districts if d.pk not in showcase_districts and d.key not in BUSY_DISTRICTS]
        rng.shuffle(plain)
        # Gaps for the analyses: dark districts (no activity at all) and fragmented ones (local agencies
        # never refer to each other: everything goes to the nearest other district).
        self.dark = {d.pk for d in plain[: len(plain) // 9]}
        self.fragmented = {d.pk for d in plain[len(plain) // 9: len(plain) // 9 + len(plain) // 7]}
        self.active = [d for d in districts if d.pk not in self.dark]
        self.weights = [BUSY_DISTRICTS.get(d.key, 1) for d in self.active]
        self.states = {d.state.key: d.state for d in districts}
        self.districts_by_state = defaultdict(list)
        for d in districts:
            self.districts_by_state[d.state.key].append(d)

    # --- who the person is -------------------------------------------------------------------

    def person(self, district, rescued_at) -> Case:
        rng = self.rng
        minor = rng.random() < 0.42
        gender = rng.choices([CaseGender.FEMALE, CaseGender.MALE, CaseGender.TRANSGENDER], [72, 25, 3])[0]
        if minor:
            exploitation = rng.choices(
                [Exploitation.FORCED_LABOUR, Exploitation.SEXUAL, Exploitation.CHILD_MARRIAGE, Exploitation.BEGGING,
                 Exploitation.DOMESTIC_SERVITUDE, Exploitation.OTHER], [30, 24, 12, 10, 16, 8])[0]
            age = rng.randint(8, 17)
        elif gender == CaseGender.MALE:
            exploitation = rng.choices([Exploitation.BONDED_LABOUR, Exploitation.FORCED_LABOUR, Exploitation.CYBER_SCAM], [45, 38, 17])[0]
            age = rng.randint(18, 45)
        else:
            exploitation = rng.choices(
                [Exploitation.SEXUAL, Exploitation.DOMESTIC_SERVITUDE, Exploitation.FORCED_LABOUR, Exploitation.CYBER_SCAM,
                 Exploitation.BONDED_LABOUR], [55, 16, 14, 7, 8])[0]
            age = rng.randint(18, 40)
        known_age = rng.random() < 0.8
        band, status = _band(age)
        if not known_age and rng.random() < 0.3:
            band, status = AgeBand.UNDETERMINED, AgeStatus.UNDETERMINED if minor else AgeStatus.ADULT
        case = Case(
            age_years=age if known_age else None, age_band=band, age_status=status, gender=gender,
            exploitation=exploitation, rescued_at=rescued_at, rescue_district=district,
            languages=rng.choice(["Hindi", "Bengali", "Marathi", "Bhojpuri; Hindi", "Telugu", "Nepali; Hindi", "Konkani"]),
        )
        roll = rng.random()
        if roll < 0.55:
            case.origin_state, case.origin_district = district.state, district
        elif roll < 0.9:
            state = self.states[rng.choices(list(SOURCE_STATES), list(SOURCE_STATES.values()))[0]]
            case.origin_state = state
            case.origin_district = rng.choice(self.districts_by_state[state.key])
        else:
            case.origin_country = rng.choice(COUNTRIES)
        return case

    # --- pathways ----------------------------------------------------------------------------

    def first_responder(self, district) -> Agency | None:
        rng, net = self.rng, self.net
        options = []
        for kind, weight in ((K.AHTU, 55), (K.POLICE, 20), (K.NGO, 18), (K.RAILWAY_POLICE, 7), (K.BORDER_FORCE, 8)):
            found = net.local(district.pk, kind)
            if found:
                options.append((found, weight))
        if not options:
            return None
        found = rng.choices([o[0] for o in options], [o[1] for o in options])[0]
        return rng.choice(found)

    def receiver(self, district, kind, *, service=None, state_wide=False, avoid=None):
        """A receiving agency near the district; fragmented districts refer out of the district."""
        net = self.net
        fragmented = district.pk in self.fragmented

        def usable(agencies):
            return [a for a in agencies if a is not avoid and (service is None or service in net.services[a.pk])]

        options = [] if fragmented else usable(net.local(district.pk, kind))
        if not options:
            options = usable(net.nearest(district, kind, exclude_district=fragmented, service=service))
        if not options:
            options = usable(net.nearest(district, kind, exclude_district=True, service=service))
        if not options and state_wide:
            options = usable(net.nearest(district, kind, exclude_district=True, same_state=False, service=service))
        return self.rng.choice(options) if options else None

    def random_cases(self, count: int) -> list[Plan]:
        rng, now = self.rng, self.now
        start = now - timedelta(days=365 * YEARS)
        span = (now - start).total_seconds()
        plans = []
        for _ in range(count):
            district = rng.choices(self.active, self.weights)[0]
            # Activity grows over the years (more agencies joined the network).
            rescued_at = start + timedelta(seconds=span * math.sqrt(rng.random()))
            plan = self.pathway(district, rescued_at)
            if plan is not None:
                plans.append(plan)
        return plans

    def pathway(self, district, rescued_at, *, responder=None, force=None) -> Plan | None:
        rng = self.rng
        responder = responder or self.first_responder(district)
        if responder is None:
            return None
        case = self.person(district, rescued_at)
        if force:
            for name, value in force.items():
                setattr(case, name, value)
        case.opened_by = case.holder = responder
        plan = Plan(case)
        t = rescued_at + timedelta(hours=rng.uniform(1, 10))
        child = case.age_status != AgeStatus.ADULT
        if child:
            cwc = self.receiver(district, K.CWC)
            if cwc:
                produce = self.step(plan, responder, cwc, Purpose.PRODUCE_BEFORE_CWC, t, urgency=Urgency.URGENT)
                if produce.status in {Status.ACCEPTED, Status.COMPLETED}:
                    t2 = produce.responded_at + timedelta(hours=rng.uniform(2, 48))
                    if rng.random() < 0.6:
                        hospital = self.receiver(district, K.HOSPITAL)
                        if hospital:
                            self.step(plan, cwc, hospital, Purpose.MEDICAL_EXAMINATION, t2)
                    if rng.random() < 0.75:
                        self.placement(plan, cwc, district, t2 + timedelta(hours=rng.uniform(1, 30)), K.CHILD_CARE_INSTITUTION)
                    if rng.random() < 0.55:
                        dcpu = self.receiver(district, K.DCPU)
                        if dcpu:
                            self.step(plan, cwc, dcpu, Purpose.HOME_INVESTIGATION, t2 + timedelta(days=rng.uniform(1, 6)))
                    if case.origin_district and case.origin_district.state_id != district.state_id and rng.random() < 0.7:
                        home_cwc = self.net.local(case.origin_district.pk, K.CWC) or self.net.nearest(case.origin_district, K.CWC)
                        if home_cwc:
                            self.step(plan, cwc, rng.choice(home_cwc), Purpose.REPATRIATION, t2 + timedelta(days=rng.uniform(10, 60)))
                    if rng.random() < 0.25:
                        dlsa = self.receiver(district, K.LEGAL_SERVICES, service="compensation")
                        if dlsa:
                            self.step(plan, cwc, dlsa, Purpose.VICTIM_COMPENSATION, t2 + timedelta(days=rng.uniform(5, 40)))
        elif case.exploitation in {Exploitation.BONDED_LABOUR, Exploitation.FORCED_LABOUR}:
            dm = self.receiver(district, K.MAGISTRATE)
            if dm and (case.exploitation == Exploitation.BONDED_LABOUR or rng.random() < 0.4):
                self.step(plan, responder, dm, Purpose.BONDED_LABOUR_RELEASE, t, urgency=Urgency.URGENT)
            if rng.random() < 0.4:
                dlsa = self.receiver(district, K.LEGAL_SERVICES, service="compensation")
                if dlsa:
                    self.step(plan, responder, dlsa, Purpose.VICTIM_COMPENSATION, t + timedelta(days=rng.uniform(2, 30)))
            if case.origin_district and case.origin_district.state_id != district.state_id and rng.random() < 0.6:
                self.repatriation(plan, responder, case, t + timedelta(days=rng.uniform(3, 30)))
        else:
            if rng.random() < 0.5:
                magistrate = self.receiver(district, K.MAGISTRATE)
                if magistrate:
                    self.step(plan, responder, magistrate, Purpose.MAGISTRATE_PRODUCTION, t, urgency=Urgency.URGENT)
            if rng.random() < 0.5:
                hospital = self.receiver(district, K.HOSPITAL)
                if hospital:
                    self.step(plan, responder, hospital, Purpose.MEDICAL_EXAMINATION, t + timedelta(hours=rng.uniform(1, 8)))
            if rng.random() < 0.8 and case.gender != CaseGender.MALE:
                kind = K.SHELTER_HOME if rng.random() < 0.75 else K.ONE_STOP_CENTRE
                self.placement(plan, responder, district, t + timedelta(hours=rng.uniform(2, 48)), kind)
            holder = plan.case.holder
            if rng.random() < 0.4:
                dlsa = self.receiver(district, K.LEGAL_SERVICES, service="compensation")
                if dlsa and dlsa is not holder:
                    self.step(plan, holder, dlsa, Purpose.VICTIM_COMPENSATION, t + timedelta(days=rng.uniform(7, 60)))
            if rng.random() < 0.3:
                ngo = self.receiver(district, K.NGO, service="counselling", avoid=holder)
                if ngo and ngo is not holder:
                    self.step(plan, holder, ngo, Purpose.COUNSELLING, t + timedelta(days=rng.uniform(2, 20)))
            if case.origin_district and case.origin_district.state_id != district.state_id and rng.random() < 0.35:
                self.repatriation(plan, holder, case, t + timedelta(days=rng.uniform(20, 120)))
        return plan if plan.steps else None

    def placement(self, plan, sender, district, t, kind):
        shelter = self.receiver(district, kind)
        if shelter is None or shelter is sender:
            return None
        step = self.step(plan, sender, shelter, Purpose.SHELTER_PLACEMENT, t, capacity=True)
        if step.status == Status.DECLINED and step.decline_reason == DeclineReason.AT_CAPACITY and self.rng.random() < 0.8:
            other = self.receiver(district, kind, state_wide=True, avoid=shelter)
            if other is not None and other is not sender:
                self.step(plan, sender, other, Purpose.SHELTER_PLACEMENT, step.responded_at + timedelta(hours=self.rng.uniform(1, 12)),
                          parent=step, capacity=False)
        return step

    def repatriation(self, plan, sender, case, t):
        net = self.net
        origin = case.origin_district
        options = [a for a in net.local(origin.pk, K.NGO) if "repatriation" in net.services[a.pk]]
        options += net.state_agencies.get((origin.state_id, K.STATE_DEPARTMENT), [])
        options = [a for a in options if a is not sender]
        if options:
            self.step(plan, sender, self.rng.choice(options), Purpose.REPATRIATION, t)

    def step(self, plan, sender, receiver, purpose, sent_at, *, urgency=Urgency.ROUTINE, parent=None, capacity=False) -> Step:
        """Plan one referral and decide, by its age, how far it got."""
        rng, now = self.rng, self.now
        sent_at = min(sent_at, now - timedelta(minutes=rng.randint(5, 90)))
        step = Step(sender, receiver, purpose, sent_at, urgency=urgency, parent=parent)
        plan.steps.append(step)
        typical = RESPONSE_HOURS.get(purpose, 24 * 6)
        late = rng.random() < 0.15
        wait = timedelta(hours=rng.uniform(0.3, 1.0) * typical * (rng.uniform(2.5, 8) if late else 1))
        answered = sent_at + wait
        roll = rng.random()
        if answered > now or roll < 0.025:  # still waiting (recent), or stuck long past its deadline
            if rng.random() < 0.4 and sent_at + wait / 3 < now:
                step.status, step.acknowledged_at = Status.ACKNOWLEDGED, sent_at + wait / 3
            if rng.random() < 0.04:
                step.status, step.closed_at = Status.WITHDRAWN, min(now, sent_at + wait / 2)
            return step
        declined = (capacity and roll < 0.22) or roll < 0.09
        step.responded_at = answered
        if declined:
            step.status = Status.DECLINED
            step.decline_reason = DeclineReason.AT_CAPACITY if capacity else rng.choice(
                [DeclineReason.NOT_ELIGIBLE, DeclineReason.OUTSIDE_JURISDICTION, DeclineReason.SERVICE_UNAVAILABLE])
            return step
        step.status = Status.ACCEPTED
        if purpose in CUSTODY_PURPOSES:
            plan.case.holder = receiver
        duration = {Purpose.SHELTER_PLACEMENT: 120, Purpose.REPATRIATION: 60, Purpose.VICTIM_COMPENSATION: 75,
                    Purpose.HOME_INVESTIGATION: 15}.get(purpose, 2)
        closed = answered + timedelta(days=rng.uniform(0.2, 1.5) * duration)
        if closed < now and rng.random() < 0.93:
            step.status, step.closed_at = Status.COMPLETED, closed
            step.outcome = {
                Purpose.PRODUCE_BEFORE_CWC: Outcome.PRODUCED, Purpose.MAGISTRATE_PRODUCTION: Outcome.PRODUCED,
                Purpose.SHELTER_PLACEMENT: Outcome.PLACED, Purpose.VICTIM_COMPENSATION: Outcome.COMPENSATION_AWARDED,
                Purpose.REPATRIATION: Outcome.RESTORED,
            }.get(purpose, Outcome.SERVICE_PROVIDED)
            if rng.random() < 0.05:
                step.outcome = Outcome.PERSON_LEFT
        return step

    # --- recent work for the demo users ------------------------------------------------------

    def showcase(self) -> list[Plan]:
        """Recent cases in Pune and Patna with every state a demo user should meet: new, acknowledged,
        overdue, accepted, declined at capacity and re-routed, compensation waiting past two months."""
        net, now, rng = self.net, self.now, self.rng
        get = lambda key: net.by_code.get(DEMO_PREFIX + SHOWCASE[key])  # noqa: E731
        ngo, shelter, cwc, ahtu, dlsa, patna_ngo = (get(k) for k in ("ngo", "shelter", "cwc", "ahtu", "dlsa", "patna"))
        if not all((ngo, shelter, cwc, ahtu, dlsa)):
            return []
        pune = ngo.district
        hours = lambda h: now - timedelta(hours=h)  # noqa: E731
        plans = []
        adult_woman = {"age_status": AgeStatus.ADULT, "age_band": AgeBand.AGE_18_24, "gender": CaseGender.FEMALE,
                       "exploitation": Exploitation.SEXUAL, "age_years": 22}
        child = {"age_status": AgeStatus.MINOR, "age_band": AgeBand.AGE_15_17, "gender": CaseGender.FEMALE,
                 "exploitation": Exploitation.DOMESTIC_SERVITUDE, "age_years": 15}

        def case(responder, rescued_hours_ago, force):
            plan = Plan(self.person(pune, hours(rescued_hours_ago)))
            for name, value in force.items():
                setattr(plan.case, name, value)
            plan.case.opened_by = plan.case.holder = responder
            plans.append(plan)
            return plan

        def add(plan, sender, receiver, purpose, sent_hours_ago, status=Status.SENT, **extra):
            step = Step(sender, receiver, purpose, hours(sent_hours_ago), status=status, **extra)
            plan.steps.append(step)
            return step

        # Shakti Sadan (chitra): new, acknowledged, overdue placements; one accepted; one declined and re-routed.
        for n, ago in enumerate((3, 20, 300)):
            p = case(ngo, ago + 30 * 24 if ago == 300 else ago + 2, adult_woman)
            step = add(p, ngo, shelter, Purpose.SHELTER_PLACEMENT, ago, note="Needs a safe place tonight; speaks Marathi and Hindi.")
            if n == 1:
                step.status, step.acknowledged_at = Status.ACKNOWLEDGED, hours(ago - 1)
        p = case(ahtu, 60, adult_woman)
        add(p, ahtu, shelter, Purpose.SHELTER_PLACEMENT, 50, Status.ACCEPTED, responded_at=hours(40))
        p.case.holder = shelter
        add(p, shelter, dlsa, Purpose.VICTIM_COMPENSATION, 30)
        p = case(ngo, 100, adult_woman)
        declined = add(p, ngo, shelter, Purpose.SHELTER_PLACEMENT, 90, Status.DECLINED, responded_at=hours(80),
                       decline_reason=DeclineReason.AT_CAPACITY, note="")
        osc = (net.local(pune.pk, K.ONE_STOP_CENTRE) or [None])[0]
        if osc:
            add(p, ngo, osc, Purpose.SHELTER_PLACEMENT, 78, Status.ACCEPTED, responded_at=hours(70), parent=declined)
            p.case.holder = osc
        # CWC (kavita): a child produced in time, one waiting, one overdue (rescued 40 hours ago).
        for n, (rescued, sent, status) in enumerate(((5, 4, Status.SENT), (40, 38, Status.SENT), (30, 28, Status.ACCEPTED))):
            p = case(ahtu if n != 1 else ngo, rescued, child)
            step = add(p, p.case.opened_by, cwc, Purpose.PRODUCE_BEFORE_CWC, sent, status, urgency=Urgency.URGENT)
            if status == Status.ACCEPTED:
                step.responded_at = hours(sent - 6)
                p.case.holder = cwc
                hospital = (net.local(pune.pk, K.HOSPITAL) or [None])[0]
                if hospital:
                    add(p, cwc, hospital, Purpose.MEDICAL_EXAMINATION, sent - 8)
        # DLSA (priya): compensation enquiries, one past the two months of BNSS s.396.
        for ago_days in (3, 75):
            p = case(ngo, ago_days * 24 + 200, adult_woman)
            add(p, ngo, dlsa, Purpose.VICTIM_COMPENSATION, ago_days * 24)
        # Saathi (asha) also receives counselling referrals from the AHTU.
        p = case(ahtu, 12, adult_woman)
        add(p, ahtu, ngo, Purpose.COUNSELLING, 10)
        # Maharashtra WCD (devi): a repatriation to Bihar she follows.
        wcd = get("wcd")
        if patna_ngo and wcd:
            p = case(ngo, 24 * 20, {**adult_woman, "origin_state": patna_ngo.state, "origin_district": patna_ngo.district})
            add(p, ngo, patna_ngo, Purpose.REPATRIATION, 24 * 6, Status.ACKNOWLEDGED, acknowledged_at=hours(24 * 5))
        # Patna NGO (omar): its own sent and received work, one overdue.
        if patna_ngo:
            patna = patna_ngo.district
            patna_cwc = (net.local(patna.pk, K.CWC) or [None])[0]
            patna_ahtu = (net.local(patna.pk, K.AHTU) or [None])[0]
            if patna_cwc:
                p = Plan(self.person(patna, hours(50)))
                for name, value in {**child, "gender": CaseGender.MALE, "exploitation": Exploitation.FORCED_LABOUR}.items():
                    setattr(p.case, name, value)
                p.case.opened_by = p.case.holder = patna_ngo
                plans.append(p)
                add(p, patna_ngo, patna_cwc, Purpose.PRODUCE_BEFORE_CWC, 48, urgency=Urgency.URGENT)
            if patna_ahtu:
                p = Plan(self.person(patna, hours(20)))
                for name, value in adult_woman.items():
                    setattr(p.case, name, value)
                p.case.opened_by = p.case.holder = patna_ahtu
                plans.append(p)
                add(p, patna_ahtu, patna_ngo, Purpose.COUNSELLING, 18)
        for plan in plans:
            for step in plan.steps:
                if step.status in {Status.ACCEPTED, Status.DECLINED} and step.responded_at is None:
                    step.responded_at = step.sent_at + timedelta(hours=rng.uniform(1, 5))
        return plans


def _band(age: int):
    for limit, band in ((5, AgeBand.UNDER_6), (11, AgeBand.AGE_6_11), (14, AgeBand.AGE_12_14), (17, AgeBand.AGE_15_17),
                        (24, AgeBand.AGE_18_24), (39, AgeBand.AGE_25_39)):
        if age <= limit:
            return band, (AgeStatus.MINOR if age < 18 else AgeStatus.ADULT)
    return AgeBand.AGE_40_PLUS, AgeStatus.ADULT


def _save(plans: list[Plan], network: Network, now: datetime, rng: random.Random) -> dict:
    User = get_user_model()
    actors = {}
    for user in User.objects.filter(memberships__agency__code__startswith=DEMO_PREFIX).prefetch_related("memberships"):
        for membership in user.memberships.all():
            if membership.role != "viewer":
                actors.setdefault(membership.agency_id, user)
    recorder = User.objects.filter(is_superuser=True).order_by("pk").first()

    cases = [plan.case for plan in plans]
    Case.objects.bulk_create(cases, batch_size=1000)
    # auto_now_add stamped every case "now": put the rescue time back so "opened on" reads true.
    for case in cases:
        case.created_at = case.rescued_at
    Case.objects.bulk_update(cases, ["created_at"], batch_size=1000)

    consents, identities = [], []
    for n, case in enumerate(cases):
        child = case.age_status != AgeStatus.ADULT
        if child:
            consent = Consent(given_by=ConsentGiver.NONE_LEGAL_BASIS, legal_basis=LegalBasis.CHILD_FUNCTION,
                              statutory_reference="JJ Act 2015 s.31; DPDP Rules 2025 Fourth Schedule Part B")
        elif rng.random() < 0.85:
            consent = Consent(given_by=ConsentGiver.PERSON, legal_basis=LegalBasis.CONSENT)
        else:
            consent = Consent(given_by=ConsentGiver.NONE_LEGAL_BASIS, legal_basis=LegalBasis.INVESTIGATION,
                              statutory_reference="DPDP Act 2023 s.17(1)(c); ITPA 1956 s.15")
        consent.case = case
        consent.scope = "Share with the agencies the case is referred to, for care, protection and legal remedies."
        consent.language = (case.languages or "Hindi").split(";")[0]
        consent.given_on = timezone.localtime(case.rescued_at).date()
        consent.recorded_by = actors.get(case.opened_by_id) or recorder
        consent.recorded_by_agency = case.opened_by
        consents.append(consent)
        identities.append(CaseIdentity(case=case, ciphertext=encrypt_identity({
            "name": f"Demo Person {n:04d}", "guardian": f"Demo Guardian {n:04d}",
            "address": f"Demo Address {n:04d}, {case.rescue_district.name if case.rescue_district else ''}",
            "phone": f"+91 90000 {n:05d}", "id_numbers": "", "photo_ref": "",
        })))
    Consent.objects.bulk_create(consents, batch_size=1000)
    CaseIdentity.objects.bulk_create(identities, batch_size=1000)

    steps = [step for plan in plans for step in plan.steps]
    for parents_first in (True, False):
        rows = []
        for plan in plans:
            for step in plan.steps:
                if (step.parent is None) != parents_first:
                    continue
                step.row = _row(plan.case, step)
                rows.append(step.row)
        Referral.objects.bulk_create(rows, batch_size=1000)
    events = [event for step in steps for event in _events(step, actors)]
    ReferralEvent.objects.bulk_create(events, batch_size=2000)
    return {"demo cases": len(cases), "demo referrals": len(steps), "referral events": len(events)}


def _row(case: Case, step: Step) -> Referral:
    rule = rule_for(step.purpose, case.age_status)
    return Referral(
        case=case, from_agency=step.from_agency, to_agency=step.to_agency, from_state_id=step.from_agency.state_id,
        to_state_id=step.to_agency.state_id, purpose=step.purpose, urgency=step.urgency, note=step.note,
        status=step.status, due_at=rule.due_at(sent_at=step.sent_at, rescued_at=case.rescued_at) if rule else None,
        deadline_rule=rule.slug if rule else "", identity_shared=step.purpose in IDENTITY_PURPOSES and step.status in OPEN_STATUSES,
        decline_reason=step.decline_reason, outcome=step.outcome, rerouted_from=step.parent.row if step.parent else None,
        created_at=step.sent_at, sent_at=step.sent_at, acknowledged_at=step.acknowledged_at,
        responded_at=step.responded_at, closed_at=step.closed_at,
    )


def _events(step: Step, actors) -> list[ReferralEvent]:
    referral = step.row
    sender, receiver = step.from_agency.pk, step.to_agency.pk
    chain = [(step.sent_at, "", Status.SENT, sender, step.note)]
    if step.acknowledged_at:
        chain.append((step.acknowledged_at, Status.SENT, Status.ACKNOWLEDGED, receiver, ""))
    previous = chain[-1][2]
    if step.responded_at:
        answer = Status.DECLINED if step.status == Status.DECLINED else Status.ACCEPTED
        chain.append((step.responded_at, previous, answer, receiver, ""))
        previous = answer
    if step.closed_at:
        closer = sender if step.status == Status.WITHDRAWN else receiver
        chain.append((step.closed_at, previous, step.status, closer, ""))
    return [
        ReferralEvent(referral=referral, at=at, from_status=old, to_status=new, actor_agency_id=agency_id,
                      actor=actors.get(agency_id), note=note)
        for at, old, new, agency_id, note in chain
    ]
