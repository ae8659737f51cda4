"""Referrals benchmark (issue 3).

    DEBUG=1 .venv/bin/python bench/bench_referrals.py
    DEBUG=1 .venv/bin/python bench/bench_referrals.py --database-url postgres://postgres@127.0.0.1:5432/aht_bench_referrals

Works on a throw-away database: a temporary SQLite file by default, or the PostgreSQL database named by
--database-url (its public schema is dropped and re-created: never point it at real data).

Targets: with 200,000 referrals the inbox, sent and state-review pages use <= 12 queries whatever the page
size and data size, and their median time is within 2x of the same pages at 2,000 referrals; creating a
referral uses <= 20 queries; PostgreSQL's EXPLAIN (ANALYZE) of the gate query shows index use; importing
100,000 referral rows takes under 60 s.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATES = ["maharashtra", "goa", "andhrapradesh", "bihar", "westbengal"]
KINDS = [("ngo", 6), ("ahtu", 2), ("police", 2), ("cwc", 2), ("shelter_home", 2), ("cci", 1), ("legal_services", 2),
         ("hospital", 2), ("magistrate", 1), ("dcpu", 1)]
PURPOSES = ["produce_before_cwc", "medical_examination", "shelter_placement", "victim_compensation", "counselling",
            "legal_aid", "repatriation", "home_investigation", "bonded_labour_release"]
STATUSES = [("completed", 60), ("accepted", 12), ("declined", 9), ("sent", 10), ("acknowledged", 6), ("withdrawn", 3)]


def configure(argv) -> str:
    url = None
    if "--database-url" in argv:
        url = argv[argv.index("--database-url") + 1]
    if url is None:
        path = Path("/tmp/aht_bench_referrals.sqlite3")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = "sqlite:////" + str(path).lstrip("/")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ["CACHE_URL"] = "locmem://"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return url


configure(sys.argv[1:])

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from referrals.deadlines import rule_for  # noqa: E402
from referrals.imports import COLUMNS, import_referrals  # noqa: E402
from referrals.models import Case, Consent, Referral  # noqa: E402
from stakeholders.models import Agency, AgencyService, District  # noqa: E402
from tests.factories import make_user  # noqa: E402


def reset_database() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("load_geography", stdout=open(os.devnull, "w"))


def median_ms(fn, repeat=15, warmup=3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


class World:
    """A registry of ~1,500 agencies in the five project states and the three users whose pages we time."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        districts = list(District.objects.filter(state__key__in=STATES).select_related("state"))
        agencies, services = [], []
        for district in districts:
            for kind, count in KINDS:
                for n in range(count if kind != "ngo" else rng.randint(1, count)):
                    agencies.append(Agency(
                        code=f"B-{district.pk}-{kind}-{n}", name=f"Bench {kind} {n} {district.name}", kind=kind,
                        state_id=district.state_id, district=district, latitude=district.latitude, longitude=district.longitude,
                        beds_total=40 if kind in {"shelter_home", "cci"} else None,
                        beds_available=rng.randint(0, 40) if kind in {"shelter_home", "cci"} else None,
                        serves_male=kind != "shelter_home", min_age=18 if kind == "shelter_home" else None,
                    ))
        Agency.objects.bulk_create(agencies, batch_size=2000)
        for agency in agencies:
            service = {"shelter_home": "shelter_women", "cci": "shelter_children", "legal_services": "compensation",
                       "hospital": "medical", "ngo": "counselling"}.get(agency.kind)
            if service:
                services.append(AgencyService(agency=agency, service=service))
        AgencyService.objects.bulk_create(services, batch_size=5000)
        self.agencies = agencies
        pune = District.objects.get(state__key="maharashtra", key="pune")
        self.ngo = Agency.objects.get(code=f"B-{pune.pk}-ngo-0")
        self.shelter = Agency.objects.get(code=f"B-{pune.pk}-shelter_home-0")
        self.shelter.beds_available = 40
        self.shelter.save()
        mh = pune.state
        self.state_department = Agency.objects.create(code="B-MH-WCD", name="Bench Maharashtra WCD", kind="state_department",
                                                      level="state", state=mh)
        self.caseworker = make_user("bench-ngo", agency=self.ngo, role="caseworker")
        self.receiver = make_user("bench-shelter", agency=self.shelter, role="caseworker")
        self.supervisor = make_user("bench-state", agency=self.state_department, role="caseworker")
        # The bench users' agencies take about 1% of the traffic each way, like a busy district NGO and shelter.
        self.weights = [1.0] * len(agencies)
        self.index = {a.pk: i for i, a in enumerate(agencies)}
        self.weights[self.index[self.ngo.pk]] = len(agencies) / 100
        self.weights[self.index[self.shelter.pk]] = len(agencies) / 100
        self.made = 0

    def grow(self, total: int) -> None:
        """Bulk-insert cases and referrals until there are `total` referrals (about 2.5 referrals per case)."""
        rng, now = self.rng, timezone.now()
        need = total - self.made
        cases = []
        for n in range(need // 2 + 1):
            opener = rng.choices(self.agencies, self.weights)[0]
            cases.append(Case(code=f"C-B{self.made + n:09d}", opened_by=opener, holder=opener,
                              age_status=rng.choice(["minor", "adult", "adult"]), gender=rng.choice(["female", "female", "male"]),
                              exploitation=rng.choice(["sexual_exploitation", "forced_labour", "bonded_labour"]),
                              rescued_at=now - timedelta(days=rng.uniform(0, 3 * 365))))
        with transaction.atomic():
            Case.objects.bulk_create(cases, batch_size=5000)
            referrals = []
            statuses, weights = zip(*STATUSES)
            for n in range(need):
                case = cases[n // 2]
                sender = case.opened_by if n % 2 == 0 else rng.choices(self.agencies, self.weights)[0]
                receiver = rng.choices(self.agencies, self.weights)[0]
                if receiver.pk == sender.pk:
                    receiver = self.agencies[(self.index[receiver.pk] + 1) % len(self.agencies)]
                purpose = rng.choice(PURPOSES)
                sent_at = case.rescued_at + timedelta(hours=rng.uniform(1, 200))
                status = rng.choices(statuses, weights)[0]
                rule = rule_for(purpose, case.age_status)
                referrals.append(Referral(
                    reference=f"R-B{self.made + n:09d}", case=case, from_agency=sender, to_agency=receiver,
                    from_state_id=sender.state_id, to_state_id=receiver.state_id, purpose=purpose, status=status,
                    sent_at=sent_at, created_at=sent_at,
                    due_at=rule.due_at(sent_at=sent_at, rescued_at=case.rescued_at) if rule else None,
                    responded_at=sent_at + timedelta(hours=5) if status in {"accepted", "declined", "completed"} else None,
                    closed_at=sent_at + timedelta(days=9) if status in {"completed", "withdrawn"} else None,
                ))
            Referral.objects.bulk_create(referrals, batch_size=5000)
        self.made = total
        analyze()


def measure(world: World, label: str):
    pages = [
        ("inbox (50/page)", world.receiver, "/referrals/"),
        ("inbox (200/page)", world.receiver, "/referrals/?per_page=200"),
        ("inbox, overdue filter", world.receiver, "/referrals/?overdue=true"),
        ("sent (50/page)", world.caseworker, "/referrals/sent/"),
        ("sent (200/page, page 3)", world.caseworker, "/referrals/sent/?per_page=200&page=3"),
        ("sent, filtered", world.caseworker, "/referrals/sent/?status=pending&purpose=shelter_placement&minor=false"),
        ("state review (50/page)", world.supervisor, "/referrals/review/"),
        ("state review (200/page)", world.supervisor, "/referrals/review/?per_page=200"),
        ("state review, filtered", world.supervisor, "/referrals/review/?status=pending&minor=true&sort=-sent"),
    ]
    clients = {}
    results = {}
    for name, user, url in pages:
        client = clients.get(user.pk)
        if client is None:
            client = clients[user.pk] = Client()
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        results[name] = (count_queries(lambda: client.get(url)), median_ms(lambda: client.get(url)), response.context["paginator"].count)
    print(f"\n{label}: {Referral.objects.count():,} referrals, {Case.objects.count():,} cases")
    for name, (queries, ms, rows) in results.items():
        print(f"  {name:<28} {queries:>3} queries   median {ms:7.1f} ms   ({rows:,} rows in the list)")
    return results


def creation(world: World) -> None:
    from django.test.utils import override_settings  # noqa: F401

    from referrals.services import referral_create

    case = Case.objects.create(opened_by=world.ngo, holder=world.ngo, exploitation="sexual_exploitation", age_status="adult",
                               gender="female")
    Consent.objects.create(case=case, given_by="person", scope="bench", given_on=timezone.localdate(),
                           recorded_by=world.caseworker, recorded_by_agency=world.ngo)
    dlsa = Agency.objects.filter(kind="legal_services", district=world.ngo.district).first()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=world.caseworker.pk)
    n = count_queries(lambda: referral_create(case=case, from_agency=world.ngo, to_agency=dlsa, purpose="legal_aid", by=user))
    print(f"\nreferral_create (service, existing case): {n} queries (target <= 20): {'ok' if n <= 20 else 'MISSED'}")
    client = Client()
    client.force_login(world.caseworker)
    data = {"from_agency": world.ngo.pk, "purpose": "counselling", "to_agency": world.shelter.pk, "urgency": "routine"}
    n = count_queries(lambda: client.post(f"/referrals/cases/{case.code}/refer/", data))
    print(f"POST refer an existing case (whole request, e-mail included): {n} queries (target <= 20): {'ok' if n <= 20 else 'MISSED'}")
    data = {
        "from_agency": world.ngo.pk, "purpose": "shelter_placement", "to_agency": world.shelter.pk, "urgency": "routine",
        "case-age_status": "adult", "case-gender": "female", "case-exploitation": "sexual_exploitation",
        "case-rescue_district": world.ngo.district_id, "case-rescued_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "consent-given_by": "person", "consent-legal_basis": "consent", "consent-scope": "bench", "identity-name": "Bench Person",
    }
    start = time.perf_counter()
    n = count_queries(lambda: client.post("/referrals/new/", data))
    ms = (time.perf_counter() - start) * 1000
    print(f"POST new case + referral (whole request, e-mail included): {n} queries, {ms:.0f} ms (target <= 20): "
          f"{'ok' if n <= 20 else 'MISSED'}")


def explain(world: World) -> None:
    if connection.vendor != "postgresql":
        return
    from referrals.selectors import referral_box
    from stakeholders.selectors import user_scope

    for label, user, box in (("inbox", world.receiver, "inbox"), ("state review", world.supervisor, "review")):
        user = type(user).objects.get(pk=user.pk)
        user_scope(user)
        queryset = referral_box(user, box).order_by("-sent_at", "-pk")[:50]
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"\nEXPLAIN (ANALYZE) of the gate query behind the {label} (first page, newest first):")
        for line in plan:
            print("   " + line)
    gate = Referral.objects.visible_to(type(world.receiver).objects.get(pk=world.receiver.pk))
    sql, params = gate.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) SELECT COUNT(*) FROM (" + sql + ") gate", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("\nEXPLAIN (ANALYZE) of Referral.objects.visible_to(shelter caseworker), counted:")
    for line in plan:
        print("   " + line)


def import_bench(world: World, rng: random.Random) -> bool:
    codes = [a.code for a in world.agencies]
    lines = [",".join(COLUMNS)]
    for n in range(100_000):
        sender, receiver = rng.sample(codes, 2)
        status = rng.choice(["sent", "accepted", "completed", "declined"])
        sent = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:15:00"
        responded = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:45:00" if status != "sent" else ""
        closed = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T23:59:00" if status == "completed" else ""
        lines.append(",".join([
            f"IMP-{n:06d}", f"C-IMP-{n // 2:06d}", sender, receiver, rng.choice(PURPOSES), status, sent, responded, closed,
            "no" if n % 3 else "", "female" if n % 2 else "", "forced_labour", "Bihar" if n % 5 == 0 else "",
            "Patna" if n % 5 == 0 else "",
        ]))
    text = "\n".join(lines) + "\n"
    # The same file must be consistent per case: the second row of a case repeats nothing it contradicts.
    start = time.perf_counter()
    report = import_referrals(io.StringIO(text), source="bench.csv")
    elapsed = time.perf_counter() - start
    assert report.written and not report.errors, report.errors[:3]
    print(f"\nimport_referrals, 100,000 rows ({report.created:,} referrals, {Case.objects.filter(code__startswith='C-IMP-').count():,} "
          f"new cases, events included): {elapsed:.1f} s (target < 60 s): {'ok' if elapsed < 60 else 'MISSED'}")
    start = time.perf_counter()
    again = import_referrals(io.StringIO(text), dry_run=True)
    print(f"the same file again, dry run (every reference already present): {time.perf_counter() - start:.1f} s, "
          f"{again.skipped:,} skipped")
    return elapsed < 60


def main() -> int:
    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    reset_database()
    rng = random.Random(11)
    world = World(rng)
    print(f"Registry: {Agency.objects.count():,} agencies in {len(STATES)} states")
    world.grow(2_000)
    small = measure(world, "Small")
    start = time.perf_counter()
    world.grow(200_000)
    print(f"\n(generated 198,000 more referrals in {time.perf_counter() - start:.0f} s)")
    large = measure(world, "Large")
    print("\nRatio large/small (target <= 2x, queries <= 12 and the same at both sizes):")
    ok = True
    for name, (queries, ms, _rows) in large.items():
        ratio = ms / small[name][1]
        flag = "ok" if ratio <= 2 and queries <= 12 and queries == small[name][0] else "MISSED"
        ok &= flag == "ok"
        print(f"  {name:<28} {ratio:5.2f}x   queries {small[name][0]} -> {queries}   {flag}")
    creation(world)
    explain(world)
    ok &= import_bench(world, rng)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
