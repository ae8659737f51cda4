import json

from django.core.management.base import BaseCommand, CommandError

from mapping import coverage, coverage_tables
from mapping.coverage_forms import MAX_RADIUS_KM, MAX_SUGGESTIONS
from mapping.coverage_selectors import PERIOD_DAYS
from mapping.management.commands._geo_report import command_coverage_view


class Command(BaseCommand):
    help = (
        "Coverage per district (agencies, AHTU, distances, beds in reach, gaps) with suggestions for new units, "
        "as JSON, CSV or text. The same analysis as the coverage pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--state", help="One state or UT (name, any case); default every district.")
        parser.add_argument("--radius-km", type=float, help="Reach in km (default COVERAGE_RADIUS_KM).")
        parser.add_argument("--format", choices=["json", "csv", "text"], default="json")
        parser.add_argument("--output", help="Write to this file instead of standard output.")
        parser.add_argument("--period-months", type=int, default=12, choices=sorted(PERIOD_DAYS), help="Period for victim counts (0: all time).")
        parser.add_argument("--suggest", type=int, default=5, help=f"How many new units to suggest (0-{MAX_SUGGESTIONS}).")
        parser.add_argument("--unit", choices=[coverage.UNIT_AHTU, coverage.UNIT_SHELTER], default=coverage.UNIT_AHTU)
        parser.add_argument("--weight", choices=[coverage.WEIGHT_POPULATION, coverage.WEIGHT_RESCUED], default=coverage.WEIGHT_POPULATION)
        parser.add_argument(
            "--as-user", help="Report what this user would see on the pages (their districts, their counting gate, suppression). "
            "Default: the operator's view of every district with exact counts.",
        )

    def handle(self, *args, state=None, radius_km=None, format="json", output=None, period_months=12, suggest=5,
               unit=coverage.UNIT_AHTU, weight=coverage.WEIGHT_POPULATION, as_user=None, **options):
        if radius_km is not None and not 1 <= radius_km <= MAX_RADIUS_KM:
            raise CommandError(f"--radius-km must be between 1 and {MAX_RADIUS_KM}.")
        if not 0 <= suggest <= MAX_SUGGESTIONS:
            raise CommandError(f"--suggest must be between 0 and {MAX_SUGGESTIONS}.")
        view = command_coverage_view(
            as_user=as_user, state=state, radius_km=radius_km, period_months=period_months, unit=unit, weight=weight,
            count=suggest,
        )
        if format == "json":
            text = json.dumps(coverage_tables.report(view), indent=2, ensure_ascii=False) + "\n"
        elif format == "csv":
            text = coverage_tables.csv_text(coverage_tables.DISTRICT_COLUMNS, coverage_tables.district_rows(view))
        else:
            text = self._text(view)
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
            self.stderr.write(self.style.SUCCESS(f"Wrote {output}."))
        else:
            self.stdout.write(text, ending="")

    def _text(self, view) -> str:
        s = view.result.summary
        lines = [
            f"Coverage within {view.radius_km:,.0f} km, victims counted over "
            f"{'all time' if not view.period_months else f'the last {view.period_months} months'}.",
            f"{s['districts']} districts; {s['with_ahtu']} with an AHTU ({s['pct_with_ahtu']}% of the target of one per district), "
            f"{s['with_functional_ahtu']} reported functional; {s['with_cwc']} with a CWC; {s['with_population']} with a population.",
            "Districts per gap: " + ", ".join(f"{slug} {'not assessed' if n is None else n}" for slug, n in s["gaps"].items()) + ".",
            "",
            "By state (districts with an AHTU / districts):",
        ]
        for st in coverage_tables.state_rows(view):
            lines.append(f"  {st['state']}: {st['with_ahtu']}/{st['districts']} ({st['pct_with_ahtu']}%), short by {st['shortfall']}"
                         + (f" (only the {st['districts']} of its {st['in_state']} districts this user sees)" if st["partial"] else ""))
        lines += ["", "Districts with gaps:"]
        for row in view.rows:
            if row.gaps:
                lines.append(f"  {row.district.name} ({row.district.state}):")
                lines.extend(f"    - {g.text}" for g in row.gaps)
        rows = coverage_tables.suggestion_rows(view)
        what = "AHTUs" if view.unit == coverage.UNIT_AHTU else "shelters"
        lines += ["", f"Where {view.count} new {what} would help most (weighted by {view.weight}):"]
        for r in rows:
            lines.append(f"  {r['rank']}. {r['district']} ({r['state']}): newly covers {r['newly_covered']}"
                         + (f" — {', '.join(r['covered_districts'])}" if r["covered_districts"] else ""))
        if not rows:
            lines.append("  (none: nothing left to cover, or no weight to cover)")
        return "\n".join(lines) + "\n"
