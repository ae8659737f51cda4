"""Coverage benchmark: every district of India × 10,000 agencies, real Census 2011 boundaries and populations.

    DEBUG=1 .venv/bin/python bench/bench_coverage.py [--agencies 10000] [--cases 20000] [--no-browser]

Builds a throwaway SQLite database under /tmp (never the development database), loads the India Post
geography, imports the boundaries and populations from /work/shared/data/geodata/ (or --geodata)
with the product's own commands, adds synthetic agencies and cases, then prints:

  * how many Census 2011 districts the imports matched;
  * the coverage computation (pure numpy, rows already read) — target under 1 s;
  * reading those rows from the database (the few aggregate queries);
  * rendering the coverage map with every agency as a marker — target under 3 s and 8 MB;
  * loading the map and the page in headless Chromium (a dev server on a spare port) — no errors.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BROWSER_SCRIPT = r"""
const { chromium } = require('playwright-core');
(async () => {
  const [sid, url, w, h] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const context = await browser.newContext({ viewport: { width: parseInt(w), height: parseInt(h) } });
  await context.addCookies([{ name: 'sessionid', value: sid, domain: new URL(url).hostname, path: '/' }]);
  const page = await context.newPage();
  const errors = [];
  page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', e => errors.push('pageerror: ' + e.message));
  page.on('requestfailed', r => errors.push('requestfailed: ' + r.url()));
  const started = Date.now();
  const response = await page.goto(url, { waitUntil: 'networkidle', timeout: 120000 });
  const idle = Date.now() - started;
  const frame = page.frames().find(f => f.url().includes('/map/')) || page.mainFrame();
  await frame.waitForSelector('.leaflet-container', { timeout: 30000 });
  const timing = await frame.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return { response_end_ms: Math.round(nav.responseEnd), load_event_ms: Math.round(nav.loadEventEnd) };
  });
  const counts = await frame.evaluate(() => ({
    cluster_icons: document.querySelectorAll('.aht-cluster').length,
    single_pins: document.querySelectorAll('.aht-pin').length,
    canvases: document.querySelectorAll('canvas').length,
    legend: !!document.querySelector('details.aht-legend'),
  }));
  console.log(JSON.stringify({ status: response.status(), network_idle_ms: idle, map_document: timing, counts, errors }));
  await browser.close();
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _best(fn, runs=5):
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--geodata", default="/work/shared/data/geodata")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (its path is printed).")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_coverage_"))
    db_path = workdir / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DEBUG", "1")
    os.environ["CACHE_URL"] = "locmem://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "coordination.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from bench.coverage_synthetic import make_activity, make_agencies
    from mapping import coverage
    from mapping.coverage_selectors import activity, agency_points, coverage_view, district_points
    from mapping.coverage_views import build_figure
    from mapping.maps import external_urls, render_page
    from stakeholders.models import District, DistrictBoundary

    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO(), "verbosity": 0}
    print(f"Benchmark database: {db_path}")
    started = time.perf_counter()
    call_command("migrate", **quiet)
    call_command("createcachetable", **quiet)
    call_command("load_geography", **quiet)
    geodata = Path(args.geodata)
    out = io.StringIO()
    call_command("import_boundaries", str(geodata / "india_districts_2011_ht.geojson"), level="district", name_property="district",
                 state_property="st_nm", code_property="censuscode", source="DataMeet India community & Hindustan Times (CC BY)",
                 stdout=out, stderr=io.StringIO(), verbosity=0)
    boundary_line = out.getvalue().strip().splitlines()
    call_command("import_boundaries", str(geodata / "india_states_ht.geojson"), level="state", name_property="ST_NM",
                 source="DataMeet India community & Hindustan Times (CC BY)", **quiet)
    out = io.StringIO()
    call_command("import_population", str(geodata / "district_population_census2011.csv"), name_column="district_name_census",
                 state_column="state_name_census", population_column="population", code_column="censuscode",
                 stdout=out, stderr=io.StringIO(), verbosity=0)
    population_line = out.getvalue().strip().splitlines()
    census_codes = {int(c) for c in District.objects.exclude(census_code="").values_list("census_code", flat=True) if int(c) <= 640}
    rng = random.Random(2026)
    agencies = make_agencies(args.agencies, rng)
    n_cases, n_referrals = make_activity(agencies, args.cases, rng)
    print(f"Setup: {time.perf_counter() - started:.1f} s")
    print(f"  districts (India Post): {District.objects.count()}; with an outline: {DistrictBoundary.objects.count()}; "
          f"with a population: {District.objects.exclude(population=None).count()}")
    print(f"  Census 2011 districts matched (by code, 1-640): {len(census_codes)} of 640")
    for line in boundary_line + population_line:
        print(f"  {line}")
    print(f"  agencies: {len(agencies):,}; cases: {n_cases:,}; referrals: {n_referrals:,}")

    # 1. Reading the rows (what a page does before computing).
    t_read, t_read_median, (districts, points, counts) = _best(
        lambda: (district_points(), agency_points(), activity(None, period_months=12)), runs=3
    )
    print(f"\nMachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"Read rows (districts; agencies and their shelter services; 5 aggregate queries of cases and referrals): "
          f"best {t_read:.3f} s, median {t_read_median:.3f} s")

    # 2. The computation itself: pure numpy over plain rows.
    t_cov, t_cov_median, result = _best(lambda: coverage.analyse(districts, points, counts, radius_km=100))
    weights = coverage.suggestion_weights(result.rows, "population")
    t_sug, _m, suggestions = _best(lambda: coverage.suggest_sites(
        districts, coverage.existing_units(points, "ahtu"), weights, unit="ahtu", count=10, radius_km=100))
    print(f"Coverage computation, {len(districts)} districts x {len(points):,} agencies: best {t_cov:.3f} s, median {t_cov_median:.3f} s "
          f"(target < 1 s)")
    print(f"Suggestions (10 new AHTUs, greedy max cover): best {t_sug:.3f} s")
    s = result.summary
    print(f"  with AHTU {s['with_ahtu']}/{s['districts']}; gaps {json.dumps(s['gaps'])}")
    print(f"  first suggestions: {', '.join(f'{x.district.name} (+{x.newly_covered:,.0f})' for x in suggestions[:3])}")

    # 3. Rendering the national coverage map with every agency as a marker.
    view = coverage_view(None, districts=districts, count=5)

    def render(page, values):
        return render_page(build_figure(page, view, values))

    for page, values in (("coverage", {"indicator": "ahtu"}), ("gaps", {"gap": ""}), ("origins", {"measure": "originating"})):
        t_map, t_map_median, html = _best(lambda: render(page, values), runs=3)
        size = len(html.encode()) / 1e6
        print(f"Build and render {page} map (national, {len(view.agencies_shown()):,} agencies, {len(view.rows)} districts): "
              f"best {t_map:.2f} s, median {t_map_median:.2f} s, {size:.2f} MB; external URLs: {len(external_urls(html))}; "
              f"'L.marker(' in the source: {html.count('L.marker(')}"
              + ("  (target < 3 s and < 8 MB)" if page == "coverage" else ""))

    if args.no_browser:
        return _cleanup(workdir, args.keep)
    # 4. The page in headless Chromium, served by a development server on a spare port.
    from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", "bench-pass-2026")
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY], session[HASH_SESSION_KEY] = (
        str(user.pk), "django.contrib.auth.backends.ModelBackend", user.get_session_auth_hash())
    session.create()
    port = _free_port()
    env = dict(os.environ)
    server_log = open(workdir / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env,
        stdout=server_log, stderr=subprocess.STDOUT,
    )
    script = workdir / "load.js"
    script.write_text(BROWSER_SCRIPT)
    node_env = dict(os.environ, NODE_PATH="/tmp/shot/node_modules")
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        for label, url, width, height in (
            ("map document, desktop", f"{base}/analysis/coverage/map/coverage/", 1280, 900),
            ("coverage page, desktop", f"{base}/analysis/coverage/", 1280, 900),
            ("coverage page, phone", f"{base}/analysis/coverage/", 390, 844),
            ("gaps page, desktop", f"{base}/analysis/coverage/gaps/", 1280, 900),
            ("origins page, phone", f"{base}/analysis/coverage/origins/", 390, 844),
        ):
            run = subprocess.run(["node", str(script), session.session_key, url, str(width), str(height)],
                                 capture_output=True, text=True, env=node_env, timeout=180)
            report = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()[-400:]
            print(f"Chromium, {label}: {report}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        server_log.close()
    return _cleanup(workdir, args.keep)


def _cleanup(workdir: Path, keep: bool):
    if keep:
        print(f"Kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
