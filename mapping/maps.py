"""One helper for every map: folium figures whose scripts and styles are served by this app.

Asset URLs are written with a placeholder prefix that is resolved when the figure is rendered:
to our static URLs for pages (`render_page`), or inlined into one file for `export_map`
(`render_standalone`). folium's module-level asset lists are never touched; our subclasses carry
their own, fixed at import. No tile layer is drawn unless MAP_TILE_URL is set.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import folium
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from folium.plugins import FastMarkerCluster, MarkerCluster

ASSET = "aht-asset://"
INDIA_CENTRE = (22.5, 80.5)

LEAFLET_JS = ("leaflet", ASSET + "vendor/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", ASSET + "vendor/leaflet/leaflet.css")
MAP_CSS = ("aht_map_css", ASSET + "css/map.css")
CLUSTER_JS = ("markerclusterjs", ASSET + "vendor/leaflet.markercluster/leaflet.markercluster.js")
CLUSTER_CSS = [
    ("markerclustercss", ASSET + "vendor/leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", ASSET + "vendor/leaflet.markercluster/MarkerCluster.Default.css"),
]


class OfflineMap(folium.Map):
    """folium.Map without CDN assets (no Bootstrap, jQuery or Font Awesome: our maps don't need them)."""

    default_js = [LEAFLET_JS]
    default_css = [LEAFLET_CSS, MAP_CSS]


class OfflineMarkerCluster(MarkerCluster):
    default_js = [CLUSTER_JS]
    default_css = CLUSTER_CSS


class OfflineFastMarkerCluster(FastMarkerCluster):
    """Thousands of points as one JavaScript array, clustered in the browser (not N Marker objects)."""

    default_js = [CLUSTER_JS]
    default_css = CLUSTER_CSS


def base_map(*, location=INDIA_CENTRE, zoom_start=5, attribution: str = "") -> OfflineMap:
    """An empty map; a tile layer only if the deployment configured one."""
    figure = OfflineMap(location=list(location), zoom_start=zoom_start, tiles=None, control_scale=True, prefer_canvas=True)
    if settings.MAP_TILE_URL:
        folium.TileLayer(
            tiles=settings.MAP_TILE_URL, attr=settings.MAP_TILE_ATTRIBUTION or "tiles", name="Base map"
        ).add_to(figure)
    if attribution:
        figure.get_root().html.add_child(
            folium.Element(f'<div class="aht-attribution">{attribution}</div>')
        )
    return figure


def render_page(figure: folium.Map) -> str:
    """The figure's full HTML document with asset URLs pointing at our static files (for an iframe)."""
    html = figure.get_root().render()
    return re.sub(re.escape(ASSET) + r"([^\"')\s]+)", lambda m: static(m.group(1)), html)


def render_standalone(figure: folium.Map) -> str:
    """One self-contained HTML file: every script and stylesheet inlined; opens with no network."""
    html = figure.get_root().render()
    html = re.sub(
        r'<script src="' + re.escape(ASSET) + r'([^"]+)"></script>',
        lambda m: "<script>" + _asset_text(m.group(1)).replace("</script", "<\\/script") + "</script>",
        html,
    )
    html = re.sub(
        r'<link rel="stylesheet" href="' + re.escape(ASSET) + r'([^"]+)"\s*/?>',
        lambda m: "<style>" + _inline_css_images(_asset_text(m.group(1)), m.group(1)) + "</style>",
        html,
    )
    return html


def external_urls(html: str) -> list[str]:
    """Every http(s) resource the document would fetch (scripts, stylesheets, images, CSS urls, tiles).

    Plain links a reader may click (Leaflet's own credit line) are not fetches and are not counted.
    """
    patterns = [
        r'<script[^>]*\ssrc\s*=\s*["\'](https?://[^"\']+)',
        r'<link[^>]*\shref\s*=\s*["\'](https?://[^"\']+)',
        r'<img[^>]*\ssrc\s*=\s*["\'](https?://[^"\']+)',
        r'url\(\s*["\']?(https?://[^)"\']+)',
        r'L\.tileLayer\(\s*["\'](https?://[^"\']+)',
    ]
    return [url for pattern in patterns for url in re.findall(pattern, html)]


def _asset_path(relative: str) -> Path:
    found = finders.find(relative)
    if not found:
        raise FileNotFoundError(f"Map asset {relative} is not among the static files.")
    return Path(found)


def _asset_text(relative: str) -> str:
    return _asset_path(relative).read_text(encoding="utf-8")


def _inline_css_images(css: str, relative: str) -> str:
    """Leaflet's CSS points at images/…png next to it; a standalone file carries them as data URIs."""
    base = _asset_path(relative).parent

    def replace(match):
        target = match.group(1)
        if target.startswith(("data:", "http:", "https:", "#")):
            return match.group(0)
        path = base / target
        if not path.exists():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'url("data:image/{path.suffix.lstrip(".")};base64,{data}")'

    return re.sub(r'url\(\s*["\']?([^)"\']+)["\']?\s*\)', replace, css)
