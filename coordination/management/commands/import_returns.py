from coordination.csvio import CsvImportCommand
from coordination.imports import IMPORT_COLUMNS, import_returns
from coordination.models import ReturnStatus


class Command(CsvImportCommand):
    help = "Import AHTU monthly returns from a CSV file. All-or-nothing unless --skip-invalid; approved unless --status submitted."
    columns = [*IMPORT_COLUMNS, "[submitted_on]"]

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--status", choices=[ReturnStatus.APPROVED.value, ReturnStatus.SUBMITTED.value], default=ReturnStatus.APPROVED.value,
            help="Status of the imported returns (default: approved; 'submitted' leaves them for the state to review).",
        )

    def run_import(self, lines, *, path, dry_run, skip_invalid, progress, status, **options):
        return import_returns(lines, status=status, dry_run=dry_run, skip_invalid=skip_invalid, progress=progress)
