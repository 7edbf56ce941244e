"""Twilio's voice webhooks (no session, no CSRF: X-Twilio-Signature authenticates Twilio).

Every request is checked, stored raw and answered with TwiML at once; logging the call on a
ticket happens in the worker."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.voice_response import VoiceResponse

from ..twilio.signature import twilio_request_url, twilio_request_verified
from . import services, twiml
from .models import FINAL_STATUSES, Call, CallDirection
from .tasks import voice_raw_process_task


def _twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def _verified(event: str):
    """Check the signature and CallSid, store the raw payload, then run the view."""

    def decorate(view):
        @csrf_exempt
        @require_POST
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            body = request.body
            if not twilio_request_verified(request):
                return HttpResponse("Missing or wrong X-Twilio-Signature.", status=403, content_type="text/plain")
            fields = {name: request.POST.get(name, "") for name in request.POST}
            if not fields.get("CallSid"):
                return HttpResponse("CallSid is required.", status=400, content_type="text/plain")
            with transaction.atomic():
                raw, created = services.voice_raw_accept(
                    event=event,
                    fields=fields,
                    body=body,
                    url=twilio_request_url(request),
                    remote_addr=request.META.get("REMOTE_ADDR", ""),
                )
                return view(request, fields, raw, created, *args, **kwargs)

        return wrapper

    return decorate


def _process_later(raw) -> None:
    raw_id = raw.pk
    transaction.on_commit(lambda: voice_raw_process_task.delay(raw_id))


@_verified("incoming")
def incoming(request, fields, raw, created) -> HttpResponse:
    """A call comes in: the IVR menu when one is set up, else forward or voicemail."""
    services.call_incoming(fields)
    options = services.ivr_options()
    if options:
        return _twiml(twiml.menu(options))
    number = services.forward_number(None)
    return _twiml(twiml.forward(number) if number else twiml.voicemail(greeting_first=True))


@_verified("menu")
def menu(request, fields, raw, created) -> HttpResponse:
    call, option = services.call_menu_choose(fields)
    if option is None and fields.get("Digits"):
        return _twiml(twiml.menu(services.ivr_options(), retry=True))
    number = services.forward_number(option)
    return _twiml(twiml.forward(number) if number else twiml.voicemail())


@_verified("dial")
def dial(request, fields, raw, created) -> HttpResponse:
    call = services.call_dial_result(fields)
    return _twiml(twiml.hangup() if call.answered else twiml.voicemail())


@_verified("recording")
def recording(request, fields, raw, created) -> HttpResponse:
    if fields.get("RecordingUrl"):
        services.call_recording_record(fields)
        if created:
            _process_later(raw)
    return _twiml(twiml.goodbye())


@_verified("transcription")
def transcription(request, fields, raw, created) -> HttpResponse:
    services.call_transcription_record(fields)
    if created:
        _process_later(raw)
    return HttpResponse(status=204)


@_verified("status")
def status(request, fields, raw, created) -> HttpResponse:
    call = services.call_status_record(fields)
    if created and call.status in FINAL_STATUSES:
        _process_later(raw)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def connect(request: HttpRequest, call_id: int) -> HttpResponse:
    """The agent answered the call placed for them: dial the customer."""
    if not twilio_request_verified(request):
        return HttpResponse("Missing or wrong X-Twilio-Signature.", status=403, content_type="text/plain")
    call = get_object_or_404(Call, pk=call_id, direction=CallDirection.OUTBOUND)
    if call.call_sid and request.POST.get("CallSid") not in ("", call.call_sid):
        return _twiml(twiml.hangup())
    return _twiml(twiml.connect_customer(number=call.to_number, caller_id=call.from_number))
