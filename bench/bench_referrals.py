"""Referrals benchmark (issue 3).

    DEBUG=1 .venv/bin/python bench/bench_referrals.py
    DEBUG=1 .venv/bin/python bench/bench_referrals.py --database-url postgres://postgres@127.0.0.1:5432/aht_bench_referrals
    (add --reuse to time the pages again on the databases of the previous run; the import then adds rows to them)

Works on three throw-away databases, never the dev one: temporary SQLite files by default
(/tmp/aht_bench_referrals-{small,large,import}.sqlite3), or PostgreSQL databases named after --database-url
with the suffixes _small, _large and _import (created when missing; their public schema is dropped and re-created).

Targets: with 200,000 referrals the inbox, sent and state-review pages use <= 12 queries whatever the page
size and data size, and their median time is within 2x of the same pages at 2,000 referrals; creating a
referral uses <= 20 queries; PostgreSQL's EXPLAIN (ANALYZE) of the gate query shows index use; importing
100,000 referral rows takes under 60 s.
"""

from __future__ import annotations

import io
import warnings
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


warnings.filterwarnings("ignore", message="No directory at")
configure(sys.argv[1:])

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from referrals.bulk import fast_insert  # noqa: E402
from referrals.deadlines import rule_for  # noqa: E402
from referrals.imports import COLUMNS, import_referrals  # noqa: E402
from referrals.models import Case, Consent, Referral  # noqa: E402
from stakeholders.models import Agency, AgencyService, District  # noqa: E402
from tests.factories import make_user  # noqa: E402


class Databases:
    """Two throw-away databases side by side (2,000 and 200,000 referrals): requests to the two are
    interleaved, so a machine busy with other work slows both sizes alike and the ratio stays honest."""

    def __init__(self, keep: bool = False):
        from django.db import connections
        from django.db.utils import load_backend

        self.handler = connections
        base = dict(connections["default"].settings_dict)
        backend = load_backend(base["ENGINE"])
        self.wrappers = {}
        for size in ("small", "large", "import"):
            name = base["NAME"]
            if base["ENGINE"].endswith("sqlite3"):
                name = name.replace(".sqlite3", f"-{size}.sqlite3")
                for suffix in ("", "-wal", "-shm", "-journal") if not keep or size == "import" else ():
                    Path(name + suffix).unlink(missing_ok=True)
            else:
                name = f"{name}_{size}"
                self._create_pg_database(backend, base, name)
            self.wrappers[size] = backend.DatabaseWrapper(dict(base, NAME=name), "default")

    @staticmethod
    def _create_pg_database(backend, base, name):
        wrapper = backend.DatabaseWrapper(dict(base, NAME="postgres"), "maintenance")
        with wrapper._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
        wrapper.close()

    def use(self, size: str) -> None:
        self.handler._connections.default = self.wrappers[size]


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
    """A registry of ~2,300 agencies in the five project states and the three users whose pages we time."""

    @classmethod
    def load(cls) -> World:
        """The world of a database built by an earlier run (--reuse)."""
        from django.contrib.auth import get_user_model

        world = cls.__new__(cls)
        users = get_user_model().objects
        world.caseworker, world.receiver, world.supervisor = (
            users.get(username=name) for name in ("bench-ngo", "bench-shelter", "bench-state"))
        world.agencies = list(Agency.objects.filter(code__startswith="B-").exclude(code="B-MH-WCD").order_by("pk"))
        world.ngo = world.caseworker.memberships.get().agency
        world.shelter = world.receiver.memberships.get().agency
        world.made = Referral.objects.count()
        return world

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
        self.by_pk = {a.pk: a for a in agencies}
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
        self.cumulative = list(__import__("itertools").accumulate(self.weights))
        self.made = 0

    def share_some_cases(self) -> None:
        """Three cases of other agencies shared with the NGO through guardian: the gate's share branch."""
        from referrals.services import share_case_with_agency

        for case in Case.objects.exclude(opened_by=self.ngo).order_by("pk")[:3]:
            share_case_with_agency(case=case, agency=self.ngo)

    def pick(self) -> Agency:
        return self.rng.choices(self.agencies, cum_weights=self.cumulative)[0]

    def grow(self, total: int) -> None:
        """Bulk-insert cases and referrals until there are `total` referrals (two referrals per case)."""
        rng, now = self.rng, timezone.now()
        need = total - self.made
        cases = []
        for n in range(need // 2 + 1):
            opener = self.pick()
            cases.append({"code": f"C-B{self.made + n:09d}", "opened_by_id": opener.pk, "holder_id": opener.pk,
                          "age_status": rng.choice(["minor", "adult", "adult"]), "gender": rng.choice(["female", "female", "male"]),
                          "exploitation": rng.choice(["sexual_exploitation", "forced_labour", "bonded_labour"]),
                          "rescued_at": now - timedelta(days=rng.uniform(0, 3 * 365)), "created_at": now, "updated_at": now})
        statuses, weights = zip(*STATUSES)
        with transaction.atomic():
            fast_insert(Case, cases)
            ids = dict(Case.objects.filter(code__startswith="C-B").values_list("code", "pk"))
            referrals = []
            for n in range(need):
                case = cases[n // 2]
                sender = self.by_pk[case["opened_by_id"]] if n % 2 == 0 else self.pick()
                receiver = self.pick()
                if receiver.pk == sender.pk:
                    receiver = self.agencies[(self.index[receiver.pk] + 1) % len(self.agencies)]
                purpose = rng.choice(PURPOSES)
                sent_at = case["rescued_at"] + timedelta(hours=rng.uniform(1, 200))
                status = rng.choices(statuses, weights)[0]
                rule = rule_for(purpose, case["age_status"])
                referrals.append({
                    "reference": f"R-B{self.made + n:09d}", "case_id": ids[case["code"]], "from_agency_id": sender.pk,
                    "to_agency_id": receiver.pk, "from_state_id": sender.state_id, "to_state_id": receiver.state_id,
                    "purpose": purpose, "status": status, "sent_at": sent_at, "created_at": sent_at, "updated_at": now,
                    "due_at": rule.due_at(sent_at=sent_at, rescued_at=case["rescued_at"]) if rule else None,
                    "responded_at": sent_at + timedelta(hours=5) if status in {"accepted", "declined", "completed"} else None,
                    "closed_at": sent_at + timedelta(days=9) if status in {"completed", "withdrawn"} else None,
                })
            fast_insert(Referral, referrals)
        self.made = total
        analyze()


PAGES = [
    ("inbox (50/page)", "receiver", "/referrals/"),
    ("inbox (200/page)", "receiver", "/referrals/?per_page=200"),
    ("inbox, overdue filter", "receiver", "/referrals/?overdue=true"),
    ("sent (50/page)", "caseworker", "/referrals/sent/"),
    ("sent (200/page)", "caseworker", "/referrals/sent/?per_page=200"),
    ("sent, filtered", "caseworker", "/referrals/sent/?status=pending&purpose=shelter_placement&minor=false"),
    ("state review (50/page)", "supervisor", "/referrals/review/"),
    ("state review (200/page, p.3)", "supervisor", "/referrals/review/?per_page=200&page=3"),
    ("state review, filtered", "supervisor", "/referrals/review/?status=pending&minor=true"),
]


def measure(dbs: Databases, worlds: dict, repeat: int = 21):
    """Queries and median time of every page at both sizes, requests to the two databases interleaved."""
    clients = {}
    for size, world in worlds.items():
        dbs.use(size)
        for role in ("receiver", "caseworker", "supervisor"):
            client = Client()
            client.force_login(getattr(world, role))
            clients[size, role] = client
    results = {}
    for name, role, url in PAGES:
        row = {}
        for size in worlds:
            dbs.use(size)
            client = clients[size, role]
            response = client.get(url)
            assert response.status_code == 200, (size, url, response.status_code)
            paginator = response.context["paginator"]
            shown = f"{paginator.count:,}{'+' if getattr(paginator, 'capped', False) else ''}"
            row[size] = {"queries": count_queries(lambda: client.get(url)), "rows": shown, "times": []}
            for _ in range(3):
                client.get(url)
        for _ in range(repeat):
            for size in worlds:
                dbs.use(size)
                start = time.perf_counter()
                clients[size, role].get(url)
                row[size]["times"].append((time.perf_counter() - start) * 1000)
        results[name] = row
    print(f"\n{'page':<30} {'2,000 referrals':>30}   {'200,000 referrals':>30}   ratio")
    ok = True
    for name, row in results.items():
        small, large = row["small"], row["large"]
        ms_small, ms_large = statistics.median(small["times"]), statistics.median(large["times"])
        ratio = ms_large / ms_small
        good = ratio <= 2 and large["queries"] <= 12 and large["queries"] == small["queries"]
        ok &= good
        print(f"{name:<30} {small['queries']:>2} q {ms_small:7.1f} ms {small['rows']:>9} rows   "
              f"{large['queries']:>2} q {ms_large:7.1f} ms {large['rows']:>9} rows   {ratio:4.2f}x {'ok' if good else 'MISSED'}")
    return ok


def creation(world: World) -> None:

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
    """PostgreSQL's plan for the gate query exactly as the pages send it (captured from real requests)."""
    if connection.vendor != "postgresql":
        return
    user = type(world.caseworker).objects.get(pk=world.caseworker.pk)
    gate = Referral.objects.visible_to(user).order_by()
    sql, params = gate.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM (" + sql + ") gate", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("\nEXPLAIN (ANALYZE) of the gate alone, counted: Referral.objects.visible_to(NGO caseworker whose agency"
          " holds three shared cases):")
    for line in plan:
        print("   " + line)
    for label, user, url in (("sent", world.caseworker, "/referrals/sent/"), ("inbox", world.receiver, "/referrals/"),
                             ("state review", world.supervisor, "/referrals/review/"),
                             ("state review, filtered", world.supervisor, "/referrals/review/?status=pending&minor=true")):
        client = Client()
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        page = [q["sql"] for q in queries.captured_queries
                if q["sql"].startswith('SELECT "referrals_referral"."id"') and "LIMIT" in q["sql"]]
        count = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*) FROM (SELECT")]
        for what, sql in (("page", page[0]), ("capped count", count[0])):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            print(f"\nEXPLAIN (ANALYZE) of the {label} {what} query (gate included), as the page sends it:")
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
    reuse = "--reuse" in sys.argv
    dbs = Databases(keep=reuse)
    worlds = {}
    for size, total in (("small", 2_000), ("large", 200_000)):
        dbs.use(size)
        start = time.perf_counter()
        if reuse:
            world = World.load()
        else:
            reset_database()
            world = World(random.Random(11))
            world.grow(total)
            world.share_some_cases()
        worlds[size] = world
        print(f"{connection.vendor} database {connection.settings_dict['NAME']}: {Agency.objects.count():,} agencies, "
              f"{Referral.objects.count():,} referrals, {Case.objects.count():,} cases (built in {time.perf_counter() - start:.0f} s)")
    print("\nList pages (median of 21 interleaved requests each; targets: <= 12 queries, the same at both sizes, <= 2x):")
    ok = measure(dbs, worlds)
    dbs.use("large")
    world = worlds["large"]
    creation(world)
    explain(world)
    dbs.use("import")
    reset_database()
    ok &= import_bench(World(random.Random(11)), random.Random(12))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
