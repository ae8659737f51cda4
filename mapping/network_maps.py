"""The referral network on a map (folium, offline) and as a diagram (server-rendered SVG, seeded layout).

Both take an analysis result (already redacted for the viewer when needed) and return plain data or HTML:
no database. Agencies are drawn at their registry coordinates, one layer per kind; ties as lines whose
width follows the number of referrals and whose colour follows the acceptance rate or the response time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import folium
import networkx as nx
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mapping.maps import base_map, render_page
from mapping.network import NetworkResult, Tie, sort_value

MAX_MAP_TIES = 1500
MAX_DIAGRAM_AGENCIES = 60

# One colour per kind, shared by the map, the diagram and their legends (colour-blind-safe order first).
KIND_COLOURS = {
    "ahtu": "#d55e00", "police": "#b04a00", "railway_police": "#8c6d31", "border_force": "#6b4c24",
    "cwc": "#0072b2", "dcpu": "#56b4e9", "cci": "#3a8fb7", "helpline": "#7fb8d6",
    "shelter_home": "#cc79a7", "one_stop_centre": "#e7a1c9", "ngo": "#009e73", "legal_services": "#6a3d9a",
    "hospital": "#e69f00", "magistrate": "#555555", "prosecution": "#777777", "labour_department": "#a6761d",
    "state_department": "#1b9e77", "state_aht_bureau": "#d95f02", "ministry": "#333333", "committee": "#999999",
    "training_institute": "#bbbbbb", "international_org": "#bbbbbb", "donor": "#bbbbbb",
}
GOOD, FAIR, POOR, UNKNOWN = "#1e7b47", "#d08b00", "#a4262c", "#8a979e"


def _count(singular: str, plural: str, count) -> str:
    """ngettext for a count that may be suppressed ("<5" reads as a plural)."""
    return ngettext(singular, plural, count if isinstance(count, int) else 5)


def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, "#999999")


def tie_colour(tie: Tie, colour_by: str) -> str:
    """Green / amber / red by acceptance (≥80 %, ≥50 %) or by median answer (≤24 h, ≤72 h); grey unknown."""
    if colour_by == "speed":
        hours = tie.median_response_hours
        if hours is None:
            return UNKNOWN
        return GOOD if hours <= 24 else (FAIR if hours <= 72 else POOR)
    rate = tie.acceptance_rate
    if rate is None:
        return UNKNOWN
    return GOOD if rate >= 0.8 else (FAIR if rate >= 0.5 else POOR)


def tie_width(tie: Tie) -> float:
    value = sort_value(tie.referrals)
    return round(1 + min(7, 1.6 * math.log1p(max(value, 0))), 1)


def legend_rows(colour_by: str) -> list[tuple[str, str]]:
    if colour_by == "speed":
        return [(GOOD, _("answered within 24 hours (median)")), (FAIR, _("within 72 hours")),
                (POOR, _("slower than 72 hours")), (UNKNOWN, _("no answer yet, or hidden"))]
    return [(GOOD, _("80 % or more accepted")), (FAIR, _("50–79 % accepted")), (POOR, _("under 50 % accepted")),
            (UNKNOWN, _("no answer yet, or hidden"))]


def _drawn_ties(ties: list[Tie], located: dict) -> list[Tie]:
    usable = [t for t in ties if t.source in located and t.target in located]
    usable.sort(key=lambda t: (-sort_value(t.referrals), t.source, t.target))
    return usable[:MAX_MAP_TIES]


def network_map_html(result: NetworkResult, *, colour_by: str = "acceptance", agency_url=None, ties=None,
                     agencies=None, title: str = "", places=()) -> str:
    """The full HTML document of the map (for an iframe), with local Leaflet only. `places` are
    (name, latitude, longitude) labels (state names) drawn faintly for orientation, since the map has no
    tiles unless the deployment configures a tile server."""
    agencies = result.agencies if agencies is None else agencies
    located = {a.code: a for a in agencies if a.latitude is not None and a.longitude is not None}
    if ties is None:
        # Only the busiest ties become objects (hidden small counts all rank the same).
        floor = (result.threshold - 0.5) if result.threshold else None
        rows = [r for r in result.tie_rows() if r[0] in located and r[1] in located]
        rows.sort(key=lambda r: (-(r[2] if floor is None or r[2] >= result.threshold else floor), r[0], r[1]))
        ties = result.make_ties(rows[:MAX_MAP_TIES])
        usable = len(rows)
    else:
        usable = sum(1 for t in ties if t.source in located and t.target in located)
    figure = base_map(attribution=escape(_("Agency locations: registry (PIN-code or district centre when not surveyed)")))
    drawn = _drawn_ties(ties, located)

    lines = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [
                    [located[t.source].longitude, located[t.source].latitude],
                    [located[t.target].longitude, located[t.target].latitude]]},
                "properties": {
                    "colour": tie_colour(t, colour_by), "width": tie_width(t),
                    "label": escape(_count("%(a)s → %(b)s: %(n)s referral, %(rate)s accepted, median answer %(hours)s",
                                           "%(a)s → %(b)s: %(n)s referrals, %(rate)s accepted, median answer %(hours)s", t.referrals) % {
                        "a": located[t.source].name, "b": located[t.target].name, "n": t.referrals,
                        "rate": "—" if t.acceptance_rate is None else f"{round(t.acceptance_rate * 100)}%",
                        "hours": "—" if t.median_response_hours is None else _("%(h)s h") % {"h": t.median_response_hours}}),
                },
            }
            for t in drawn
        ],
    }
    ties_layer = folium.FeatureGroup(name=escape(_("Referral ties")), show=True)
    if drawn:
        folium.GeoJson(
            lines, name="ties",
            style_function=lambda f: {"color": f["properties"]["colour"], "weight": f["properties"]["width"], "opacity": 0.75},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(ties_layer)
    ties_layer.add_to(figure)

    by_kind: dict[str, list] = {}
    for a in located.values():
        by_kind.setdefault(a.kind, []).append(a)
    from stakeholders.vocab import AgencyKind

    labels = dict(AgencyKind.choices)
    # Links go to an agency's network page, or to its registry entry when the viewer may not open the former.
    network_pages = reverse("mapping:network_agency", args=["CODE"])[: -len("CODE/")]
    for kind in sorted(by_kind, key=lambda k: (-len(by_kind[k]), k)):
        members = sorted(by_kind[kind], key=lambda a: a.code)
        layer = folium.FeatureGroup(name=escape(f"{labels.get(kind, kind)} ({len(members)})"), show=True)
        features = []
        for a in members:
            volume = sort_value(a.in_volume) + sort_value(a.out_volume)
            link = agency_url(a.code) if agency_url else ""
            popup = f"<strong>{escape(a.name)}</strong><br>{escape(a.code)} · {escape(str(labels.get(a.kind, a.kind)))}"
            popup += "<br>" + escape(_("in %(i)s · out %(o)s referrals") % {"i": a.in_volume, "o": a.out_volume})
            if link:
                label = _("Ego network") if link.startswith(network_pages) else _("Registry entry")
                popup += f'<br><a href="{escape(link)}" target="_top">{escape(label)}</a>'
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [a.longitude, a.latitude]},
                "properties": {"name": escape(a.name), "popup": popup, "radius": round(3 + min(9, 1.5 * math.log1p(max(volume, 0))), 1),
                               "fill": kind_colour(a.kind) if volume > 0 else "#ffffff", "stroke": kind_colour(a.kind)},
            })
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=5, weight=2, fill=True, fill_opacity=0.9),
            style_function=lambda f: {"radius": f["properties"]["radius"], "fillColor": f["properties"]["fill"],
                                      "color": f["properties"]["stroke"]},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(layer)
        layer.add_to(figure)
    if places:
        # Names sit in their own pane above the agencies and let clicks through to them.
        folium.map.CustomPane("place-names", z_index=650, pointer_events=False).add_to(figure)
        labels_layer = folium.FeatureGroup(name=escape(_("State names")), show=True)
        for name, latitude, longitude in places:
            folium.Marker(
                [latitude, longitude],
                icon=folium.DivIcon(html=f'<div class="network-place">{escape(name)}</div>', icon_size=(120, 16), icon_anchor=(60, 8)),
                interactive=False, pane="place-names",
            ).add_to(labels_layer)
        labels_layer.add_to(figure)
    folium.LayerControl(collapsed=True).add_to(figure)

    if located:
        lats = [a.latitude for a in located.values()]
        lons = [a.longitude for a in located.values()]
        figure.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=11)
    legend = "".join(
        f'<div><span class="swatch" style="background:{colour}"></span>{escape(text)}</div>' for colour, text in legend_rows(colour_by)
    )
    note = ""
    if usable > len(drawn):
        note = "<div>" + escape(_("Busiest %(n)s of %(total)s ties drawn.") % {"n": len(drawn), "total": usable}) + "</div>"
    # The legend folds away (closed on the small ego maps) so it never hides the network.
    figure.get_root().html.add_child(folium.Element(
        f'<details class="aht-legend network-legend"{"" if title else " open"}><summary><strong>{escape(title or _("Referral ties"))}</strong></summary>'
        f'{legend}<div>{escape(_("Line width: number of referrals. Hollow circle: no referral in the window."))}</div>{note}</details>'
        '<style>.network-legend summary { cursor: pointer; } .network-legend[open] summary { margin-bottom: 4px; }'
        '.network-place { color: #24343b; font: 700 12px/16px system-ui, sans-serif; text-align: center;'
        ' text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; white-space: nowrap; pointer-events: none; }</style>'
        # On a phone the legend starts folded.
        '<script>if (window.innerWidth < 600) { var l = document.querySelector(".network-legend"); if (l) l.removeAttribute("open"); }</script>'
    ))
    return render_page(figure)


# ---------------------------------------------------------------------------------------------------------
# The diagram: the same network without geography, laid out by networkx with a fixed seed.


def _packed_layout(graph: nx.Graph) -> dict:
    """Each connected group laid out on its own (seeded spring layout), then the groups packed in rows,
    biggest first: a sparse network of many small groups stays readable instead of being flung apart."""
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0]))
    total = sum(len(c) for c in components)
    row_width = max(1.0, math.sqrt(total) * 1.2)
    positions, x, y, row_height = {}, 0.0, 0.0, 0.0
    for members in components:
        size = math.sqrt(len(members))  # each group gets a square cell whose area follows its size
        if x > 0 and x + size > row_width:
            x, y, row_height = 0.0, y + row_height, 0.0
        sub = graph.subgraph(members)
        if len(members) == 1:
            local = {members[0]: (0.0, 0.0)}
        elif len(members) == 2:
            local = {members[0]: (-1.0, 0.0), members[1]: (1.0, 0.0)}
        else:
            local = nx.spring_layout(sub, seed=1, iterations=100)
        xs = [p[0] for p in local.values()]
        ys = [p[1] for p in local.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        inner = size * 0.8
        for node, (px, py) in local.items():
            positions[node] = (x + size * 0.1 + (px - min(xs)) / span * inner, y + size * 0.1 + (py - min(ys)) / span * inner)
        x += size
        row_height = max(row_height, size)
    return positions


@dataclass
class DiagramNode:
    code: str
    href: str
    name: str
    kind: str
    x: float
    y: float
    r: float
    colour: str
    label: bool
    title: str


@dataclass
class DiagramEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    colour: str
    title: str


@dataclass
class Diagram:
    width: int
    height: int
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    shown: int
    total: int


def diagram(result: NetworkResult, *, colour_by: str = "acceptance", agencies=None, ties=None, center: str | None = None,
            distance: dict | None = None, limit: int = MAX_DIAGRAM_AGENCIES, width: int = 960, height: int = 640,
            agency_url=lambda code: "") -> Diagram:
    """Positions for an SVG drawing. With `center` (an ego network) agencies sit on rings by distance;
    otherwise the busiest `limit` agencies (volume, then betweenness) are laid out by a seeded spring layout."""
    agencies = result.agencies if agencies is None else agencies
    ties = result.ties if ties is None else ties
    active = [a for a in agencies if sort_value(a.in_volume) + sort_value(a.out_volume) > 0 or a.code == center]
    total = len(active)
    if center is not None and len(active) > limit:
        # A hub's two-step network can hold hundreds: the centre and its busiest neighbours, nearest first.
        active.sort(key=lambda a: ((distance or {}).get(a.code, 0), -(sort_value(a.in_volume) + sort_value(a.out_volume)), a.code))
        active = active[:limit]
    if center is None and len(active) > limit:
        # The busiest agencies of the largest connected groups first, so the drawing shows ties, not dots.
        whole = nx.Graph()
        whole.add_nodes_from(a.code for a in active)
        whole.add_edges_from((t.source, t.target) for t in ties)
        rank = {}
        for index, members in enumerate(sorted(nx.connected_components(whole), key=lambda c: (-len(c), min(c)))):
            for code in members:
                rank[code] = index
        active.sort(key=lambda a: (rank.get(a.code, 0), -(sort_value(a.in_volume) + sort_value(a.out_volume)),
                                   -a.betweenness, a.code))
        active = active[:limit]
    codes = {a.code for a in active}
    shown_ties = [t for t in ties if t.source in codes and t.target in codes]

    graph = nx.Graph()
    graph.add_nodes_from(sorted(codes))
    for t in sorted(shown_ties, key=lambda t: (t.source, t.target)):
        graph.add_edge(t.source, t.target, weight=max(sort_value(t.referrals), 1))
    if not codes:
        positions = {}
    elif center is not None:
        rings: dict[int, list[str]] = {}
        for a in sorted(active, key=lambda a: (a.kind, a.code)):
            rings.setdefault((distance or {}).get(a.code, 1), []).append(a.code)
        positions = (nx.shell_layout(graph, nlist=[rings[d] for d in sorted(rings)], rotate=0.9)
                     if len(codes) > 1 else {center: (0.0, 0.0)})
        # Keep the centre in the middle of the drawing whatever the rings' shapes.
        reach = max((max(abs(x), abs(y)) for x, y in positions.values()), default=1.0) or 1.0
        positions["__corner_a"] = (-reach, -reach)
        positions["__corner_b"] = (reach, reach)
    else:
        positions = _packed_layout(graph)

    margin = 40
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    positions.pop("__corner_a", None)
    positions.pop("__corner_b", None)
    # One scale for both axes (no stretching), the drawing centred.
    scale = min((width - 2 * margin) / ((max(xs) - min(xs)) or 1.0), (height - 2 * margin) / ((max(ys) - min(ys)) or 1.0))
    offset_x = (width - (max(xs) - min(xs)) * scale) / 2
    offset_y = (height - (max(ys) - min(ys)) * scale) / 2

    def place(code):
        x, y = positions[code]
        return round(offset_x + (x - min(xs)) * scale, 1), round(offset_y + (y - min(ys)) * scale, 1)

    from stakeholders.vocab import AgencyKind

    labels = dict(AgencyKind.choices)
    by_code = {a.code: a for a in active}
    ranked = sorted(active, key=lambda a: -(sort_value(a.in_volume) + sort_value(a.out_volume)))
    labelled = {a.code for a in ranked[:15]} | ({center} if center else set())
    nodes = []
    for a in sorted(active, key=lambda a: a.code):
        x, y = place(a.code)
        volume = sort_value(a.in_volume) + sort_value(a.out_volume)
        nodes.append(DiagramNode(
            code=a.code, href=agency_url(a.code), name=a.name, kind=a.kind, x=x, y=y, r=round(5 + min(13, 2.2 * math.log1p(max(volume, 0))), 1),
            colour=kind_colour(a.kind), label=a.code in labelled,
            title=_("%(name)s (%(kind)s): %(i)s referrals in, %(o)s out") % {
                "name": a.name, "kind": labels.get(a.kind, a.kind), "i": a.in_volume, "o": a.out_volume},
        ))
    edges = []
    for t in shown_ties:
        (x1, y1), (x2, y2) = place(t.source), place(t.target)
        # Stop the line at the receiving circle's edge so the arrowhead stays visible.
        radius = next(n.r for n in nodes if n.code == t.target) if len(nodes) < 200 else 8
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        x2, y2 = x2 - (x2 - x1) / length * (radius + 2), y2 - (y2 - y1) / length * (radius + 2)
        edges.append(DiagramEdge(
            x1=x1, y1=y1, x2=round(x2, 1), y2=round(y2, 1), width=tie_width(t), colour=tie_colour(t, colour_by),
            title=_count("%(a)s → %(b)s: %(n)s referral", "%(a)s → %(b)s: %(n)s referrals", t.referrals) % {
                "a": by_code[t.source].name, "b": by_code[t.target].name, "n": t.referrals},
        ))
    edges.sort(key=lambda e: e.width)
    return Diagram(width=width, height=height, nodes=nodes, edges=edges, shown=len(active), total=total)
