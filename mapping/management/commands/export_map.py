from django.core.management.base import BaseCommand, CommandError

from mapping import coverage
from mapping.management.commands._geo_report import command_coverage_view
from mapping.coverage_views import build_figure
from mapping.maps import external_urls, render_standalone


class Command(BaseCommand):
    help = "Write a coverage, gap or case-origin map as one self-contained HTML file that opens with no network."

    def add_arguments(self, parser):
        parser.add_argument("map", choices=["coverage", "gaps", "origins"])
        parser.add_argument("--state", help="One state or UT (name); default every district.")
        parser.add_argument("--output", required=True, help="The HTML file to write.")
        parser.add_argument("--radius-km", type=float)
        parser.add_argument("--indicator", default="ahtu", help="Coverage map: ahtu, women_shelter_km, child_shelter_km, ahtu_km, beds_per_100k, gaps.")
        parser.add_argument("--gap", default="", choices=[""] + list(coverage.GAP_SLUGS), help="Gap map: one kind of gap.")
        parser.add_argument("--measure", default="originating", choices=["originating", "rescued"], help="Origin map.")
        parser.add_argument("--period-months", type=int, default=12)
        parser.add_argument("--suggest", type=int, default=5)
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
