from django.core.management.base import BaseCommand

from referrals.notifications import overdue_reminders


class Command(BaseCommand):
    help = (
        "E-mail both agencies of every referral past its legal deadline without an answer. "
        "At most one reminder per referral per day, so it can run from cron as often as you like."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would be sent; send nothing.")

    def handle(self, *args, dry_run=False, **options):
        report = overdue_reminders(dry_run=dry_run)
        verb = "Would remind" if dry_run else "Reminded"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {report.agencies} agencies about {report.referrals} overdue referrals"
            + ("." if dry_run else f" ({report.messages} e-mails sent).")
        ))
