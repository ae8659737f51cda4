"""Network analysis pages (issue 4); included by mapping/urls.py under the `mapping` namespace."""

from django.urls import path

from mapping import network_views as views

urlpatterns = [
    path("network/", views.report_view, name="network"),
    path("network/agency/<str:code>/", views.agency_view, name="network_agency"),
    path("network/map/", views.map_view, name="network_map"),
    path("network/map/frame/", views.map_frame_view, name="network_map_frame"),
    path("network/diagram/", views.diagram_view, name="network_diagram"),
    path("network/what-if/", views.whatif_view, name="network_whatif"),
    path("network/compare/", views.compare_view, name="network_compare"),
    path("network/export/findings/", views.findings_export_view, name="network_findings_export"),
    path("network/export/agencies/", views.agencies_export_view, name="network_agencies_export"),
    path("network/export/graph/", views.graph_export_view, name="network_graph_export"),
]
