"""The voice channel adapter: Twilio voice webhooks (X-Twilio-Signature) as stored raw
payloads -> call messages. Calls are not sent as messages, so there is no `send`."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.http import QueryDict

from tickets.inbound import InboundMessage
from tickets.models import RawInbound

from .. import registry
from ..twilio.signature import SIGNATURE_HEADER, twilio_signature_valid
from .services import KEY, voice_inbound


class VoiceAdapter(registry.ChannelAdapter):
    key = KEY

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        return twilio_signature_valid(
            url=url,
            params=QueryDict(body),
            signature=headers.get(SIGNATURE_HEADER, ""),
            auth_token=getattr(settings, "TWILIO_AUTH_TOKEN", "") or "",
        )

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        return voice_inbound(raw)


def register_voice_adapter() -> registry.ChannelAdapter:
    existing = registry.registered().get(KEY)
    if existing is not None:
        return existing
    return registry.register(VoiceAdapter())
