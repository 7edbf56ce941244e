"""Meta routes, included by channels_inbox.urls (at /inbound/, namespace "inbound")."""

from django.urls import path

from . import views

urlpatterns = [
    path("meta/", views.meta_webhook, name="meta"),
]
