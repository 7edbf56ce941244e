"""Phone calls: the webhooks' effects on the call row, logging calls on tickets, call-backs and
calls placed by agents.

Each webhook request stores its raw payload (tickets' raw store, channel "voice") and updates
the `Call` row, both quick, then answers TwiML. The ticket work happens in a worker once the
call is over (the final status callback), or when a recording or transcription arrives:

- an inbound call becomes a customer message on their ticket (caller, answered or missed,
  duration, menu choice, recording link), external id "call:<CallSid>";
- a voicemail recording and its transcription become messages "call:<CallSid>:recording" and
  "call:<CallSid>:transcription" threaded onto the call's ticket;
- a missed call (nobody answered: busy, no answer, voicemail) tags the ticket `callback` and
  adds an internal note asking an agent to call back, once;
- the team chosen in the IVR menu becomes the team of a ticket the call opened;
- a call an agent placed from a ticket is logged there as an internal note.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.identities import InvalidIdentity, normalize
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import AuthorKind, Channel, DeliveryStatus, Message, MessageDirection, RawInbound, Ticket
from tickets.services.events import Actor, event_record
from tickets.services.ingest import IngestResult, raw_inbound_store
from tickets.services.tickets import ticket_tags_add, ticket_update

from ..twilio.api import TwilioApiError, TwilioNotConfigured, call_create
from .models import FINAL_STATUSES, Call, CallDirection, IvrOption

logger = logging.getLogger(__name__)

KEY = "voice"
CALLBACK_TAG = "callback"
EVENTS = ("incoming", "menu", "dial", "status", "recording", "transcription")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return _("unknown length")
    minutes, rest = divmod(int(seconds), 60)
    if minutes:
        return _("%(m)s min %(s)s s") % {"m": minutes, "s": rest}
    return _("%(s)s s") % {"s": rest}


def voice_external_id(event: str, fields: Mapping[str, str]) -> str:
    """The raw store's id of one webhook delivery: a redelivery of the same callback is stored once."""
    sid = fields.get("CallSid", "")
    detail = {
        "menu": fields.get("Digits", "") or "none",
        "dial": fields.get("DialCallStatus", ""),
        "status": fields.get("CallStatus", ""),
        "recording": fields.get("RecordingSid", ""),
        "transcription": fields.get("TranscriptionSid", "") or fields.get("RecordingSid", ""),
    }.get(event, "")
    return f"{sid}:{event}" + (f":{detail}" if detail else "")


def voice_raw_accept(*, event: str, fields: Mapping[str, str], body: bytes, url: str = "", remote_addr: str = ""):
    """Keep the webhook as it came (before anything else); returns (raw, created)."""
    return raw_inbound_store(
        channel=KEY,
        payload=body,
        external_id=voice_external_id(event, fields),
        content_type="application/x-www-form-urlencoded",
        meta={"source": "twilio voice webhook", "voice_event": event, "url": url, "remote_addr": remote_addr},
    )


def _call_for(fields: Mapping[str, str]) -> Call:
    sid = fields["CallSid"]
    direction = CallDirection.INBOUND if fields.get("Direction", "inbound") == "inbound" else CallDirection.OUTBOUND
    call, _created = Call.objects.get_or_create(
        call_sid=sid,
        defaults={
            "direction": direction,
            "from_number": fields.get("From", "")[:32],
            "to_number": fields.get("To", "")[:32],
            "status": fields.get("CallStatus", "")[:20],
        },
    )
    return call


def _save(call: Call, **changes: Any) -> Call:
    for name, value in changes.items():
        setattr(call, name, value)
    call.updated_at = timezone.now()
    call.save(update_fields=[*changes, "updated_at"])
    return call


def ivr_options() -> list[IvrOption]:
    return list(IvrOption.objects.filter(is_active=True).select_related("team"))


def call_incoming(fields: Mapping[str, str]) -> Call:
    return _call_for(fields)


def call_menu_choose(fields: Mapping[str, str]) -> tuple[Call, IvrOption | None]:
    """The caller pressed a key (or none): the option it picks, recorded on the call."""
    call = _call_for(fields)
    digit = (fields.get("Digits") or "")[:1]
    option = IvrOption.objects.filter(is_active=True, digit=digit).select_related("team").first() if digit else None
    if option is not None:
        _save(call, ivr_digit=digit, team=option.team)
    return call, option


def forward_number(option: IvrOption | None) -> str:
    return (option.forward_to if option and option.forward_to else "") or (
        getattr(settings, "TWILIO_VOICE_FORWARD_TO", "") or ""
    )


def call_dial_result(fields: Mapping[str, str]) -> Call:
    """The forwarded leg ended: answered (completed) or not (busy, no-answer, failed, canceled)."""
    call = _call_for(fields)
    status = (fields.get("DialCallStatus") or "")[:20]
    return _save(call, dial_status=status, answered=call.answered or status == "completed")


def call_status_record(fields: Mapping[str, str]) -> Call:
    call = _call_for(fields)
    status = (fields.get("CallStatus") or "")[:20]
    changes: dict[str, Any] = {"status": status}
    duration = _int(fields.get("CallDuration"))
    if duration is not None:
        changes["duration_seconds"] = duration
    if call.direction == CallDirection.OUTBOUND and status == "completed":
        changes["answered"] = True
    return _save(call, **changes)


def call_recording_record(fields: Mapping[str, str]) -> Call:
    call = _call_for(fields)
    url = fields.get("RecordingUrl", "")
    return _save(
        call,
        recording_sid=fields.get("RecordingSid", "")[:64],
        recording_url=(url + ".mp3" if url and not url.endswith((".mp3", ".wav")) else url)[:500],
        recording_seconds=_int(fields.get("RecordingDuration")),
    )


def call_transcription_record(fields: Mapping[str, str]) -> Call:
    call = _call_for(fields)
    if (fields.get("TranscriptionStatus") or "completed") != "completed":
        return call
    return _save(call, transcription=fields.get("TranscriptionText", ""))


# --- the worker's side: calls on tickets --------------------------------------------------


def _call_text(call: Call) -> str:
    caller = call.from_number or _("an unknown number")
    if call.missed:
        why = {"busy": _("busy"), "no-answer": _("no answer"), "failed": _("failed"), "canceled": _("hung up")}
        reason = why.get(call.status) or (_("voicemail") if call.recording_url else _("nobody answered"))
        text = _("Missed call from %(caller)s (%(reason)s). Please call back.")
        lines = [text % {"caller": caller, "reason": reason}]
    else:
        lines = [
            _("Phone call from %(caller)s, answered, %(duration)s.")
            % {"caller": caller, "duration": duration_text(call.duration_seconds)}
        ]
    if call.ivr_digit:
        option = IvrOption.objects.filter(digit=call.ivr_digit).first()
        lines.append(
            _("Menu choice: %(digit)s (%(label)s)")
            % {"digit": call.ivr_digit, "label": option.label if option else "?"}
        )
    if call.recording_url:
        lines.append(_("Recording: %(url)s") % {"url": call.recording_url})
    if call.transcription:
        lines.append(_("Voicemail transcription: %(text)s") % {"text": call.transcription})
    return "\n".join(lines)


def _metadata(call: Call) -> dict[str, Any]:
    return {
        "call_sid": call.call_sid,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status,
        "answered": call.answered,
        "duration_seconds": call.duration_seconds,
        "recording_url": call.recording_url,
        "ivr_digit": call.ivr_digit,
    }


def voice_inbound(raw: RawInbound) -> list[InboundMessage]:
    """The customer message(s) one stored voice webhook stands for (the adapter's parse)."""
    from ..twilio.adapter import form_fields

    fields = form_fields(bytes(raw.payload))
    event = (raw.meta or {}).get("voice_event", "")
    sid = fields.get("CallSid", "")
    call = Call.objects.filter(call_sid=sid).first() if sid else None
    if call is None or call.direction != CallDirection.INBOUND or not call.from_number:
        return []
    sender = InboundSender(kind="phone", value=call.from_number, name=fields.get("CallerName", ""))
    base = f"call:{sid}"
    if event == "status" and call.status in FINAL_STATUSES:
        return [
            InboundMessage(
                channel=KEY, sender=sender, body_text=_call_text(call), external_id=base, metadata=_metadata(call)
            )
        ]
    already_logged = call.message_id is not None
    if event == "recording" and call.recording_url and already_logged:
        text = _("Voicemail (%(duration)s): %(url)s") % {
            "duration": duration_text(call.recording_seconds),
            "url": call.recording_url,
        }
        return [
            InboundMessage(
                channel=KEY,
                sender=sender,
                body_text=text,
                external_id=f"{base}:recording",
                in_reply_to=(base,),
                metadata={"call_sid": sid, "recording_url": call.recording_url, "kind": "voicemail"},
            )
        ]
    if event == "transcription" and call.transcription and already_logged:
        if call.transcription in (call.message.body_text if call.message else ""):
            return []
        text = _("Voicemail transcription: %(text)s") % {"text": call.transcription}
        return [
            InboundMessage(
                channel=KEY,
                sender=sender,
                body_text=text,
                external_id=f"{base}:transcription",
                in_reply_to=(base,),
                metadata={"call_sid": sid, "kind": "transcription"},
            )
        ]
    return []


def note_add(*, ticket: Ticket, text: str, kind: str, data: Mapping[str, Any] | None = None) -> Message:
    """An internal note written by the help desk itself (no agent), with its event."""
    with transaction.atomic():
        note = Message.objects.create(
            ticket=ticket,
            direction=MessageDirection.OUTBOUND,
            author_kind=AuthorKind.SYSTEM,
            channel=Channel.INTERNAL,
            subject=ticket.subject,
            body_text=text,
            is_internal=True,
            delivery_status=DeliveryStatus.NOT_SENT,
            metadata={"kind": kind, **dict(data or {})},
        )
        event_record(obj=note, ticket=ticket, verb="note_added", data={"kind": kind}, actor=Actor.system())
    return note


def call_after_ingest(*, raw: RawInbound, results: list[IngestResult]) -> None:
    """Link the call to its ticket; set the menu's team on a ticket the call opened; turn a
    missed call into a call-back task (tag and note) once."""
    from ..twilio.adapter import form_fields

    sid = form_fields(bytes(raw.payload)).get("CallSid", "")
    for result in results:
        if result.message is None or result.ticket is None or result.message.external_id != f"call:{sid}":
            continue
        with transaction.atomic():
            call = Call.objects.select_for_update().get(call_sid=sid)
            ticket = result.ticket
            if call.message_id is None:
                _save(call, message=result.message, ticket=ticket)
            if result.created_ticket and call.team_id and ticket.team_id is None:
                ticket_update(ticket=ticket, changes={"team": call.team}, actor=Actor.system())
            if call.missed and not call.callback_requested:
                ticket_tags_add(ticket=ticket, names=[CALLBACK_TAG], actor=Actor.system())
                note_add(
                    ticket=ticket,
                    text=_("Call-back needed: %(caller)s called and nobody answered. Call them back from this ticket.")
                    % {"caller": call.from_number},
                    kind="callback",
                    data={"call_sid": sid, "phone": call.from_number},
                )
                _save(call, callback_requested=True)
                event_record(
                    obj=ticket,
                    verb="callback_requested",
                    data={"call_sid": sid, "phone": call.from_number},
                    actor=Actor.system(),
                )


def outbound_call_log(call: Call) -> Message | None:
    """A call an agent placed is over: an internal note on its ticket, once."""
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("ticket", "agent").get(pk=call.pk)
        if call.message_id is not None or call.ticket is None or call.status not in FINAL_STATUSES:
            return None
        who = call.agent.get_full_name() or call.agent.get_username() if call.agent else _("An agent")
        if call.status == "completed":
            text = _("%(agent)s called %(number)s: %(duration)s.") % {
                "agent": who,
                "number": call.to_number,
                "duration": duration_text(call.duration_seconds),
            }
        else:
            text = _("%(agent)s called %(number)s: not connected (%(status)s).") % {
                "agent": who,
                "number": call.to_number,
                "status": call.status,
            }
        note = note_add(ticket=call.ticket, text=text, kind="call", data=_metadata(call))
        _save(call, message=note)
    return note


def voice_raw_process(*, raw_id: int) -> list[IngestResult]:
    """The worker's handling of one stored voice webhook (idempotent)."""
    from ..services import raw_inbound_process

    raw = RawInbound.objects.get(pk=raw_id)
    from ..twilio.adapter import form_fields

    sid = form_fields(bytes(raw.payload)).get("CallSid", "")
    call = Call.objects.filter(call_sid=sid).first() if sid else None
    if call is not None and call.direction == CallDirection.OUTBOUND:
        from tickets.models import RawInboundStatus
        from tickets.services.ingest import raw_inbound_mark

        outbound_call_log(call)
        raw_inbound_mark(raw=raw, status=RawInboundStatus.PROCESSED)
        return []
    results = raw_inbound_process(raw_id=raw_id)
    call_after_ingest(raw=raw, results=results)
    return results


# --- agents placing calls ----------------------------------------------------------------


def customer_phone(ticket: Ticket) -> str:
    identity = (
        ticket.requester.identities.filter(kind__in=("phone", "whatsapp")).order_by("-kind", "created_at").first()
    )
    return identity.value if identity else ""


def call_place(*, ticket: Ticket, user: AbstractBaseUser, agent_phone: str, to: str = "") -> Call:
    """Ring the agent's phone through Twilio's Calls API; when they answer, Twilio fetches
    /inbound/twilio/voice/connect/<call id>/ and dials the customer. Raises ValidationError
    with the reason (no number, Twilio not set up or refusing)."""
    if not user.has_perm("tickets.reply_publicly"):
        raise PermissionDenied(_("Your role cannot contact customers."))
    try:
        agent_number = normalize("phone", agent_phone)
    except InvalidIdentity:
        raise ValidationError(_("Enter the phone number Twilio should ring you on, e.g. +14155550100.")) from None
    try:
        number = normalize("phone", to) if to else customer_phone(ticket)
    except InvalidIdentity:
        raise ValidationError(_("%(number)s is not a phone number.") % {"number": to}) from None
    if not number:
        raise ValidationError(_("The customer has no phone number on record."))
    caller_id = getattr(settings, "TWILIO_VOICE_NUMBER", "") or getattr(settings, "TWILIO_FROM_NUMBER", "") or ""
    if not caller_id:
        raise ValidationError(_("Calls are not set up: set TWILIO_VOICE_NUMBER (or TWILIO_FROM_NUMBER)."))
    from .twiml import webhook_url

    call = Call.objects.create(
        direction=CallDirection.OUTBOUND,
        from_number=caller_id,
        to_number=number,
        status="initiated",
        agent=user,
        agent_phone=agent_number,
        ticket=ticket,
    )
    try:
        resource = call_create(
            to=agent_number,
            from_=caller_id,
            url=webhook_url("twilio_voice_connect", call_id=call.pk),
            status_callback=webhook_url("twilio_voice_status"),
        )
    except (TwilioApiError, TwilioNotConfigured) as exc:
        reason = exc.message if isinstance(exc, TwilioApiError) else str(exc)
        code = f" (error {exc.code})" if isinstance(exc, TwilioApiError) and exc.code else ""
        _save(call, status="failed", error=f"{reason}{code}")
        raise ValidationError(_("Twilio did not place the call: %(reason)s") % {"reason": f"{reason}{code}"}) from None
    _save(call, call_sid=str(resource["sid"]), status=str(resource.get("status") or "queued")[:20])
    event_record(
        obj=ticket,
        verb="call_placed",
        data={"call_sid": call.call_sid, "to": number, "agent_phone": agent_number},
        actor=Actor.agent(user),
    )
    return call
