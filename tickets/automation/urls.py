"""Agent pages of triggers and automations, included at /agent/notifications/."""

from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("", views.notifications, name="notifications"),
    path("read/", views.notifications_read, name="notifications_read"),
]
