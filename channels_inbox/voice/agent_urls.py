"""Agent-facing voice routes, included by the project at /voice/."""

from django.urls import path

from . import agent_views

app_name = "voice"

urlpatterns = [
    path("tickets/<int:number>/call/", agent_views.ticket_call, name="ticket_call"),
]
