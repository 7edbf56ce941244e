"""Twilio's SMS webhooks (no session, no CSRF: X-Twilio-Signature authenticates Twilio)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .adapter import sms_message_sid, sms_status_record
from .signature import twilio_request_url, twilio_request_verified
from .webhook import sms_raw_accept

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _twiml(status: int = 200) -> HttpResponse:
    return HttpResponse(EMPTY_TWIML, status=status, content_type="text/xml; charset=utf-8")


def _refused() -> HttpResponse:
    return HttpResponse("Missing or wrong X-Twilio-Signature.", status=403, content_type="text/plain")


@csrf_exempt
@require_POST
def inbound_sms(request: HttpRequest) -> HttpResponse:
    """An incoming SMS/MMS: stored, then an empty TwiML answer (nothing is texted back here)."""
    body = request.body  # read before request.POST, so the exact bytes are kept
    if not twilio_request_verified(request):
        return _refused()
    message_sid = sms_message_sid(request.POST)
    if not message_sid or not request.POST.get("From"):
        return HttpResponse("MessageSid and From are required.", status=400, content_type="text/plain")
    sms_raw_accept(
        body=body,
        message_sid=message_sid,
        url=twilio_request_url(request),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    return _twiml()


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """A status callback for an SMS we sent: sent, delivered, undelivered or failed."""
    if not twilio_request_verified(request):
        return _refused()
    sms_status_record(request.POST)
    return HttpResponse(status=204)
