"""SMS opt-out keywords: STOP and its synonyms turn Customer.consent_sms off, START and its
synonyms turn it back on, HELP is recorded. The keyword message is stored like any other
message too, so the agent sees it on the ticket.

A message is a keyword when its whole text, trimmed and in any case, is one of the words below
(as carriers and Twilio's Advanced Opt-Out match them). The confirmation texts are sent by
Twilio itself (Advanced Opt-Out); the help desk only records consent.
"""

from __future__ import annotations

from django.db import transaction

from tickets.models import Customer, Event
from tickets.services.customers import customer_resolve
from tickets.services.directory import customer_update
from tickets.services.events import Actor, event_record

STOP, START, HELP = "stop", "start", "help"

KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), STOP),
    **dict.fromkeys(("START", "YES", "UNSTOP"), START),
    **dict.fromkeys(("HELP", "INFO"), HELP),
}

EVENT_VERBS = {STOP: "sms_opted_out", START: "sms_opted_in", HELP: "sms_help_requested"}


def sms_keyword(body: str) -> str | None:
    """ "stop", "start", "help" or None for an ordinary message."""
    word = (body or "").strip().strip(".!").strip().upper()
    return KEYWORDS.get(word)


def sms_keyword_apply(*, phone: str, body: str, message_sid: str) -> tuple[Customer, str] | None:
    """Record what a keyword message means for the sender's SMS consent; None when it is no
    keyword. Applied once per message: a redelivery or replay of the same MessageSid changes
    nothing (a later START is not undone by an old STOP replayed)."""
    keyword = sms_keyword(body)
    if keyword is None:
        return None
    with transaction.atomic():
        customer, _created = customer_resolve(kind="phone", value=phone)
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        verb = EVENT_VERBS[keyword]
        if Event.objects.filter(
            object_type="customer", object_id=customer.pk, verb=verb, data__message_sid=message_sid
        ).exists():
            return customer, keyword
        actor = Actor.of_customer(customer)
        if keyword in (STOP, START):
            customer_update(customer=customer, changes={"consent_sms": keyword == START}, actor=actor)
        event_record(
            obj=customer,
            verb=verb,
            new={"consent_sms": customer.consent_sms},
            data={"keyword": body.strip()[:40], "message_sid": message_sid, "phone": phone},
            actor=actor,
        )
    return customer, keyword
