"""analyse_network: the referral-network analysis of the pages, on the command line.

A thin shell over `mapping.network_selectors` and `mapping.network` (the same selector, cache and
functions as the pages). It counts every referral, like a superuser: it reads aggregates, never a case row.
"""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mapping import network
from mapping.network_selectors import NetworkFilters, aggregate_scope, default_window, network_result
from stakeholders.models import District, State
from stakeholders.vocab import normalise

FORMATS = ("json", "text", "graphml", "gexf")


class Command(BaseCommand):
    help = "Analyse the referral network (findings, agency metrics, flows) for an area and a window."

    def add_arguments(self, parser):
        parser.add_argument("--state", help="State or UT (name, any case), or its id.")
        parser.add_argument("--district", help="District name (with --state if the name is ambiguous), or its id.")
        parser.add_argument("--since", help="First day of the window, YYYY-MM-DD (default: 90 days before --until).")
        parser.add_argument("--until", help="Last day of the window, YYYY-MM-DD (default: today).")
        parser.add_argument("--format", choices=FORMATS, default="text")
        parser.add_argument("--output", help="Write to this file instead of the standard output.")

    def handle(self, *args, **options):
        filters = self._filters(options)
        result, _key = network_result(scope=aggregate_scope(None), filters=filters)
        fmt = options["format"]
        if fmt == "json":
            body = json.dumps(result.as_json(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        elif fmt == "graphml":
            body = network.graphml_bytes(result)
        elif fmt == "gexf":
            body = network.gexf_bytes(result)
        else:
            body = self._text(result).encode("utf-8")
        if options["output"]:
            try:
                with open(options["output"], "wb") as handle:
                    handle.write(body)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc}") from exc
            self.stderr.write(f"Wrote {options['output']} ({len(body):,} bytes): {result.summary['agencies']} agencies, "
                              f"{len(result.findings)} findings.")
        else:
            self.stdout.write(body.decode("utf-8"), ending="")

    def _filters(self, options) -> NetworkFilters:
        default_since, default_until = default_window()
        until = _date(options["until"], "--until") if options["until"] else default_until
        since = _date(options["since"], "--since") if options["since"] else None
        if since is None:
            since = default_since if not options["until"] else until.fromordinal(until.toordinal() - 89)
        if since > until:
            raise CommandError("--since is after --until.")
        state = _state(options["state"]) if options["state"] else None
        district = _district(options["district"], state) if options["district"] else None
        if district is not None and state is None:
            state = district.state
        return NetworkFilters(state_id=state.pk if state else None, district_id=district.pk if district else None,
                              since=since, until=until)

    def _text(self, result) -> str:
        lines = [
            _("Referral network, referrals sent %(since)s – %(until)s") % result.window.as_dict(),
            "",
        ]
        s = result.summary
        lines.append(_("Agencies %(agencies)s (active %(active_agencies)s), ties %(ties)s, referrals %(referrals)s, "
                       "density %(density)s, reciprocity %(reciprocity)s, components %(components)s") % s)
        lines.append(_("Betweenness: %(mode)s; %(n)s communities") % {"mode": result.betweenness_mode, "n": result.communities})
        lines.append("")
        lines.append(_("%(n)s findings") % {"n": len(result.findings)})
        for finding in result.findings:
            explanation, action = network.explain(finding)
            lines.append(f"[{finding.severity.upper()}] {finding.type}: {explanation}")
            lines.append("    " + _("What to do:") + " " + action)
            if finding.agencies:
                more = len(finding.agencies) - 8
                lines.append("    " + ", ".join(finding.agencies[:8]) + (f" (+{more})" if more > 0 else ""))
        lines.append("")
        lines.append(_("Flows between kinds (referrals, share accepted):"))
        for flow in result.flows:
            rate = "—" if flow.accepted_rate is None else f"{round(flow.accepted_rate * 100)}%"
            lines.append(f"    {flow.source} → {flow.target}: {flow.referrals} ({rate})")
        return "\n".join(lines) + "\n"


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date written YYYY-MM-DD, not {value!r}.") from None


def _state(value: str) -> State:
    state = State.objects.filter(pk=int(value)).first() if value.isdigit() else State.objects.filter(key=normalise(value)).first()
    if state is None:
        raise CommandError(f"No state or UT called {value!r}.")
    return state


def _district(value: str, state: State | None) -> District:
    districts = District.objects.select_related("state")
    if value.isdigit():
        found = list(districts.filter(pk=int(value)))
    else:
        found = list(districts.filter(key=normalise(value), **({"state": state} if state else {})))
    if not found:
        raise CommandError(f"No district called {value!r}" + (f" in {state.name}." if state else "."))
    if len(found) > 1:
        raise CommandError(f"{len(found)} districts are called {value!r}; name the state with --state.")
    district = found[0]
    if state is not None and district.state_id != state.pk:
        raise CommandError(f"{district.name} is not in {state.name}.")
    return district
