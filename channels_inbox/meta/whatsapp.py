"""The WhatsApp channel adapter (WhatsApp Cloud API).

Decisions, in one place:

- **One raw per delivery.** Meta may batch several messages and statuses in one POST, so the
  raw payload is stored under "sha256:<hash of the body>"; each message is then ingested under
  its own wamid, so a message redelivered in a different batch is still stored once.
- **Messages** (field "messages", value.messages[]): text; image, audio (and voice notes), video,
  document and sticker fetched by media id (GET {META_GRAPH_BASE}/{version}/{media_id}, then the
  URL it gives, both with WHATSAPP_ACCESS_TOKEN), with the caption as text; location and shared
  contacts as readable text; interactive replies (button, list, flow) and template quick-reply
  buttons as the text the customer tapped; orders as a list of items; an edit as
  "(edited) ..." under the edit's own id; an unsupported type as a line saying so. Media that
  cannot be fetched is named on the message and in metadata, and does not hold it back.
- **Reactions** become a short message "(reacted 👍)" threaded onto the message reacted to, but
  only when that message is one of ours or the customer's on a ticket; a reaction to anything
  else and a removed reaction are ignored. Deleted messages (revoke), message echoes, calls,
  account, template and system notifications are not customer messages: ignored.
- **Sender**: identity kind "whatsapp" with the wa_id and the profile name, so a number known
  from SMS is the same customer.
- **Statuses** (sent, delivered, read, played = read, failed with Meta's error title, code and
  details) update the outbound message with that wamid through message_delivery_update, when
  the stored payload is processed.
- **Outbound** text through POST {base}/{version}/{WHATSAPP_PHONE_NUMBER_ID}/messages. Outside
  the 24-hour customer-service window (since the customer's last inbound WhatsApp message) a
  free-text reply fails with "outside WhatsApp's 24-hour window: send an approved template"
  (naming the approved templates). An approved template (`WhatsAppTemplate`, sent with
  `whatsapp_template_send`) goes out in the Cloud API's template format at any time.
- **Attachments** of a reply go out as media messages by link (a signed, expiring URL of
  ours, see twilio/media_links.py): images as "image", audio, video, anything else as
  "document" with its file name; the text goes first (or as the caption of a single file).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets.html import html_to_text
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import DeliveryStatus, Message, MessageDirection, RawInbound
from tickets.outbound import DeliveryError, DeliveryRetry
from tickets.services.delivery import message_delivery_update

from .. import registry
from ..twilio.retry import failure_reason, fetch_with_retries
from .api import GraphApiError, GraphNotConfigured, whatsapp_media_download, whatsapp_message_send
from .common import as_dict, as_list, failed_notes, payload_json, timestamp
from .signature import SIGNATURE_HEADER, meta_request_verified
from .webhook import meta_delivery_id

logger = logging.getLogger(__name__)

KEY = "whatsapp"
OBJECT = "whatsapp_business_account"
WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
WINDOW_REASON = gettext_noop("outside WhatsApp's 24-hour window: send an approved template")
# Meta's error for a free-form message outside the window ("Re-engagement message").
WINDOW_ERROR_CODES = (131047,)

_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_DEFAULT_NAMES = {"image": "image", "audio": "audio", "video": "video", "document": "document", "sticker": "sticker"}

STATUS_MAP = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def _media_filename(kind: str, media: Mapping[str, Any]) -> str:
    if media.get("filename"):
        return str(media["filename"])[:255]
    mime = str(media.get("mime_type") or "").split(";")[0].strip()
    extension = mimetypes.guess_extension(mime) or ""
    if kind == "audio" and media.get("voice"):
        return "voice" + (extension or ".ogg")
    return _DEFAULT_NAMES[kind] + "-" + str(media.get("id") or "")[:40] + extension


def _media_fetch(kind: str, media: Mapping[str, Any]) -> tuple[InboundAttachment | None, dict[str, Any] | None]:
    filename = _media_filename(kind, media)
    media_id = str(media.get("id") or "")
    if not media_id:
        return None, {"filename": filename, "reason": "no media id"}
    limit = int(settings.HELPDESK_MAX_ATTACHMENT_BYTES)
    try:
        fetched = fetch_with_retries(lambda: whatsapp_media_download(media_id, max_bytes=limit), what="WhatsApp media")
    except (GraphApiError, GraphNotConfigured) as exc:
        reason = failure_reason(exc.message, exc) if isinstance(exc, GraphApiError) else str(exc)
        logger.warning("WhatsApp media %s not fetched: %s", media_id, reason)
        return None, {"filename": filename, "media_id": media_id, "reason": reason}
    content_type = str(media.get("mime_type") or fetched.content_type or "application/octet-stream")
    return InboundAttachment(filename=filename, content_type=content_type, content=fetched.content), None


def _location_text(location: Mapping[str, Any]) -> str:
    lat, lng = location.get("latitude"), location.get("longitude")
    lines = [_("[Location]")]
    for key in ("name", "address"):
        if location.get(key):
            lines.append(str(location[key]))
    if lat is not None and lng is not None:
        lines.append(f"{lat}, {lng} https://www.openstreetmap.org/?mlat={lat}&mlon={lng}")
    if location.get("url"):
        lines.append(str(location["url"]))
    return "\n".join(lines)


def _contacts_text(contacts: list[Any]) -> str:
    lines = []
    for contact in contacts:
        contact = as_dict(contact)
        name = as_dict(contact.get("name")).get("formatted_name") or _("(no name)")
        phones = [str(as_dict(p).get("phone") or as_dict(p).get("wa_id") or "") for p in as_list(contact.get("phones"))]
        emails = [str(as_dict(e).get("email") or "") for e in as_list(contact.get("emails"))]
        details = ", ".join(item for item in [*phones, *emails] if item)
        lines.append(_("[Contact] %(name)s") % {"name": name} + (f": {details}" if details else ""))
    return "\n".join(lines)


def _interactive_text(interactive: Mapping[str, Any]) -> str:
    kind = interactive.get("type")
    reply = as_dict(interactive.get(kind)) if isinstance(kind, str) else {}
    if kind == "nfm_reply":
        return _("[Form submitted] %(response)s") % {"response": reply.get("response_json") or reply.get("body") or ""}
    title = str(reply.get("title") or "")
    if reply.get("description"):
        title = f"{title} ({reply['description']})"
    return title or _("[Interactive reply]")


def _order_text(order: Mapping[str, Any]) -> str:
    lines = [_("[Order]")]
    if order.get("text"):
        lines.append(str(order["text"]))
    for item in as_list(order.get("product_items")):
        item = as_dict(item)
        lines.append(
            f"{item.get('quantity', '?')} x {item.get('product_retailer_id', '?')}"
            f" @ {item.get('item_price', '?')} {item.get('currency', '')}".rstrip()
        )
    return "\n".join(lines)


def _known_message(wamid: str) -> bool:
    return bool(wamid) and Message.objects.filter(channel=KEY, external_id=wamid).exists()


def _content(message: Mapping[str, Any]) -> tuple[str, list[InboundAttachment], list[dict[str, Any]]] | None:
    """(text, attachments, failed fetches) of one message; None when it is not a customer message."""
    kind = str(message.get("type") or "")
    if kind == "text":
        return str(as_dict(message.get("text")).get("body") or ""), [], []
    if kind in _MEDIA_TYPES:
        media = as_dict(message.get(kind))
        attachment, failure = _media_fetch(kind, media)
        text = str(media.get("caption") or "")
        if failure:
            text = "\n".join(item for item in [text, *failed_notes([failure])] if item)
        return text, [attachment] if attachment else [], [failure] if failure else []
    if kind == "location":
        return _location_text(as_dict(message.get("location"))), [], []
    if kind == "contacts":
        return _contacts_text(as_list(message.get("contacts"))), [], []
    if kind == "interactive":
        return _interactive_text(as_dict(message.get("interactive"))), [], []
    if kind == "button":
        button = as_dict(message.get("button"))
        return str(button.get("text") or button.get("payload") or _("[Button]")), [], []
    if kind == "order":
        return _order_text(as_dict(message.get("order"))), [], []
    if kind == "reaction":
        reaction = as_dict(message.get("reaction"))
        emoji = str(reaction.get("emoji") or "")
        if not emoji or not _known_message(str(reaction.get("message_id") or "")):
            return None
        return _("(reacted %(emoji)s)") % {"emoji": emoji}, [], []
    if kind == "edit":
        edited = as_dict(as_dict(message.get("edit")).get("message"))
        inner = _content(edited) if edited else None
        if inner is None:
            return None
        text, attachments, failed = inner
        return _("(edited) %(text)s") % {"text": text}, attachments, failed
    if kind in ("revoke", "system", "request_welcome", "ephemeral"):
        return None
    errors = as_list(message.get("errors"))
    title = str(as_dict(errors[0]).get("title") or "") if errors else ""
    if kind == "unsupported" or errors:
        return _("[A WhatsApp message this help desk cannot show: %(why)s]") % {"why": title or kind}, [], []
    return None


def whatsapp_inbound(message: Mapping[str, Any], *, names: Mapping[str, str], business: Mapping[str, Any]):
    """The InboundMessage of one value.messages[] item, or None when it is no customer message."""
    wamid = str(message.get("id") or "")
    wa_id = str(message.get("from") or "")
    if not wamid or not wa_id:
        return None
    content = _content(message)
    if content is None:
        return None
    text, attachments, failed = content
    context = as_dict(message.get("context"))
    replied = str(context.get("id") or "")
    if message.get("type") == "reaction":
        replied = str(as_dict(message.get("reaction")).get("message_id") or "")
    if message.get("type") == "edit":
        replied = str(as_dict(message.get("edit")).get("original_message_id") or "") or replied
    metadata: dict[str, Any] = {
        "wa_id": wa_id,
        "type": message.get("type"),
        "phone_number_id": business.get("phone_number_id", ""),
        "display_phone_number": business.get("display_phone_number", ""),
    }
    if failed:
        metadata["attachments_failed"] = failed
    if context.get("forwarded") or context.get("frequently_forwarded"):
        metadata["forwarded"] = True
    if message.get("referral"):
        metadata["referral"] = message["referral"]
    return InboundMessage(
        channel=KEY,
        sender=InboundSender(kind="whatsapp", value=wa_id, name=names.get(wa_id, "")),
        body_text=text,
        external_id=wamid,
        sent_at=timestamp(message.get("timestamp")),
        in_reply_to=(replied,) if replied else (),
        attachments=tuple(attachments),
        metadata=metadata,
    )


def status_error(status: Mapping[str, Any]) -> str:
    """ "WhatsApp error 131026: Message undeliverable (details)"."""
    errors = as_list(status.get("errors"))
    if not errors:
        return _("WhatsApp reports the message failed, without an error.")
    error = as_dict(errors[0])
    title = str(error.get("title") or error.get("message") or "")
    details = str(as_dict(error.get("error_data")).get("details") or "")
    if details and details != title:
        title = f"{title} ({details})"
    return _("WhatsApp error %(code)s: %(title)s") % {"code": error.get("code", "?"), "title": title}


def whatsapp_status_record(status: Mapping[str, Any]) -> Message | None:
    wamid = str(status.get("id") or "")
    new = STATUS_MAP.get(str(status.get("status") or "").lower())
    if not wamid or new is None:
        return None
    error = status_error(status) if new == DeliveryStatus.FAILED else ""
    message = message_delivery_update(channel=KEY, external_id=wamid, status=new, error=error)
    if message is None:
        logger.info("WhatsApp status %s for %s, which is not one of our messages", new, wamid)
    return message


def whatsapp_parse(data: Mapping[str, Any]) -> list[InboundMessage]:
    """Every customer message of one webhook body; statuses are applied on the way."""
    if data.get("object") != OBJECT:
        raise registry.AdapterError(f"Not a WhatsApp Business Account payload (object {data.get('object')!r}).")
    inbound: list[InboundMessage] = []
    for entry in as_list(data.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            change = as_dict(change)
            if change.get("field") != "messages":
                continue
            value = as_dict(change.get("value"))
            names = {
                str(as_dict(c).get("wa_id") or ""): str(as_dict(as_dict(c).get("profile")).get("name") or "")
                for c in as_list(value.get("contacts"))
            }
            business = as_dict(value.get("metadata"))
            for message in as_list(value.get("messages")):
                item = whatsapp_inbound(as_dict(message), names=names, business=business)
                if item is not None:
                    inbound.append(item)
            for status in as_list(value.get("statuses")):
                whatsapp_status_record(as_dict(status))
    return inbound


# --- outbound -------------------------------------------------------------------------------


def whatsapp_last_inbound(customer_id: int) -> Message | None:
    """The customer's most recent inbound WhatsApp message (on any ticket), else None."""
    return (
        Message.objects.filter(channel=KEY, direction=MessageDirection.INBOUND, author_customer_id=customer_id)
        .order_by("-created_at", "-id")
        .first()
    )


def whatsapp_window_open_since(last: Message | None) -> bool:
    """Is the 24-hour window opened by `last` (the customer's last WhatsApp message) still open?"""
    if last is None:
        return False
    return timezone.now() - (last.sent_at or last.created_at) < WINDOW


def _last_inbound(message: Message) -> Message | None:
    return whatsapp_last_inbound(message.ticket.requester_id)


def whatsapp_window_open(message: Message) -> tuple[bool, Message | None]:
    """Is the 24-hour customer-service window open: did the customer write on WhatsApp in the
    last 24 hours (by WhatsApp's timestamp, else when we stored it)?"""
    last = _last_inbound(message)
    return whatsapp_window_open_since(last), last


def whatsapp_recipient(message: Message, last: Message | None) -> str:
    """The wa_id the customer last wrote from, else their WhatsApp identity, as digits."""
    if last is not None and isinstance(last.metadata, dict) and last.metadata.get("wa_id"):
        return str(last.metadata["wa_id"]).lstrip("+")
    identity = message.ticket.requester.identities.filter(kind="whatsapp").order_by("created_at", "id").first()
    if identity is None:
        raise DeliveryError(_("The customer has no WhatsApp number on record."))
    return identity.value.lstrip("+")


def whatsapp_template_payload(template: Any, parameters: list[str]) -> dict[str, Any]:
    """The Cloud API's template message: name, language code, body parameters in order."""
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": str(value)} for value in parameters]}
        ]
    return {"type": "template", "template": body}


def _window_closed_reason() -> str:
    from .models import WhatsAppTemplate

    names = list(WhatsAppTemplate.objects.filter(approved=True).values_list("name", flat=True)[:10])
    reason = _("Not sent: %(reason)s.") % {"reason": _(WINDOW_REASON)}
    if names:
        reason += " " + _("Approved templates: %(names)s.") % {"names": ", ".join(names)}
    else:
        reason += " " + _("No approved template is set up (WhatsApp templates in the admin).")
    return reason


def _media_kind(content_type: str) -> str:
    major = (content_type or "").split("/")[0]
    if content_type in ("image/jpeg", "image/png"):
        return "image"
    if major in ("audio", "video"):
        return major
    return "document"


def _media_payloads(message: Message, caption: str) -> list[dict[str, Any]]:
    from ..twilio.media_links import media_public_url

    attachments = list(message.attachments.filter(stored=True).exclude(file="").order_by("id")[:10])
    payloads = []
    for attachment in attachments:
        kind = _media_kind(attachment.content_type)
        media: dict[str, Any] = {"link": media_public_url(attachment)}
        if kind == "document":
            media["filename"] = attachment.filename
        if caption and len(attachments) == 1 and kind != "audio":
            media["caption"] = caption
        payloads.append({"type": kind, kind: media})
    return payloads


def _graph_call(to: str, payload: dict[str, Any]) -> str:
    try:
        return whatsapp_message_send(to=to, payload=payload)
    except GraphNotConfigured as exc:
        raise DeliveryError(str(exc)) from None
    except GraphApiError as exc:
        code = f" (code {exc.code})" if exc.code else ""
        if exc.code in WINDOW_ERROR_CODES:
            raise DeliveryError(_window_closed_reason() + code) from None
        if exc.temporary:
            raise DeliveryRetry(f"WhatsApp is unavailable: {exc.message}{code}") from None
        raise DeliveryError(
            _("WhatsApp refused the message: %(reason)s%(code)s") % {"reason": exc.message, "code": code}
        ) from None


def whatsapp_template_message_send(message: Message, spec: Mapping[str, Any]) -> str:
    from .models import WhatsAppTemplate

    template = WhatsAppTemplate.objects.filter(
        name=spec.get("name", ""), language=spec.get("language", ""), approved=True
    ).first()
    if template is None:
        raise DeliveryError(
            _("Not sent: the WhatsApp template %(name)s (%(language)s) is not approved.")
            % {"name": spec.get("name", ""), "language": spec.get("language", "")}
        )
    _open, last = whatsapp_window_open(message)
    return _graph_call(
        whatsapp_recipient(message, last),
        whatsapp_template_payload(template, [str(p) for p in spec.get("parameters") or []]),
    )


def whatsapp_send(message: Message) -> str:
    """Send a reply (free text and attachments inside the window, an approved template at any
    time); returns the wamid of the first message sent."""
    spec = message.metadata.get("whatsapp_template") if isinstance(message.metadata, dict) else None
    if isinstance(spec, dict):
        return whatsapp_template_message_send(message, spec)
    text = (message.body_text or html_to_text(message.body_html)).strip()
    media = _media_payloads(message, text)
    if media:
        is_open, last = whatsapp_window_open(message)
        if not is_open:
            raise DeliveryError(_window_closed_reason())
        to = whatsapp_recipient(message, last)
        first = ""
        if text and "caption" not in media[0][media[0]["type"]]:
            first = _graph_call(to, {"type": "text", "text": {"preview_url": False, "body": text[:TEXT_LIMIT]}})
        for payload in media:
            wamid = _graph_call(to, payload)
            first = first or wamid
        return first
    if not text:
        raise DeliveryError(_("The message has no text to send."))
    if len(text) > TEXT_LIMIT:
        raise DeliveryError(
            _("WhatsApp messages are at most %(limit)s characters; this one has %(n)s.")
            % {"limit": TEXT_LIMIT, "n": len(text)}
        )
    is_open, last = whatsapp_window_open(message)
    if not is_open:
        raise DeliveryError(_window_closed_reason())
    to = whatsapp_recipient(message, last)
    return _graph_call(to, {"type": "text", "text": {"preview_url": False, "body": text}})


def whatsapp_template_send(
    *, ticket: Any, template: Any, parameters: list[str], author: Any, actor: Any = None
) -> Message:
    """An agent sends an approved template on WhatsApp (allowed outside the 24-hour window):
    an outbound message on the ticket showing the filled-in text, delivered as a template."""
    from django.core.exceptions import ValidationError
    from django.db import transaction as db_transaction

    from tickets.services.tickets import ticket_reply

    if not template.approved:
        raise ValidationError(_("Only templates approved by Meta can be sent."))
    if len(parameters) != template.parameter_count:
        raise ValidationError(
            _("The template %(name)s needs %(n)s parameters.") % {"name": template.name, "n": template.parameter_count}
        )
    with db_transaction.atomic():
        message = ticket_reply(
            ticket=ticket, author=author, body_text=template.render(parameters), channel=KEY, actor=actor
        )
        message.metadata = {
            **message.metadata,
            "whatsapp_template": {"name": template.name, "language": template.language, "parameters": parameters},
        }
        Message.objects.filter(pk=message.pk).update(metadata=message.metadata)
    return message


class WhatsAppAdapter(registry.ChannelAdapter):
    key = KEY

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        return meta_request_verified(body=body, header=headers.get(SIGNATURE_HEADER, ""))

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        return meta_delivery_id(body)

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        return whatsapp_parse(payload_json(bytes(raw.payload)))

    def send(self, message: Message) -> str:
        return whatsapp_send(message)


def register_whatsapp_adapter() -> registry.ChannelAdapter:
    """Register the WhatsApp adapter once (called from channels_inbox's AppConfig.ready())."""
    existing = registry.registered().get(KEY)
    if existing is not None:
        return existing
    return registry.register(WhatsAppAdapter())
