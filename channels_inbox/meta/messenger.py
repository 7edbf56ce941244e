"""The Messenger and Instagram channel adapters (Messenger Platform webhooks, the Send API).

Both arrive as {"object": "page" | "instagram", "entry": [{"id", "time", "messaging": [...]}]}
and use the same event shapes, so one class serves both, keyed "messenger" and "instagram".

- **Messages**: text, quick-reply and postback (the button's title), attachments by URL
  (image, audio, video, file: fetched from Meta's CDN, whose URLs are signed; a file that cannot
  be fetched is named on the message), a shared location as text; stickers and other
  attachment kinds are named. The sender is the page-scoped id (PSID / IGSID), identity kind
  "messenger" or "instagram". The message id (mid) is the external id; a reply_to mid threads.
- **Receipts**: "delivery" (mids, else a watermark) marks our messages delivered, "read"
  (a watermark, or Instagram's mid) marks them read.
- **Ignored**: echoes of the page's own messages, reactions, deleted messages, opt-ins,
  referrals without a message, standby and handover events.
- **Outbound**: POST {META_GRAPH_BASE}/{version}/me/messages with MESSENGER_PAGE_ACCESS_TOKEN
  (INSTAGRAM_ACCESS_TOKEN for Instagram, the token of the page linked to the Instagram
  account), messaging_type RESPONSE. Meta itself refuses a reply more than 24 hours after the
  customer's last message; its reason is shown on the ticket.
"""

from __future__ import annotations

import logging
import posixpath
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from tickets.html import html_to_text
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import DeliveryStatus, Message, MessageDirection, RawInbound
from tickets.outbound import DeliveryError, DeliveryRetry
from tickets.services.delivery import message_delivery_update

from .. import registry
from ..twilio.retry import failure_reason, fetch_with_retries
from .api import GraphApiError, GraphNotConfigured, page_message_send, url_download
from .common import as_dict, as_list, failed_notes, payload_json, timestamp
from .signature import SIGNATURE_HEADER, meta_request_verified
from .webhook import meta_delivery_id

logger = logging.getLogger(__name__)

_DEFAULT_TYPES = {
    "image": "image/jpeg",
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "file": "application/octet-stream",
}
# Send API errors meaning "outside the messaging window" (code 10, subcode 2018278) or
# "this person isn't available right now" (551).
_WINDOW_SUBCODES = (2018278, 2534022)


@dataclass(frozen=True)
class PageChannel:
    key: str
    object: str
    identity_kind: str
    token_setting: str
    text_limit: int
    name: str


MESSENGER = PageChannel("messenger", "page", "messenger", "MESSENGER_PAGE_ACCESS_TOKEN", 2000, "Messenger")
INSTAGRAM = PageChannel("instagram", "instagram", "instagram", "INSTAGRAM_ACCESS_TOKEN", 1000, "Instagram")


def _filename(url: str, kind: str, index: int) -> str:
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    return (name or f"{kind}-{index}")[:255]


def _attachments(items: list[Any]) -> tuple[list[str], list[InboundAttachment], list[dict[str, Any]]]:
    lines: list[str] = []
    attachments: list[InboundAttachment] = []
    failed: list[dict[str, Any]] = []
    limit = int(settings.HELPDESK_MAX_ATTACHMENT_BYTES)
    for index, item in enumerate(items):
        item = as_dict(item)
        kind = str(item.get("type") or "")
        payload = as_dict(item.get("payload"))
        if kind == "location":
            coords = as_dict(payload.get("coordinates"))
            lat, lng = coords.get("lat"), coords.get("long")
            lines.append(_("[Location] %(lat)s, %(lng)s") % {"lat": lat, "lng": lng})
            continue
        url = str(payload.get("url") or "")
        if payload.get("sticker_id"):
            lines.append(_("[Sticker]"))
            continue
        if kind not in _DEFAULT_TYPES or not url:
            title = str(item.get("title") or payload.get("title") or kind or "attachment")
            lines.append(_("[Attachment: %(title)s]") % {"title": title} + (f" {url}" if url else ""))
            continue
        filename = _filename(url, kind, index)
        try:
            media = fetch_with_retries(lambda url=url: url_download(url, max_bytes=limit), what=f"{kind} attachment")
        except GraphApiError as exc:
            logger.warning("A %s attachment was not fetched: %s", kind, exc.message)
            failed.append({"filename": filename, "url": url, "reason": failure_reason(exc.message, exc)})
            continue
        content_type = media.content_type if media.content_type not in ("", "application/octet-stream") else ""
        attachments.append(
            InboundAttachment(
                filename=filename, content_type=content_type or _DEFAULT_TYPES[kind], content=media.content
            )
        )
    return lines, attachments, failed


def page_inbound(channel: PageChannel, event: Mapping[str, Any], page_id: str) -> InboundMessage | None:
    """The InboundMessage of one messaging event, or None when it is no customer message."""
    sender = str(as_dict(event.get("sender")).get("id") or "")
    message = as_dict(event.get("message"))
    postback = as_dict(event.get("postback"))
    if not sender or sender == page_id:
        return None
    if message and not message.get("is_echo") and not message.get("is_deleted") and message.get("mid"):
        text = str(message.get("text") or "")
        quick = as_dict(message.get("quick_reply"))
        if quick.get("payload") and not text:
            text = str(quick["payload"])
        lines, attachments, failed = _attachments(as_list(message.get("attachments")))
        body = "\n".join(part for part in [text, *lines, *failed_notes(failed)] if part)
        external_id, replied = str(message["mid"]), str(as_dict(message.get("reply_to")).get("mid") or "")
    elif postback and (postback.get("title") or postback.get("payload")):
        body = str(postback.get("title") or postback.get("payload"))
        failed, attachments = [], []
        ts = event.get("timestamp", "")
        external_id, replied = str(postback.get("mid") or f"postback:{sender}:{ts}"), ""
    else:
        return None
    if not body and not attachments:
        return None
    metadata: dict[str, Any] = {"psid": sender, "page_id": page_id}
    if failed:
        metadata["attachments_failed"] = failed
    return InboundMessage(
        channel=channel.key,
        sender=InboundSender(kind=channel.identity_kind, value=sender),
        body_text=body,
        external_id=external_id,
        sent_at=timestamp(event.get("timestamp"), millis=True),
        in_reply_to=(replied,) if replied else (),
        attachments=tuple(attachments),
        metadata=metadata,
    )


def _watermark_update(channel: PageChannel, psid: str, watermark: Any, status: str) -> int:
    """Mark our messages to this person up to the watermark (ms since the epoch)."""
    until = timestamp(watermark, millis=True)
    if until is None:
        return 0
    earlier = DeliveryStatus.READ if status == DeliveryStatus.READ else DeliveryStatus.DELIVERED
    ids = Message.objects.filter(
        channel=channel.key,
        direction=MessageDirection.OUTBOUND,
        ticket__requester__identities__kind=channel.identity_kind,
        ticket__requester__identities__value=psid,
        created_at__lte=until,
        delivery_status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED],
        external_id__isnull=False,
    ).exclude(delivery_status=earlier)
    count = 0
    for external_id in ids.values_list("external_id", flat=True)[:500]:
        if message_delivery_update(channel=channel.key, external_id=external_id, status=status):
            count += 1
    return count


def page_receipt_record(channel: PageChannel, event: Mapping[str, Any]) -> int:
    psid = str(as_dict(event.get("sender")).get("id") or "")
    delivery, read = as_dict(event.get("delivery")), as_dict(event.get("read"))
    count = 0
    if delivery:
        mids = [str(mid) for mid in as_list(delivery.get("mids")) if mid]
        for mid in mids:
            count += bool(
                message_delivery_update(channel=channel.key, external_id=mid, status=DeliveryStatus.DELIVERED)
            )
        if not mids:
            count += _watermark_update(channel, psid, delivery.get("watermark"), DeliveryStatus.DELIVERED)
    if read:
        if read.get("mid"):
            count += bool(message_delivery_update(channel=channel.key, external_id=str(read["mid"]), status="read"))
        else:
            count += _watermark_update(channel, psid, read.get("watermark"), DeliveryStatus.READ)
    return count


def page_parse(channel: PageChannel, data: Mapping[str, Any]) -> list[InboundMessage]:
    if data.get("object") != channel.object:
        raise registry.AdapterError(f"Not a {channel.name} payload (object {data.get('object')!r}).")
    inbound: list[InboundMessage] = []
    for entry in as_list(data.get("entry")):
        entry = as_dict(entry)
        page_id = str(entry.get("id") or "")
        for event in as_list(entry.get("messaging")):
            event = as_dict(event)
            if event.get("delivery") or event.get("read"):
                page_receipt_record(channel, event)
                continue
            item = page_inbound(channel, event, page_id)
            if item is not None:
                inbound.append(item)
    return inbound


def page_recipient(channel: PageChannel, message: Message) -> str:
    last = (
        Message.objects.filter(
            channel=channel.key, direction=MessageDirection.INBOUND, author_customer_id=message.ticket.requester_id
        )
        .order_by("-created_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    if isinstance(last, dict) and last.get("psid"):
        return str(last["psid"])
    identity = message.ticket.requester.identities.filter(kind=channel.identity_kind).order_by("created_at").first()
    if identity is None:
        raise DeliveryError(_("The customer has no %(name)s account on record.") % {"name": channel.name})
    return identity.value


def page_send(channel: PageChannel, message: Message) -> str:
    text = (message.body_text or html_to_text(message.body_html)).strip()
    if not text:
        raise DeliveryError(_("The message has no text to send."))
    if len(text) > channel.text_limit:
        raise DeliveryError(
            _("%(name)s messages are at most %(limit)s characters; this one has %(n)s.")
            % {"name": channel.name, "limit": channel.text_limit, "n": len(text)}
        )
    recipient = page_recipient(channel, message)
    try:
        return page_message_send(token_setting=channel.token_setting, recipient_id=recipient, text=text)
    except GraphNotConfigured as exc:
        raise DeliveryError(str(exc)) from None
    except GraphApiError as exc:
        code = f" (code {exc.code})" if exc.code else ""
        if exc.subcode in _WINDOW_SUBCODES:
            raise DeliveryError(
                _("Not sent: outside %(name)s's 24-hour messaging window (%(reason)s)")
                % {"name": channel.name, "reason": exc.message}
            ) from None
        if exc.temporary:
            raise DeliveryRetry(f"{channel.name} is unavailable: {exc.message}{code}") from None
        raise DeliveryError(
            _("%(name)s refused the message: %(reason)s%(code)s")
            % {"name": channel.name, "reason": exc.message, "code": code}
        ) from None


class PageAdapter(registry.ChannelAdapter):
    channel: PageChannel = MESSENGER

    def __init__(self, channel: PageChannel) -> None:
        self.channel = channel
        self.key = channel.key

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        return meta_request_verified(body=body, header=headers.get(SIGNATURE_HEADER, ""))

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        return meta_delivery_id(body)

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        return page_parse(self.channel, payload_json(bytes(raw.payload)))

    def send(self, message: Message) -> str:
        return page_send(self.channel, message)


def _register(channel: PageChannel) -> registry.ChannelAdapter:
    existing = registry.registered().get(channel.key)
    if existing is not None:
        return existing
    return registry.register(PageAdapter(channel))


def register_messenger_adapter() -> registry.ChannelAdapter:
    """Register the Messenger adapter once (called from channels_inbox's AppConfig.ready())."""
    return _register(MESSENGER)


def register_instagram_adapter() -> registry.ChannelAdapter:
    """Register the Instagram adapter once (called from channels_inbox's AppConfig.ready())."""
    return _register(INSTAGRAM)
