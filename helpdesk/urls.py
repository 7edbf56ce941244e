from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts.views import SignInView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="agent:home", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("agent/routing/", include("tickets.routing.urls")),
    # Sign-in with lockout and two-factor (accounts); before tickets.urls, which names the same path.
    path("agent/login/", SignInView.as_view(), name="sign_in"),
    path("admin/login/", RedirectView.as_view(pattern_name="agent:login", query_string=True), name="admin_sign_in"),
    path("accounts/", include("accounts.urls")),
    path("agent/", include("tickets.urls")),
    path("agent/notifications/", include("tickets.automation.urls")),
    path("admin/", admin.site.urls),
    path("support/", include("portal.urls")),
    path("help/", include("kb.urls")),
    path("dashboard/", include("metrics.urls")),
    path("survey/", include("metrics.survey_urls")),
    path("inbound/", include("channels_inbox.urls")),
    path("voice/", include("channels_inbox.voice.agent_urls")),
    path("agent/whatsapp/", include("channels_inbox.meta.agent_urls")),
    path("chat/", include("channels_inbox.chat.urls")),
    path("api/v1/webhooks/", include("webhooks.urls")),  # before the API's own routes
    path("api/v1/", include("tickets.api.urls")),
    path("api/", include("tickets.api.docs_urls")),  # api/schema/ and api/docs/
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A database or Redis outage raised outside a view answers 503 + Retry-After (helpdesk/outage.py).
handler500 = "helpdesk.outage.server_error"

admin.site.site_header = _("Help desk administration")
admin.site.site_title = _("Help desk admin")
admin.site.index_title = _("Settings and data")
