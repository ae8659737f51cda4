from coordination.csvio import CsvImportCommand
from stakeholders.imports import COLUMNS, import_agencies


class Command(CsvImportCommand):
    help = "Import agencies from a CSV file (upsert by code). All-or-nothing unless --skip-invalid."
    columns = COLUMNS

    def run_import(self, lines, *, path, dry_run, skip_invalid, progress, **options):
        return import_agencies(lines, dry_run=dry_run, skip_invalid=skip_invalid, progress=progress)
