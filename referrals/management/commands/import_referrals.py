from coordination.csvio import CsvImportCommand
from referrals.imports import COLUMNS, import_referrals


class Command(CsvImportCommand):
    help = (
        "Import referrals from a CSV file (cases created or matched by case_code). "
        "All-or-nothing unless --skip-invalid; references already present are left unchanged."
    )
    columns = COLUMNS

    def run_import(self, lines, *, path, dry_run, skip_invalid, progress, **options):
        return import_referrals(lines, dry_run=dry_run, skip_invalid=skip_invalid, source=path.name, progress=progress)
