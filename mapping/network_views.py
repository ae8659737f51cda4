"""Network pages: the report, an agency's ego network, the map and the diagram, "what if", comparison, exports.

Who sees what (one place, `_access`):
- superusers and the steering committee: every state (the committee with small counts suppressed);
- state departments and anti-trafficking bureaus: the network touching their state(s), unsuppressed (they
  may read every referral of their state anyway);
- agency admins: their own agency's ego network (its own referrals, unsuppressed);
- everyone else: 404. A member of an agency who is not its admin asking for that agency's ego network gets
  403: the agency is public in the registry and theirs, but the role may not open its network.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from coordination.csvio import safe_cell
from coordination.mixins import Echo
from coordination.suppression import needs_suppression
from mapping import network
from mapping.network import FINDING_TYPES, SEVERITIES, explain, sort_value
from mapping.network_forms import CompareForm, EgoForm, NetworkFilterForm, WhatIfForm, quarter_bounds
from mapping.network_maps import KIND_COLOURS, diagram, legend_rows, network_map_html
from mapping.network_selectors import (
    AggregateScope,
    NetworkFilters,
    aggregate_scope,
    cache_key,
    cached,
    data_version,
    default_window,
    network_result,
)
from mapping.pathways import EXPECTED_KIND_PAIRS, PATHWAYS
from stakeholders.models import Agency
from stakeholders.selectors import user_scope
from stakeholders.vocab import AgencyKind

FINDINGS_PER_PAGE = 25
AGENCIES_PER_PAGE = 50
STATE_MATRIX_SIZE = 15  # the busiest states of a national network; the exports have every flow
# What an agency admin's own-agency view shows: findings about the agency itself, not about a network it
# cannot see (a star of its own ties has no meaningful brokers or communities).
EGO_ONLY_TYPES = frozenset({"isolated", "one_way", "slow_link", "high_decline", "stuck_referral", "silent_agency", "missing_pathway"})
AGENCY_SORTS = {
    "name": lambda a: (a.name.lower(), a.code),
    "kind": lambda a: (a.kind, a.name.lower()),
    "state": lambda a: (a.state, a.district, a.name.lower()),
    "in_degree": lambda a: (a.in_degree, a.code),
    "out_degree": lambda a: (a.out_degree, a.code),
    "in_volume": lambda a: (sort_value(a.in_volume), a.code),
    "out_volume": lambda a: (sort_value(a.out_volume), a.code),
    "betweenness": lambda a: (a.betweenness, a.code),
    "community": lambda a: (a.community or 0, a.code),
    "core": lambda a: (a.core, a.code),
}


@dataclass
class Access:
    scope: AggregateScope
    whole_network: bool  # the report, map, diagram, what-if, comparison and exports
    allowed_state_ids: frozenset | None  # None: every state
    ego_agency_ids: frozenset  # agencies whose ego network an agency admin may open


def _access(request) -> Access:
    scope = user_scope(request.user)
    if scope.superuser or scope.committee:
        return Access(aggregate_scope(request.user), True, None, frozenset())
    if scope.supervised_state_ids:
        return Access(aggregate_scope(request.user), True, scope.supervised_state_ids, scope.admin_agency_ids)
    if scope.admin_agency_ids:
        return Access(aggregate_scope(request.user), False, frozenset(), scope.admin_agency_ids)
    raise Http404


def _whole_network_access(request) -> Access:
    access = _access(request)
    if not access.whole_network:
        raise Http404
    return access


def _suppressed(request, filters: NetworkFilters, access: Access) -> bool:
    if access.allowed_state_ids is not None and not filters.state_id:
        return needs_suppression(request.user, state_ids=access.allowed_state_ids)
    return needs_suppression(request.user, state_ids=[filters.state_id] if filters.state_id else None)


def _filters(request, access: Access):
    """The filter form, bound to the query with the default window filled in (so the fields show it)."""
    data = request.GET.copy()
    if not data.get("since") and not data.get("until"):
        since, until = default_window()
        data["since"], data["until"] = since.isoformat(), until.isoformat()
    form = NetworkFilterForm(data, allowed_state_ids=access.allowed_state_ids)
    return form, (form.filters() if form.is_valid() else None)


def _viewed(result, suppress: bool, key: str):
    """The result as this viewer may see it: small counts suppressed."""
    return network.redact(result, settings.SMALL_COUNT_THRESHOLD) if suppress else result


def _query(request, drop=("page", "sort", "finding", "severity")) -> str:
    params = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    return params.urlencode()


def _agency_href(query: str = ""):
    """A fast agency-page URL builder (reversing once, not once per link on pages with hundreds of links)."""
    prefix = reverse("mapping:network_agency", args=["CODE"])[: -len("CODE/")]
    suffix = f"?{query}" if query else ""
    return lambda code: f"{prefix}{code}/{suffix}"


def _agency_links(request, access: Access, result, query: str = ""):
    """code -> URL: the agency's network page when this viewer may open it, else its registry entry. A state
    department sees ties to agencies of other states, and an agency admin its partners, whose network pages
    would answer 404."""
    network_href = _agency_href(query)
    scope = user_scope(request.user)
    if scope.superuser or scope.committee:
        return network_href
    registry_prefix = reverse("stakeholders:agency_detail", args=[1])[: -len("1/")]
    states = access.allowed_state_ids or frozenset()

    def href(code):
        agency = result.agency(code)
        if agency is None or agency.state_id in states or agency.id in access.ego_agency_ids:
            return network_href(code)
        return f"{registry_prefix}{agency.id}/"

    return href


def _links_key(access: Access) -> str:
    """What `_agency_links` depends on beyond the result (for caches of drawings holding links)."""
    return ",".join(map(str, sorted(access.ego_agency_ids)))


def _finding_rows(findings, agency_names, query: str = "", *, href=None):
    href = href or _agency_href(query)
    rows = []
    for f in findings:
        explanation, action = explain(f)
        rows.append({
            "finding": f, "explanation": explanation, "action": action,
            "agencies": [(href(code), agency_names.get(code, code)) for code in f.agencies[:12]],
            "more": max(0, len(f.agencies) - 12),
            "badge": {"high": "bad", "medium": "warn", "low": "info"}[f.severity],
            "label": _type_label(f.type),
        })
    return rows


def _kind_label(kind):
    return network.kind_label(kind)


def _matrix(flows, *, label=lambda k: k, limit=None, expected=frozenset()):
    """A square grid (rows: sending, columns: receiving) of the keys that appear in any flow; cells the
    legal pathways expect but where nothing flowed are marked."""
    keys = sorted({f.source for f in flows} | {f.target for f in flows})
    total = len(keys)
    if limit and len(keys) > limit:
        totals = {}
        for f in flows:
            totals[f.source] = totals.get(f.source, 0) + sort_value(f.referrals)
            totals[f.target] = totals.get(f.target, 0) + sort_value(f.referrals)
        keys = sorted(sorted(keys, key=lambda k: -totals[k])[:limit])
    cells = {(f.source, f.target): f for f in flows}
    return {
        "total": total, "more": total > len(keys),
        "columns": [(k, label(k)) for k in keys],
        "rows": [{"key": k, "label": label(k),
                  "cells": [{"flow": cells.get((k, c)), "expected": (k, c) in expected, "column": label(c)} for c in keys]}
                 for k in keys],
    }


@login_required
@require_GET
def report_view(request):
    access = _access(request)
    if not access.whole_network:
        first = Agency.objects.filter(pk__in=access.ego_agency_ids).order_by("name").values_list("code", flat=True).first()
        return redirect("mapping:network_agency", code=first)
    form, filters = _filters(request, access)
    context = {"form": form, "querystring": _query(request), "kind_colours": KIND_COLOURS}
    if filters is None:
        return render(request, "mapping/network/report.html", context, status=400)
    result, key = network_result(scope=access.scope, filters=filters)
    suppress = _suppressed(request, filters, access)
    viewed = _viewed(result, suppress, key)
    names = {a.code: a.name for a in viewed.agencies}

    chosen_type = request.GET.get("finding") if request.GET.get("finding") in FINDING_TYPES else ""
    chosen_severity = request.GET.get("severity") if request.GET.get("severity") in SEVERITIES else ""
    findings = [f for f in viewed.findings if (not chosen_type or f.type == chosen_type)
                and (not chosen_severity or f.severity == chosen_severity)]
    counts = {t: 0 for t in FINDING_TYPES}
    severity_counts = {s: 0 for s in SEVERITIES}
    for f in viewed.findings:
        counts[f.type] += 1
        severity_counts[f.severity] += 1
    finding_page = Paginator(findings, FINDINGS_PER_PAGE).get_page(request.GET.get("fpage"))

    sort = request.GET.get("sort") or "-betweenness"
    sort_key = sort.lstrip("-") if sort.lstrip("-") in AGENCY_SORTS else "betweenness"
    focus_only = [a for a in viewed.agencies if a.focus]
    agencies = sorted(focus_only, key=AGENCY_SORTS[sort_key], reverse=sort.startswith("-"))
    agency_page = Paginator(agencies, AGENCIES_PER_PAGE).get_page(request.GET.get("page"))
    kind_labels = dict(AgencyKind.choices)
    agency_rows = [{"a": a, "kind": network.kind_label(a.kind), "kind_title": kind_labels.get(a.kind, a.kind),
                    "colour": KIND_COLOURS.get(a.kind, "#999"), "betweenness": network.share_text(a.betweenness)}
                   for a in agency_page.object_list]

    context.update(
        result=viewed, filters=filters, suppress=suppress, window=filters.window,
        finding_rows=_finding_rows(finding_page.object_list, names, href=_agency_links(
            request, access, viewed, _query(request, drop=("page", "sort", "finding", "severity", "fpage")))),
        finding_page=finding_page,
        finding_counts=[(t, counts[t], _type_label(t)) for t in FINDING_TYPES if counts[t]],
        severity_counts=severity_counts, chosen_type=chosen_type, chosen_severity=chosen_severity,
        agency_page=agency_page, agency_rows=agency_rows, page_obj=agency_page, is_paginated=agency_page.has_other_pages(), sort=sort,
        kind_matrix=_matrix(viewed.flows, label=_kind_label, expected=EXPECTED_KIND_PAIRS),
        state_matrix=_matrix(viewed.state_flows, label=_state_label, limit=STATE_MATRIX_SIZE), pathways=PATHWAYS,
        agency_query_with_sort=_query(request, drop=("page",)), fpage_query=_query(request, drop=("fpage",)),
        finding_query=_query(request, drop=("fpage", "finding", "severity")),
        filter_query=_query(request, drop=("page", "sort", "finding", "severity", "fpage")),
    )
    return render(request, "mapping/network/report.html", context)


def _state_label(state: str) -> str:
    return _("No state (national bodies)") if state == "—" else state


def _type_label(finding_type: str) -> str:
    return {
        "isolated": _("Isolated agencies"), "one_way": _("One-way agencies"), "broker": _("Brokers"),
        "articulation_point": _("Single points of failure"), "bridge": _("Critical ties"),
        "outside_main_component": _("Outside the main network"), "missing_pathway": _("Missing legal pathways"),
        "minor_cwc_delay": _("Minors late to a CWC"), "slow_link": _("Slow ties"), "high_decline": _("Ties with many declines"),
        "stuck_referral": _("Stuck referrals"), "silent_agency": _("Agencies gone silent"),
        "separated_communities": _("Separated groups"),
    }[finding_type]


def _agency_or_404(request, code: str, access: Access) -> Agency:
    agency = Agency.objects.select_related("state", "district").filter(code=code).first()
    if agency is None:
        raise Http404
    scope = user_scope(request.user)
    if scope.superuser or scope.committee:
        return agency
    if access.allowed_state_ids and agency.state_id in access.allowed_state_ids:
        return agency
    if agency.pk in access.ego_agency_ids:
        return agency
    if agency.pk in scope.agency_ids:
        raise PermissionDenied  # their own agency, but only its admins may open its network
    raise Http404


@login_required
@require_GET
def agency_view(request, code):
    try:
        access = _access(request)
    except Http404:
        scope = user_scope(request.user)
        if Agency.objects.filter(code=code, pk__in=scope.agency_ids).exists():
            raise PermissionDenied from None
        raise
    agency = _agency_or_404(request, code, access)
    own_only = not access.whole_network or (access.allowed_state_ids is not None and agency.state_id not in access.allowed_state_ids)
    form, filters = _filters(request, access)
    ego_form = EgoForm(request.GET or None)
    direction, steps = ego_form.values()
    context = {"agency": agency, "form": form, "ego_form": ego_form, "direction": direction, "steps": steps,
               "own_only": own_only, "querystring": _query(request), "kind_colours": KIND_COLOURS}
    if filters is None:
        return render(request, "mapping/network/agency.html", context, status=400)
    scope = access.scope
    if own_only:
        # An agency admin sees its own agency's referrals only, whatever else the gate would count.
        filters = NetworkFilters(since=filters.since, until=filters.until)
        scope = AggregateScope(everything=False, agency_ids=frozenset({agency.pk}), user=request.user,
                               touching=frozenset({agency.pk}))
    result, key = network_result(scope=scope, filters=filters)
    suppress = False if own_only else _suppressed(request, filters, access)
    viewed = _viewed(result, suppress, key)
    ego = network.ego_network(viewed, code, direction=direction, steps=steps)
    metrics = viewed.agency(code)
    findings = [f for f in viewed.findings if code in f.agencies and (not own_only or f.type in EGO_ONLY_TYPES)]
    names = {a.code: a.name for a in viewed.agencies}
    href = _agency_links(request, access, viewed, _query(request))
    ego_ties = sorted(ego.ties, key=lambda t: (-sort_value(t.referrals), t.source, t.target)) if ego else []
    context.update(
        result=viewed, metrics=metrics, ego=ego, betweenness=network.share_text(metrics.betweenness) if metrics else "", suppress=suppress, filters=filters, window=filters.window,
        finding_rows=_finding_rows(findings, names, href=href), names=names,
        ties=[{"t": t, "source": names.get(t.source, t.source), "target": names.get(t.target, t.target),
               "source_href": href(t.source), "target_href": href(t.target)} for t in ego_ties[:100]],
        more_ties=max(0, len(ego_ties) - 100),
        diagram=diagram(viewed, agencies=ego.agencies, ties=ego.ties, center=code, distance=ego.distance, width=640,
                        height=480, agency_url=href) if ego else None,
        legend=legend_rows("acceptance"),
        frame_query=urlencode({**request.GET.dict(), "agency": code}),
    )
    return render(request, "mapping/network/agency.html", context)


def _map_inputs(request):
    access = _access(request)
    agency_code = request.GET.get("agency") or ""
    form, filters = _filters(request, access)
    if filters is None:
        raise Http404
    scope, own_only, agency = access.scope, False, None
    if agency_code:
        agency = _agency_or_404(request, agency_code, access)
        own_only = not access.whole_network or (access.allowed_state_ids is not None and agency.state_id not in access.allowed_state_ids)
        if own_only:
            filters = NetworkFilters(since=filters.since, until=filters.until)
            scope = AggregateScope(everything=False, agency_ids=frozenset({agency.pk}), user=request.user,
                                   touching=frozenset({agency.pk}))
    elif not access.whole_network:
        raise Http404
    return access, form, filters, scope, own_only, agency


def _state_labels(result, agencies=None) -> list[tuple[str, float, float]]:
    """Names of the states the drawn agencies are in, at the states' centres (orientation without tiles)."""
    from stakeholders.models import State

    names = {a.state for a in (result.agencies if agencies is None else agencies) if a.state}
    return [(row["name"], row["latitude"], row["longitude"]) for row in
            State.objects.filter(name__in=names, latitude__isnull=False, longitude__isnull=False)
            .order_by("name").values("name", "latitude", "longitude")]


@login_required
@require_GET
def map_view(request):
    access = _whole_network_access(request)
    form, filters = _filters(request, access)
    colour_by = "speed" if request.GET.get("colour") == "speed" else "acceptance"
    context = {"form": form, "colour_by": colour_by, "legend": legend_rows(colour_by), "kind_colours": KIND_COLOURS,
               "frame_query": request.GET.urlencode(), "querystring": _query(request)}
    return render(request, "mapping/network/map.html", context, status=200 if filters else 400)


@login_required
@require_GET
def map_frame_view(request):
    """The map as a full HTML document, for the <iframe> of the map and ego pages."""
    access, form, filters, scope, own_only, agency = _map_inputs(request)
    colour_by = "speed" if request.GET.get("colour") == "speed" else "acceptance"
    result, key = network_result(scope=scope, filters=filters)
    suppress = False if own_only else _suppressed(request, filters, access)
    viewed = _viewed(result, suppress, key)

    def build():
        agencies = ties = None
        title = ""
        if agency is not None:
            ego = network.ego_network(viewed, agency.code, direction="both", steps=2 if not own_only else 1)
            if ego is not None:
                agencies, ties, title = ego.agencies, ego.ties, agency.name
        return network_map_html(
            viewed, colour_by=colour_by, agencies=agencies, ties=ties, title=title, places=_state_labels(viewed, agencies),
            agency_url=_agency_links(request, access, viewed, _query(request, drop=("agency", "colour"))),
        )

    html = cached(cache_key("map", key, str(suppress), colour_by, agency.code if agency else "", request.LANGUAGE_CODE,
                            _links_key(access)), build)
    return HttpResponse(html)


@login_required
@require_GET
def diagram_view(request):
    access = _whole_network_access(request)
    form, filters = _filters(request, access)
    colour_by = "speed" if request.GET.get("colour") == "speed" else "acceptance"
    context = {"form": form, "colour_by": colour_by, "legend": legend_rows(colour_by), "kind_colours": KIND_COLOURS,
               "querystring": _query(request)}
    if filters is None:
        return render(request, "mapping/network/diagram.html", context, status=400)
    result, key = network_result(scope=access.scope, filters=filters)
    suppress = _suppressed(request, filters, access)
    viewed = _viewed(result, suppress, key)
    drawing = cached(cache_key("diagram", key, str(suppress), colour_by, request.LANGUAGE_CODE, _query(request), _links_key(access)),
                     lambda: diagram(viewed, colour_by=colour_by,
                                     agency_url=_agency_links(request, access, viewed, _query(request, drop=("colour",)))))
    kinds = sorted({n.kind for n in drawing.nodes})
    context.update(result=viewed, diagram=drawing, suppress=suppress, window=filters.window,
                   kinds=[(k, _kind_label(k), KIND_COLOURS.get(k, "#999")) for k in kinds])
    return render(request, "mapping/network/diagram.html", context)


@login_required
@require_GET
def whatif_view(request):
    access = _whole_network_access(request)
    form, filters = _filters(request, access)
    data = None
    if "agency" in request.GET:
        data = request.GET.copy()
        data.setdefault("hops", "2")  # the form shows the route length it counted
    whatif_form = WhatIfForm(data)
    context = {"form": form, "whatif_form": whatif_form, "querystring": _query(request, drop=("agency", "hops"))}
    status = 200
    if filters is not None and whatif_form.is_bound and whatif_form.is_valid():
        code = whatif_form.cleaned_data["agency"].strip()
        result, key = network_result(scope=access.scope, filters=filters)
        if result.agency(code) is None:
            whatif_form.add_error("agency", _("No agency with this code is in the network you are looking at."))
            status = 400
        else:
            suppress = _suppressed(request, filters, access)
            viewed = _viewed(result, suppress, key)
            hops = whatif_form.max_hops()
            outcome = cached(cache_key("whatif", key, str(suppress), code, str(hops)),
                             lambda: network.what_if_closed(viewed, code, max_hops=hops))
            by_pathway = {}
            for route in outcome.lost_routes:
                by_pathway.setdefault(route.pathway, []).append(route)
            pathway_labels = {p.slug: p for p in PATHWAYS}
            names = {a.code: a.name for a in viewed.agencies}
            href = _agency_links(request, access, viewed, _query(request, drop=("agency", "hops")))
            context.update(
                cut_off=[(href(code), names.get(code, code)) for code in outcome.cut_off],
                outcome=outcome, result=viewed, suppress=suppress, filters=filters, window=filters.window,
                lost_groups=[(pathway_labels[slug], [(route, href(route.agency)) for route in routes])
                             for slug, routes in sorted(by_pathway.items())],
            )
    elif whatif_form.is_bound or filters is None:
        status = 400
    return render(request, "mapping/network/whatif.html", context, status=status)


@login_required
@require_GET
def compare_view(request):
    access = _whole_network_access(request)
    form, filters = _filters(request, access)
    compare_form = CompareForm(_with_compare_defaults(request.GET))
    context = {"form": form, "compare_form": compare_form, "querystring": _query(request)}
    if filters is None or not compare_form.is_valid():
        return render(request, "mapping/network/compare.html", context, status=400)
    data = compare_form.cleaned_data
    current = NetworkFilters(state_id=filters.state_id, district_id=filters.district_id, kinds=filters.kinds,
                             since=data["since"], until=data["until"])
    previous = NetworkFilters(state_id=filters.state_id, district_id=filters.district_id, kinds=filters.kinds,
                              since=data["previous_since"], until=data["previous_until"])
    version = data_version()
    before, before_key = network_result(scope=access.scope, filters=previous, version=version)
    after, after_key = network_result(scope=access.scope, filters=current, version=version)
    comparison = network.compare(before, after)
    suppress = _suppressed(request, filters, access)
    if suppress:
        comparison = network.redact_comparison(comparison, settings.SMALL_COUNT_THRESHOLD)
    names = {a.code: a.name for a in comparison.before.agencies} | {a.code: a.name for a in comparison.after.agencies}
    after_links = _agency_links(request, access, comparison.after, _query(request))
    before_links = _agency_links(request, access, comparison.before, _query(request))

    def href(code):
        return (after_links if comparison.after.agency(code) is not None else before_links)(code)

    def changes(items, label):
        return [{"source": c.source, "target": c.target, "source_name": names.get(c.source, c.source),
                 "target_name": names.get(c.target, c.target), "source_href": href(c.source),
                 "target_href": href(c.target), "label": label(c)} for c in items[:30]]

    context.update(
        new_ties=changes(comparison.new_ties, lambda c: _plural("%(n)s referral", "%(n)s referrals", c.after) % {"n": c.after}),
        lost_ties=changes(comparison.lost_ties, lambda c: _plural("%(n)s referral before", "%(n)s referrals before", c.before) % {"n": c.before}),
        weakened_ties=changes(comparison.weakened_ties, lambda c: _("%(a)s → %(b)s referrals") % {"a": c.before, "b": c.after}),
        comparison=comparison, suppress=suppress, current=current, previous=previous, names=names,
        appeared=_finding_rows(comparison.appeared[:100], names, href=href),
        resolved=_finding_rows(comparison.resolved[:100], names, href=href),
        more_appeared=max(0, len(comparison.appeared) - 100), more_resolved=max(0, len(comparison.resolved) - 100),
        summary_labels=_summary_labels(),
    )
    return render(request, "mapping/network/compare.html", context)


def _plural(singular: str, plural: str, count) -> str:
    """ngettext for a count that may be suppressed ("<5" reads as a plural)."""
    return ngettext(singular, plural, count if isinstance(count, int) else 5)


def _with_compare_defaults(query):
    """The query with this quarter (so far) and the last one filled in where no dates were given, so the
    form shows the windows it compares."""
    data = query.copy()
    today = timezone.localdate()
    this_start, _end = quarter_bounds(today)
    last_start, last_end = quarter_bounds(this_start - timedelta(days=1))
    defaults = {"since": this_start, "until": today, "previous_since": last_start, "previous_until": last_end}
    for name, value in defaults.items():
        if not data.get(name):
            data[name] = value.isoformat()
    return data


def _summary_labels():
    return {"agencies": _("Agencies"), "active_agencies": _("Active agencies"), "ties": _("Ties"),
            "referrals": _("Referrals"), "density": _("Density"), "reciprocity": _("Reciprocity"),
            "components": _("Components")}


# ---------------------------------------------------------------------------------------------------------
# Exports: the same (suppressed when needed) result as the pages.


def _export_result(request):
    access = _whole_network_access(request)
    form, filters = _filters(request, access)
    if filters is None:
        return None, None, form
    result, key = network_result(scope=access.scope, filters=filters)
    viewed = _viewed(result, _suppressed(request, filters, access), key)
    return viewed, filters, form


def _filename(stem: str, filters: NetworkFilters, extension: str) -> str:
    return f"{stem}-{filters.since}-{filters.until}.{extension}"


def _bad_export(form):
    errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
    return HttpResponse(_("Invalid filters: %(errors)s") % {"errors": errors}, status=400, content_type="text/plain; charset=utf-8")


def _json_response(payload, filename):
    response = HttpResponse(json.dumps(payload, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_response(rows, filename):
    writer = csv.writer(Echo())
    response = StreamingHttpResponse((writer.writerow([safe_cell(v) for v in row]) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def findings_export_view(request):
    result, filters, form = _export_result(request)
    if result is None:
        return _bad_export(form)
    if request.GET.get("format") == "json":
        findings = []
        for f in result.findings:
            explanation, action = explain(f)
            findings.append({**f.as_json(detail=network.detail_text(f)), "explanation": explanation, "action": action, "key": f.key})
        return _json_response({"window": result.window.as_dict(), "summary": result.summary, "suppressed": result.suppressed,
                               "findings": findings}, _filename("network-findings", filters, "json"))

    def rows():
        yield ["type", "severity", "agencies", "metric", "explanation", "action"]
        for f in result.findings:
            explanation, action = explain(f)
            yield [f.type, f.severity, ";".join(f.agencies), "" if f.metric is None else f.metric, explanation, action]

    return _csv_response(rows(), _filename("network-findings", filters, "csv"))


@login_required
@require_GET
def agencies_export_view(request):
    result, filters, form = _export_result(request)
    if result is None:
        return _bad_export(form)
    if request.GET.get("format") == "json":
        return _json_response({"window": result.window.as_dict(), "summary": result.summary, "suppressed": result.suppressed,
                               "agencies": [a.as_json() for a in result.agencies],
                               "flows": [f.as_json() for f in result.flows]}, _filename("network-agencies", filters, "json"))
    columns = ["code", "name", "kind", "state", "district", "in_degree", "out_degree", "in_volume", "out_volume",
               "betweenness", "community", "core", "articulation"]

    def rows():
        yield columns
        for a in result.agencies:
            data = a.as_json()
            yield ["" if data[c] is None else data[c] for c in columns]

    return _csv_response(rows(), _filename("network-agencies", filters, "csv"))


@login_required
@require_GET
def graph_export_view(request):
    result, filters, form = _export_result(request)
    if result is None:
        return _bad_export(form)
    if request.GET.get("format") == "gexf":
        lines, extension, content_type = network.gexf_lines(result), "gexf", "application/gexf+xml"
    else:
        lines, extension, content_type = network.graphml_lines(result), "graphml", "application/graphml+xml"
    response = StreamingHttpResponse((line.encode("utf-8") for line in lines), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{_filename("network", filters, extension)}"'
    return response
