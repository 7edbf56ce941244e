"""Automatic answers to inbound messages on the messaging channels.

After an inbound message is stored (the `message_ingested` hook), `bot_message_handle` looks at
it once (a `FlowRun` per message):

1. a pending yes/no question to this customer on this channel: "YES"/"Y"/"OK"/"CONFIRM" or
   "NO"/"N" records the answer on the `Confirmation`, sends the flow's answer and leaves an
   event on the ticket;
2. SMS opt-out keywords (STOP, START, HELP, ...) are Twilio's to answer: nothing is sent;
3. the first word matches an active flow's keyword: a keyword flow sends its reply, an order
   status flow calls the company's endpoint (GET, {order} in the URL, JSON back) and sends the
   reply filled in with the answer's fields; a failed look-up sends a holding answer and leaves
   the reason on the ticket for an agent.

Every automatic answer is an outbound message on the ticket (author "system", metadata kind
"bot_reply"), sent like any other message, plus a "bot_answered" event.
"""

from __future__ import annotations

import json
import logging
import re
import string
import urllib.parse
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import AuthorKind, Message, MessageDirection, Ticket
from tickets.services.events import Actor, event_record
from tickets.services.tickets import system_message_queue

from ..http import ProviderUnreachable, http_open
from ..twilio.consent import sms_keyword
from .models import Confirmation, ConfirmationState, Flow, FlowKind, FlowRun

logger = logging.getLogger(__name__)

YES_WORDS = frozenset({"YES", "Y", "OK", "CONFIRM", "CONFIRMED", "SI", "SÍ", "OUI", "JA"})
NO_WORDS = frozenset({"NO", "N", "NON", "NEIN"})
ORDER_TIMEOUT_SECONDS = 10
ORDER_MAX_BYTES = 64 * 1024
CONFIRMATION_HOURS = 72


class _Fields(dict):
    """format_map fields: a missing one is left as it was written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, fields: dict[str, Any]) -> str:
    names = {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}
    values = _Fields({k: v for k, v in fields.items() if k in names and isinstance(v, str | int | float)})
    try:
        return template.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return template


def _first_word(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].strip(".,!?:;").upper(), (parts[1].strip() if len(parts) > 1 else "")


def _reply(*, message: Message, flow: Flow | None, text: str, outcome: str, detail: str = "") -> Message:
    reply = system_message_queue(
        ticket=message.ticket,
        channel=message.channel,
        body_text=text,
        kind="bot_reply",
        metadata={"flow": flow.pk if flow else None, "flow_name": flow.name if flow else "", "answers": message.pk},
    )
    event_record(
        obj=message.ticket,
        verb="bot_answered",
        data={"flow": flow.name if flow else "", "outcome": outcome, "message": message.pk, "detail": detail},
        actor=Actor.system(),
    )
    return reply


def order_status_fetch(flow: Flow, order: str) -> dict[str, Any]:
    """GET the flow's endpoint for one order; the JSON object it answers. Raises ValueError
    with a reason an agent can read."""
    url = flow.endpoint_url.replace("{order}", urllib.parse.quote(order, safe=""))
    request = urllib.request.Request(url, method="GET", headers={"Accept": "application/json"})
    token = getattr(settings, "BOTS_ORDER_STATUS_TOKEN", "") or ""
    if token:
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        status, body, _type = http_open(request, limit=ORDER_MAX_BYTES, timeout=ORDER_TIMEOUT_SECONDS)
    except (ProviderUnreachable, ValueError) as exc:  # ValueError: the SSRF guard refused the address
        raise ValueError(_("the order status service did not answer (%(why)s)") % {"why": exc}) from None
    if status == 404:
        raise LookupError(order)
    if status != 200:
        raise ValueError(_("the order status service answered HTTP %(status)s") % {"status": status})
    try:
        data = json.loads(body[:ORDER_MAX_BYTES])
    except ValueError:
        raise ValueError(_("the order status service did not answer JSON")) from None
    if not isinstance(data, dict):
        raise ValueError(_("the order status service did not answer a JSON object"))
    return data


def _order_status(message: Message, flow: Flow, rest: str) -> tuple[str, str, str]:
    """(reply text, outcome, detail)."""
    match = re.search(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", rest)
    if not match:
        return (
            _("Please send %(keyword)s followed by your order number.") % {"keyword": flow.keyword_list[0]},
            "order_missing",
            "",
        )
    order = match.group(0)
    try:
        data = order_status_fetch(flow, order)
    except LookupError:
        return _("We could not find order %(order)s. Please check the number.") % {"order": order}, "order_unknown", ""
    except ValueError as exc:
        logger.warning("Order status look-up for %s failed: %s", order, exc)
        return (
            _("We could not look up order %(order)s right now; an agent will get back to you.") % {"order": order},
            "order_lookup_failed",
            str(exc),
        )
    return _fill(flow.reply_text or "{order}: {status}", {**data, "order": order}), "order_status", order


def _pending_confirmation(message: Message) -> Confirmation | None:
    return (
        Confirmation.objects.select_for_update()
        .filter(
            customer_id=message.author_customer_id,
            channel=message.channel,
            state=ConfirmationState.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("flow", "ticket")
        .order_by("-created_at")
        .first()
    )


def bot_message_handle(*, message_id: int) -> FlowRun | None:
    """Answer one inbound message automatically when a flow applies; once per message."""
    message = (
        Message.objects.select_related("ticket", "author_customer")
        .filter(pk=message_id, direction=MessageDirection.INBOUND, author_kind=AuthorKind.CUSTOMER)
        .first()
    )
    if message is None or not message.author_customer_id:
        return None
    if (message.metadata or {}).get("claimed_by"):
        return None  # already answered something else (e.g. a survey digit reply)
    flows = [f for f in Flow.objects.filter(is_active=True) if message.channel in (f.channels or [])]
    with transaction.atomic():
        confirmation = _pending_confirmation(message)
        if not flows and confirmation is None:
            return None
        try:
            with transaction.atomic():
                run = FlowRun.objects.create(message=message, outcome="none")
        except IntegrityError:
            return None  # handled before
        word, rest = _first_word(message.body_text)
        if confirmation is not None and word in YES_WORDS | NO_WORDS and not rest:
            return _confirmation_answer(run, message, confirmation, yes=word in YES_WORDS)
        if message.channel == "sms" and sms_keyword(message.body_text):
            run.outcome = "sms_keyword"
            run.save(update_fields=["outcome"])
            return run
        flow = next((f for f in flows if f.kind != FlowKind.CONFIRMATION and word in f.keyword_list), None)
        if flow is None:
            return run
        if flow.kind == FlowKind.KEYWORD:
            text, outcome, detail = flow.reply_text, "keyword_reply", ""
        else:
            text, outcome, detail = _order_status(message, flow, rest)
        run.flow, run.outcome, run.detail = flow, outcome, detail
        run.reply = _reply(message=message, flow=flow, text=text, outcome=outcome, detail=detail)
        run.save(update_fields=["flow", "outcome", "detail", "reply"])
        return run


def _confirmation_answer(run: FlowRun, message: Message, confirmation: Confirmation, *, yes: bool) -> FlowRun:
    flow = confirmation.flow
    confirmation.state = ConfirmationState.YES if yes else ConfirmationState.NO
    confirmation.answer = message
    confirmation.answered_at = timezone.now()
    confirmation.save(update_fields=["state", "answer", "answered_at"])
    event_record(
        obj=confirmation.ticket,
        verb="confirmation_answered",
        new=confirmation.state,
        data={"flow": flow.name, "subject": confirmation.subject, "message": message.pk},
        actor=Actor.of_customer(message.author_customer),
    )
    text = _fill(flow.yes_reply if yes else flow.no_reply, {"subject": confirmation.subject})
    outcome = "confirmed" if yes else "declined"
    run.flow, run.outcome, run.detail = flow, outcome, confirmation.subject
    run.reply = _reply(message=message, flow=flow, text=text, outcome=outcome, detail=confirmation.subject)
    run.save(update_fields=["flow", "outcome", "detail", "reply"])
    return run


def confirmation_request(
    *, ticket: Ticket, flow: Flow, subject: str, actor: Actor, channel: str = "", hours: int = CONFIRMATION_HOURS
) -> Confirmation:
    """Ask the ticket's customer a yes/no question (the flow's text, {subject} filled in) and
    wait for the answer. Sent on `channel`, by default the ticket's channel."""
    user: AbstractBaseUser | None = actor.user
    if user is not None and not user.has_perm("tickets.reply_publicly"):
        raise PermissionDenied(_("Your role cannot contact customers."))
    if flow.kind != FlowKind.CONFIRMATION or not flow.is_active:
        raise ValidationError(_("%(flow)s is not an active confirmation flow.") % {"flow": flow.name})
    channel = channel or ticket.channel
    if channel not in (flow.channels or []):
        raise ValidationError(_("%(flow)s is not used on %(channel)s.") % {"flow": flow.name, "channel": channel})
    text = _fill(flow.reply_text, {"subject": subject}).strip()
    if not text:
        raise ValidationError(_("The flow has no question text."))
    with transaction.atomic():
        question = system_message_queue(
            ticket=ticket, channel=channel, body_text=text, kind="confirmation_question", metadata={"flow": flow.pk}
        )
        Confirmation.objects.filter(customer=ticket.requester, channel=channel, state=ConfirmationState.PENDING).update(
            state=ConfirmationState.EXPIRED
        )
        confirmation = Confirmation.objects.create(
            flow=flow,
            ticket=ticket,
            customer=ticket.requester,
            channel=channel,
            question=question,
            subject=subject[:255],
            asked_by=user,
            expires_at=timezone.now() + timedelta(hours=hours),
        )
        event_record(
            obj=ticket,
            verb="confirmation_asked",
            data={"flow": flow.name, "subject": subject, "channel": channel},
            actor=actor,
        )
    return confirmation
