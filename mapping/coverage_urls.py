from django.urls import path

from mapping import coverage_views

urlpatterns = [
    path("coverage/", coverage_views.coverage_page, name="coverage"),
    path("coverage/gaps/", coverage_views.coverage_gaps_page, name="coverage_gaps"),
    path("coverage/origins/", coverage_views.coverage_origins_page, name="coverage_origins"),
    path("coverage/map/<slug:page>/", coverage_views.coverage_map, name="coverage_map"),
]
