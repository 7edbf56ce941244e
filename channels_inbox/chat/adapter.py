"""The chat channel's adapter: outbound messages on a chat ticket (an agent's reply from the
workspace or the console, a bot answer, a survey prompt, a video link) are pushed to the
visitor's open sockets; when the visitor has gone and left an email address, an agent's
answer goes by email instead."""

from __future__ import annotations

from tickets.models import AuthorKind, Message
from tickets.outbound import DeliveryError, sender_for

from .. import registry
from . import live
from .models import ChatSession
from .selectors import message_payload

KEY = "chat"


class ChatAdapter(registry.ChannelAdapter):
    key = KEY

    def parse(self, raw):  # visitor messages are ingested by services.chat_visitor_message
        return []

    def send(self, message: Message) -> str:
        session = (
            ChatSession.objects.filter(ticket_id=message.ticket_id)
            .select_related("visitor")
            .order_by("-started_at")
            .first()
        )
        if session is None:
            # A chat ticket made some other way (the API, demo data): email, when we can.
            return self._by_email(message, reason="This ticket has no chat visitor to send to.")
        visitor = session.visitor
        gone = visitor.connections <= 0
        if gone and message.author_kind == AuthorKind.AGENT and visitor.email:
            email = sender_for("email")
            if email is not None and message.ticket.requester.identities.filter(kind="email").exists():
                return email(message)
        live.push(
            [live.visitor_group(visitor.pk), live.session_group(session.pk)],
            {
                "type": "chat.message",
                "session": session.pk,
                "visitor": message_payload(message, audience="visitor", visitor_id=visitor.pk),
                "agent": message_payload(message, audience="agent"),
            },
        )
        return f"chat-out-{message.pk}"

    @staticmethod
    def _by_email(message: Message, *, reason: str) -> str:
        email = sender_for("email")
        if email is None or not message.ticket.requester.identities.filter(kind="email").exists():
            raise DeliveryError(reason)
        return email(message)


def register_chat_adapter() -> registry.ChannelAdapter:
    existing = registry.registered().get(KEY)
    if existing is not None:
        return existing
    return registry.register(ChatAdapter())
