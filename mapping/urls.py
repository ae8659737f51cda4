"""Network analysis and coverage maps share the `mapping` namespace; each keeps its own URL module."""

from mapping import coverage_urls, network_urls

app_name = "mapping"

urlpatterns = [*network_urls.urlpatterns, *coverage_urls.urlpatterns]
