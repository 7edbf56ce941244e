"""/api/schema/ (OpenAPI 3, JSON with ?format=json) and /api/docs/ (Swagger UI, served from the
drf-spectacular-sidecar package, no CDN). Included by helpdesk.urls under "api/"."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The schema covers the REST API only, not other DRF views in the project (inbound webhooks).
API_PATTERNS = [
    path("api/v1/webhooks/", include("webhooks.urls")),
    path("api/v1/", include("tickets.api.urls")),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(patterns=API_PATTERNS), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
