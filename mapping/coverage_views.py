"""Coverage pages (coverage, gaps, case origins), their maps (full HTML documents for an iframe) and
their CSV/GeoJSON exports.

Who sees what is `coverage_selectors.coverage_scope`: the steering committee and superusers every
district, state departments their states, agency admins their district and its neighbours. Anyone
else gets a 404, as does a state outside the user's scope: there is nothing here they may see, and
the answer should not differ from a page that does not exist (the same rule as another agency's
record). Counts of victims are suppressed below the threshold for every role without case access.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mapping import coverage, coverage_maps, coverage_tables
from mapping.coverage_forms import CoverageForm
from mapping.coverage_maps import Links
from mapping.coverage_selectors import (
    OutOfScope,
    boundary_sources,
    coverage_scope,
    coverage_view,
    district_boundaries,
    district_points,
    state_boundaries,
)
from mapping.maps import render_page

PAGES = {
    "coverage": "mapping/coverage/coverage.html",
    "gaps": "mapping/coverage/gaps.html",
    "origins": "mapping/coverage/origins.html",
}


def _analysis(request):
    """Parse the query string and compute what this user may see; 404 when that is nothing."""
    districts = district_points()
    scope = coverage_scope(request.user, districts)
    if scope.empty:
        raise Http404
    states = sorted({(d.state_id, d.state) for d in districts if scope.allows(d.id)}, key=lambda s: s[1])
    form = CoverageForm(request.GET or None, states=states, everything=scope.everything)
    raw_state = request.GET.get("state", "")
    if raw_state.isdigit() and int(raw_state) not in {sid for sid, _name in states}:
        raise Http404
    values = form.values()
    try:
        view = coverage_view(
            request.user, state_id=values["state"], radius_km=values["radius_km"], period_months=values["period"],
            unit=values["unit"], weight=values["weight"], count=values["count"], districts=districts, scope=scope,
        )
    except OutOfScope:
        raise Http404 from None
    return form, values, view


def _links(absolute: bool = False) -> Links:
    base = settings.SITE_URL if absolute else ""
    agency = reverse("stakeholders:agency_detail", args=[0])
    return Links(
        agency_prefix=base + agency[: -len("0/")],
        district_agencies=base + reverse("stakeholders:agency_list") + "?district=",
        target="_blank" if absolute else "_top",
    )


def _scope_note(view) -> str:
    scope = view.scope
    if scope.everything:
        return _("You see every district.")
    parts = []
    names = {d.id: d for d in view.districts}
    if scope.state_ids:
        parts.append(_("the districts of %(states)s") % {
            "states": ", ".join(sorted({d.state for d in view.districts if d.state_id in scope.state_ids}))})
    if scope.home_district_ids:
        homes = ", ".join(sorted(names[i].name for i in scope.home_district_ids if i in names))
        neighbours = len(scope.district_ids - scope.home_district_ids - {d.id for d in view.districts if d.state_id in scope.state_ids})
        parts.append(_("%(homes)s, where your agency is, and %(n)s neighbouring districts (those whose centres lie within %(km)s km of it)") % {
            "homes": homes, "n": neighbours, "km": f"{scope.neighbour_radius_km:,.0f}"})
    return _("You see %(what)s.") % {"what": _(" and ").join(parts)}


def _querystring(request) -> str:
    params = request.GET.copy()
    params.pop("format", None)
    return params.urlencode()


def _export(request, page, view, values):
    fmt = request.GET.get("format")
    if page == "gaps":
        columns, rows = coverage_tables.GAP_COLUMNS, coverage_tables.gap_rows(view, values["gap"])
    elif page == "origins":
        columns, rows = coverage_tables.ORIGIN_COLUMNS, coverage_tables.origin_rows(view)
    else:
        columns, rows = coverage_tables.DISTRICT_COLUMNS, coverage_tables.district_rows(view)
    name = f"coverage-{page}"
    if fmt == "csv":
        response = HttpResponse(coverage_tables.csv_text(columns, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    boundaries = district_boundaries({row["id"] for row in rows})
    response = HttpResponse(
        json.dumps(coverage_tables.geojson(columns, rows, boundaries), ensure_ascii=False),
        content_type="application/geo+json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.geojson"'
    return response


def _page(request, page):
    form, values, view = _analysis(request)
    if request.GET.get("format") in ("csv", "geojson"):
        return _export(request, page, view, values)
    querystring = _querystring(request)
    context = {
        "page": page,
        "form": form,
        "values": values,
        "view": view,
        "summary": view.result.summary,
        "scope_note": _scope_note(view),
        "querystring": querystring,
        "map_url": reverse("mapping:coverage_map", args=[page]) + (f"?{querystring}" if querystring else ""),
        "suppressed": view.suppressed,
        "threshold": view.threshold,
        "period_label": dict(form.fields["period"].choices).get(values["period"], ""),
        "suggestions": coverage_tables.suggestion_rows(view),
        "states": coverage_tables.state_rows(view),
    }
    if page == "coverage":
        context["rows"] = coverage_tables.district_rows(view)
    elif page == "gaps":
        context["rows"] = coverage_tables.gap_rows(view, values["gap"])
        context["gap_districts"] = coverage_tables.gap_districts(context["rows"])
        params = request.GET.copy()
        for key in ("format", "gap"):
            params.pop(key, None)
        context["querystring_no_gap"] = params.urlencode()
        summary = view.result.summary
        context["not_assessed"] = summary["referral_gaps_not_assessed"]
        # Referral gaps assessed nowhere in view are unknown (None), not zero.
        context["gap_counts"] = [(slug, coverage.GAP_LABELS[slug], summary["gaps"][slug]) for slug in coverage.GAP_SLUGS]
    else:
        context["rows"] = coverage_tables.origin_rows(view)
    return render(request, PAGES[page], context)


@login_required
@require_GET
def coverage_page(request):
    return _page(request, "coverage")


@login_required
@require_GET
def coverage_gaps_page(request):
    return _page(request, "gaps")


@login_required
@require_GET
def coverage_origins_page(request):
    return _page(request, "origins")


def build_figure(page: str, view, values: dict, *, absolute_links: bool = False):
    """The folium figure of a page; shared by the map view and `export_map`."""
    shown_ids = view.shown_district_ids
    boundaries = district_boundaries(shown_ids)
    outlines = state_boundaries({d.state_id for d in view.districts if d.id in shown_ids})
    links = _links(absolute_links)
    attribution = coverage_maps.attribution_text(boundary_sources())
    if page == "gaps":
        existing = coverage.existing_units(view.agencies_shown(), view.unit)
        return coverage_maps.gaps_figure(
            view.rows, view.suggestions, existing, boundaries=boundaries, state_outlines=outlines, gap=values["gap"],
            radius_km=view.radius_km, links=links, attribution=attribution,
            newly_label=lambda suggestion: _newly_label(view, suggestion),
        )
    if page == "origins":
        return coverage_maps.origins_figure(
            view.rows, boundaries=boundaries, state_outlines=outlines, measure=values["measure"],
            count_label=view.count_label, threshold=view.threshold if view.suppressed else None, links=links,
            attribution=attribution,
        )
    return coverage_maps.coverage_figure(
        view.rows, view.agencies_shown(), boundaries=boundaries, state_outlines=outlines, indicator=values["indicator"],
        radius_km=view.radius_km, links=links, attribution=attribution, rings=view.state_id is not None or not view.scope.everything,
    )


def _newly_label(view, suggestion) -> str:
    if view.weight == coverage.WEIGHT_RESCUED:
        return _("%(n)s rescued victims") % {"n": view.need_label(suggestion)}
    return _("%(n)s people") % {"n": f"{view.need_label(suggestion):,}"}


@login_required
@require_GET
def coverage_map(request, page):
    if page not in PAGES:
        raise Http404
    _form, values, view = _analysis(request)
    response = HttpResponse(render_page(build_figure(page, view, values)), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response
