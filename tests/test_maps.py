import folium

from mapping.maps import base_map, external_urls, render_page, render_standalone, OfflineFastMarkerCluster


def _figure():
    figure = base_map(attribution="Data: Department of Posts (GODL-India)")
    folium.CircleMarker([18.52, 73.85], radius=6, tooltip="Pune").add_to(figure)
    OfflineFastMarkerCluster([[19.0, 73.0], [20.0, 74.0]]).add_to(figure)
    return figure


def test_pages_load_every_asset_from_our_static_files(settings):
    settings.MAP_TILE_URL = ""
    html = render_page(_figure())
    assert external_urls(html) == []
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "aht-asset://" not in html


def test_a_standalone_file_inlines_its_assets(settings):
    settings.MAP_TILE_URL = ""
    html = render_standalone(_figure())
    assert external_urls(html) == []
    assert "<script src=" not in html
    assert "L.markerClusterGroup" in html and "data:image/png;base64" in html


def test_a_tile_layer_appears_only_when_configured(settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    html = render_page(_figure())
    assert "tiles.example.org" in html
