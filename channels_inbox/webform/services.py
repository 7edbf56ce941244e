"""Taking one web form submission (or portal reply) into the help desk: raw first, then processed
at once through the registered web adapter, so the page can show the ticket number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tickets.models import Ticket
from tickets.outbound import sender_for
from tickets.services.events import Actor
from tickets.services.ingest import IngestResult, raw_inbound_store
from tickets.services.tickets import ticket_tags_add

from ..services import raw_inbound_process
from .adapter import CONTENT_TYPE, WebUpload, webform_external_id, webform_payload


class WebSubmissionFailed(Exception):
    """The submission was stored but could not become a message; the reason is on the raw row."""


@dataclass(frozen=True)
class WebSubmission:
    ticket: Ticket
    created_ticket: bool
    confirmation_emailed: bool
    raw_id: int


def _confirmation_email(result: IngestResult) -> bool:
    """Queue the new-ticket acknowledgement by email, exactly as for email tickets (once per
    ticket, hourly cap per address). True only when an email really was queued."""
    if not result.created_ticket or result.message is None or sender_for("email") is None:
        return False
    from ..email.acknowledgement import acknowledgement_send
    from ..email.mailboxes import mailbox_default

    return acknowledgement_send(message=result.message, mailbox=mailbox_default()) == "queued"


def webform_submit(
    *,
    name: str,
    email: str,
    subject: str,
    description: str,
    category: str = "",
    ticket_number: int | None = None,
    language: str = "",
    uploads: Iterable[WebUpload] = (),
    remote_addr: str = "",
    submission_id: str | None = None,
) -> WebSubmission:
    submission_id, payload = webform_payload(
        name=name,
        email=email,
        subject=subject,
        description=description,
        category=category,
        ticket_number=ticket_number,
        language=language,
        uploads=list(uploads),
        submission_id=submission_id,
    )
    raw, _created = raw_inbound_store(
        channel="web",
        payload=payload,
        external_id=webform_external_id(submission_id),
        content_type=CONTENT_TYPE,
        meta={"source": "portal", "remote_addr": remote_addr, "kind": "reply" if ticket_number else "new"},
    )
    results = raw_inbound_process(raw_id=raw.pk)
    if not results or results[0].ticket is None:
        raw.refresh_from_db(fields=["status", "error"])
        raise WebSubmissionFailed(raw.error or raw.status)
    result = results[0]
    ticket = result.ticket
    if result.created_ticket and category and result.customer is not None:
        ticket_tags_add(ticket=ticket, names=[category], actor=Actor.of_customer(result.customer))
    return WebSubmission(
        ticket=ticket,
        created_ticket=result.created_ticket,
        confirmation_emailed=_confirmation_email(result),
        raw_id=raw.pk,
    )
