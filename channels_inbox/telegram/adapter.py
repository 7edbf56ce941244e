"""The Telegram channel adapter: Bot API updates in, `sendMessage` out.

Decisions, in one place:

- **Ids.** The raw payload is stored under "update:<update_id>"; the message's external id is
  "<chat_id>:<message_id>" (message ids are only unique within a chat). Outbound messages get
  the same shape, so a customer's reply to one of ours threads onto its ticket.
- **Which updates become messages.** `message` and `edited_message` from a person (not a bot),
  with content: text, a caption, a photo (largest size), document, audio, voice, video, video
  note, animation, sticker, location, venue, contact, poll or dice. Service messages (members
  joining, pins), channel posts, business-account messages, callback and inline queries,
  payments and reactions are not customer messages: they are stored raw and marked ignored.
  A bare "/start" (what Telegram sends when someone first opens the bot) opens no ticket.
- **Edits** are stored as a new message, "(edited) <new text>", with its own external id
  "<chat_id>:<message_id>:edit:<edit_date>" and threaded onto the original message's ticket;
  the original stays as it was, so the agent sees both what was said and what was changed.
- **Media** is fetched through getFile and the file URL while the stored payload is processed.
  A file that cannot be fetched (too big for the Bot API, over HELPDESK_MAX_ATTACHMENT_BYTES,
  Telegram unreachable) does not hold the message back: the message is stored with a line
  saying which file is missing and why, and the reason is kept in metadata.
- **Outbound** goes to the private chat of the customer's Telegram identity (for a private
  chat, chat id = user id). Text over Telegram's 4096-character limit is sent in parts; the
  first part's id is the message's external id. Attachments follow the text, one message
  each: JPEG/PNG/WebP images up to 10 MB with sendPhoto, anything else with sendDocument
  (multipart upload of the stored file, its name kept); a message of only files uses the
  first file's id.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from tickets.html import html_to_text
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Message, MessageDirection, RawInbound
from tickets.outbound import DeliveryError, DeliveryRetry

from .. import registry
from ..twilio.retry import failure_reason, fetch_with_retries
from .api import TelegramApiError, TelegramNotConfigured, bot_api_call, bot_api_upload, file_download

logger = logging.getLogger(__name__)

KEY = "telegram"
MESSAGE_LIMIT = 4096
# The Bot API's getFile serves files of up to 20 MB.
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024

_MEDIA_KINDS = ("photo", "animation", "video", "video_note", "voice", "audio", "document")
_DEFAULT_TYPES = {
    "photo": ("photo.jpg", "image/jpeg"),
    "animation": ("animation.mp4", "video/mp4"),
    "video": ("video.mp4", "video/mp4"),
    "video_note": ("video-note.mp4", "video/mp4"),
    "voice": ("voice.ogg", "audio/ogg"),
    "audio": ("audio.mp3", "audio/mpeg"),
    "document": ("document", "application/octet-stream"),
}


@dataclass(frozen=True)
class TelegramMedia:
    """One file a message carries, before it is fetched."""

    kind: str
    file_id: str
    filename: str
    content_type: str
    file_size: int | None = None


def telegram_update_id(body: bytes) -> int | None:
    """The update's id, read cheaply so the raw payload can be stored and deduplicated first."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeError):
        return None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def telegram_message_external_id(chat_id: int | str, message_id: int | str) -> str:
    return f"{chat_id}:{message_id}"


def _sender_name(user: Mapping[str, Any]) -> str:
    name = " ".join(str(user.get(part) or "").strip() for part in ("first_name", "last_name")).strip()
    if name:
        return name
    username = str(user.get("username") or "").strip()
    return f"@{username}" if username else ""


def message_media(message: Mapping[str, Any]) -> list[TelegramMedia]:
    """The file a message carries (Telegram sends at most one per message). For a photo, the
    largest size (most pixels); for an animation, the animation (Telegram repeats it as a document)."""
    for kind in _MEDIA_KINDS:
        item = message.get(kind)
        if kind == "photo":
            sizes = [size for size in item or [] if isinstance(size, dict) and size.get("file_id")]
            if not sizes:
                continue
            item = max(sizes, key=lambda s: ((s.get("width") or 0) * (s.get("height") or 0), s.get("file_size") or 0))
        if not isinstance(item, dict) or not item.get("file_id"):
            continue
        default_name, default_type = _DEFAULT_TYPES[kind]
        size = item.get("file_size")
        return [
            TelegramMedia(
                kind=kind,
                file_id=str(item["file_id"]),
                filename=str(item.get("file_name") or default_name),
                content_type=str(item.get("mime_type") or default_type),
                file_size=size if isinstance(size, int) else None,
            )
        ]
    return []


def _location_text(location: Mapping[str, Any]) -> str:
    lat, lon = location.get("latitude"), location.get("longitude")
    return _("Location: %(lat)s, %(lon)s") % {"lat": lat, "lon": lon} + (
        f" https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
    )


def message_text(message: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the text an agent reads, extra metadata) for a message's non-file content."""
    lines: list[str] = []
    extra: dict[str, Any] = {}
    text = message.get("text") or message.get("caption") or ""
    if isinstance(text, str) and text.strip():
        lines.append(text)
    contact = message.get("contact")
    if isinstance(contact, dict):
        name = " ".join(str(contact.get(p) or "") for p in ("first_name", "last_name")).strip()
        lines.append(
            _("Contact: %(name)s, %(phone)s") % {"name": name or "?", "phone": contact.get("phone_number") or "?"}
        )
        extra["contact"] = {
            k: contact[k] for k in ("phone_number", "first_name", "last_name", "user_id", "vcard") if k in contact
        }
    venue = message.get("venue")
    location = message.get("location")
    if isinstance(venue, dict):
        lines.append(", ".join(str(venue.get(k)) for k in ("title", "address") if venue.get(k)))
        extra["venue"] = {k: venue[k] for k in ("title", "address") if k in venue}
        location = venue.get("location") or location
    if isinstance(location, dict) and "latitude" in location and "longitude" in location:
        lines.append(_location_text(location))
        extra["location"] = {"latitude": location["latitude"], "longitude": location["longitude"]}
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        lines.append(_("Sticker %(emoji)s") % {"emoji": sticker.get("emoji") or ""})
    poll = message.get("poll")
    if isinstance(poll, dict):
        options = [str(o.get("text", "")) for o in poll.get("options") or [] if isinstance(o, dict)]
        lines.append(_("Poll: %(question)s") % {"question": poll.get("question") or ""})
        lines.extend(f"- {option}" for option in options)
    dice = message.get("dice")
    if isinstance(dice, dict):
        lines.append(f"{dice.get('emoji') or ''} {dice.get('value')}".strip())
    return "\n".join(line for line in lines if line), extra


def _is_start_command(text: str) -> bool:
    first = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    return first == "/start" or first.startswith("/start@")


@dataclass(frozen=True)
class ParsedUpdate:
    """What a Telegram update holds before its media is fetched."""

    inbound: InboundMessage
    media: tuple[TelegramMedia, ...]


def update_parse(update: Mapping[str, Any]) -> ParsedUpdate | None:
    """The message an update holds, or None (with the reason logged) for everything else."""
    edited = "message" not in update and "edited_message" in update
    message = update.get("edited_message") if edited else update.get("message")
    update_id = update.get("update_id")
    if not isinstance(message, dict):
        kinds = sorted(k for k in update if k != "update_id")
        logger.info("Telegram update %s ignored: %s is not a customer message", update_id, ", ".join(kinds) or "empty")
        return None
    user = message.get("from")
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    if not isinstance(user, dict) or user.get("id") is None or chat.get("id") is None:
        logger.info("Telegram update %s ignored: the message has no sender", update_id)
        return None
    if user.get("is_bot"):
        logger.info("Telegram update %s ignored: sent by a bot", update_id)
        return None
    text, extra = message_text(message)
    media = message_media(message)
    if not text and not media:
        logger.info("Telegram update %s ignored: a service message with nothing to read", update_id)
        return None
    if not media and _is_start_command(text):
        logger.info("Telegram update %s ignored: /start", update_id)
        return None

    chat_id, message_id = chat["id"], message.get("message_id")
    external_id = telegram_message_external_id(chat_id, message_id)
    in_reply_to: tuple[str, ...] = ()
    reply_to = message.get("reply_to_message")
    if isinstance(reply_to, dict) and reply_to.get("message_id") is not None:
        in_reply_to = (telegram_message_external_id(chat_id, reply_to["message_id"]),)
    metadata: dict[str, Any] = {
        "update_id": update_id,
        "chat_id": chat_id,
        "chat_type": chat.get("type", ""),
        "message_id": message_id,
        "telegram_user_id": user["id"],
        **({"username": user["username"]} if user.get("username") else {}),
        **({"language_code": user["language_code"]} if user.get("language_code") else {}),
        **extra,
    }
    if edited:
        edit_date = message.get("edit_date") or 0
        metadata.update(edited=True, edit_of=external_id, edit_date=edit_date)
        in_reply_to = (external_id, *in_reply_to)
        external_id = f"{external_id}:edit:{edit_date}"
        text = f"{_('(edited)')} {text}".strip()
    date = message.get("date")
    languages = {code for code, _name in settings.LANGUAGES}
    language = str(user.get("language_code") or "").lower()
    inbound = InboundMessage(
        channel=KEY,
        sender=InboundSender(kind="telegram", value=str(user["id"]), name=_sender_name(user)),
        body_text=text,
        external_id=external_id,
        sent_at=datetime.fromtimestamp(date, tz=UTC) if isinstance(date, int) else None,
        in_reply_to=in_reply_to,
        language=language if language in languages else "",
        metadata=metadata,
    )
    return ParsedUpdate(inbound=inbound, media=tuple(media))


def _filename(media: TelegramMedia, file_path: str, message_id: Any) -> str:
    if media.kind == "document" or media.filename != _DEFAULT_TYPES[media.kind][0]:
        return media.filename
    base = posixpath.basename(file_path)
    return base or f"{message_id}-{media.filename}"


def media_fetch(parsed: ParsedUpdate) -> InboundMessage:
    """The inbound message with its files fetched from the Bot API; files that cannot be
    fetched are named in the text and in metadata["attachments_failed"]."""
    inbound = parsed.inbound
    limit = min(int(settings.HELPDESK_MAX_ATTACHMENT_BYTES), BOT_API_DOWNLOAD_LIMIT)
    attachments: list[InboundAttachment] = []
    failed: list[dict[str, Any]] = []
    for media in parsed.media:
        try:
            if media.file_size is not None and media.file_size > limit:
                raise TelegramApiError(
                    method="getFile",
                    status=200,
                    description=f"the file is {media.file_size} bytes, over the limit of {limit}",
                )
            fetched = fetch_with_retries(
                lambda media=media: file_download(media.file_id, max_bytes=limit), what="Telegram file"
            )
        except (TelegramApiError, TelegramNotConfigured) as exc:
            reason = failure_reason(exc.description, exc) if isinstance(exc, TelegramApiError) else str(exc)
            logger.warning("Telegram %s %s not fetched: %s", media.kind, inbound.external_id, reason)
            failed.append({"filename": media.filename, "kind": media.kind, "file_id": media.file_id, "reason": reason})
            continue
        attachments.append(
            InboundAttachment(
                filename=_filename(media, fetched.file_path, inbound.metadata.get("message_id")),
                content_type=media.content_type,
                content=fetched.content,
            )
        )
    if not failed:
        return replace(inbound, attachments=tuple(attachments))
    notes = [
        _("[Attachment not fetched: %(name)s (%(reason)s)]") % {"name": item["filename"], "reason": item["reason"]}
        for item in failed
    ]
    body = "\n".join([inbound.body_text, *notes]) if inbound.body_text else "\n".join(notes)
    return replace(
        inbound,
        body_text=body,
        attachments=tuple(attachments),
        metadata={**inbound.metadata, "attachments_failed": failed},
    )


def telegram_chat_for(message: Message) -> str:
    """Where to send: the private chat the customer last wrote from on this ticket, else the
    chat of their Telegram identity (a user's private chat id is their user id)."""
    last = (
        message.ticket.messages.filter(channel=KEY, direction=MessageDirection.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    if isinstance(last, dict) and last.get("chat_type") == "private" and last.get("chat_id") is not None:
        return str(last["chat_id"])
    identity = message.ticket.requester.identities.filter(kind="telegram").order_by("created_at", "id").first()
    if identity is None:
        raise DeliveryError(_("The customer has no Telegram account on record, so there is no chat to write to."))
    return identity.value


def _chunks(text: str, size: int = MESSAGE_LIMIT) -> list[str]:
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        parts.append(text)
    return parts


PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
PHOTO_LIMIT = 10 * 1024 * 1024


def _attachment_send(chat_id: str, attachment: Any) -> Any:
    with attachment.file.open("rb") as handle:
        content = handle.read()
    photo = attachment.content_type in PHOTO_TYPES and len(content) <= PHOTO_LIMIT
    method, field = ("sendPhoto", "photo") if photo else ("sendDocument", "document")
    return bot_api_upload(
        method,
        {"chat_id": chat_id},
        file_field=field,
        filename=attachment.filename,
        content=content,
        content_type=attachment.content_type,
    )


def telegram_send(message: Message) -> str:
    """sendMessage (and sendPhoto / sendDocument for attachments) to the customer's chat;
    returns "<chat_id>:<message_id>" of the first message sent."""
    text = (message.body_text or html_to_text(message.body_html)).strip()
    attachments = list(message.attachments.filter(stored=True).exclude(file="").order_by("id"))
    if not text and not attachments:
        raise DeliveryError(_("The message has no text to send."))
    chat_id = telegram_chat_for(message)
    first_id = ""
    try:
        results = [bot_api_call("sendMessage", {"chat_id": chat_id, "text": part}) for part in _chunks(text)]
        results += [_attachment_send(chat_id, attachment) for attachment in attachments]
        for result in results[:1]:
            if not first_id:
                if not isinstance(result, dict) or result.get("message_id") is None:
                    raise DeliveryError(_("Telegram accepted the message but gave no message id."))
                chat = result.get("chat") if isinstance(result.get("chat"), dict) else {}
                first_id = telegram_message_external_id(chat.get("id", chat_id), result["message_id"])
    except TelegramNotConfigured as exc:
        raise DeliveryError(str(exc)) from None
    except TelegramApiError as exc:
        if exc.temporary:
            wait = f" (retry after {exc.retry_after}s)" if exc.retry_after else ""
            raise DeliveryRetry(f"Telegram is unavailable: {exc.description}{wait}") from None
        raise DeliveryError(_("Telegram refused the message: %(reason)s") % {"reason": exc.description}) from None
    return first_id


class TelegramAdapter(registry.ChannelAdapter):
    key = KEY

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        from .webhook import telegram_secret_valid

        return telegram_secret_valid(headers.get("X-Telegram-Bot-Api-Secret-Token", ""))

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        update_id = telegram_update_id(body)
        return None if update_id is None else f"update:{update_id}"

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        update = json.loads(bytes(raw.payload))
        if not isinstance(update, dict):
            raise registry.AdapterError("A Telegram update is a JSON object.")
        parsed = update_parse(update)
        return [] if parsed is None else [media_fetch(parsed)]

    def send(self, message: Message) -> str:
        return telegram_send(message)


def register_telegram_adapter() -> registry.ChannelAdapter:
    """Register the Telegram adapter once (called from channels_inbox's AppConfig.ready())."""
    existing = registry.registered().get(KEY)
    if existing is not None:
        return existing
    return registry.register(TelegramAdapter())
