from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mapping.coverage_imports import import_population
from mapping.management.commands._geo_report import write_report


class Command(BaseCommand):
    help = (
        "Import district populations from a CSV, matched to our districts by name within state (or by a "
        "census code stored by import_boundaries). All-or-nothing unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A CSV file with a header row.")
        parser.add_argument("--name-column", required=True, help="Column holding the district name.")
        parser.add_argument("--state-column", required=True, help="Column holding the state name.")
        parser.add_argument("--population-column", required=True, help="Column holding the population (a whole number).")
        parser.add_argument("--code-column", default="", help="Column holding a census code, matched first when districts carry codes.")
        parser.add_argument("--dry-run", action="store_true", help="Match and report; write nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Write the good rows even if some rows are bad.")

    def handle(self, *args, file, name_column, state_column, population_column, code_column="", dry_run=False, skip_invalid=False, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}. Nothing was stored.") from exc
        report = import_population(
            text.splitlines(keepends=True), name_column=name_column, state_column=state_column,
            population_column=population_column, code_column=code_column, dry_run=dry_run, skip_invalid=skip_invalid,
        )
        write_report(self, report, unit="line", verbosity=options["verbosity"])
        if report.errors and not report.rows:
            raise CommandError("Nothing was stored: the header is not usable.")
        self.stdout.write(report.matching_summary())
        if report.errors and not report.written and not dry_run:
            raise CommandError(
                f"Nothing was stored: {len(report.bad_lines)} of {report.rows} rows have errors. "
                "Fix them, or use --skip-invalid to write the good rows."
            )
        verb = "Would set" if dry_run else "Set"
        self.stdout.write(self.style.SUCCESS(f"{verb} the population of {len(report.matched)} districts."))
