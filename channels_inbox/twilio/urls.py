"""Twilio SMS routes, included by channels_inbox.urls (at /inbound/, namespace "inbound")."""

from django.urls import path

from . import views

urlpatterns = [
    path("twilio/sms/", views.inbound_sms, name="twilio_sms"),
    path("twilio/sms/status/", views.sms_status, name="twilio_sms_status"),
]
