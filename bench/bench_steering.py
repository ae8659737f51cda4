"""Benchmark of the steering pages: each role's dashboard and the impact table, on the full data (5 years of
monthly returns from 800 AHTUs, 500,000 referrals) and on a tenth of it (80 AHTUs, 50,000 referrals).

Targets (issue 6): ≤ 15 queries per page, computed by database aggregation, and the full-size page within
2× the time of the same page on a tenth of the data.

    DEBUG=1 .venv/bin/python bench/bench_steering.py [--rebuild] [--runs 15] [--server postgres://postgres@127.0.0.1:5432]

Referrals spread evenly over the five years, 80 % within a state; recent ones are still moving, older ones
mostly closed (under 1 % of those over six months old are left open and overdue). Each size lives in its own PostgreSQL database (`aht_steering_bench_full`, `aht_steering_bench_tenth`), built
once by bulk COPY and reused (`--rebuild` starts again). Pages are rendered in-process through Django's test
client (middleware, session, templates: everything but the network), warm, `--runs` times each; the median
is reported. Nothing is cached between requests except the committee's national referral headline (the last
90 days of every referral, kept for a minute): the committee and superuser dashboards are also timed with
that cache emptied before every render, for information.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"tenth": 0.1, "full": 1.0}
FULL = {"ahtus": 800, "agencies": 4000, "referrals": 500_000, "months": 60}
MAX_QUERIES, MAX_RATIO = 15, 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="Regenerate the benchmark databases.")
    parser.add_argument("--runs", type=int, default=15, help="Timed renders per page and size (default 15).")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database).")
    parser.add_argument("--worker", choices=list(SIZES), help=argparse.SUPPRESS)  # internal: one size per process
    args = parser.parse_args()
    if args.worker:
        serve(args.worker, rebuild=args.rebuild)
        return
    workers = {}
    for size in SIZES:
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), "DATABASE_URL": f"{args.server}/aht_steering_bench_{size}",
               "ALLOWED_HOSTS": "testserver,localhost", "LOG_LEVEL": "WARNING"}
        command = [sys.executable, __file__, "--worker", size] + (["--rebuild"] if args.rebuild else [])
        workers[size] = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results = {size: {"data": ask(worker, "data"), "pages": {}} for size, worker in workers.items()}
    # Interleave the sizes page by page, a few renders at a time, so that a burst of load on a shared
    # machine falls on both sizes alike; then take each page's median.
    timings = {size: {name: [] for name, *_rest in PAGES} for size in SIZES}
    queries = {size: {} for size in SIZES}
    for size, worker in workers.items():
        for name, count in ask(worker, "queries").items():
            queries[size][name] = count
    batch = 3
    for _round in range((args.runs + batch - 1) // batch):
        for index, (name, *_rest) in enumerate(PAGES):
            for size, worker in workers.items():
                timings[size][name].extend(ask(worker, f"time {index} {batch}"))
    for size, worker in workers.items():
        worker.stdin.close()
        worker.wait()
        for name in timings[size]:
            samples = timings[size][name][: args.runs]
            results[size]["pages"][name] = {"queries": queries[size][name], "median_ms": statistics.median(samples),
                                            "min_ms": min(samples)}
    report(results, args.runs)


def ask(worker, command: str):
    worker.stdin.write(command + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        sys.exit(f"benchmark worker failed on {command!r}")
    return json.loads(line)


def report(results: dict, runs: int) -> None:
    full, tenth = results["full"], results["tenth"]
    print()
    for size in ("tenth", "full"):
        d = results[size]["data"]
        print(f"{size:>5}: {d['ahtus']:,} AHTUs, {d['returns']:,} monthly returns ({d['months']} months), {d['agencies']:,} agencies, "
              f"{d['referrals']:,} referrals, {d['cases']:,} cases; built in {d['build_seconds']:.0f} s ({d['database']})")
    print(f"\nMedian of {runs} warm renders per page and size (ms), the sizes interleaved; PostgreSQL, Django test client, "
          f"DEBUG={os.environ.get('DEBUG', '1')}. Verdict on the medians; the ratio of the fastest renders is shown for reference.")
    header = f"{'page':<44} {'queries':>7} {'tenth ms':>9} {'full ms':>9} {'ratio':>6} {'(min ratio)':>11}  verdict"
    print(header)
    print("-" * len(header))
    failures = 0
    for name, page in full["pages"].items():
        if name in INFORMATIONAL:
            continue
        small = tenth["pages"][name]
        ratio = page["median_ms"] / small["median_ms"]
        ok = page["queries"] <= MAX_QUERIES and ratio <= MAX_RATIO and page["queries"] == small["queries"]
        failures += not ok
        queries = f"{page['queries']}" + ("" if page["queries"] == small["queries"] else f"/{small['queries']}")
        print(f"{name:<52} {queries:>7} {small['median_ms']:>9.1f} {page['median_ms']:>9.1f} {ratio:>6.2f} "
              f"{page['min_ms'] / small['min_ms']:>11.2f}  {'ok' if ok else 'FAIL'}")
    print(f"\nTargets: ≤ {MAX_QUERIES} queries (the same at both sizes), full ≤ {MAX_RATIO}× tenth. "
          + ("All met." if not failures else f"{failures} page(s) miss a target."))
    print("\nFor information (no target): the CSV lists every AHTU, so it grows with them; the recomputed headline\n"
          "scans the last 90 days of every referral in the country, once a minute in use:")
    for name in INFORMATIONAL:
        page, small = full["pages"][name], tenth["pages"][name]
        print(f"{name:<52} {page['queries']:>7} {small['median_ms']:>9.1f} {page['median_ms']:>9.1f} "
              f"{page['median_ms'] / small['median_ms']:>6.2f}")
    sys.exit(1 if failures else 0)


# One size, in its own process ---------------------------------------------------------------------


def serve(size: str, *, rebuild: bool) -> None:
    """A worker: set up its database, then answer the parent's commands on stdin, one JSON line each."""
    ensure_database(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from stakeholders.models import State

    if not State.objects.exists():
        call_command("load_geography", verbosity=0, stdout=open(os.devnull, "w"))
    data = build(SIZES[size], rebuild=rebuild)
    pages = Pages()
    for line in sys.stdin:
        command, *args = line.split()
        if command == "data":
            answer = data
        elif command == "queries":
            answer = pages.queries()
        else:
            answer = pages.time(int(args[0]), int(args[1]))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def ensure_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


BENCH_USERS = {
    # username: (agency code, role, what the dashboard shows)
    "b_caseworker": ("BENCH-NGO", "caseworker", "caseworker at a busy NGO"),
    "b_state": ("BENCH-MH-WCD", "caseworker", "state reviewer (WCD department)"),
    "b_bureau": ("BENCH-MH-AHTB", "admin", "state nodal bureau (reviews returns)"),
    "b_ahtu": ("BENCH-AHTU-0", "admin", "AHTU officer"),
    "b_committee": ("BENCH-SC", "viewer", "steering committee"),
}


def build(factor: float, *, rebuild: bool) -> dict:
    from django.db import connection

    from coordination.models import AhtuReturn
    from referrals.models import Case, Referral
    from stakeholders.models import Agency

    # A few generated referrals are dropped (an agency drawn to refer to itself): compare loosely.
    built = (
        Agency.objects.filter(kind="ahtu").count() == int(FULL["ahtus"] * factor)
        and Referral.objects.count() >= 0.9 * FULL["referrals"] * factor
        and AhtuReturn.objects.exists()
    )
    started = time.perf_counter()
    if rebuild or not built:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE coordination_ahtureturnevent, coordination_ahtureturn, coordination_actionitemupdate, "
                "coordination_actionitem, coordination_committeemeeting_agencies_present, coordination_committeemeeting, "
                "coordination_trainingevent, referrals_referralevent, referrals_referral, referrals_case, "
                "stakeholders_membership, stakeholders_agencyservice, stakeholders_partnership, "
                "stakeholders_agencygroupobjectpermission, stakeholders_agencyuserobjectpermission, "
                "stakeholders_agency RESTART IDENTITY CASCADE"
            )
        generate(factor)
        # What autovacuum gives a live database: statistics, and visibility maps for index-only scans.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        build_seconds = time.perf_counter() - started
    else:
        build_seconds = 0.0
    return {
        "ahtus": Agency.objects.filter(kind="ahtu").count(), "agencies": Agency.objects.count(),
        "returns": AhtuReturn.objects.count(), "months": AhtuReturn.objects.values("month").distinct().count(),
        "referrals": Referral.objects.count(), "cases": Case.objects.count(), "build_seconds": build_seconds,
        "database": connection.settings_dict["NAME"],
    }


def generate(factor: float) -> None:
    """Agencies over every district, users for each role, 5 years of returns and referrals, by bulk COPY."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from coordination.indicators import FIELDS
    from coordination.periods import add_months, due_at, last_ended_month
    from stakeholders.models import Agency, District, State
    from stakeholders.services import membership_grant

    rng = random.Random(2026)
    now = timezone.now()
    tz = timezone.get_current_timezone()
    five_years_ago = now - timedelta(days=5 * 365 + 30)
    districts = list(District.objects.select_related("state").order_by("pk"))
    rng.shuffle(districts)
    maharashtra = State.objects.get(key="maharashtra")
    pune = District.objects.get(state=maharashtra, key="pune")
    mh_districts = [d for d in districts if d.state_id == maharashtra.pk]

    agencies = [
        Agency(code="BENCH-SC", name="Steering committee", kind="committee", level="national"),
        Agency(code="BENCH-NGO", name="Busy NGO, Pune", kind="ngo", level="district", state=maharashtra, district=pune),
    ]
    for state in State.objects.all():
        agencies.append(Agency(code=f"BENCH-{state.pk}-WCD", name=f"{state.name} WCD", kind="state_department", level="state", state=state))
        agencies.append(Agency(code=f"BENCH-{state.pk}-AHTB", name=f"{state.name} AHT bureau", kind="state_aht_bureau", level="state", state=state))
    ahtu_count = int(FULL["ahtus"] * factor)
    # The first AHTUs go to Maharashtra so that its state users have units at both sizes.
    ahtu_districts = mh_districts[: max(3, ahtu_count // 20)] + districts
    for i in range(ahtu_count):
        district = ahtu_districts[i % len(ahtu_districts)]
        agencies.append(Agency(code=f"BENCH-AHTU-{i}", name=f"AHTU {district.name} {i}", kind="ahtu", level="district",
                               state_id=district.state_id, district=district, ahtu_functional=True))
    kinds = ["ngo", "ngo", "shelter_home", "cwc", "dcpu", "legal_services", "hospital", "police", "cci", "one_stop_centre"]
    for i in range(int(FULL["agencies"] * factor)):
        district = districts[i % len(districts)]
        kind = kinds[i % len(kinds)]
        residential = kind in ("shelter_home", "cci", "one_stop_centre")
        beds = rng.randint(10, 60) if residential else None
        agencies.append(Agency(code=f"BENCH-{kind.upper()}-{i}", name=f"{kind} {district.name} {i}", kind=kind, level="district",
                               state_id=district.state_id, district=district, beds_total=beds,
                               beds_available=rng.randint(0, beds) if beds else None))
    Agency.objects.bulk_create(agencies, batch_size=2000)
    Agency.objects.update(created_at=five_years_ago)  # the registry predates the five years of returns
    codes = dict(Agency.objects.values_list("code", "pk"))
    codes["BENCH-MH-WCD"], codes["BENCH-MH-AHTB"] = codes[f"BENCH-{maharashtra.pk}-WCD"], codes[f"BENCH-{maharashtra.pk}-AHTB"]
    User = get_user_model()
    User.objects.filter(username__startswith="b_").delete()
    for username, (code, role, _what) in BENCH_USERS.items():
        user = User.objects.create_user(username, password="bench-only-password")
        membership_grant(agency=Agency.objects.get(pk=codes[code]), user=user, role=role)
    User.objects.create_superuser("b_root", password="bench-only-password")

    rows = list(Agency.objects.exclude(kind__in=["committee"]).values_list("pk", "state_id", "kind"))
    by_state: dict[int, list[int]] = {}
    for pk, state_id, kind in rows:
        if kind not in ("state_department", "state_aht_bureau"):
            by_state.setdefault(state_id, []).append(pk)
    state_of = {pk: state_id for pk, state_id, _kind in rows}
    everyone = [pk for pks in by_state.values() for pk in pks]
    busy_ngo, first_ahtu = codes["BENCH-NGO"], codes["BENCH-AHTU-0"]

    # Cases and referrals: five years, most within a state, older ones mostly closed, some left overdue.
    referral_count = int(FULL["referrals"] * factor)
    case_count = referral_count // 2
    span = (now - five_years_ago).total_seconds()
    # Status by age: recent referrals are still moving; older ones are mostly closed, a few left stale
    # (accepted and never completed, or never answered: those stay overdue for ever).
    statuses = ["sent", "acknowledged", "accepted", "completed", "declined", "withdrawn"]
    weights_by_age = [(30, [25, 20, 30, 15, 10, 0]), (180, [2, 1, 10, 65, 15, 7]), (10**6, [0.3, 0.1, 0.6, 80, 12, 7])]
    purposes = ["shelter_placement", "produce_before_cwc", "medical_examination", "legal_aid", "victim_compensation", "counselling"]
    deadlines = [timedelta(hours=24), timedelta(days=10), timedelta(days=15), timedelta(days=61), None, None]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy("COPY referrals_case (id, code, opened_by_id, holder_id, age_band, age_status, gender, exploitation, "
                      "origin_country, languages, needs, created_at, updated_at) FROM STDIN") as copy:
            for i in range(1, case_count + 1):
                opened = rng.choice(everyone)
                when = five_years_ago + timedelta(seconds=span * i / case_count)
                copy.write_row((i, f"C-B{i:07d}", opened, opened, "undetermined", rng.choice(["adult", "minor"]), "female",
                                "sexual_exploitation", "", "", "", when, when))
        with raw.copy("COPY referrals_referral (id, reference, case_id, from_agency_id, to_agency_id, from_state_id, to_state_id, "
                      "purpose, urgency, note, status, due_at, deadline_rule, identity_shared, bed_taken, decline_reason, outcome, "
                      "response_note, created_at, sent_at, acknowledged_at, responded_at, closed_at, updated_at) FROM STDIN") as copy:
            for i in range(1, referral_count + 1):
                sent = five_years_ago + timedelta(seconds=span * i / referral_count + rng.random() * 3600)
                draw = rng.random()
                if draw < 0.007:  # the benchmark's caseworker and AHTU officer work at busy agencies
                    mine = busy_ngo if draw < 0.005 else first_ahtu
                    other = rng.choice(by_state[maharashtra.pk])
                    frm, to = (mine, other) if rng.random() < 0.5 else (other, mine)
                else:
                    frm = rng.choice(everyone)
                    to = rng.choice(by_state[state_of[frm]]) if rng.random() < 0.8 else rng.choice(everyone)
                if frm == to:
                    continue
                age_days = (now - sent).days
                status = rng.choices(statuses, next(w for limit, w in weights_by_age if age_days < limit))[0]
                within = rng.choice(deadlines)
                due = sent + within if within else None
                responded = closed = acknowledged = None
                if status in ("acknowledged", "accepted", "declined", "completed"):
                    acknowledged = sent + timedelta(hours=rng.randint(1, 12))
                if status in ("accepted", "declined", "completed"):
                    responded = sent + (within * rng.uniform(0.1, 1.3) if within else timedelta(hours=rng.randint(2, 200)))
                if status in ("completed", "withdrawn"):
                    closed = (responded or sent) + timedelta(days=rng.randint(1, 60))
                copy.write_row((i, f"R-B{i:07d}", rng.randint(1, case_count), frm, to, state_of[frm], state_of[to], rng.choice(purposes),
                                "routine", "", status, due, "", False, False, "", "", "", sent, sent, acknowledged, responded, closed, sent))
        # Monthly returns: every AHTU, every month of five years; the last months still moving through review.
        last = last_ended_month(timezone.localdate())
        ahtu_ids = [codes[f"BENCH-AHTU-{i}"] for i in range(ahtu_count)]
        columns = ", ".join(FIELDS)
        with raw.copy(f"COPY coordination_ahtureturn (ahtu_id, month, {columns}, remarks, status, review_comment, imported, "
                      "created_at, updated_at, first_submitted_at, submitted_at, reviewed_at) FROM STDIN") as copy:
            for ahtu in ahtu_ids:
                level = rng.uniform(0.5, 3)
                for age in range(FULL["months"]):
                    month = add_months(last, -age)
                    status = "approved" if age > 2 else rng.choice(["approved", "submitted", "submitted", "draft", "returned"])
                    if age <= 1 and rng.random() < 0.2:
                        continue  # not filed yet
                    rescued = int(rng.expovariate(1 / (2.4 * level)))
                    arrested = int(rng.expovariate(1 / (2 * level)))
                    cases = int(rng.expovariate(1 / level)) + 1
                    values = [cases, int(rng.expovariate(1 / level)), rescued, rescued // 3, rescued * 4 // 5, arrested, arrested // 8,
                              cases // 2, 0 if rng.random() < 0.9 else 1, int(rng.random() < 0.1), rescued // 2]
                    submitted = due_at(month, due_day=10, tz=str(tz)) - timedelta(days=rng.randint(-5, 8))
                    submitted = None if status == "draft" else min(submitted, now)
                    copy.write_row((ahtu, month, *values, "", status, "Please check." if status == "returned" else "", True,
                                    submitted or now, submitted or now, submitted, submitted, submitted if status in ("approved", "returned") else None))
        for table in ("referrals_case", "referrals_referral"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")

    generate_committee(codes, rng, factor)


def generate_committee(codes, rng, factor) -> None:
    from django.utils import timezone

    from coordination.models import ActionItem, CommitteeMeeting, TrainingEvent
    from stakeholders.models import Agency

    today = timezone.localdate()
    committee = Agency.objects.get(code="BENCH-SC")
    states = list(Agency.objects.filter(kind="state_aht_bureau").values_list("pk", "state_id"))
    trainings = []
    for i in range(int(400 * factor) + 20):
        organiser, state_id = rng.choice(states)
        start = today - timedelta(days=rng.randint(1, 5 * 365))
        trainings.append(TrainingEvent(title=f"Training {i}", starts_on=start, ends_on=start + timedelta(days=2), state_id=state_id,
                                       organiser_id=organiser, topic="investigation", participants_police=rng.randint(10, 40),
                                       participants_prosecutors=rng.randint(0, 10), pre_test_mean=50, post_test_mean=70))
    TrainingEvent.objects.bulk_create(trainings)
    for quarter in range(20):
        meeting = CommitteeMeeting.objects.create(committee=committee, held_on=today - timedelta(days=91 * quarter + 5), title=f"SC {quarter}")
        ActionItem.objects.bulk_create([
            ActionItem(meeting=meeting, title=f"Action {quarter}.{n}", owner_id=rng.choice(states)[0] if n else codes["BENCH-MH-AHTB"],
                       due_on=meeting.held_on + timedelta(days=90), status="open" if quarter < 3 else "done",
                       closed_on=None if quarter < 3 else meeting.held_on + timedelta(days=80))
            for n in range(4)
        ])


INFORMATIONAL = ("impact: CSV export, 5 years", "dashboard: steering committee, headline recomputed",
                 "dashboard: superuser, headline recomputed")
PAGES = [
    ("dashboard: caseworker (busy NGO)", "b_caseworker", "/", {}),
    ("dashboard: state reviewer (WCD)", "b_state", "/", {}),
    ("dashboard: state bureau (reviews returns)", "b_bureau", "/", {}),
    ("dashboard: AHTU officer", "b_ahtu", "/", {}),
    ("dashboard: steering committee", "b_committee", "/", {}),
    ("dashboard: superuser", "b_root", "/", {}),
    ("dashboard: steering committee, headline recomputed", "b_committee", "/", {"_clear_cache": True}),
    ("dashboard: superuser, headline recomputed", "b_root", "/", {"_clear_cache": True}),
    ("impact: last 12 months, all states", "b_committee", "/steering/impact/", {}),
    ("impact: 5 years, all states", "b_committee", "/steering/impact/", {"since": "", "until": ""}),
    ("impact: 5 years, Maharashtra (its reviewer)", "b_state", "/steering/impact/", {"since": "", "until": "", "state": "MH"}),
    ("impact: CSV export, 5 years", "b_committee", "/steering/impact/", {"since": "", "until": "", "format": "csv"}),
    ("returns tracker: all AHTUs", "b_committee", "/steering/returns/tracker/", {}),
]


class Pages:
    """Logged-in clients for each page, warmed up; query counts and timed renders on demand."""

    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.test import Client

        from stakeholders.models import State

        mh = State.objects.get(key="maharashtra").pk
        users = {u.username: u for u in get_user_model().objects.filter(username__startswith="b_")}
        self.pages = []
        for name, username, path, params in PAGES:
            client = Client()
            client.force_login(users[username])
            params = {k: (mh if v == "MH" else v) for k, v in params.items()}
            for _ in range(2):
                response = client.get(path, params)
                assert response.status_code == 200, (name, response.status_code)
            self.pages.append((name, client, path, params))

    def queries(self) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        counts = {}
        for name, client, path, params in self.pages:
            connection.queries_log.clear()  # the bulk build may have filled the debug log to its cap
            if params.get("_clear_cache"):
                forget_headline(client)
            with CaptureQueriesContext(connection) as captured:
                client.get(path, {k: v for k, v in params.items() if k != "_clear_cache"})
            counts[name] = len(captured)
        return counts

    def time(self, index: int, runs: int) -> list[float]:
        _name, client, path, params = self.pages[index]
        timings = []
        clear = params.get("_clear_cache")
        params = {k: v for k, v in params.items() if k != "_clear_cache"}
        for _ in range(runs):
            if clear:
                forget_headline(client)
            started = time.perf_counter()
            client.get(path, params)
            timings.append((time.perf_counter() - started) * 1000)
        return timings


def forget_headline(client) -> None:
    """Empty the cached committee headline of this client's user (this minute's and the next)."""
    from datetime import timedelta

    from django.contrib.auth import get_user
    from django.core.cache import cache
    from django.utils import timezone

    from coordination.selectors import network_headline_key

    user, now = get_user(client), timezone.now()
    cache.delete_many([network_headline_key(user, now), network_headline_key(user, now + timedelta(minutes=1))])


if __name__ == "__main__":
    main()
