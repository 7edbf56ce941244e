from django.urls import path

from channels_inbox.chat.consumers import AgentChatConsumer, VisitorChatConsumer
from tickets.consumers import AgentEventsConsumer

websocket_urlpatterns = [
    path("ws/agent/events/", AgentEventsConsumer.as_asgi()),
    path("ws/chat/visitor/", VisitorChatConsumer.as_asgi()),
    path("ws/chat/agent/", AgentChatConsumer.as_asgi()),
]
