"""Twilio SMS routes, included by channels_inbox.urls (at /inbound/, namespace "inbound")."""

from django.urls import path

from . import views
from .media_links import media_serve

urlpatterns = [
    path("twilio/sms/", views.inbound_sms, name="twilio_sms"),
    path("twilio/sms/status/", views.sms_status, name="twilio_sms_status"),
    path("media/<str:token>/", media_serve, name="media"),  # signed links for MMS / WhatsApp media
]
