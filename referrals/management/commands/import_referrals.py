from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coordination.csvio import Progress
from referrals.imports import COLUMNS, import_referrals


class Command(BaseCommand):
    help = (
        "Import referrals from a CSV file (cases created or matched by case_code). "
        "All-or-nothing unless --skip-invalid; references already present are left unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with columns " + ",".join(COLUMNS))
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Write the good rows even if some rows are bad.")

    def handle(self, *args, file, dry_run=False, skip_invalid=False, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        lines = text.splitlines(keepends=True)
        report = import_referrals(
            lines, dry_run=dry_run, skip_invalid=skip_invalid, source=path.name,
            progress=Progress(max(len(lines) - 1, 1), stream=self.stderr._out),
        )
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        for error in report.errors:
            self.stderr.write(str(error))
        if report.errors and not report.written and not dry_run:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
