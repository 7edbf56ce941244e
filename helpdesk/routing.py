from django.urls import path

from tickets.consumers import AgentEventsConsumer

websocket_urlpatterns = [
    path("ws/agent/events/", AgentEventsConsumer.as_asgi()),
]
