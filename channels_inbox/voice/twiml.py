"""The TwiML the help desk answers Twilio's voice webhooks with (built with the twilio
package, so it is always well-formed): the IVR menu, forwarding, voicemail, agent calls."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from .models import IvrOption

MENU_TIMEOUT_SECONDS = 6


def webhook_url(name: str, **kwargs: object) -> str:
    """An absolute URL of one of our voice webhooks, as Twilio must call it."""
    base = (getattr(settings, "TWILIO_WEBHOOK_BASE_URL", "") or settings.SITE_URL).rstrip("/")
    return base + reverse(f"inbound:{name}", kwargs=kwargs or None)


def _voice() -> dict[str, str]:
    return {"language": getattr(settings, "TWILIO_VOICE_LANGUAGE", "") or "en-US"}


def greeting() -> str:
    return getattr(settings, "TWILIO_VOICE_GREETING", "") or _("Thank you for calling.")


def menu(options: Sequence[IvrOption], *, retry: bool = False) -> VoiceResponse:
    """Greeting, then "for <label>, press <digit>" for each option; no key pressed: voicemail."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=webhook_url("twilio_voice_menu"), method="POST", timeout=MENU_TIMEOUT_SECONDS)
    if retry:
        gather.say(_("Sorry, that is not one of the choices."), **_voice())
    else:
        gather.say(greeting(), **_voice())
    for option in options:
        gather.say(_("For %(label)s, press %(digit)s.") % {"label": option.label, "digit": option.digit}, **_voice())
    response.append(gather)
    response.redirect(webhook_url("twilio_voice_menu"), method="POST")
    return response


def forward(number: str) -> VoiceResponse:
    """Ring `number`; when nobody answers, Twilio posts the result to the dial webhook."""
    response = VoiceResponse()
    response.say(_("Please hold while we connect you."), **_voice())
    dial = Dial(action=webhook_url("twilio_voice_dial"), method="POST", timeout=20)
    dial.number(number)
    response.append(dial)
    return response


def voicemail(*, greeting_first: bool = False) -> VoiceResponse:
    """Ask for a message and record it, with a transcription sent to the transcription webhook."""
    response = VoiceResponse()
    if greeting_first:
        response.say(greeting(), **_voice())
    response.say(_("Nobody can take your call right now. Please leave a message after the tone."), **_voice())
    response.record(
        action=webhook_url("twilio_voice_recording"),
        method="POST",
        max_length=int(getattr(settings, "TWILIO_VOICE_RECORD_MAX_SECONDS", 120) or 120),
        play_beep=True,
        transcribe=True,
        transcribe_callback=webhook_url("twilio_voice_transcription"),
    )
    response.say(_("We did not receive a message. Goodbye."), **_voice())
    return response


def goodbye(text: str = "") -> VoiceResponse:
    response = VoiceResponse()
    response.say(text or _("Thank you. We will call you back. Goodbye."), **_voice())
    response.hangup()
    return response


def connect_customer(*, number: str, caller_id: str) -> VoiceResponse:
    """The agent answered the call placed for them: ring the customer, showing our number."""
    response = VoiceResponse()
    response.say(_("Connecting you to the customer."), **_voice())
    dial = Dial(caller_id=caller_id or None, timeout=30)
    dial.number(number)
    response.append(dial)
    return response


def hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response
