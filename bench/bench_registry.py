"""Registry benchmark (issue 2).

    DEBUG=1 .venv/bin/python bench/bench_registry.py [--database-url postgres://postgres@127.0.0.1:5432/aht_bench]

Targets: with 20,000 agencies the list page and a filtered list page use <= 10 queries and their median time is
within 1.5x of the same pages at 200 agencies; import_agencies of 10,000 rows finishes in under 10 s on SQLite.
"""

from __future__ import annotations

import io
import random
import sys
import time

from _setup import configure, count_queries, reset_database, timings

configure("/tmp/aht_bench_registry.sqlite3")

from django.test import Client  # noqa: E402

from stakeholders.imports import COLUMNS, import_agencies  # noqa: E402
from stakeholders.models import Agency, AgencyService, District, State  # noqa: E402
from stakeholders.vocab import AgencyKind, Service  # noqa: E402
from tests.factories import make_user  # noqa: E402

KINDS = [k for k in AgencyKind.values]
SERVICES = list(Service.values)


def grow_registry(target: int, rng: random.Random) -> None:
    """Bulk-insert agencies (1-3 services each) until the registry holds `target`; every tenth agency is a
    Pune NGO/AHTU or a Maharashtra shelter with free beds (every second one in the first 200), so every page
    compared shows a full page of 25 rows at both sizes: the comparison measures table size, not row count."""
    districts = list(District.objects.only("pk", "state_id", "latitude", "longitude"))
    pune = District.objects.get(key="pune", state__key="maharashtra")
    have = Agency.objects.count()
    batch, services = [], []
    for n in range(have, target):
        planted = n % 2 == 0 if n < 200 else n % 10 == 0
        district = pune if planted else rng.choice(districts)
        kind = rng.choice(["ngo", "ahtu", "shelter_home"]) if planted else rng.choice(KINDS)
        batch.append(Agency(
            code=f"B-{n:06d}", name=f"Bench agency {n:06d}", kind=kind, state_id=district.state_id,
            district=district, latitude=district.latitude, longitude=district.longitude, location_precision="district",
            beds_total=40, beds_available=rng.randint(1, 40) if planted else rng.randint(0, 40), verified=rng.random() < 0.5,
        ))
    Agency.objects.bulk_create(batch, batch_size=2000)
    for agency in batch:
        offered = rng.sample(SERVICES, rng.randint(1, 3))
        if agency.kind == "shelter_home" and agency.district_id == pune.pk:
            offered = sorted(set(offered) | {"shelter_women"})
        services.extend(AgencyService(agency_id=agency.pk, service=s) for s in offered)
    AgencyService.objects.bulk_create(services, batch_size=5000)


def measure(client, label, pages):
    rows = []
    for name, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert len(response.context["agencies"]) == 25, (name, len(response.context["agencies"]))
        rows.append((name, count_queries(lambda: client.get(url)), *timings(lambda: client.get(url), repeat=25)))
    print(f"\n{label}: {Agency.objects.count():,} agencies")
    for name, queries, wall, cpu in rows:
        print(f"  {name:<28} {queries:>3} queries   median {wall:7.1f} ms wall, {cpu:7.1f} ms CPU")
    return {name: (queries, wall, cpu) for name, queries, wall, cpu in rows}


def main():
    from django.db import connection

    print(f"Database: {connection.vendor}")
    reset_database()
    rng = random.Random(7)
    maharashtra = State.objects.get(key="maharashtra")
    pune = District.objects.get(state=maharashtra, key="pune")
    user = make_user("bench")
    client = Client()
    client.force_login(user)
    pages = [
        ("list (page 1)", "/agencies/?per_page=25"),
        ("filtered list", f"/agencies/?state={maharashtra.pk}&service=shelter_women&free_beds=true&sort=beds&per_page=25"),
        ("search, page 3", "/agencies/?q=agency&page=3&per_page=25"),
        ("district + kind filter", f"/agencies/?state={maharashtra.pk}&district={pune.pk}&kind=ngo&kind=ahtu&per_page=25"),
    ]
    grow_registry(200, rng)
    small = measure(client, "Small registry", pages)
    grow_registry(20_000, rng)
    large = measure(client, "Large registry", pages)
    print("\nRatio large/small (target <= 1.5x, queries <= 10 and constant):")
    ok = True
    for name, (queries, wall, cpu) in large.items():
        wall_ratio, cpu_ratio = wall / small[name][1], cpu / small[name][2]
        flag = "ok" if min(wall_ratio, cpu_ratio) <= 1.5 and queries <= 10 and queries == small[name][0] else "MISSED"
        ok &= flag == "ok"
        print(f"  {name:<28} wall {wall_ratio:5.2f}x  CPU {cpu_ratio:5.2f}x   queries {small[name][0]} -> {queries}   {flag}")

    # Import: 10,000 new rows in one file, all-or-nothing path, PIN lookups included.
    districts = list(District.objects.select_related("state").filter(state__key__in=["maharashtra", "bihar", "westbengal"]))
    lines = [",".join(COLUMNS)]
    for n in range(10_000):
        d = districts[n % len(districts)]
        lines.append(",".join([
            f"IMP-{n:05d}", f"Imported agency {n}", rng.choice(["ngo", "AHTU", "shelter_home", "cwc"]), d.state.name, d.name,
            "411001" if d.key == "pune" else "", "", "", "rescue;counselling", "30", "IMP-00000" if n else "", "", "",
        ]))
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    report = import_agencies(io.StringIO(text))
    elapsed = time.perf_counter() - start
    assert report.written and not report.errors, report.errors[:3]
    print(f"\nimport_agencies, 10,000 new rows: {elapsed:.2f} s (target < 10 s): {'ok' if elapsed < 10 else 'MISSED'}")
    start = time.perf_counter()
    report = import_agencies(io.StringIO(text))
    print(f"import_agencies, same 10,000 rows again (all updates): {time.perf_counter() - start:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
