"""Agent-facing WhatsApp routes, included by the project at /agent/whatsapp/."""

from django.urls import path

from . import agent_views

app_name = "whatsapp"

urlpatterns = [
    path("tickets/<int:number>/template/", agent_views.ticket_template_send, name="ticket_template"),
]
