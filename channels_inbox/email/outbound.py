"""Sending a ticket's outbound message as email, over the SMTP server of the ticket's mailbox.

The message is multipart (text and HTML, from templates, in the customer's language) with the
agent's signature and the message's attachments. An agent's reply quotes the earlier message
below it ("On <date>, <name> wrote:"), as "> " lines in the text part and a blockquote in the
HTML part; images the HTML shows by "cid:" (the reply's own inline images, or those of the
quoted message) travel with the HTML as multipart/related parts, every other file of the
message as an attachment. Automatic mail (acknowledgements, notices) quotes nothing, and one
addressed to a single sender (metadata "recipient") goes to that sender only.

It is sent From the ticket's mailbox, with a Reply-To plus-addressed with the ticket number
(support+t1234@example.com) and "[#1234]" in the subject, so an answer finds its ticket even
when the customer's client drops the threading headers. Message-ID is returned and stored as
the message's external id; In-Reply-To and References name the ticket's earlier messages so
the customer's client threads the conversation.

The Message-ID is the same on every attempt for one message: a retry after a send whose
outcome we never learned lets the receiving side recognise the copy.
"""

from __future__ import annotations

import email.encoders
import email.utils
import hashlib
import hmac
import re
import smtplib
from dataclasses import dataclass
from email.mime.base import MIMEBase
from urllib.parse import unquote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from tickets.customer_messages import customer_language
from tickets.html import sanitize_html
from tickets.models import Attachment, AuthorKind, Message, MessageDirection, Ticket
from tickets.outbound import DeliveryError, DeliveryRetry

from ..models import Mailbox
from .credentials import CredentialUnreadable
from .mailboxes import customer_address_for, mailbox_addresses, mailbox_for_ticket

MAX_REFERENCES = 20
_SUBJECT_NOISE = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg)\s*:\s*)+", re.IGNORECASE)
_TOKEN = re.compile(r"\s*\[#\s*\d+\s*\]\s*")


def outbound_message_id(message: Message, mailbox: Mailbox) -> str:
    """ "<hd.1234.567.3f9a...@example.com>": stable for one message, unguessable by customers
    (whose own Message-IDs share the email channel's id space)."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"email-message-id:{message.pk}".encode(), hashlib.sha256)
    return f"<hd.{message.ticket.number}.{message.pk}.{mac.hexdigest()[:16]}@{mailbox.domain}>"


def ticket_reply_address(mailbox: Mailbox, ticket: Ticket) -> str:
    local, _, domain = mailbox.address.partition("@")
    return f"{local.split('+', 1)[0]}+t{ticket.number}@{domain}"


def outbound_subject(ticket: Ticket, *, is_reply: bool) -> str:
    base = _TOKEN.sub(" ", _SUBJECT_NOISE.sub("", ticket.subject or "")).strip() or f"Ticket {ticket.number}"
    return f"{'Re: ' if is_reply else ''}{base} [#{ticket.number}]"


def thread_headers(message: Message) -> tuple[str, list[str]]:
    """(In-Reply-To, References) from the ticket's earlier email messages, oldest first.
    In-Reply-To answers the customer's latest email, else our latest one."""
    earlier = list(
        message.ticket.messages.filter(channel="email", external_id__startswith="<", id__lt=message.pk)
        .exclude(is_internal=True)
        .order_by("created_at", "id")
        .values_list("external_id", "direction")
    )
    ids = list(dict.fromkeys(external_id for external_id, _d in earlier))
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    inbound = [external_id for external_id, direction in earlier if direction == MessageDirection.INBOUND]
    in_reply_to = inbound[-1] if inbound else (ids[-1] if ids else "")
    return in_reply_to, ids


def is_automatic(message: Message) -> bool:
    return message.author_kind in (AuthorKind.SYSTEM, AuthorKind.BOT) or bool(
        (message.metadata or {}).get("auto_submitted")
    )


def _signature(message: Message) -> str:
    user = message.author_user
    profile = getattr(user, "agent_profile", None) if user is not None else None
    return (profile.signature or "").strip() if profile is not None else ""


# --- Quoted history and inline images ---------------------------------------------------------

MAX_QUOTED_CHARS = 50_000
_CID_SRC_RE = re.compile(r"""src\s*=\s*["']\s*cid:([^"'\s>]+)\s*["']""", re.IGNORECASE)
_BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class QuotedMessage:
    header: str  # "On 3 Feb 2025 10:00, Ana Lima wrote:"
    text: str  # the earlier message's full text
    html: str  # its sanitised HTML, or "" when it had none
    message: Message


def quoted_message_for(message: Message) -> Message | None:
    """The earlier message an agent's reply quotes: the customer's latest message on the ticket,
    else our own latest answer. Automatic mail (acknowledgements, notices) quotes nothing."""
    if is_automatic(message):
        return None
    earlier = message.ticket.messages.filter(id__lt=message.pk, is_internal=False).exclude(
        author_kind__in=(AuthorKind.SYSTEM, AuthorKind.BOT)
    )
    latest = earlier.filter(direction=MessageDirection.INBOUND).order_by("-created_at", "-id").first()
    if latest is None:
        latest = earlier.filter(direction=MessageDirection.OUTBOUND).order_by("-created_at", "-id").first()
    return latest


def _author_name(message: Message, mailbox: Mailbox) -> str:
    if message.direction == MessageDirection.INBOUND:
        customer = message.author_customer
        if customer is not None:
            return customer.name or str(customer)
        return (message.metadata or {}).get("from", "") or _("the customer")
    user = message.author_user
    if user is not None:
        return user.get_full_name() or user.get_username()
    return mailbox.display_name or mailbox.address


def quoted_message_build(message: Message, mailbox: Mailbox) -> QuotedMessage | None:
    """The quote for the active language, or None when the reply quotes nothing."""
    earlier = quoted_message_for(message)
    if earlier is None:
        return None
    text = ((earlier.metadata or {}).get("full_text") or earlier.body_text or "").strip()
    html = sanitize_html(earlier.body_html) if earlier.body_html else ""
    if not text and not html:
        return None
    when = timezone.localtime(earlier.sent_at or earlier.created_at)
    header = _("On %(date)s, %(name)s wrote:") % {
        "date": formats.date_format(when, "DATETIME_FORMAT"),
        "name": _author_name(earlier, mailbox),
    }
    if len(text) > MAX_QUOTED_CHARS:
        text = text[:MAX_QUOTED_CHARS].rstrip() + "\n[…]"
    if len(html) > MAX_QUOTED_CHARS * 4:
        html = ""  # an enormous HTML body is quoted as its text instead
    return QuotedMessage(header=header, text=text, html=html, message=earlier)


def quote_text(quote: QuotedMessage) -> str:
    lines = quote.text.replace("\r\n", "\n").split("\n")
    return quote.header + "\n" + "\n".join((">" if line.startswith(">") else "> ") + line for line in lines)


def quote_html(quote: QuotedMessage) -> str:
    inner = quote.html or linebreaks(escape(quote.text))
    return (
        '<div style="margin-top: 24px;">'
        f'<p style="color: #4b5563;">{escape(quote.header)}</p>'
        '<blockquote type="cite" style="margin: 0 0 0 4px; padding-left: 12px; border-left: 2px solid #d1d5db; '
        f'color: #374151;">{inner}</blockquote></div>'
    )


def _html_with_quote(html: str, quoted: str) -> str:
    matches = list(_BODY_END_RE.finditer(html))
    if not matches:
        return html + quoted
    at = matches[-1].start()
    return html[:at] + quoted + "\n" + html[at:]


def cid_references(html: str) -> list[str]:
    """Content-IDs the HTML shows as images (src="cid:..."), in order, each once."""
    found: list[str] = []
    for value in _CID_SRC_RE.findall(html or ""):
        for candidate in (value, unquote(value)):
            candidate = candidate.strip("<>")
            if candidate and candidate not in found:
                found.append(candidate)
    return found


def _inline_image_part(attachment: Attachment, data: bytes) -> MIMEBase:
    maintype, _slash, subtype = (attachment.content_type or "application/octet-stream").partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(data)
    email.encoders.encode_base64(part)
    part.add_header("Content-ID", f"<{attachment.content_id}>")
    filename: str | tuple[str, str, str] = attachment.filename
    try:
        attachment.filename.encode("ascii")
    except UnicodeEncodeError:
        filename = ("utf-8", "", attachment.filename)
    part.add_header("Content-Disposition", "inline", filename=filename)
    return part


class ReplyEmail(EmailMultiAlternatives):
    """Text and HTML alternatives; when the HTML shows inline images, the HTML and those images
    travel together as multipart/related (RFC 2387) inside the alternative:

        multipart/mixed            (only with attachments)
          multipart/alternative
            text/plain
            multipart/related; type="text/html"
              text/html
              image/png; Content-ID: <...>; Content-Disposition: inline
          application/pdf          (an attachment)
    """

    def __init__(self, *args, related_parts: list[MIMEBase] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.related_parts = list(related_parts or [])

    def _create_alternatives(self, msg):
        # Django's own hook for building the alternative part (pinned Django 5.2).
        if not self.related_parts or not self.alternatives:
            return super()._create_alternatives(msg)
        encoding = self.encoding or settings.DEFAULT_CHARSET
        alternative = SafeMIMEMultipart(_subtype=self.alternative_subtype, encoding=encoding)
        if self.body:
            alternative.attach(msg)
        for content, mimetype in self.alternatives:
            part = self._create_mime_attachment(content, mimetype)
            if mimetype == "text/html":
                related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
                related.set_param("type", "text/html")
                related.attach(part)
                for image in self.related_parts:
                    related.attach(image)
                part = related
            alternative.attach(part)
        return alternative


def _attachments_split(
    message: Message, html: str, quote: QuotedMessage | None
) -> tuple[list[MIMEBase], list[Attachment]]:
    """(inline image parts for the cid: references in the HTML, the message's other files).
    Inline images may come from the reply itself or from the quoted message."""
    own = list(message.attachments.filter(stored=True))
    referenced = cid_references(html)
    candidates = list(own)
    if quote is not None and referenced:
        candidates += list(quote.message.attachments.filter(stored=True).exclude(content_id=""))
    by_cid: dict[str, Attachment] = {}
    for attachment in candidates:
        if attachment.content_id and attachment.content_id not in by_cid:
            by_cid[attachment.content_id] = attachment
    related: list[MIMEBase] = []
    used: set[int] = set()
    for cid in referenced:
        attachment = by_cid.get(cid)
        if attachment is None or attachment.pk in used or not attachment.file:
            continue
        with attachment.file.open("rb") as handle:
            related.append(_inline_image_part(attachment, handle.read()))
        used.add(attachment.pk)
    return related, [a for a in own if a.pk not in used]


def email_message_build(message: Message) -> tuple[EmailMultiAlternatives, Mailbox]:
    """The email for an outbound message, and the mailbox to send it through."""
    ticket = message.ticket
    mailbox = mailbox_for_ticket(ticket)
    if mailbox is None:
        raise DeliveryError("No mailbox is set up to send email: add one in the admin (Channels, Mailboxes).")
    if not mailbox.smtp_host:
        raise DeliveryError(f"The mailbox {mailbox.address} has no SMTP server set up, so it cannot send.")
    ours = mailbox_addresses()
    # An automatic notice to one sender (e.g. "your email was cut for size") goes to them alone.
    recipient = str((message.metadata or {}).get("recipient") or "") if is_automatic(message) else ""
    to = recipient or customer_address_for(ticket)
    if not to:
        raise DeliveryError(f"{ticket.requester} has no email address to send to.")
    cc = (
        []
        if recipient
        else sorted(
            {
                value
                for value in ticket.followers.filter(identities__kind="email").values_list(
                    "identities__value", flat=True
                )
                if value and value.lower() != to.lower() and value.lower() not in ours
            }
        )
    )
    in_reply_to, references = thread_headers(message)
    has_inbound = ticket.messages.filter(direction=MessageDirection.INBOUND).exists()
    subject = outbound_subject(ticket, is_reply=has_inbound)
    language = customer_language(ticket.requester)
    context = {
        "ticket": ticket,
        "customer": ticket.requester,
        "subject": subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "signature": _signature(message),
        "language": language,
    }
    # templates/channels_inbox/email/ in the project overrides the app's own templates.
    with translation.override(language):
        text = render_to_string("channels_inbox/email/reply.txt", context).strip() + "\n"
        html = render_to_string("channels_inbox/email/reply.html", context)
        quote = quoted_message_build(message, mailbox)
    if quote is not None:
        # Below the reply, as mail clients do: "On <date>, <name> wrote:" and the earlier message.
        text = text + "\n" + quote_text(quote) + "\n"
        html = _html_with_quote(html, quote_html(quote))
    related, files = _attachments_split(message, html, quote)

    headers = {"Message-ID": outbound_message_id(message, mailbox), "X-Helpdesk-Ticket": str(ticket.number)}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    if is_automatic(message):
        # RFC 3834: no vacation responder should answer this; Exchange reads the second one.
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    mail = ReplyEmail(
        subject=subject,
        body=text,
        from_email=email.utils.formataddr((mailbox.display_name, mailbox.address)),
        to=[to],
        cc=cc,
        reply_to=[email.utils.formataddr((mailbox.display_name, ticket_reply_address(mailbox, ticket)))],
        headers=headers,
        related_parts=related,
    )
    mail.attach_alternative(html, "text/html")
    for attachment in files:
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.filename, handle.read(), attachment.content_type)
    return mail, mailbox


def smtp_backend(mailbox: Mailbox) -> EmailBackend:
    try:
        password = mailbox.smtp_password
    except CredentialUnreadable as exc:
        raise DeliveryError(f"Mailbox {mailbox.address}: {exc}") from exc
    return EmailBackend(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        username=mailbox.smtp_username,
        password=password,
        use_tls=mailbox.smtp_starttls and not mailbox.smtp_ssl,
        use_ssl=mailbox.smtp_ssl,
        timeout=int(getattr(settings, "HELPDESK_SMTP_TIMEOUT", 30)),
        fail_silently=False,
    )


def _reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {' '.join(str(text).split())}".strip()


def email_send(message: Message) -> str:
    """The email channel's sender: returns the Message-ID sent; 4xx and connection errors raise
    DeliveryRetry, 5xx raise DeliveryError with the server's reason."""
    mail, mailbox = email_message_build(message)
    where = f"{mailbox.smtp_host}:{mailbox.smtp_port}"
    try:
        sent = smtp_backend(mailbox).send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients or {}
        reasons = "; ".join(f"{address}: {_reason(code, text)}" for address, (code, text) in refused.items())
        if refused and all(code >= 500 for code, _t in refused.values()):
            raise DeliveryError(f"The mail server {where} refused the recipient: {reasons}") from exc
        raise DeliveryRetry(f"The mail server {where} deferred the recipient: {reasons}") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"The mail server {where} does not support what the mailbox asks for: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        reason = _reason(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code >= 500:
            what = "rejected the login" if isinstance(exc, smtplib.SMTPAuthenticationError) else "refused the message"
            raise DeliveryError(f"The mail server {where} {what}: {reason}") from exc
        raise DeliveryRetry(f"The mail server {where} answered {reason}; trying again later") from exc
    except OSError as exc:  # refused connection, timeout, TLS failure, dropped connection
        raise DeliveryRetry(f"Could not talk to the mail server {where}: {exc or exc.__class__.__name__}") from exc
    if not sent:
        raise DeliveryRetry(f"The mail server {where} did not take the message; trying again later")
    return mail.extra_headers["Message-ID"]
