"""Folium figures for the coverage pages: the coverage map, the gap map and the case-origin map.

Built from plain rows (`mapping.coverage` results, agency points, boundary geometries) with the
one helper, `mapping.maps`: no CDN asset, no folium feature that pulls one (no Choropleth, whose
branca legend loads d3; no Icon, which needs Font Awesome). Districts are a `GeoJson` layer styled
per class, with an HTML legend; districts without an imported outline are circles at their centre.
Agencies are one clustered layer per kind whose points travel as one JavaScript array each, so
10,000 agencies are a few hundred kilobytes, not 10,000 Marker objects.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import folium
import numpy as np
from branca.element import Element
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from folium.elements import JSCSSMixin, MacroElement
from folium.map import Layer
from folium.template import Template

from mapping import coverage
from mapping.coverage import AgencyPoint, DistrictCoverage, Suggestion
from mapping.maps import ASSET, INDIA_CENTRE, OfflineFastMarkerCluster, base_map
from stakeholders.vocab import RESIDENTIAL_KINDS, AgencyKind

COVERAGE_MAP_CSS = ("aht_coverage_map_css", ASSET + "css/coverage_map.css")

# ColorBrewer RdYlBu (colour-blind safe), best first. "No data" is a pale fill with a dashed edge.
GOOD_TO_BAD = ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"]
NO_DATA = "#f4f4f4"
NO_DATA_EDGE = "#8a8a8a"

KIND_STYLE = {  # kind -> (colour, letter on the pin, short plural label)
    AgencyKind.AHTU: ("#b2182b", "A", gettext_lazy("AHTUs")),
    AgencyKind.SHELTER_HOME: ("#2166ac", "S", gettext_lazy("Shelter homes")),
    AgencyKind.CHILD_CARE_INSTITUTION: ("#762a83", "H", gettext_lazy("Child care institutions")),
    AgencyKind.ONE_STOP_CENTRE: ("#1b7837", "O", gettext_lazy("One Stop Centres")),
    AgencyKind.CWC: ("#e08214", "C", gettext_lazy("CWCs")),
    AgencyKind.DCPU: ("#8c510a", "D", gettext_lazy("DCPUs")),
    AgencyKind.NGO: ("#35978f", "N", gettext_lazy("NGOs")),
    AgencyKind.POLICE: ("#404040", "P", gettext_lazy("Police")),
    AgencyKind.LEGAL_SERVICES: ("#5aae61", "L", gettext_lazy("Legal services")),
    AgencyKind.HOSPITAL: ("#c51b7d", "+", gettext_lazy("Hospitals")),
}
OTHER_KIND_STYLE = ("#6f6f6f", "•", None)
SHOWN_KINDS = frozenset(
    {AgencyKind.AHTU, AgencyKind.SHELTER_HOME, AgencyKind.CHILD_CARE_INSTITUTION, AgencyKind.ONE_STOP_CENTRE,
     AgencyKind.CWC, AgencyKind.DCPU}
)


def kind_style(kind: str):
    colour, letter, label = KIND_STYLE.get(kind, OTHER_KIND_STYLE)
    if label is None:
        label = dict(AgencyKind.choices).get(kind, kind)
    return colour, letter, str(label)


# ---------------------------------------------------------------------------------------------
# Indicators: what colours the districts


@dataclass(frozen=True)
class Indicator:
    slug: str
    label: str
    classes: list[str]  # legend labels, best first, one per colour
    no_data: str  # what "no data" means for this indicator
    classify: Callable[[DistrictCoverage], tuple[int | None, str]]  # -> (class index or None, value shown)


def _distance_classes(radius_km: float) -> tuple[list[float], list[str]]:
    limits = [radius_km / 4, radius_km / 2, radius_km, radius_km * 2]
    fmt = lambda v: f"{v:,.0f}"  # noqa: E731
    labels = [
        _("up to %(km)s km") % {"km": fmt(limits[0])},
        _("%(a)s–%(b)s km") % {"a": fmt(limits[0]), "b": fmt(limits[1])},
        _("%(a)s–%(b)s km") % {"a": fmt(limits[1]), "b": fmt(limits[2])},
        _("%(a)s–%(b)s km") % {"a": fmt(limits[2]), "b": fmt(limits[3])},
        _("over %(km)s km, or none") % {"km": fmt(limits[3])},
    ]
    return limits, labels


def _by_distance(attribute: str, radius_km: float):
    limits, _labels = _distance_classes(radius_km)

    def classify(row: DistrictCoverage):
        if not row.district.located:
            return None, "—"
        km = getattr(row, attribute)
        if km is None:
            return 4, _("none")
        index = next((i for i, limit in enumerate(limits) if km <= limit), 4)
        return index, f"{km:,.0f} km"

    return classify


def _ahtu_class(row: DistrictCoverage):
    if row.ahtu_functional:
        return 0, _("AHTU, functional")
    if row.ahtu_notified:
        return 1, _("AHTU, notified")
    if row.has_ahtu:
        return 2, _("AHTU, status not reported")
    return 4, _("no AHTU")


def _beds_class(row: DistrictCoverage):
    value = row.beds_per_100k
    if value is None:
        return None, "—"
    shown = f"{value:,.1f}"
    if value >= 25:
        return 0, shown
    if value >= 10:
        return 1, shown
    if value >= 5:
        return 2, shown
    if value > 0:
        return 3, shown
    return 4, shown


def _gaps_class(row: DistrictCoverage):
    count = len(row.gaps)
    return min(count, 4), str(count)


def indicators(radius_km: float) -> dict[str, Indicator]:
    _limits, distance_labels = _distance_classes(radius_km)
    radius = f"{radius_km:,.0f}"
    return {
        "ahtu": Indicator(
            "ahtu", _("Anti-Human Trafficking Unit"),
            [_("AHTU, functional"), _("AHTU, notified"), _("AHTU, status not reported"), "", _("No AHTU")],
            _("no centre known"), _ahtu_class,
        ),
        "women_shelter_km": Indicator(
            "women_shelter_km", _("Nearest shelter with free beds for women"), distance_labels,
            _("no centre known"), _by_distance("nearest_women_shelter_km", radius_km),
        ),
        "child_shelter_km": Indicator(
            "child_shelter_km", _("Nearest shelter with free beds for children"), distance_labels,
            _("no centre known"), _by_distance("nearest_child_shelter_km", radius_km),
        ),
        "ahtu_km": Indicator(
            "ahtu_km", _("Nearest AHTU"), distance_labels, _("no centre known"), _by_distance("nearest_ahtu_km", radius_km),
        ),
        "beds_per_100k": Indicator(
            "beds_per_100k", _("Shelter beds within %(radius)s km per 100,000 people") % {"radius": radius},
            [_("25 or more"), _("10–25"), _("5–10"), _("under 5"), _("none")],
            _("population not imported"), _beds_class,
        ),
        "gaps": Indicator(
            "gaps", _("Number of gaps"), [_("none"), _("1"), _("2"), _("3"), _("4 or more")],
            _("no data"), _gaps_class,
        ),
    }


INDICATOR_CHOICES = [
    ("ahtu", gettext_lazy("AHTU present")),
    ("women_shelter_km", gettext_lazy("Shelter for women: distance")),
    ("child_shelter_km", gettext_lazy("Shelter for children: distance")),
    ("ahtu_km", gettext_lazy("Nearest AHTU: distance")),
    ("beds_per_100k", gettext_lazy("Beds in reach per 100,000")),
    ("gaps", gettext_lazy("Number of gaps")),
]


# ---------------------------------------------------------------------------------------------
# Building blocks


@dataclass(frozen=True)
class Links:
    """Where links in popups go. Pages use paths (opened in the page around the map); a standalone
    export uses absolute URLs of the deployment."""

    agency_prefix: str  # + "<pk>/" is an agency page
    district_agencies: str  # + "<district pk>" lists a district's agencies
    target: str = "_top"


class CoverageMapAssets(JSCSSMixin):
    """Our map stylesheet (pins, legend, clusters), resolved like every other asset by mapping.maps."""

    default_js: list = []
    default_css = [COVERAGE_MAP_CSS]
    _template = Template("")


class PopupText(MacroElement):
    """A popup bound with plain Leaflet: folium.Popup renders through branca's Html, which needs jQuery."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {maxWidth: {{ this.max_width }}});
        {% endmacro %}"""
    )

    def __init__(self, html_text: str, max_width: int = 320):
        super().__init__()
        self._name = "PopupText"
        self.html = html_text
        self.max_width = max_width


class _RawText:
    """Stands in for a jinja template and returns its text untouched."""

    def __init__(self, text: str):
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class RawScript(Element):
    """Data written into the page's script once, as is.

    folium re-parses every element's rendered script as a jinja template; a megabyte of GeoJSON then
    costs about a second of lexing. Layers here reference data defined by a RawScript instead.
    """

    def __init__(self, text: str):
        super().__init__()
        self._name = "RawScript"
        self._template = _RawText(text)


def define_data(figure, data) -> str:
    """Write `data` once as a JavaScript variable of the figure; returns the variable's name."""
    element = RawScript("")
    name = f"aht_data_{element._id}"
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    element._template = _RawText(f"var {name} = {payload};")
    figure.get_root().script.add_child(element, name=name)
    return name


class DataLayer(Layer):
    """A GeoJSON layer (toggleable in the layer list) drawn from a data variable, styled from a small
    table of styles (feature.properties.k), with tooltips and popups from feature properties.
    Points become circle markers (radius in pixels, feature.properties.r if set) or circles (metres)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_var }}, {
            style: function (f) { return {{ this.styles|tojson }}[f.properties.k || 0]; },
            pointToLayer: function (f, latlng) {
                var s = Object.assign({}, {{ this.styles|tojson }}[f.properties.k || 0]);
                {%- if this.circle_metres %}
                s.radius = {{ this.circle_metres }};
                return L.circle(latlng, s);
                {%- else %}
                if (f.properties.r) { s.radius = f.properties.r; }
                return L.circleMarker(latlng, s);
                {%- endif %}
            },
            interactive: {{ this.interactive|tojson }},
            {%- if this.interactive %}
            onEachFeature: function (f, layer) {
                if (f.properties.tip) { layer.bindTooltip(f.properties.tip, {sticky: true}); }
                if (f.properties.popup) { layer.bindPopup(f.properties.popup, {maxWidth: 320}); }
                layer.on("mouseover", function () { this.setStyle({weight: 2.5, color: "#111"}); });
                layer.on("mouseout", function () { {{ this.get_name() }}.resetStyle(this); });
            },
            {%- endif %}
        });
        {% endmacro %}
        """
    )

    def __init__(self, figure, features, *, styles, name=None, show=True, control=True, interactive=True, circle_metres=None):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "DataLayer"
        self.data_var = define_data(figure, {"type": "FeatureCollection", "features": features})
        self.styles = styles
        self.interactive = interactive
        self.circle_metres = circle_metres


class KindCluster(OfflineFastMarkerCluster):
    """One kind of agency: a marker cluster fed from one data array, added in bulk (chunked in the browser)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = {{ this.data_var }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                {%- if this.icon_create_function is not none %}
                cluster.options.iconCreateFunction = {{ this.icon_create_function.strip() }};
                {%- endif %}
                var markers = new Array(data.length);
                for (var i = 0; i < data.length; i++) { markers[i] = callback(data[i]); }
                cluster.addLayers(markers);
                return cluster;
            })();
        {% endmacro %}"""
    )

    def __init__(self, figure, rows, **kwargs):
        super().__init__([], **kwargs)
        self.data_var = define_data(figure, rows)


def _e(text) -> str:
    """HTML-escaped, and safe inside the JavaScript template literals folium wraps tooltips in."""
    return html.escape(str(text), quote=True).replace("`", "&#96;").replace("$", "&#36;")


def _agency_callback(kind: str, links: Links) -> str:
    colour, letter, label = kind_style(kind)
    return f"""function (row) {{
        var icon = L.divIcon({{className: 'aht-pin', html: '<span style="background:{colour}">{_e(letter)}</span>', iconSize: [18, 18], iconAnchor: [9, 9]}});
        var marker = L.marker([row[0], row[1]], {{icon: icon, alt: {_js(label)}}});
        var beds = row[4] === null ? '' : '<br>' + {_js(_('Free beds'))} + ': ' + row[4] + (row[5] === null ? '' : ' / ' + row[5]);
        marker.bindTooltip(row[3]);
        marker.bindPopup('<strong>' + row[3] + '</strong><br>' + {_js(label)} + beds + '<br><a target="{links.target}" href="{_e(links.agency_prefix)}' + row[2] + '/">' + {_js(_('Open the agency page'))} + '</a>');
        return marker;
    }}"""


def _cluster_icon(kind: str) -> str:
    colour, _letter, _label = kind_style(kind)
    return f"""function (cluster) {{
        var n = cluster.getChildCount();
        var size = n < 10 ? 26 : n < 100 ? 32 : 40;
        return L.divIcon({{html: '<span style="background:{colour}">' + n + '</span>', className: 'aht-cluster', iconSize: [size, size]}});
    }}"""


def _js(text) -> str:
    return json.dumps(str(text)).replace("</", "<\\/")


def add_agencies(figure, agencies: list[AgencyPoint], links: Links, *, kinds=None, shown=SHOWN_KINDS) -> list[str]:
    """One toggleable cluster per kind present; returns the kinds drawn (for the legend)."""
    chosen = [a for a in agencies if a.located and (kinds is None or a.kind in kinds)]
    lats = np.round(np.array([a.lat for a in chosen], dtype=float), 5).tolist()
    lons = np.round(np.array([a.lon for a in chosen], dtype=float), 5).tolist()
    by_kind: dict[str, list] = {}
    for agency, lat, lon in zip(chosen, lats, lons):
        by_kind.setdefault(agency.kind, []).append(
            [lat, lon, agency.id, _e(agency.name),
             agency.beds_available if agency.residential else None, agency.beds_total if agency.residential else None]
        )
    order = [k for k in KIND_STYLE if k in by_kind] + sorted(k for k in by_kind if k not in KIND_STYLE)
    for kind in order:
        colour, letter, label = kind_style(kind)
        KindCluster(
            figure,
            by_kind[kind],
            callback=_agency_callback(kind, links),
            name=f'<span class="aht-key" style="background:{colour}">{_e(letter)}</span> {_e(label)} ({len(by_kind[kind]):,})',
            show=kind in shown,
            icon_create_function=_cluster_icon(kind),
            options={"chunkedLoading": True, "showCoverageOnHover": False, "maxClusterRadius": 50},
        ).add_to(figure)
    return order


class PopupLabels:
    """The words of a district popup, translated once per map rather than once per district."""

    def __init__(self):
        self.yes, self.no = _("yes"), _("no")
        self.ahtu, self.cwc = _("AHTU: %(v)s"), _("CWC: %(v)s")
        self.women = _("shelter for women with free beds: %(km)s km")
        self.beds = _("beds within reach: %(n)s")
        self.population = _("population: %(n)s")
        self.agencies = _e(_("Agencies in this district"))


def _district_popup(row: DistrictCoverage, value_label: str, value: str, links: Links, words: PopupLabels) -> str:
    d = row.district
    parts = [f"<strong>{_e(d.name)}</strong> <span class='aht-muted'>{_e(d.state)}</span>"]
    if value_label:
        parts.append(f"{_e(value_label)}: <strong>{_e(value)}</strong>")
    facts = [
        words.ahtu % {"v": words.yes if row.has_ahtu else words.no},
        words.cwc % {"v": words.yes if row.has_cwc else words.no},
    ]
    if row.nearest_women_shelter_km is not None:
        facts.append(words.women % {"km": f"{row.nearest_women_shelter_km:,.0f}"})
    facts.append(words.beds % {"n": f"{row.beds_within_radius:,}"})
    if d.population:
        facts.append(words.population % {"n": f"{d.population:,}"})
    parts.append(_e("; ".join(facts)))
    if row.gaps:
        parts.append("<ul class='aht-gaps'>" + "".join(f"<li>{_e(g.text)}</li>" for g in row.gaps) + "</ul>")
    parts.append(f"<a target='{links.target}' href='{_e(links.district_agencies)}{d.id}'>{words.agencies}</a>")
    return "<br>".join(parts)


def add_districts(
    figure,
    rows: list[DistrictCoverage],
    boundaries: dict[int, dict],
    *,
    name: str,
    colour_of: Callable[[DistrictCoverage], tuple[str | None, str]],
    popup_of: Callable[[DistrictCoverage], str],
    show: bool = True,
    fill_opacity: float = 0.75,
) -> None:
    """Districts as outlines where imported, else as circles at their centres, in one layer.

    `colour_of(row)` gives (fill colour or None for "no data", tooltip text)."""
    styles = [{"fillColor": NO_DATA, "color": NO_DATA_EDGE, "weight": 1, "dashArray": "3 3", "fillOpacity": 0.9, "radius": 7}]
    style_index: dict[str, int] = {}
    features = []
    for row in rows:
        d = row.district
        colour, tip = colour_of(row)
        if colour and colour not in style_index:
            style_index[colour] = len(styles)
            styles.append({"fillColor": colour, "color": "#555", "weight": 0.6, "fillOpacity": fill_opacity, "radius": 7})
        properties = {"k": style_index.get(colour, 0), "tip": _e(f"{d.name} ({d.state}): {tip}"), "popup": popup_of(row)}
        if d.id in boundaries:
            features.append({"type": "Feature", "id": d.id, "properties": properties, "geometry": boundaries[d.id]})
        elif d.located:
            features.append({
                "type": "Feature", "id": d.id, "properties": properties,
                "geometry": {"type": "Point", "coordinates": [round(d.lon, 4), round(d.lat, 4)]},
            })
    DataLayer(figure, features, styles=styles, name=name, show=show).add_to(figure)


def add_state_outlines(figure, outlines: dict[int, dict]) -> None:
    if not outlines:
        return
    features = [{"type": "Feature", "id": sid, "properties": {}, "geometry": geometry} for sid, geometry in outlines.items()]
    DataLayer(
        figure, features, styles=[{"fill": False, "color": "#333", "weight": 1.4, "opacity": 0.8}],
        name=_("State borders"), interactive=False,
    ).add_to(figure)


def add_rings(figure, points: list[AgencyPoint], *, radius_km: float, name: str, colour: str, show: bool) -> None:
    """Reach rings: one circle of `radius_km` around each point, in one layer."""
    if not points:
        return
    features = [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [round(a.lon, 4), round(a.lat, 4)]}}
        for a in points
    ]
    DataLayer(
        # Outlines only: a fill, however faint, stacks where rings overlap and shifts the districts' colours.
        figure, features, styles=[{"color": colour, "weight": 1, "opacity": 0.6, "fill": False}],
        name=name, show=show, interactive=False, circle_metres=round(radius_km * 1000),
    ).add_to(figure)


def legend_html(title: str, entries: list[tuple[str, str, str]], notes: list[str] = ()) -> str:
    """An HTML legend (no d3): entries are (swatch css, letter, label)."""
    items = "".join(
        f'<li><span class="swatch" style="{style}">{_e(letter)}</span>{_e(label)}</li>' for style, letter, label in entries if label
    )
    note = "".join(f"<p>{_e(n)}</p>" for n in notes)
    return (
        f'<details class="aht-legend" open><summary>{_e(title)}</summary><ul>{items}</ul>{note}</details>'
        "<script>if (window.innerWidth < 700 || window.innerHeight < 500) { document.querySelectorAll('details.aht-legend').forEach(function (d) { d.open = false; }); }</script>"
    )


def _swatch(colour: str | None) -> str:
    if colour is None:
        return f"background:{NO_DATA};border:1px dashed {NO_DATA_EDGE}"
    return f"background:{colour}"


def _finish(figure, rows, boundaries, extra_points=()) -> None:
    lats, lons = [], []
    for row in rows:
        d = row.district
        geometry = boundaries.get(d.id)
        if geometry:
            polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
            for polygon in polygons:
                lons.extend(p[0] for p in polygon[0])
                lats.extend(p[1] for p in polygon[0])
        elif d.located:
            lats.append(d.lat)
            lons.append(d.lon)
    for lat, lon in extra_points:
        lats.append(lat)
        lons.append(lon)
    if lats:
        figure.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(10, 10))
    folium.LayerControl(collapsed=True).add_to(figure)
    figure.get_root().html.add_child(
        folium.Element(
            "<script>window.addEventListener('load', function () { if (window.innerWidth >= 900 && window.innerHeight >= 600) {"
            " var c = document.querySelector('.leaflet-control-layers'); if (c) c.classList.add('leaflet-control-layers-expanded'); } });</script>"
        )
    )


def _new_figure(attribution: str):
    figure = base_map(location=INDIA_CENTRE, zoom_start=5, attribution=attribution)
    # Without a tile layer Leaflet has no zoom range, and marker clusters refuse to start without one.
    figure.options.setdefault("max_zoom", 18)
    figure.options.setdefault("min_zoom", 3)
    CoverageMapAssets().add_to(figure)
    # A map opened on its own would otherwise ask the server for /favicon.ico.
    figure.get_root().header.add_child(folium.Element('<link rel="icon" href="data:,">'), name="aht_no_favicon")
    return figure


def attribution_text(boundary_sources: list[str]) -> str:
    parts = [_("District centres: India Post directory (GODL-India)")]
    if boundary_sources:
        parts.append(_("Boundaries: %(sources)s") % {"sources": "; ".join(boundary_sources)})
    parts.append(_("Agencies: this registry"))
    return _e(" · ".join(parts))


# ---------------------------------------------------------------------------------------------
# The three maps


def coverage_figure(
    rows: list[DistrictCoverage],
    agencies: list[AgencyPoint],
    *,
    boundaries: dict[int, dict],
    state_outlines: dict[int, dict],
    indicator: str,
    radius_km: float,
    links: Links,
    attribution: str,
    rings: bool = False,
):
    """Districts coloured by an indicator, agencies by kind, reach rings, legend."""
    spec = indicators(radius_km).get(indicator) or indicators(radius_km)["ahtu"]
    figure = _new_figure(attribution)

    def colour_of(row):
        index, value = spec.classify(row)
        return (None if index is None else GOOD_TO_BAD[index]), f"{spec.label}: {value}"

    words = PopupLabels()

    def popup_of(row):
        _index, value = spec.classify(row)
        return _district_popup(row, spec.label, value, links, words)

    add_districts(figure, rows, boundaries, name=_("Districts: %(indicator)s") % {"indicator": spec.label},
                  colour_of=colour_of, popup_of=popup_of)
    add_state_outlines(figure, state_outlines)
    shelters = [a for a in agencies if a.residential and a.free_beds > 0 and a.located]
    ahtus = [a for a in agencies if a.kind == AgencyKind.AHTU and a.located]
    radius = f"{radius_km:,.0f}"
    add_rings(figure, shelters, radius_km=radius_km, name=_("Reach: %(km)s km around shelters with free beds") % {"km": radius},
              colour="#2166ac", show=rings)
    add_rings(figure, ahtus, radius_km=radius_km, name=_("Reach: %(km)s km around AHTUs") % {"km": radius},
              colour="#b2182b", show=False)
    kinds = add_agencies(figure, agencies, links)
    entries = [(_swatch(GOOD_TO_BAD[i]), "", label) for i, label in enumerate(spec.classes)]
    entries.append((_swatch(None), "", _("No data: %(why)s") % {"why": spec.no_data}))
    entries += [(f"background:{kind_style(k)[0]};color:#fff", kind_style(k)[1], kind_style(k)[2]) for k in kinds if k in SHOWN_KINDS]
    notes = [
        _("Other kinds of agency and reach rings: switch them on in the layer list."),
        _("Distances are straight lines from district centres; reach is %(km)s km.") % {"km": radius},
        _("Districts without an imported outline are drawn as circles at their centre."),
    ]
    figure.get_root().html.add_child(folium.Element(legend_html(spec.label, entries, notes)))
    _finish(figure, rows, boundaries)
    return figure


def gaps_figure(
    rows: list[DistrictCoverage],
    suggestions: list[Suggestion],
    existing: list[AgencyPoint],
    *,
    boundaries: dict[int, dict],
    state_outlines: dict[int, dict],
    gap: str,
    radius_km: float,
    links: Links,
    attribution: str,
    newly_label: Callable[[Suggestion], str],
):
    """Gap districts highlighted (all gaps, or one kind), suggested sites numbered with their reach."""
    figure = _new_figure(attribution)
    label = str(coverage.GAP_LABELS[gap]) if gap in coverage.GAP_LABELS else _("Any gap")
    ramp = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]  # YlOrRd: more gaps, darker

    def colour_of(row):
        if gap in coverage.NETWORK_GAPS and not row.network_assessed:
            return None, _("not assessed")
        if gap in coverage.GAP_LABELS:
            return ("#e31a1c" if row.has_gap(gap) else "#f7f7f7"), (_("yes") if row.has_gap(gap) else _("no"))
        return (ramp[min(len(row.gaps), 4)] if row.gaps else "#f7f7f7"), ", ".join(g.label for g in row.gaps) or _("no gap")

    words = PopupLabels()
    add_districts(figure, rows, boundaries, name=_("Districts: %(gap)s") % {"gap": label}, colour_of=colour_of,
                  popup_of=lambda row: _district_popup(row, "", "", links, words), fill_opacity=0.8)
    add_state_outlines(figure, state_outlines)
    unit = suggestions[0].kind if suggestions else coverage.UNIT_AHTU
    kinds = {AgencyKind.AHTU} if unit == coverage.UNIT_AHTU else set(RESIDENTIAL_KINDS)
    add_agencies(figure, existing, links, kinds=kinds, shown=kinds)
    if suggestions:
        group = folium.FeatureGroup(name=_("Suggested sites (%(n)s)") % {"n": len(suggestions)})
        for s in suggestions:
            d = s.district
            what = _("a new AHTU") if s.kind == coverage.UNIT_AHTU else _("a new shelter")
            popup = (
                f"<strong>{_e(_('Suggestion %(n)s') % {'n': s.rank})}</strong>: {_e(what)} "
                f"{_e(_('at the centre of %(district)s (%(state)s)') % {'district': d.name, 'state': d.state})}<br>"
                f"{_e(_('Newly covers: %(need)s') % {'need': newly_label(s)})}<br>"
                f"<span class='aht-muted'>{_e(', '.join(c.name for c in s.covered_districts[:12]))}"
                f"{'…' if len(s.covered_districts) > 12 else ''}</span>"
            )
            folium.Circle([d.lat, d.lon], radius=radius_km * 1000, color="#54278f", weight=2, dash_array="6 4",
                          fill=True, fill_opacity=0.05, interactive=False).add_to(group)
            marker = folium.Marker(
                [d.lat, d.lon],
                icon=folium.DivIcon(html=f'<span class="aht-suggestion">{s.rank}</span>', icon_size=(26, 26), icon_anchor=(13, 13)),
                tooltip=_e(_("Suggestion %(n)s: %(district)s") % {"n": s.rank, "district": d.name}),
            )
            PopupText(popup).add_to(marker)
            marker.add_to(group)
        group.add_to(figure)
    if gap in coverage.GAP_LABELS:
        entries = [(_swatch("#e31a1c"), "", label), (_swatch("#f7f7f7"), "", _("No such gap"))]
    else:
        entries = [(_swatch("#f7f7f7"), "", _("No gap"))] + [
            (_swatch(ramp[i]), "", n) for i, n in ((1, _("1 gap")), (2, _("2 gaps")), (3, _("3 gaps")), (4, _("4 or more")))
        ]
    if gap in coverage.NETWORK_GAPS and any(not row.network_assessed for row in rows):
        entries.append((_swatch(None), "", _("Not assessed (referral data you may not count)")))
    entries.append(("background:#54278f;color:#fff;border-radius:50%", "1", _("Suggested site, with its reach")))
    figure.get_root().html.add_child(folium.Element(legend_html(label, entries, [
        _("Suggestions are district centres chosen one at a time to newly cover the most need within %(km)s km.") % {"km": f"{radius_km:,.0f}"}
    ])))
    _finish(figure, rows, boundaries, extra_points=[(s.district.lat, s.district.lon) for s in suggestions])
    return figure


def origins_figure(
    rows: list[DistrictCoverage],
    *,
    boundaries: dict[int, dict],
    state_outlines: dict[int, dict],
    measure: str,
    count_label: Callable[[int], object],
    threshold: int | None,
    links: Links,
    attribution: str,
):
    """Cases originating in (or victims rescued in) each district as bubbles: counts are never shaded as
    a choropleth, and a count below the threshold is drawn as one fixed small bubble labelled "<5"."""
    figure = _new_figure(attribution)
    value_of = (lambda r: r.originating) if measure == "originating" else (lambda r: r.rescued)
    title = _("Cases originating here") if measure == "originating" else _("Victims rescued here")
    add_districts(
        figure, rows, boundaries, name=_("Districts"), colour_of=lambda row: ("#eef2f3", f"{title}: {count_label(value_of(row))}"),
        popup_of=lambda row: f"<strong>{_e(row.district.name)}</strong> <span class='aht-muted'>{_e(row.district.state)}</span><br>"
        f"{_e(title)}: <strong>{_e(count_label(value_of(row)))}</strong>",
        fill_opacity=0.5,
    )
    add_state_outlines(figure, state_outlines)
    largest = max((value_of(r) for r in rows), default=0) or 1
    bubbles = []
    for row in rows:
        n = value_of(row)
        d = row.district
        if not n or not d.located:
            continue
        small = threshold is not None and n < threshold
        shown = count_label(n)
        bubbles.append({
            "type": "Feature", "id": d.id,
            "geometry": {"type": "Point", "coordinates": [round(d.lon, 4), round(d.lat, 4)]},
            "properties": {
                "r": 6 if small else round(6 + 16 * math.sqrt(n / largest), 1), "k": 1 if small else 0,
                "tip": _e(f"{d.name}: {shown}"),
                "popup": f"<strong>{_e(d.name)}</strong> ({_e(d.state)})<br>{_e(title)}: <strong>{_e(shown)}</strong>",
            },
        })
    if bubbles:
        DataLayer(
            figure, bubbles, name=title,
            styles=[
                {"color": "#7a0177", "weight": 1, "fillColor": "#c51b8a", "fillOpacity": 0.6},
                {"color": "#7a0177", "weight": 1, "fillColor": "#c51b8a", "fillOpacity": 0.35},
            ],
        ).add_to(figure)
    entries = [("background:#c51b8a;border-radius:50%", "", _("Bubble area grows with the count"))]
    notes = [_("Counts, not rates: compare with population before drawing conclusions.")]
    if threshold is not None:
        entries.append(("background:#c51b8a;opacity:.5;border-radius:50%", "", _("1 to %(n)s: shown as “<%(t)s”") % {"n": threshold - 1, "t": threshold}))
        notes.append(_("Small counts are hidden so that no person can be recognised."))
    figure.get_root().html.add_child(folium.Element(legend_html(title, entries, notes)))
    _finish(figure, rows, boundaries)
    return figure
