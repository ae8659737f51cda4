from django.core.management.base import BaseCommand, CommandError

from mapping.coverage_geometry import DEFAULT_DIGITS, DEFAULT_TOLERANCE
from mapping.coverage_imports import GeoImportError, import_boundaries
from mapping.management.commands._geo_report import write_report


class Command(BaseCommand):
    help = (
        "Import district or state outlines from a GeoJSON FeatureCollection, matched to our districts by "
        "name within state. Geometry is simplified for display. All-or-nothing unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A GeoJSON FeatureCollection of Polygon/MultiPolygon features (lon/lat).")
        parser.add_argument("--level", required=True, choices=["district", "state"])
        parser.add_argument("--name-property", required=True, help="Feature property holding the district (or state) name.")
        parser.add_argument("--state-property", default="", help="Property holding the state name (district level).")
        parser.add_argument("--code-property", default="", help="Property holding a census code; stored, and matched first next time.")
        parser.add_argument("--source", default="", help="Attribution shown on maps (default: the file name).")
        parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help=f"Simplification tolerance in degrees (default {DEFAULT_TOLERANCE}; 0 keeps every vertex).")
        parser.add_argument("--digits", type=int, default=DEFAULT_DIGITS, help=f"Decimal places kept (default {DEFAULT_DIGITS}).")
        parser.add_argument("--replace", action="store_true", help="Remove outlines of this level that the file does not provide.")
        parser.add_argument("--dry-run", action="store_true", help="Match and report; write nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Store the good features even if some are bad.")

    def handle(self, *args, file, level, name_property, state_property="", code_property="", source="", tolerance=DEFAULT_TOLERANCE,
               digits=DEFAULT_DIGITS, replace=False, dry_run=False, skip_invalid=False, **options):
        if level == "state" and (state_property or code_property):
            raise CommandError("--state-property and --code-property apply to --level district only.")
        if tolerance < 0 or not 0 <= digits <= 8:
            raise CommandError("--tolerance must be 0 or more and --digits between 0 and 8.")
        try:
            report = import_boundaries(
                file, level=level, name_property=name_property, state_property=state_property, code_property=code_property,
                source_label=source or file.rsplit("/", 1)[-1], tolerance=tolerance, digits=digits, replace=replace,
                dry_run=dry_run, skip_invalid=skip_invalid,
            )
        except GeoImportError as exc:
            raise CommandError(f"{exc} Nothing was stored.") from exc
        write_report(self, report, unit="feature", verbosity=options["verbosity"])
        self.stdout.write(report.matching_summary())
        if report.errors and not report.written and not dry_run:
            raise CommandError(
                f"Nothing was stored: {len(report.bad_lines)} of {report.rows} features have errors. "
                "Fix them, or use --skip-invalid to store the good ones."
            )
        outlines = "district" if level == "district" else "state/UT"
        verb = "Would store" if dry_run else "Stored"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {len(report.matched)} {outlines} outlines ({report.vertices_in:,} vertices simplified to {report.vertices_out:,})."
        ))
