"""The SMS channel adapter (Twilio Programmable Messaging).

Inbound: the form-encoded webhook Twilio posts for each SMS/MMS, stored raw under its
MessageSid. The sender is a "phone" identity, so one number is one customer on SMS, voice and
WhatsApp. MMS media (NumMedia, MediaUrl<n>, MediaContentType<n>) is fetched with the account's
credentials; media that cannot be fetched is named in the text and in metadata, and does not
hold the message back. STOP / START / HELP keywords are applied to the customer's SMS consent
(see consent.py) and the message is stored like any other.

Outbound: POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json, From
TWILIO_MESSAGING_SERVICE_SID (when set) or TWILIO_FROM_NUMBER, with a StatusCallback to
/inbound/twilio/sms/status/ so delivery and failure come back to the ticket. A customer who
texted STOP is not sent anything: the delivery fails with that reason.
"""

from __future__ import annotations

import logging
import mimetypes
import posixpath
import urllib.parse
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from tickets.html import html_to_text
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import DeliveryStatus, Message, MessageDirection, RawInbound
from tickets.outbound import DeliveryError, DeliveryRetry
from tickets.services.delivery import message_delivery_update

from .. import registry
from .api import TwilioApiError, TwilioNotConfigured, media_download, message_create
from .consent import sms_keyword_apply
from .retry import failure_reason, fetch_with_retries
from .signature import SIGNATURE_HEADER, twilio_signature_valid

logger = logging.getLogger(__name__)

KEY = "sms"
MAX_MEDIA = 10
STATUS_CALLBACK_PATH = "/inbound/twilio/sms/status/"

# Twilio error codes an agent is likely to meet on a failed SMS, in plain words
# (https://www.twilio.com/docs/api/errors).
ERROR_REASONS = {
    21211: "the 'To' number is not a valid phone number",
    21408: "sending SMS to this region is not enabled on the Twilio account",
    21610: "the recipient has replied STOP to this sender and is unsubscribed",
    21612: "this sender cannot reach the 'To' number",
    21614: "the 'To' number is not a mobile number",
    30001: "the message queue overflowed; try again later",
    30002: "the Twilio account is suspended",
    30003: "the destination phone is unreachable (switched off or out of coverage)",
    30004: "the message was blocked (the recipient or their carrier blocks it)",
    30005: "the destination number is unknown or no longer in service",
    30006: "the destination is a landline or a carrier that cannot receive SMS",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier reported an unknown error",
    30034: "the sending number is not registered for A2P 10DLC messaging",
}


def error_reason(code: int | str | None, status: str = "failed") -> str:
    """ "Twilio error 30003: the destination phone is unreachable (...)"."""
    try:
        number = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        return _("Twilio reports the message %(status)s, without an error code.") % {"status": status}
    words = ERROR_REASONS.get(number, f"see https://www.twilio.com/docs/api/errors/{number}")
    return _("Twilio error %(code)s: %(reason)s.") % {"code": number, "reason": words}


def form_fields(payload: bytes) -> dict[str, str]:
    """A form-encoded Twilio payload as name -> first value."""
    parsed = urllib.parse.parse_qs(payload.decode("utf-8"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items() if values}


def sms_message_sid(fields: Mapping[str, str]) -> str:
    return fields.get("MessageSid") or fields.get("SmsMessageSid") or fields.get("SmsSid") or ""


def _media_filename(url: str, content_type: str, index: int) -> str:
    name = posixpath.basename(urllib.parse.urlsplit(url).path) or f"media-{index}"
    extension = mimetypes.guess_extension(content_type or "") or ""
    return name if name.endswith(extension) else name + extension


def _media_fetch(fields: Mapping[str, str]) -> tuple[list[InboundAttachment], list[dict[str, Any]]]:
    try:
        count = max(0, min(int(fields.get("NumMedia") or 0), MAX_MEDIA))
    except ValueError:
        count = 0
    limit = int(settings.HELPDESK_MAX_ATTACHMENT_BYTES)
    attachments, failed = [], []
    for index in range(count):
        url = fields.get(f"MediaUrl{index}", "")
        declared_type = fields.get(f"MediaContentType{index}", "")
        if not url:
            continue
        filename = _media_filename(url, declared_type, index)
        try:
            media = fetch_with_retries(lambda url=url: media_download(url, max_bytes=limit), what="MMS media")
        except (TwilioApiError, TwilioNotConfigured) as exc:
            reason = failure_reason(exc.message, exc) if isinstance(exc, TwilioApiError) else str(exc)
            logger.warning("MMS media %s of %s not fetched: %s", index, sms_message_sid(fields), reason)
            failed.append({"filename": filename, "url": url, "reason": reason})
            continue
        attachments.append(
            InboundAttachment(
                filename=filename,
                content_type=declared_type or media.content_type or "application/octet-stream",
                content=media.content,
            )
        )
    return attachments, failed


def inbound_from_fields(fields: Mapping[str, str]) -> InboundMessage:
    """The inbound message of one webhook (media fetched); applies STOP/START/HELP first."""
    sid = sms_message_sid(fields)
    phone = fields.get("From", "").strip()
    if not sid:
        raise registry.AdapterError("The Twilio payload has no MessageSid.")
    if not phone:
        raise registry.AdapterError("The Twilio payload has no From number.")
    body = fields.get("Body", "")
    metadata: dict[str, Any] = {
        "from": phone,
        "to": fields.get("To", ""),
        "num_segments": fields.get("NumSegments", ""),
    }
    if fields.get("MessagingServiceSid"):
        metadata["messaging_service_sid"] = fields["MessagingServiceSid"]
    keyword = sms_keyword_apply(phone=phone, body=body, message_sid=sid)
    if keyword is not None:
        customer, word = keyword
        metadata.update(sms_keyword=word, consent_sms=customer.consent_sms)
    attachments, failed = _media_fetch(fields)
    if failed:
        metadata["attachments_failed"] = failed
        notes = [
            _("[Attachment not fetched: %(name)s (%(reason)s)]") % {"name": item["filename"], "reason": item["reason"]}
            for item in failed
        ]
        body = "\n".join([body, *notes]) if body else "\n".join(notes)
    return InboundMessage(
        channel=KEY,
        sender=InboundSender(kind="phone", value=phone),
        body_text=body,
        external_id=sid,
        attachments=tuple(attachments),
        metadata=metadata,
    )


# Twilio's MessageStatus -> our delivery status; the others (queued, accepted, sending,
# scheduled, receiving, received) say nothing new about an outbound message.
STATUS_MAP = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def sms_status_record(fields: Mapping[str, str]) -> Message | None:
    """Apply one status callback to the outbound message it reports on. None when the status
    says nothing new or no outbound message has that sid."""
    sid = sms_message_sid(fields)
    twilio_status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower()
    status = STATUS_MAP.get(twilio_status)
    if not sid or status is None:
        return None
    error = error_reason(fields.get("ErrorCode"), twilio_status) if status == DeliveryStatus.FAILED else ""
    if status == DeliveryStatus.FAILED and str(fields.get("ErrorCode") or "") == str(UNSUBSCRIBED):
        error = _unsubscribed_reason()
    message = message_delivery_update(channel=KEY, external_id=sid, status=status, error=error)
    if message is not None and status == DeliveryStatus.FAILED and error == _unsubscribed_reason():
        sms_unsubscribed_record(message=message, phone=fields.get("To", ""))
    if message is None:
        logger.info("Twilio status %s for %s, which is not one of our messages", twilio_status, sid)
    return message


def status_callback_url() -> str:
    base = (getattr(settings, "TWILIO_WEBHOOK_BASE_URL", "") or settings.SITE_URL).rstrip("/")
    try:
        path = reverse("inbound:twilio_sms_status")
    except NoReverseMatch:
        path = STATUS_CALLBACK_PATH
    return base + path


def sms_number_for(message: Message) -> str:
    """The number the customer last texted from on this ticket, else their first phone number."""
    last = (
        message.ticket.messages.filter(channel=KEY, direction=MessageDirection.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    if isinstance(last, dict) and last.get("from"):
        return str(last["from"])
    identity = message.ticket.requester.identities.filter(kind="phone").order_by("created_at", "id").first()
    if identity is None:
        raise DeliveryError(_("The customer has no phone number on record, so there is nobody to text."))
    return identity.value


UNSUBSCRIBED = 21610


def sms_unsubscribed_record(*, message: Message, phone: str) -> None:
    """Twilio refused to text a number that replied STOP to our sender (error 21610): the
    customer's SMS consent is withdrawn, with the reason, so nobody tries again."""
    from tickets.models import Customer
    from tickets.services.directory import customer_update
    from tickets.services.events import Actor, event_record

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=message.ticket.requester_id)
        if not customer.consent_sms:
            return
        customer_update(customer=customer, changes={"consent_sms": False}, actor=Actor.system())
        event_record(
            obj=customer,
            verb="sms_opted_out",
            new={"consent_sms": False},
            data={"reason": "twilio_21610", "phone": phone, "message": message.pk},
            actor=Actor.system(),
        )


def _unsubscribed_reason() -> str:
    return _(
        "Not sent: Twilio error 21610, the customer has unsubscribed from SMS (they replied STOP to our number). "
        "Their SMS consent is now withdrawn; they can text START to opt back in."
    )


def sms_media_urls(message: Message) -> tuple[str, ...]:
    """Public signed links to the message's stored attachments (Twilio fetches each as an MMS part)."""
    from .media_links import media_public_url

    return tuple(
        media_public_url(attachment)
        for attachment in message.attachments.filter(stored=True).exclude(file="").order_by("id")[:MAX_MEDIA]
    )


def sms_send(message: Message) -> str:
    """Send through Twilio's Messages API; returns the message sid (SM...)."""
    customer = message.ticket.requester
    customer.refresh_from_db(fields=["consent_sms"])
    if not customer.consent_sms:
        raise DeliveryError(
            _("Not sent: the customer has opted out of SMS (they texted STOP). They can text START to opt back in.")
        )
    text = (message.body_text or html_to_text(message.body_html)).strip()
    media_urls = sms_media_urls(message)
    if not text and not media_urls:
        raise DeliveryError(_("The message has no text to send."))
    service = getattr(settings, "TWILIO_MESSAGING_SERVICE_SID", "") or ""
    sender = getattr(settings, "TWILIO_FROM_NUMBER", "") or ""
    if not service and not sender:
        raise DeliveryError(_("SMS is not set up: set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."))
    to = sms_number_for(message)
    try:
        result = message_create(
            to=to,
            body=text,
            from_=sender,
            messaging_service_sid=service,
            status_callback=status_callback_url(),
            media_urls=media_urls,
        )
    except TwilioNotConfigured as exc:
        raise DeliveryError(str(exc)) from None
    except TwilioApiError as exc:
        if exc.code == UNSUBSCRIBED:
            sms_unsubscribed_record(message=message, phone=to)
            raise DeliveryError(_unsubscribed_reason()) from None
        code = f" (error {exc.code})" if exc.code else ""
        if exc.temporary:
            raise DeliveryRetry(f"Twilio is unavailable: {exc.message}{code}") from None
        raise DeliveryError(
            _("Twilio refused the SMS: %(reason)s%(code)s") % {"reason": exc.message, "code": code}
        ) from None
    return str(result["sid"])


class SmsAdapter(registry.ChannelAdapter):
    key = KEY

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        return twilio_signature_valid(
            url=url,
            params=QueryDict(body),
            signature=headers.get(SIGNATURE_HEADER, ""),
            auth_token=getattr(settings, "TWILIO_AUTH_TOKEN", "") or "",
        )

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        return sms_message_sid(form_fields(body)) or None

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        return [inbound_from_fields(form_fields(bytes(raw.payload)))]

    def send(self, message: Message) -> str:
        return sms_send(message)


def register_sms_adapter() -> registry.ChannelAdapter:
    """Register the SMS adapter once (called from channels_inbox's AppConfig.ready())."""
    existing = registry.registered().get(KEY)
    if existing is not None:
        return existing
    return registry.register(SmsAdapter())
