from django.core.management.base import BaseCommand, CommandError

from coordination.demo import DEMO_PASSWORD, DEMO_USERS, has_non_demo_data, seed_all
from stakeholders.models import Agency, State


class Command(BaseCommand):
    help = "Fill an empty (or demo-only) database with the demo registry, users and activity. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the registry already has agencies.")

    def handle(self, *args, if_empty=False, **options):
        if not State.objects.exists():
            raise CommandError("No geography yet: run `python manage.py load_geography` first.")
        # `make run` passes --if-empty: a database that already has a registry (demo or real) is left alone
        # and the server still starts; only an explicit seed of a non-demo database is refused.
        if if_empty and Agency.objects.exists():
            self.stdout.write("The registry already has agencies; no demo data added.")
            return
        if has_non_demo_data():
            raise CommandError("This database holds agencies that are not demo data; seed_demo will not touch it.")
        counts = seed_all()
        self.stdout.write(self.style.SUCCESS("Demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + "."))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}): admin (superuser), " + ", ".join(u[0] for u in DEMO_USERS))
