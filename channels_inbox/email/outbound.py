"""Sending a ticket's outbound message as email, over the SMTP server of the ticket's mailbox.

The message is multipart (text and HTML, from templates, in the customer's language) with the
agent's signature and the message's attachments. It is sent From the ticket's mailbox, with a
Reply-To plus-addressed with the ticket number (support+t1234@example.com) and "[#1234]" in the
subject, so an answer finds its ticket even when the customer's client drops the threading
headers. Message-ID is returned and stored as the message's external id; In-Reply-To and
References name the ticket's earlier messages so the customer's client threads the conversation.

The Message-ID is the same on every attempt for one message: a retry after a send whose
outcome we never learned lets the receiving side recognise the copy.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend
from django.template.loader import render_to_string
from django.utils import translation

from tickets.customer_messages import customer_language
from tickets.models import AuthorKind, Message, MessageDirection, Ticket
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


def email_message_build(message: Message) -> tuple[EmailMultiAlternatives, Mailbox]:
    """The email for an outbound message, and the mailbox to send it through."""
    ticket = message.ticket
    mailbox = mailbox_for_ticket(ticket)
    if mailbox is None:
        raise DeliveryError("No mailbox is set up to send email: add one in the admin (Channels, Mailboxes).")
    if not mailbox.smtp_host:
        raise DeliveryError(f"The mailbox {mailbox.address} has no SMTP server set up, so it cannot send.")
    to = customer_address_for(ticket)
    if not to:
        raise DeliveryError(f"{ticket.requester} has no email address to send to.")
    ours = mailbox_addresses()
    cc = sorted(
        {
            value
            for value in ticket.followers.filter(identities__kind="email").values_list("identities__value", flat=True)
            if value and value.lower() != to.lower() and value.lower() not in ours
        }
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

    headers = {"Message-ID": outbound_message_id(message, mailbox), "X-Helpdesk-Ticket": str(ticket.number)}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    if is_automatic(message):
        # RFC 3834: no vacation responder should answer this; Exchange reads the second one.
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    mail = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=email.utils.formataddr((mailbox.display_name, mailbox.address)),
        to=[to],
        cc=cc,
        reply_to=[email.utils.formataddr((mailbox.display_name, ticket_reply_address(mailbox, ticket)))],
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    for attachment in message.attachments.filter(stored=True):
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
