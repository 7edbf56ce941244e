"""Twilio voice routes, included by channels_inbox.urls (at /inbound/, namespace "inbound")."""

from django.urls import path

from . import views

urlpatterns = [
    path("twilio/voice/", views.incoming, name="twilio_voice"),
    path("twilio/voice/menu/", views.menu, name="twilio_voice_menu"),
    path("twilio/voice/dial/", views.dial, name="twilio_voice_dial"),
    path("twilio/voice/status/", views.status, name="twilio_voice_status"),
    path("twilio/voice/recording/", views.recording, name="twilio_voice_recording"),
    path("twilio/voice/transcription/", views.transcription, name="twilio_voice_transcription"),
    path("twilio/voice/connect/<int:call_id>/", views.connect, name="twilio_voice_connect"),
]
