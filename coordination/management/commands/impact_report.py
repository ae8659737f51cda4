import csv
import json

from django.core.management.base import BaseCommand, CommandError

from coordination.indicators import REPORT_ORDER
from coordination.periods import parse_month
from coordination.selectors import ImpactFilter, impact_document, impact_rows, impact_table
from stakeholders.models import State
from stakeholders.vocab import normalise


class Command(BaseCommand):
    help = (
        "The AHTU results table (approved returns only) for a period and states, as on the Impact page. "
        "Counts below SMALL_COUNT_THRESHOLD are suppressed, as in every export of aggregates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First month, YYYY-MM (default: the first return).")
        parser.add_argument("--until", help="Last month, YYYY-MM (default: the latest return).")
        parser.add_argument("--state", action="append", default=[], metavar="S",
                            help="A state's name (any case); repeat or separate with commas for several. Default: all.")
        parser.add_argument("--format", choices=["json", "csv", "text"], default="text")

    def handle(self, *args, since=None, until=None, state=(), format="text", **options):
        first, last = self._month(since, "--since"), self._month(until, "--until")
        if first and last and first > last:
            raise CommandError("--since is after --until.")
        table = impact_table(ImpactFilter(since=first, until=last, state_ids=self._states(state)))
        if format == "json":
            self.stdout.write(json.dumps(impact_document(table, suppressed=True), indent=2, ensure_ascii=False))
        elif format == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            for row in impact_rows(table, suppressed=True):
                writer.writerow(row)
        else:
            self._text(impact_document(table, suppressed=True), all_states=not table.filter.state_ids)

    def _month(self, text, option):
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise CommandError(f"{option} {text!r} is not a month; write YYYY-MM, e.g. 2024-03.")
        return month

    def _states(self, values) -> tuple[int, ...]:
        wanted = [part.strip() for value in values for part in value.split(",") if part.strip()]
        if not wanted:
            return ()
        by_key = dict(State.objects.values_list("key", "pk"))
        ids = []
        for name in wanted:
            pk = by_key.get(normalise(name))
            if pk is None:
                raise CommandError(f"Unknown state {name!r}. Known: {', '.join(sorted(State.objects.values_list('name', flat=True)))}.")
            ids.append(pk)
        return tuple(sorted(set(ids)))

    def _text(self, doc, *, all_states):
        period = f"{doc['since'] or 'first return'} to {doc['until'] or 'latest return'}"
        self.stdout.write(f"AHTU results, {period}; {'all states' if all_states else ', '.join(doc['states'])}")
        self.stdout.write(f"{doc['approved_returns']} approved returns from {doc['ahtus']} AHTUs"
                          + (f"; counts below {doc['suppressed_below']} shown as <{doc['suppressed_below']}." if doc["suppressed_below"] else "."))
        self.stdout.write("")
        width = max(len(str(i.label)) for i in REPORT_ORDER)
        for i in REPORT_ORDER:
            if not i.in_seed_layout and i is next(x for x in REPORT_ORDER if not x.in_seed_layout):
                self.stdout.write("Also reported:")
            value = doc["totals"][i.field]
            self.stdout.write(f"  {str(i.label):<{width}}  {value:>10,}" if isinstance(value, int) else f"  {str(i.label):<{width}}  {value:>10}")
        if len(doc["by_state"]) > 1:
            self.stdout.write("")
            self.stdout.write("By state (cases / rescued / arrested / convicted):")
            for row in doc["by_state"]:
                self.stdout.write(f"  {row['state']:<24} {row['cases_registered']!s:>8} {row['victims_rescued']!s:>8} "
                                  f"{row['arrested']!s:>8} {row['convicted']!s:>8}")

