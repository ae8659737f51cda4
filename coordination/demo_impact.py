"""Demo AHTU returns, trainings and committee action items for `seed_demo`.

About five years of monthly returns for every demo AHTU, at the scale NCRB reports for AHTU-registered
cases (a few cases and rescues per unit and month, busier in the metropolitan districts), rising slowly,
with gaps, late filings and a last few months still in review; training programmes in the five IND/S16
states; and the steering committee's quarterly meetings with action items, some of them overdue.
Idempotent: re-seeding replaces what an earlier seed created (demo codes only).
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from coordination.models import (
    ActionItem,
    ActionItemUpdate,
    ActionStatus,
    AhtuReturn,
    AhtuReturnEvent,
    CommitteeMeeting,
    ReturnStatus,
    TrainingEvent,
    TrainingTopic,
)
from coordination.periods import add_months, due_at, last_ended_month, months_between
from stakeholders.demo import DEMO_PREFIX
from stakeholders.models import Agency, District
from stakeholders.vocab import AgencyKind

BUSY_DISTRICTS = {"pune", "mumbai", "thane", "kolkata", "patna", "ntr", "visakhapatanam", "northgoa", "howrah", "24paraganassouth", "nagpur", "muzaffarpur"}
PUNE_AHTU = DEMO_PREFIX + "MH-PUNE-AHTU"


def seed_impact(agencies: dict[str, Agency], rng: random.Random) -> dict:
    """Create the demo returns, trainings and action items; return counts for the command's summary."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["arjun", "rahul", "mitra", "admin"])}
    _clear()
    returns = _seed_returns(agencies, rng, users)
    trainings = _seed_trainings(agencies, rng, users)
    meetings, items = _seed_meetings(agencies, rng, users)
    return {"AHTU returns": returns, "training events": trainings, "committee meetings": meetings, "action items": items}


def _clear() -> None:
    AhtuReturn.objects.filter(ahtu__code__startswith=DEMO_PREFIX).delete()
    TrainingEvent.objects.filter(organiser__code__startswith=DEMO_PREFIX).delete()
    CommitteeMeeting.objects.filter(committee__code__startswith=DEMO_PREFIX).delete()


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation keeps large means cheap
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)


def _aware(day: date, hour: int = 11) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _seed_returns(agencies, rng, users) -> int:
    today = timezone.localdate()
    last = last_ended_month(today)
    first = add_months(last, -59)
    due_day, tz = settings.AHTU_RETURN_DUE_DAY, settings.TIME_ZONE
    ahtus = sorted((a for a in agencies.values() if a.kind == AgencyKind.AHTU), key=lambda a: a.code)
    district_keys = dict(District.objects.filter(pk__in={a.district_id for a in ahtus}).values_list("pk", "key"))
    maharashtra = agencies[f"{DEMO_PREFIX}MH-AHTB"].state_id
    records, histories, backdated = [], [], []
    for ahtu in ahtus:
        district_key = district_keys.get(ahtu.district_id, "")
        # Most units have filed for five years; some were set up under the 2020 expansion and started later.
        start = first if rng.random() < 0.85 else add_months(first, rng.randint(6, 30))
        ahtu.created_at = _aware(start - timedelta(days=20))
        backdated.append(ahtu)
        level = rng.uniform(0.5, 1.6) * (3.0 if district_key in BUSY_DISTRICTS else 1.0)
        if ahtu.ahtu_functional is False:
            level *= 0.3
        minor_share, female_share, customer_share = rng.uniform(0.15, 0.45), rng.uniform(0.75, 0.95), rng.uniform(0.05, 0.2)
        totals = {"cases": 0, "rescued": 0, "arrested": 0, "chargesheets": 0, "convicted": 0, "rehab": 0}
        for month in months_between(start, last):
            age = (last.year - month.year) * 12 + last.month - month.month  # 0 = last ended month
            status = _demo_status(rng, age, today.day > due_day)
            if ahtu.code == PUNE_AHTU:
                status = {0: None, 1: ReturnStatus.RETURNED}.get(age, ReturnStatus.APPROVED)
            if status is None:
                continue
            growth = 1 + 0.08 * (59 - age) / 12
            season = 1 + 0.15 * math.sin((month.month - 3) / 12 * 2 * math.pi)
            mean = level * growth * season
            operations = _poisson(rng, 0.8 * mean)
            rescued = _poisson(rng, 2.4 * mean) if operations else _poisson(rng, 0.2)
            arrested = _poisson(rng, 2.0 * mean) if operations else _poisson(rng, 0.4)
            cases = _poisson(rng, 0.9 * mean)
            totals["cases"] += cases
            totals["rescued"] += rescued
            totals["arrested"] += arrested
            chargesheets = min(_poisson(rng, 0.75 * mean), totals["cases"] - totals["chargesheets"])
            convicted = min(_poisson(rng, 0.05 * mean), totals["arrested"] - totals["convicted"])
            rehab = min(_poisson(rng, 0.7 * rescued + 0.3), totals["rescued"] - totals["rehab"])
            totals["chargesheets"] += chargesheets
            totals["convicted"] += convicted
            totals["rehab"] += rehab
            deadline = due_at(month, due_day=due_day, tz=tz)
            late = rng.random() < 0.12
            submitted = (deadline + timedelta(days=rng.randint(1, 20))) if late else (deadline - timedelta(days=rng.randint(1, 9), hours=6))
            submitted = min(submitted, timezone.now() - timedelta(hours=1))
            record = AhtuReturn(
                ahtu=ahtu, month=month, status=status, cases_registered=cases, rescue_operations=operations,
                victims_rescued=rescued, minors_rescued=_binomial(rng, rescued, minor_share),
                female_rescued=_binomial(rng, rescued, female_share), arrested=arrested,
                customers_arrested=_binomial(rng, arrested, customer_share), chargesheets=chargesheets, convicted=convicted,
                places_closed=_poisson(rng, 0.12 * mean) if operations else 0, rehabilitation_initiated=rehab,
                created_at=submitted - timedelta(days=2),
                created_by=users.get("arjun") if ahtu.code == PUNE_AHTU else None,
            )
            if status != ReturnStatus.DRAFT:
                record.first_submitted_at = record.submitted_at = submitted
                record.submitted_by = record.created_by
            if status in (ReturnStatus.APPROVED, ReturnStatus.RETURNED):
                record.reviewed_at = min(submitted + timedelta(days=rng.randint(2, 12)), timezone.now())
                record.reviewed_by = users.get("rahul") if ahtu.state_id == maharashtra else None
            if status == ReturnStatus.RETURNED:
                record.review_comment = rng.choice([
                    "Minors rescued look low against the CWC production reports for the month; please re-check.",
                    "Chargesheets do not match the case register; please correct.",
                    "Rescue operations are missing for the two joint raids with the district police.",
                ])
            records.append(record)
            histories.append(_history(record, rng))
    Agency.objects.bulk_update(backdated, ["created_at"], batch_size=500)
    AhtuReturn.objects.bulk_create(records, batch_size=1000)
    events = []
    for record, steps in zip(records, histories):
        for at, from_status, to_status, comment, actor in steps:
            events.append(AhtuReturnEvent(ahtu_return=record, at=at, from_status=from_status, to_status=to_status,
                                          comment=comment, actor=actor, actor_agency=None))
    AhtuReturnEvent.objects.bulk_create(events, batch_size=2000)
    return len(records)


def _demo_status(rng, age: int, due_passed: bool):
    """Old months are approved (a few gaps); the latest ones are still moving through review."""
    draw = rng.random()
    if age >= 3:
        return None if draw < 0.015 else ReturnStatus.APPROVED
    if age == 2:
        return ReturnStatus.APPROVED if draw < 0.75 else ReturnStatus.SUBMITTED if draw < 0.9 else ReturnStatus.RETURNED if draw < 0.95 else None
    if age == 1:
        return ReturnStatus.APPROVED if draw < 0.45 else ReturnStatus.SUBMITTED if draw < 0.8 else ReturnStatus.DRAFT if draw < 0.87 else None
    if not due_passed:
        return ReturnStatus.SUBMITTED if draw < 0.35 else ReturnStatus.DRAFT if draw < 0.5 else None
    return ReturnStatus.SUBMITTED if draw < 0.5 else ReturnStatus.APPROVED if draw < 0.6 else ReturnStatus.DRAFT if draw < 0.7 else None


def _history(record: AhtuReturn, rng) -> list[tuple]:
    steps = [(record.created_at, "", ReturnStatus.DRAFT, "", record.created_by)]
    if record.status == ReturnStatus.DRAFT:
        return steps
    steps.append((record.submitted_at, ReturnStatus.DRAFT, ReturnStatus.SUBMITTED, "", record.submitted_by))
    if record.status in (ReturnStatus.APPROVED, ReturnStatus.RETURNED):
        steps.append((record.reviewed_at, ReturnStatus.SUBMITTED, record.status, record.review_comment, record.reviewed_by))
    return steps


TRAINING_TITLES = {
    TrainingTopic.INVESTIGATION: ["Investigating trafficking under BNS s.143", "Financial investigation of trafficking networks", "Digital evidence in trafficking cases"],
    TrainingTopic.VICTIM_CARE: ["Victim-centred rescue and post-rescue care", "Trauma-informed interviewing of survivors"],
    TrainingTopic.PROSECUTION: ["Prosecuting trafficking and ITPA offences", "Victim and witness protection at trial"],
    TrainingTopic.SOPS: ["SOPs for rescue, restoration and repatriation", "Integrated AHTU protocol: roles and records"],
    TrainingTopic.CHILD_PROTECTION: ["JJ Act and POCSO for police and CWCs"],
    TrainingTopic.JUDICIAL: ["Judicial colloquium on trafficking"],
    TrainingTopic.CROSS_BORDER: ["Cross-border trafficking and repatriation to Nepal and Bangladesh"],
}
STATE_CODES = ("MH", "GA", "AP", "BR", "WB")


def _seed_trainings(agencies, rng, users) -> int:
    today = timezone.localdate()
    districts_by_state = {}
    for code in STATE_CODES:
        state = agencies[f"{DEMO_PREFIX}{code}-AHTB"].state
        districts_by_state[code] = list(District.objects.filter(state=state).only("pk", "name", "state_id"))
    events = []
    topics = list(TRAINING_TITLES)
    weights = [5, 3, 3, 3, 2, 1, 1]
    for _n in range(72):
        code = rng.choice(STATE_CODES)
        topic = rng.choices(topics, weights)[0]
        starts = today - timedelta(days=rng.randint(20, 5 * 365))
        days = rng.choice([1, 2, 2, 3, 5])
        organiser = agencies.get(f"{DEMO_PREFIX}{code}-PTI") if rng.random() < 0.5 else None
        if topic == TrainingTopic.JUDICIAL:
            organiser = agencies[f"{DEMO_PREFIX}{code}-SLSA"]
        organiser = organiser or rng.choice([agencies[f"{DEMO_PREFIX}{code}-AHTB"], agencies[f"{DEMO_PREFIX}UNODC"]])
        district = rng.choice(districts_by_state[code]) if rng.random() < 0.8 else None
        police = rng.randint(15, 45) if topic not in (TrainingTopic.JUDICIAL, TrainingTopic.PROSECUTION) else rng.randint(0, 8)
        prosecutors = rng.randint(8, 25) if topic == TrainingTopic.PROSECUTION else rng.randint(0, 6)
        judiciary = rng.randint(12, 30) if topic == TrainingTopic.JUDICIAL else 0
        ngo = rng.randint(5, 20) if topic in (TrainingTopic.VICTIM_CARE, TrainingTopic.CHILD_PROTECTION, TrainingTopic.SOPS) else rng.randint(0, 4)
        scored = rng.random() < 0.85
        pre = Decimal(rng.randint(380, 600)) / 10 if scored else None
        post = min(Decimal(100), pre + Decimal(rng.randint(90, 300)) / 10) if scored else None
        events.append(TrainingEvent(
            title=f"{rng.choice(TRAINING_TITLES[topic])}{', ' + district.name if district else ''}",
            starts_on=starts, ends_on=starts + timedelta(days=days - 1), state_id=agencies[f"{DEMO_PREFIX}{code}-AHTB"].state_id,
            district=district, organiser=organiser, topic=topic, participants_police=police,
            participants_prosecutors=prosecutors, participants_judiciary=judiciary, participants_ngo=ngo,
            participants_other=rng.randint(0, 6), master_trainers=rng.randint(1, 4), pre_test_mean=pre, post_test_mean=post,
            created_by=users.get("admin"),
        ))
    for event in events:
        if event.participants_total == 0:
            event.participants_police = 20
    TrainingEvent.objects.bulk_create(events)
    return len(events)


ACTIONS = [
    ("Notify the remaining district AHTUs as police stations with FIR powers", "AHTB"),
    ("Fill the sanctioned AHTU posts in the districts below half strength", "AHTB"),
    ("File the missing monthly AHTU returns and clear the review backlog", "AHTB"),
    ("Open a second Shakti Sadan in the districts without a shelter for women", "WCD"),
    ("Agree a repatriation protocol with the neighbouring states' WCD departments", "WCD"),
    ("Train prosecutors of the districts with the most pending trafficking trials", "AHTB"),
    ("Publish the state SOP on rescue, restoration and repatriation", "WCD"),
    ("Report the victim compensation paid in trafficking cases", "SLSA"),
]


def _seed_meetings(agencies, rng, users) -> tuple[int, int]:
    today = timezone.localdate()
    committee = agencies[f"{DEMO_PREFIX}SC"]
    national = [agencies[f"{DEMO_PREFIX}{c}"] for c in ("MHA", "MWCD", "UNODC")]
    meetings, items, updates = 0, 0, []
    for quarter in range(8, 0, -1):
        held_on = today - timedelta(days=quarter * 91 + rng.randint(-10, 10))
        meeting = CommitteeMeeting.objects.create(
            committee=committee, held_on=held_on, title=f"Steering committee, meeting {9 - quarter}",
            place=rng.choice(["MHA, North Block, New Delhi", "UNODC ROSA, New Delhi", "Videoconference"]),
            summary="Reviewed the AHTU results of the quarter, training plans and the states' action items.",
            created_by=users.get("admin"),
        )
        present = national + [agencies[f"{DEMO_PREFIX}{c}-AHTB"] for c in STATE_CODES if rng.random() < 0.9] + [
            agencies[f"{DEMO_PREFIX}{c}-WCD"] for c in STATE_CODES if rng.random() < 0.6
        ]
        meeting.agencies_present.set(present)
        meetings += 1
        for title, owner_kind in rng.sample(ACTIONS, rng.randint(2, 4)):
            state = rng.choice(STATE_CODES if quarter > 2 else ("MH", "WB", "BR"))
            owner = agencies[f"{DEMO_PREFIX}{state}-{owner_kind}"]
            due_on = held_on + timedelta(days=rng.choice([45, 60, 90, 120]))
            # Older decisions are mostly done; some stay open past their due date (the ones to chase).
            if due_on < today and rng.random() < 0.75:
                status, closed_on = rng.choice([ActionStatus.DONE, ActionStatus.DONE, ActionStatus.DROPPED]), min(due_on + timedelta(days=rng.randint(-20, 25)), today)
            else:
                status, closed_on = rng.choice([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]), None
            item = ActionItem.objects.create(meeting=meeting, title=title, owner=owner, due_on=due_on, status=status,
                                             closed_on=closed_on, created_by=users.get("admin"))
            items += 1
            author = users.get("rahul") if state == "MH" and owner_kind == "AHTB" else users.get("mitra") if state == "WB" and owner_kind == "WCD" else None
            if status != ActionStatus.OPEN:
                updates.append(ActionItemUpdate(
                    item=item, author=author, author_agency=owner, at=_aware(held_on + timedelta(days=20)),
                    note="Work started; a first report goes to the next meeting.", from_status=ActionStatus.OPEN,
                    to_status=ActionStatus.IN_PROGRESS,
                ))
            if closed_on:
                updates.append(ActionItemUpdate(
                    item=item, author=author, author_agency=owner, at=_aware(closed_on),
                    note="Completed; the order is attached to the state's report." if status == ActionStatus.DONE else "Overtaken by the state's new SOP.",
                    from_status=ActionStatus.IN_PROGRESS, to_status=status,
                ))
    # Pune's AHTU owes the committee its missing return (so the AHTU's dashboard shows an action item).
    last_meeting = CommitteeMeeting.objects.filter(committee=committee).order_by("-held_on").first()
    ActionItem.objects.create(meeting=last_meeting, title="File the overdue monthly returns of AHTU Pune", owner=agencies[PUNE_AHTU],
                              due_on=today - timedelta(days=7), created_by=users.get("admin"))
    items += 1
    ActionItemUpdate.objects.bulk_create(updates)
    return meetings, items
