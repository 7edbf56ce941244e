"""Telegram's webhook route, included by channels_inbox.urls (at /inbound/, namespace "inbound")."""

from django.urls import path

from . import views

urlpatterns = [
    path("telegram/", views.inbound_telegram, name="telegram"),
]
