"""The coverage tables as plain rows: shown on the pages, exported as CSV/GeoJSON, printed by
`coverage_report`. One place, so the page, its export and the command never disagree. Victim counts
arrive here already rendered for the viewer (`CoverageView.count_label`: "<5" where suppressed).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from coordination.csvio import safe_cell
from mapping import coverage
from mapping.coverage_selectors import CoverageView


def _km(value):
    return None if value is None else round(value, 1)


def _rate(value):
    return None if value is None else round(value, 2)


def sort_value(shown) -> int:
    """A number to sort a shown count by, derived from what is shown: "<5" sorts as 1, never as the hidden count."""
    if isinstance(shown, str):
        return 1
    return shown or 0


DISTRICT_COLUMNS = [
    ("state", _("State")),
    ("district", _("District")),
    ("population", _("Population")),
    ("agencies_total", _("Agencies")),
    ("ahtus", _("AHTUs")),
    ("ahtu_notified", _("AHTU notified")),
    ("ahtu_functional", _("AHTU functional")),
    ("has_cwc", _("CWC")),
    ("has_dcpu", _("DCPU")),
    ("nearest_ahtu_km", _("Nearest AHTU (km)")),
    ("nearest_shelter_km", _("Nearest shelter with free beds (km)")),
    ("nearest_women_shelter_km", _("… for women (km)")),
    ("nearest_child_shelter_km", _("… for children (km)")),
    ("beds_within_radius", _("Beds in reach")),
    ("free_beds_within_radius", _("Free beds in reach")),
    ("beds_per_100k", _("Beds in reach per 100,000")),
    ("ahtus_per_100k", _("AHTUs per 100,000")),
    ("rescued", _("Rescued in period")),
    ("originating", _("Cases originating in period")),
    ("rescued_last_12m", _("Rescued, last 12 months")),
    ("gaps", _("Gaps")),
]


def district_rows(view: CoverageView) -> list[dict]:
    label = view.count_label
    rows = []
    for r in view.rows:
        d = r.district
        rows.append({
            "id": d.id,
            "state": d.state,
            "district": d.name,
            "population": d.population,
            "agencies_total": r.agency_total,
            "agencies": r.agencies,
            "ahtus": r.ahtu_count,
            "ahtu_notified": r.ahtu_notified,
            "ahtu_functional": r.ahtu_functional,
            "has_cwc": r.has_cwc,
            "has_dcpu": r.has_dcpu,
            "nearest_ahtu_km": _km(r.nearest_ahtu_km),
            "nearest_shelter_km": _km(r.nearest_shelter_km),
            "nearest_women_shelter_km": _km(r.nearest_women_shelter_km),
            "nearest_child_shelter_km": _km(r.nearest_child_shelter_km),
            "beds_within_radius": r.beds_within_radius,
            "free_beds_within_radius": r.free_beds_within_radius,
            "beds_per_100k": _rate(r.beds_per_100k),
            "ahtus_per_100k": _rate(r.ahtus_per_100k),
            "rescued": label(r.rescued),
            "rescued_sort": sort_value(label(r.rescued)),
            "originating": label(r.originating),
            "rescued_last_12m": label(r.rescued_last_12m),
            "gaps": r.gap_slugs,
            "gap_texts": [(g.slug, g.label, g.text) for g in r.gaps],
            "network_assessed": r.network_assessed,
            "lat": d.lat,
            "lon": d.lon,
        })
    return rows


GAP_COLUMNS = [
    ("state", _("State")),
    ("district", _("District")),
    ("gap", _("Gap")),
    ("explanation", _("Explanation")),
]


def gap_rows(view: CoverageView, gap: str = "") -> list[dict]:
    return [
        {"id": r.district.id, "state": r.district.state, "district": r.district.name, "gap": g.slug, "label": g.label,
         "explanation": g.text, "lat": r.district.lat, "lon": r.district.lon}
        for r in view.rows for g in r.gaps if not gap or g.slug == gap
    ]


def gap_districts(rows: list[dict]) -> list[dict]:
    """Gap rows grouped by district, for the page (the export keeps one row per gap)."""
    grouped: dict[int, dict] = {}
    for row in rows:
        entry = grouped.setdefault(row["id"], {"id": row["id"], "state": row["state"], "district": row["district"], "gaps": []})
        entry["gaps"].append((row["gap"], row["label"], row["explanation"]))
    return list(grouped.values())


ORIGIN_COLUMNS = [
    ("state", _("State")),
    ("district", _("District")),
    ("population", _("Population")),
    ("originating", _("Cases originating in period")),
    ("rescued", _("Victims rescued in period")),
]


def origin_rows(view: CoverageView) -> list[dict]:
    return [
        {"id": r.district.id, "state": r.district.state, "district": r.district.name, "population": r.district.population,
         "originating": view.count_label(r.originating), "rescued": view.count_label(r.rescued),
         "originating_sort": sort_value(view.count_label(r.originating)), "rescued_sort": sort_value(view.count_label(r.rescued)),
         "lat": r.district.lat, "lon": r.district.lon}
        for r in view.rows
    ]


def state_rows(view: CoverageView) -> list[dict]:
    """One row per state shown. `in_state` is how many districts the state has: an agency admin sees only
    some of them, and their row must not read as the state's own figure."""
    in_state = Counter(d.state_id for d in view.districts)
    return [
        {"state": s.state, "districts": s.districts, "with_ahtu": s.with_ahtu, "pct_with_ahtu": s.pct_with_ahtu,
         "with_notified_ahtu": s.with_notified_ahtu, "with_functional_ahtu": s.with_functional_ahtu,
         "shortfall": s.shortfall, "target": s.target, "with_cwc": s.with_cwc, "no_shelter_in_reach": s.no_shelter_in_reach,
         "in_state": in_state[s.state_id], "partial": s.districts < in_state[s.state_id]}
        for s in view.result.states
    ]


def suggestion_rows(view: CoverageView) -> list[dict]:
    return [
        {
            "rank": s.rank,
            "kind": s.kind,
            "state": s.district.state,
            "district": s.district.name,
            "lat": round(s.district.lat, 5),
            "lon": round(s.district.lon, 5),
            "newly_covered": view.need_label(s),
            "covered_districts": [c.name for c in s.covered_districts],
        }
        for s in view.suggestions
    ]


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return safe_cell(value)


def csv_text(columns, rows: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([key for key, _label in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _label in columns])
    return buffer.getvalue()


def geojson(columns, rows: Iterable[dict], boundaries: dict[int, dict]) -> dict:
    """A FeatureCollection: each district's outline where imported, else its centre as a point."""
    features = []
    for row in rows:
        geometry = boundaries.get(row["id"])
        if geometry is None and row.get("lat") is not None:
            geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
        features.append({
            "type": "Feature",
            "id": row["id"],
            "geometry": geometry,
            "properties": {key: row.get(key) for key, _label in columns},
        })
    return {"type": "FeatureCollection", "features": features}


def report(view: CoverageView) -> dict:
    """The `coverage_report` JSON: summary, one object per district, suggestions."""
    summary = dict(view.result.summary)
    summary.update({
        "period_months": view.period_months,
        "suggestion_unit": view.unit,
        "suggestion_weight": view.weight,
        "counts_suppressed": view.suppressed,
    })
    districts = [
        {
            "state": r["state"],
            "district": r["district"],
            "agencies": r["agencies"],
            "has_ahtu": r["ahtus"] > 0,
            "nearest_ahtu_km": r["nearest_ahtu_km"],
            "nearest_shelter_km": r["nearest_shelter_km"],
            "beds_within_radius": r["beds_within_radius"],
            "population": r["population"],
            "rescued_last_12m": r["rescued_last_12m"],
            "gaps": r["gaps"],
        }
        for r in district_rows(view)
    ]
    suggestions = [
        {key: s[key] for key in ("kind", "state", "district", "lat", "lon", "newly_covered")} for s in suggestion_rows(view)
    ]
    return {"summary": summary, "districts": districts, "suggestions": suggestions}
