"""Provider-facing endpoints, included by the project at /inbound/."""

from django.urls import include, path

from . import views

app_name = "inbound"

urlpatterns = [
    path("email/", views.inbound_email, name="email"),
    path("", include("channels_inbox.telegram.urls")),  # /inbound/telegram/
    path("", include("channels_inbox.twilio.urls")),  # /inbound/twilio/sms/ and .../status/
    path("", include("channels_inbox.voice.urls")),  # /inbound/twilio/voice/ and its callbacks
    path("", include("channels_inbox.meta.urls")),  # /inbound/meta/ (WhatsApp, Messenger, Instagram)
]
