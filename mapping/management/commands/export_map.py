from django.core.management.base import BaseCommand, CommandError

from mapping import coverage
from mapping.coverage_forms import MAX_RADIUS_KM, MAX_SUGGESTIONS
from mapping.coverage_maps import INDICATOR_CHOICES
from mapping.coverage_selectors import PERIOD_DAYS
from mapping.management.commands._geo_report import command_coverage_view
from mapping.coverage_views import build_figure
from mapping.maps import external_urls, render_standalone


class Command(BaseCommand):
    help = "Write a coverage, gap or case-origin map as one self-contained HTML file that opens with no network."

    def add_arguments(self, parser):
        parser.add_argument("map", choices=["coverage", "gaps", "origins"])
        parser.add_argument("--state", help="One state or UT (name); default every district.")
        parser.add_argument("--output", required=True, help="The HTML file to write.")
        parser.add_argument("--radius-km", type=float, help="Reach in km (default COVERAGE_RADIUS_KM).")
        parser.add_argument("--indicator", default="ahtu", choices=[slug for slug, _label in INDICATOR_CHOICES],
                            help="Coverage map: what colours the districts.")
        parser.add_argument("--gap", default="", choices=[""] + list(coverage.GAP_SLUGS), help="Gap map: one kind of gap.")
        parser.add_argument("--measure", default="originating", choices=["originating", "rescued"], help="Origin map.")
        parser.add_argument("--period-months", type=int, default=12, choices=sorted(PERIOD_DAYS), help="Period for victim counts (0: all time).")
        parser.add_argument("--suggest", type=int, default=5, help=f"Gap map: how many new units to suggest (0-{MAX_SUGGESTIONS}).")
        parser.add_argument("--unit", default=coverage.UNIT_AHTU, choices=[coverage.UNIT_AHTU, coverage.UNIT_SHELTER])
        parser.add_argument("--weight", default=coverage.WEIGHT_POPULATION, choices=[coverage.WEIGHT_POPULATION, coverage.WEIGHT_RESCUED])
        parser.add_argument("--as-user", help="Draw what this user would see (scope, counting gate, suppression).")
        parser.add_argument(
            "--exact-counts", action="store_true",
            help="Origin map without --as-user: print counts below the threshold exactly (default: suppressed, as the file may travel).",
        )

    def handle(self, *args, map, output, state=None, radius_km=None, indicator="ahtu", gap="", measure="originating",
               period_months=12, suggest=5, unit=coverage.UNIT_AHTU, weight=coverage.WEIGHT_POPULATION, as_user=None,
               exact_counts=False, **options):
        if radius_km is not None and not 1 <= radius_km <= MAX_RADIUS_KM:
            raise CommandError(f"--radius-km must be between 1 and {MAX_RADIUS_KM}.")
        if not 0 <= suggest <= MAX_SUGGESTIONS:
            raise CommandError(f"--suggest must be between 0 and {MAX_SUGGESTIONS}.")
        view = command_coverage_view(
            as_user=as_user, state=state, radius_km=radius_km, period_months=period_months, unit=unit, weight=weight,
            count=suggest, suppress_counts=None if as_user else not exact_counts,
        )
        figure = build_figure(map, view, {"indicator": indicator, "gap": gap, "measure": measure}, absolute_links=True)
        html = render_standalone(figure)
        leaks = external_urls(html)
        if leaks:
            raise CommandError(f"The map would fetch {len(leaks)} external resources (first: {leaks[0]}); nothing written.")
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(html)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {output} ({len(html.encode()) / 1e6:.1f} MB, {len(view.rows)} districts)."))
