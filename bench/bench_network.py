"""Benchmark of the referral-network analysis at national scale; prints its figures.

    DEBUG=1 .venv/bin/python bench/bench_network.py                      # SQLite file var/bench_network.sqlite3
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/aht_network_bench .venv/bin/python bench/bench_network.py

Builds (once; `--rebuild` to start over) a synthetic registry of 10,000 agencies in 36 states × 20 districts
and 500,000 referrals along the legal pathways (85 % within a district, 12 % within the state, 3 % across
states) over two years, in a separate benchmark database. Then times, each run separately:

- a bare GROUP BY of the referrals table (from, to, count) — the floor any aggregate read pays;
- the selector (`network_input`: every aggregate the analysis needs) and the ratio to the bare GROUP BY;
- the two ways of getting response-time medians (window function in the database vs tuples in Python);
- the analysis (`analyse`: networkx, sampled betweenness) and the whole thing end to end;
- pages rendered from the cache (report, agency table, findings, ego network, map, diagram, exports).

Targets (issue 4): aggregates under 3 s, full analysis under 10 s on SQLite, pages from the cache under 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "sqlite:///var/bench_network.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from referrals.models import Case, Referral  # noqa: E402
from stakeholders.models import Agency, District, State  # noqa: E402

DISTRICT_KINDS = ["police", "ahtu", "cwc", "dcpu", "legal_services", "hospital", "magistrate", "shelter_home", "cci",
                  "one_stop_centre", "ngo", "ngo", "railway_police"]
# (from kind, to kind, purpose, weight, deadline hours or None, minor share)
FLOWS = [
    ("ngo", "ahtu", "investigation_handover", 5, None, 0.3),
    ("ahtu", "cwc", "produce_before_cwc", 4, 24, 1.0),
    ("ahtu", "shelter_home", "shelter_placement", 3, 240, 0.0),
    ("cwc", "cci", "shelter_placement", 3, None, 1.0),
    ("cwc", "dcpu", "home_investigation", 2, 360, 1.0),
    ("dcpu", "cwc", "other", 1, None, 1.0),
    ("shelter_home", "legal_services", "victim_compensation", 2, 61 * 24, 0.0),
    ("police", "hospital", "medical_examination", 2, 24, 0.4),
    ("police", "ahtu", "investigation_handover", 3, None, 0.4),
    ("ahtu", "magistrate", "magistrate_production", 1, 24, 0.0),
    ("railway_police", "cwc", "produce_before_cwc", 1, 24, 1.0),
    ("one_stop_centre", "shelter_home", "shelter_placement", 1, None, 0.0),
    ("ngo", "one_stop_centre", "counselling", 1, None, 0.0),
    ("police", "cwc", "produce_before_cwc", 2, 24, 1.0),
]


def timed(function, runs=3):
    """Best and all timings of `runs` runs (seconds), and the last return value."""
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), times, value


def build(n_agencies: int, n_referrals: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    print(f"building {n_agencies:,} agencies and {n_referrals:,} referrals…", flush=True)
    started = time.perf_counter()
    states = [State(name=f"Bench State {s:02d}", key=f"benchstate{s:02d}", latitude=10 + s * 0.6, longitude=72 + (s % 9) * 2.5)
              for s in range(36)]
    State.objects.bulk_create(states)
    states = list(State.objects.order_by("pk"))
    districts = []
    for s, state in enumerate(states):
        for d in range(20):
            districts.append(District(state=state, name=f"District {s:02d}-{d:02d}", key=f"district{s:02d}{d:02d}",
                                      latitude=state.latitude + (d // 5) * 0.3, longitude=state.longitude + (d % 5) * 0.3))
    District.objects.bulk_create(districts)
    districts = list(District.objects.select_related("state").order_by("pk"))

    agencies = []
    for state in states:
        for kind in ("state_department", "state_aht_bureau"):
            agencies.append(Agency(code=f"B-{state.pk}-{kind}", name=f"{state.name} {kind}", kind=kind, level="state",
                                   state=state, latitude=state.latitude, longitude=state.longitude, location_precision="district"))
    while len(agencies) < n_agencies:
        for district in districts:
            for i, kind in enumerate(DISTRICT_KINDS):
                if len(agencies) >= n_agencies:
                    break
                agencies.append(Agency(
                    code=f"B-{district.pk}-{i}-{len(agencies)}", name=f"{kind} {district.name}", kind=kind,
                    state=district.state, district=district, latitude=district.latitude + rng.uniform(-.1, .1),
                    longitude=district.longitude + rng.uniform(-.1, .1), location_precision="pin"))
    Agency.objects.bulk_create(agencies, batch_size=2000)
    rows = list(Agency.objects.values_list("pk", "kind", "district_id", "state_id"))
    by_district_kind, by_state_kind = {}, {}
    for pk, kind, district_id, state_id in rows:
        by_district_kind.setdefault((district_id, kind), []).append(pk)
        by_state_kind.setdefault((state_id, kind), []).append(pk)
    district_rows = [(d.pk, d.state_id) for d in districts]
    state_ids = [s.pk for s in states]
    agency_state = {pk: state_id for pk, _, _, state_id in rows}
    agency_district = {pk: district_id for pk, _, district_id, _ in rows}

    now = timezone.now()
    weights = [f[3] for f in FLOWS]
    n_cases = n_referrals * 2 // 5
    cases, case_meta = [], []
    for i in range(n_cases):
        district_id, state_id = rng.choice(district_rows)
        minor = rng.random() < 0.45
        origin_district_id, origin_state_id = (district_id, state_id) if rng.random() < 0.8 else rng.choice(district_rows)
        opener = rng.choice(by_district_kind.get((district_id, "ngo")) or by_district_kind[(district_id, "police")])
        rescued = now - timedelta(days=rng.uniform(0, 730))
        cases.append(Case(code=f"C-B{i:07d}", opened_by_id=opener, holder_id=opener, age_status="minor" if minor else "adult",
                          exploitation="sexual_exploitation", gender="female", rescued_at=rescued,
                          rescue_district_id=district_id, origin_district_id=origin_district_id, origin_state_id=origin_state_id))
        case_meta.append((district_id, state_id, minor, rescued))
    Case.objects.bulk_create(cases, batch_size=5000)
    case_ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    print(f"  {n_cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)

    batch, made = [], 0
    while made < n_referrals:
        index = rng.randrange(n_cases)
        district_id, state_id, minor, rescued = case_meta[index]
        source_kind, target_kind, purpose, _, deadline_hours, _ = rng.choices(FLOWS, weights)[0]
        senders = by_district_kind.get((district_id, source_kind))
        if not senders:
            continue
        x = rng.random()
        if x < 0.85:
            receivers = by_district_kind.get((district_id, target_kind))
        elif x < 0.97:
            receivers = by_state_kind.get((state_id, target_kind))
        else:
            receivers = by_state_kind.get((rng.choice(state_ids), target_kind))
        if not receivers:
            continue
        source, target = rng.choice(senders), rng.choice(receivers)
        if source == target:
            continue
        sent = rescued + timedelta(hours=rng.uniform(1, 48))
        if sent > now:
            sent = now - timedelta(hours=rng.uniform(0, 48))
        due = sent + timedelta(hours=deadline_hours) if deadline_hours else None
        roll = rng.random()
        status = ("completed" if roll < 0.40 else "accepted" if roll < 0.60 else "declined" if roll < 0.74 else
                  "withdrawn" if roll < 0.78 else "acknowledged" if roll < 0.84 else "sent")
        responded = closed = None
        if status in ("completed", "accepted", "declined"):
            responded = sent + timedelta(hours=rng.lognormvariate(2.5, 1.2))
            if responded > now:
                responded = now
        if status in ("completed", "withdrawn"):
            closed = (responded or sent) + timedelta(days=rng.uniform(1, 30))
        batch.append(Referral(
            reference=f"R-B{made:08d}", case_id=case_ids[index], from_agency_id=source, to_agency_id=target, from_state_id=agency_state[source],
            to_state_id=agency_state[target], purpose=purpose, status=status, due_at=due,
            deadline_rule="bench" if due else "", created_at=sent, sent_at=sent, responded_at=responded,
            closed_at=closed, decline_reason=rng.choice(["at_capacity", "not_eligible", "outside_jurisdiction"]) if status == "declined" else "",
        ))
        made += 1
        if len(batch) >= 5000:
            Referral.objects.bulk_create(batch)
            batch = []
            if made % 100000 == 0:
                print(f"  {made:,} referrals ({time.perf_counter() - started:.0f} s)", flush=True)
    if batch:
        Referral.objects.bulk_create(batch)
    del agency_district
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agencies", type=int, default=10_000)
    parser.add_argument("--referrals", type=int, default=500_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()

    database = settings.DATABASES["default"]
    print(f"database: {connection.vendor} {database['NAME']}")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    built = Agency.objects.filter(code__startswith="B-").exclude(code="B-COMMITTEE").count()
    if args.rebuild or Referral.objects.count() != args.referrals or built != args.agencies:
        if Agency.objects.exists():
            call_command("flush", interactive=False, verbosity=0)
        build(args.agencies, args.referrals)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    from mapping.network import analyse
    from mapping.network_selectors import (
        NetworkFilters,
        aggregate_scope,
        analysis_options,
        data_version,
        network_input,
        network_result,
        pair_aggregates,
        response_medians,
        rows_of,
        response_medians_by_window,
        scoped_referrals,
    )

    scope = aggregate_scope(None)
    first = Referral.objects.order_by("sent_at").values_list("sent_at", flat=True).first()
    everything = NetworkFilters(since=timezone.localtime(first).date(), until=timezone.localdate())
    print(f"agencies {Agency.objects.count():,}, referrals {Referral.objects.count():,}, window {everything.since} – {everything.until}")
    print()

    bare, bare_runs, groups = timed(lambda: list(
        Referral.objects.order_by().values("from_agency_id", "to_agency_id").annotate(n=Count("id"))))
    print(f"bare GROUP BY (from, to, count):          {bare:6.2f} s  runs {fmt(bare_runs)}  ({len(groups):,} pairs)")
    from mapping.network_selectors import Unindexed

    scan, scan_runs, _ = timed(lambda: list(
        Referral.objects.order_by().values(a=Unindexed("from_agency_id"), b=Unindexed("to_agency_id")).annotate(n=Count("id"))))
    print(f"same GROUP BY, sequential scan:           {scan:6.2f} s  runs {fmt(scan_runs)}")

    referrals = scoped_referrals(scope, everything, everything.window).order_by()
    now = timezone.now()
    without, without_runs, _ = timed(lambda: rows_of(pair_aggregates(referrals, now, median=False)))
    inside, inside_runs, rows = timed(lambda: rows_of(pair_aggregates(referrals, now)))
    print(f"pair aggregates GROUP BY, no median:       {without:6.2f} s  runs {fmt(without_runs)}")
    print(f"same with the median inside (used):        {inside:6.2f} s  runs {fmt(inside_runs)}  "
          f"({'percentile_cont' if connection.vendor == 'postgresql' else 'aggregate function network_median'})")
    window_median, window_runs, medians = timed(lambda: response_medians_by_window(referrals))
    python_median, python_runs, medians_py = timed(lambda: response_medians(referrals))
    inside_medians = {(r[0], r[1]): round(r[11] / 3600, 2) for r in rows if r[11] is not None}
    differ = sum(1 for k in medians_py if abs(medians_py[k] - inside_medians.get(k, -1)) > 0.01)
    print(f"alternative: medians by window function:   {window_median:6.2f} s  runs {fmt(window_runs)}")
    print(f"alternative: (from, to, seconds) tuples:   {python_median:6.2f} s  runs {fmt(python_runs)}  "
          f"({len(medians_py):,} pairs; {differ} differ from the medians inside the GROUP BY)")

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        network_input(scope=scope, filters=everything)
    read, read_runs, data = timed(lambda: network_input(scope=scope, filters=everything))
    print(f"selector, all aggregates ({len(queries.captured_queries)} queries):     {read:6.2f} s  runs {fmt(read_runs)}  "
          f"ratio to bare GROUP BY {read / bare:.1f}×  ({len(data.ties):,} ties, {len(data.agencies):,} agencies)")

    options = analysis_options()
    compute, compute_runs, result = timed(lambda: analyse(data, options), runs=2)
    print(f"analysis (networkx, betweenness {result.betweenness_mode}): {compute:6.2f} s  runs {fmt(compute_runs)}  "
          f"({len(result.findings):,} findings, {result.communities} communities)")
    print(f"full analysis (read + analyse):           {read + compute:6.2f} s")
    version, version_runs, _ = timed(data_version)
    print(f"cache version check (3 aggregates):       {version:6.3f} s  runs {fmt(version_runs)}")

    quarter = NetworkFilters(since=timezone.localdate() - timedelta(days=89), until=timezone.localdate())
    q_read, q_runs, q_data = timed(lambda: network_input(scope=scope, filters=quarter))
    q_compute, _, q_result = timed(lambda: analyse(q_data, options), runs=1)
    print(f"default 90-day window: read {q_read:.2f} s, analyse {q_compute:.2f} s "
          f"({q_result.summary['referrals']:,} referrals, {q_result.summary['ties']:,} ties)")

    cache.clear()
    cold, _, _ = timed(lambda: network_result(scope=scope, filters=everything), runs=1)
    warm, warm_runs, _ = timed(lambda: network_result(scope=scope, filters=everything), runs=3)
    print(f"network_result cold (cache miss):          {cold:6.2f} s;  warm (cache hit) {warm:.3f} s  runs {fmt(warm_runs)}")
    if not args.skip_pages:
        pages(everything)


def pages(filters) -> None:
    """Pages rendered from the cache, as the committee sees them (suppressed counts) and as a superuser."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from stakeholders.services import membership_grant

    User = get_user_model()
    root, _ = User.objects.get_or_create(username="bench-root", defaults={"is_superuser": True, "is_staff": True})
    committee_agency, _ = Agency.objects.get_or_create(code="B-COMMITTEE", defaults={"name": "Bench committee", "kind": "committee", "level": "national"})
    member, created = User.objects.get_or_create(username="bench-committee")
    if created:
        membership_grant(agency=committee_agency, user=member, role="viewer")
    hub = Agency.objects.filter(kind="cwc").order_by("pk").values_list("code", flat=True).first()
    query = f"since={filters.since}&until={filters.until}"
    urls = [
        ("report", reverse("mapping:network") + "?" + query),
        ("report, agencies sorted by betweenness, page 3", reverse("mapping:network") + f"?{query}&sort=-betweenness&page=3"),
        ("report, findings of one type", reverse("mapping:network") + f"?{query}&finding=articulation_point"),
        ("agency ego network (2 steps)", reverse("mapping:network_agency", args=[hub]) + f"?{query}&steps=2"),
        ("map page", reverse("mapping:network_map") + "?" + query),
        ("map document (folium)", reverse("mapping:network_map_frame") + "?" + query),
        ("diagram (SVG)", reverse("mapping:network_diagram") + "?" + query),
        ("what if the hub closes", reverse("mapping:network_whatif") + f"?{query}&agency={hub}"),
        ("findings CSV", reverse("mapping:network_findings_export") + f"?{query}&format=csv"),
        ("agencies JSON", reverse("mapping:network_agencies_export") + f"?{query}&format=json"),
        ("graph GEXF", reverse("mapping:network_graph_export") + f"?{query}&format=gexf"),
    ]
    for label, user in (("superuser", root), ("steering committee (suppressed)", member)):
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        print(f"\npages as {label} (first request fills the cache; then 3 timed requests):")
        for name, url in urls:
            start = time.perf_counter()
            response = client.get(url)
            first = time.perf_counter() - start
            body = b"".join(response.streaming_content) if response.streaming else response.content
            best, runs, _ = timed(lambda: _get(client, url))
            print(f"  {name:48s} {response.status_code}  first {first:6.2f} s  from cache {best:5.3f} s  "
                  f"(runs {fmt(runs)}; {len(body) / 1024:,.0f} KiB)")


def _get(client, url):
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def fmt(values) -> str:
    return "/".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
