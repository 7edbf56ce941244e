"""Phone calls through Twilio Voice: signed webhooks answered with TwiML, calls logged on the
caller's ticket, missed calls turned into call-back tasks, the IVR menu routing to teams,
voicemail with its transcription, and agents placing calls through the Calls API (a local
server speaking Twilio's format)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from channels_inbox.voice.models import Call, IvrOption
from tests.factories import IdentityFactory, TeamFactory, TicketFactory, make_agent
from tickets.models import Event, Message, RawInbound, Ticket

from .conftest import ACCOUNT_SID, AUTH_TOKEN, DESK_NUMBER, post_signed

pytestmark = pytest.mark.django_db

CALLER = "+14155550123"
VOICE = "/inbound/twilio/voice/"


@pytest.fixture(autouse=True)
def _after_commit(django_capture_on_commit_callbacks):
    """Each webhook request is followed by what the worker does after commit."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield


_capture = None


def signed(client, path: str, params: dict[str, str], **kwargs):
    with _capture(execute=True):
        return post_signed(client, path, params, **kwargs)


def call_params(sid: str = "CA" + "1" * 32, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "ringing",
        "Called": DESK_NUMBER,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "FromCountry": "US",
        "To": DESK_NUMBER,
        **extra,
    }


def twiml(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def final_status(client, sid: str = "CA" + "1" * 32, status: str = "completed", duration: str = "125"):
    return signed(
        client,
        VOICE + "status/",
        call_params(sid, CallStatus=status, CallDuration=duration),
    )


def test_an_unsigned_or_badly_signed_call_is_refused_and_nothing_is_stored(client, twilio):
    assert signed(client, VOICE, call_params(), signature=None).status_code == 403
    assert signed(client, VOICE, call_params(), signature="bm90IGl0").status_code == 403
    params = call_params()
    response = signed(client, VOICE, {**params, "From": "+19995550000"}, signature=None)
    assert response.status_code == 403
    assert not RawInbound.objects.exists() and not Call.objects.exists()


def test_without_a_menu_the_caller_is_greeted_and_asked_for_a_voicemail(client, twilio):
    root = twiml(signed(client, VOICE, call_params()))
    says = [say.text for say in root.iter("Say")]
    assert says[0] == "Thank you for calling."
    record = root.find("Record")
    assert record is not None
    assert record.get("action") == "http://127.0.0.1:8000/inbound/twilio/voice/recording/"
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == "http://127.0.0.1:8000/inbound/twilio/voice/transcription/"
    raw = RawInbound.objects.get()
    assert raw.channel == "voice" and raw.external_id == f"{'CA' + '1' * 32}:incoming"


def test_the_ivr_menu_lists_the_options_and_routes_the_choice_to_its_team(client, twilio, settings):
    billing = TeamFactory(name="Billing")
    IvrOption.objects.create(digit="1", label="Billing", team=billing, forward_to="+14155550999", position=1)
    IvrOption.objects.create(digit="2", label="Technical support", team=TeamFactory(name="Tech"), position=2)
    root = twiml(signed(client, VOICE, call_params()))
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == "http://127.0.0.1:8000/inbound/twilio/voice/menu/"
    assert [say.text for say in gather.iter("Say")] == [
        "Thank you for calling.",
        "For Billing, press 1.",
        "For Technical support, press 2.",
    ]
    assert root.find("Redirect") is not None  # no key pressed: the menu URL again, without digits

    # A wrong key: the menu again, saying so.
    again = twiml(signed(client, VOICE + "menu/", call_params(Digits="7")))
    assert again.find("Gather/Say").text == "Sorry, that is not one of the choices."

    # Key 1: ring the billing number; nobody answers -> voicemail.
    dial = twiml(signed(client, VOICE + "menu/", call_params(Digits="1"))).find("Dial")
    assert dial.find("Number").text == "+14155550999"
    assert dial.get("action") == "http://127.0.0.1:8000/inbound/twilio/voice/dial/"
    after = twiml(signed(client, VOICE + "dial/", call_params(DialCallStatus="no-answer")))
    assert after.find("Record") is not None

    final_status(client, status="completed", duration="40")
    ticket = Ticket.objects.get()
    assert ticket.team == billing and ticket.channel == "voice"
    logged = ticket.messages.get(channel="voice")
    assert "Menu choice: 1 (Billing)" in logged.body_text


def test_an_answered_call_is_logged_on_the_callers_open_ticket(client, twilio, settings):
    settings.TWILIO_VOICE_FORWARD_TO = "+14155550999"
    identity = IdentityFactory(kind="phone", value=CALLER)
    ticket = TicketFactory(channel="sms", requester=identity.customer, status="open")
    root = twiml(signed(client, VOICE, call_params()))
    assert root.find("Dial/Number").text == "+14155550999"
    hangup = twiml(signed(client, VOICE + "dial/", call_params(DialCallStatus="completed")))
    assert hangup.find("Hangup") is not None
    assert final_status(client, duration="125").status_code == 204

    message = Message.objects.get(channel="voice")
    assert message.ticket == ticket and message.author_customer == identity.customer
    assert message.body_text == f"Phone call from {CALLER}, answered, 2 min 5 s."
    assert message.metadata["duration_seconds"] == 125 and message.metadata["answered"] is True
    assert not ticket.tags.filter(name="callback").exists()
    call = Call.objects.get()
    assert call.ticket == ticket and call.message == message


def test_a_missed_call_opens_a_ticket_with_a_call_back_task_once(client, twilio):
    signed(client, VOICE, call_params())
    final_status(client, status="no-answer", duration="0")
    final_status(client, status="no-answer", duration="0")  # Twilio retries the callback

    ticket = Ticket.objects.get()
    assert ticket.requester.identities.get().value == CALLER
    assert list(ticket.tags.values_list("name", flat=True)) == ["callback"]
    logged = ticket.messages.get(channel="voice")
    assert logged.body_text == f"Missed call from {CALLER} (no answer). Please call back."
    (note,) = ticket.messages.filter(is_internal=True)
    assert note.body_text.startswith(f"Call-back needed: {CALLER} called and nobody answered.")
    assert Event.objects.filter(ticket=ticket, verb="callback_requested").count() == 1
    assert RawInbound.objects.filter(external_id__endswith=":status:no-answer").get().deliveries == 2


def test_a_voicemail_and_its_transcription_reach_the_ticket(client, twilio):
    sid = "CA" + "2" * 32
    signed(client, VOICE, call_params(sid))
    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'3' * 32}"
    goodbye = twiml(
        signed(
            client,
            VOICE + "recording/",
            call_params(sid, RecordingUrl=recording_url, RecordingSid="RE" + "3" * 32, RecordingDuration="42"),
        )
    )
    assert goodbye.find("Hangup") is not None
    final_status(client, sid, status="completed", duration="60")

    ticket = Ticket.objects.get()
    logged = ticket.messages.get(external_id=f"call:{sid}")
    assert logged.body_text.splitlines() == [
        f"Missed call from {CALLER} (voicemail). Please call back.",
        f"Recording: {recording_url}.mp3",
    ]
    assert ticket.tags.filter(name="callback").exists()

    transcription = call_params(
        sid,
        TranscriptionSid="TR" + "4" * 32,
        TranscriptionText="Hi, it is Ana, my router is blinking red again.",
        TranscriptionStatus="completed",
        RecordingSid="RE" + "3" * 32,
        RecordingUrl=recording_url,
    )
    assert signed(client, VOICE + "transcription/", transcription).status_code == 204
    assert signed(client, VOICE + "transcription/", transcription).status_code == 204  # redelivered
    (text,) = ticket.messages.filter(external_id=f"call:{sid}:transcription").values_list("body_text", flat=True)
    assert text == "Voicemail transcription: Hi, it is Ana, my router is blinking red again."


def test_a_call_redelivered_after_processing_is_logged_once(client, twilio):
    signed(client, VOICE, call_params())
    final_status(client, status="busy")
    final_status(client, status="busy")
    assert Message.objects.filter(channel="voice").count() == 1
    assert Ticket.objects.count() == 1


def test_an_agent_places_a_call_from_the_ticket(client, twilio):
    identity = IdentityFactory(kind="phone", value=CALLER)
    ticket = TicketFactory(channel="sms", requester=identity.customer)
    agent = make_agent("caller-agent")
    client.force_login(agent)
    response = client.post(
        f"/voice/tickets/{ticket.number}/call/", {"agent_phone": "+1 415 555 0777"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201, response.content
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request.basic_auth() == (ACCOUNT_SID, AUTH_TOKEN)
    call = Call.objects.get()
    assert request.form() == {
        "To": "+14155550777",
        "From": DESK_NUMBER,
        "Url": f"http://127.0.0.1:8000/inbound/twilio/voice/connect/{call.pk}/",
        "Method": "POST",
        "StatusCallback": "http://127.0.0.1:8000/inbound/twilio/voice/status/",
        "StatusCallbackMethod": "POST",
    }
    assert call.call_sid == f"CA{1:032x}" and call.ticket == ticket and call.to_number == CALLER
    assert Event.objects.filter(ticket=ticket, verb="call_placed").exists()

    # The agent answers: Twilio asks what to do, and we dial the customer with our number.
    client.logout()
    params = {"CallSid": call.call_sid, "AccountSid": ACCOUNT_SID, "From": DESK_NUMBER, "To": "+14155550777"}
    root = twiml(signed(client, f"/inbound/twilio/voice/connect/{call.pk}/", params))
    dial = root.find("Dial")
    assert dial.get("callerId") == DESK_NUMBER and dial.find("Number").text == CALLER

    # The call ends: an internal note on the ticket, once.
    status = {**params, "CallStatus": "completed", "CallDuration": "305", "Direction": "outbound-api"}
    signed(client, VOICE + "status/", status)
    signed(client, VOICE + "status/", status)
    (note,) = ticket.messages.filter(is_internal=True)
    assert note.body_text == f"caller-agent called {CALLER}: 5 min 5 s."
    assert not ticket.messages.filter(channel="voice").exists()


def test_placing_a_call_explains_what_is_missing(client, twilio):
    ticket = TicketFactory(channel="email")
    client.force_login(make_agent("agent-no-number"))
    url = f"/voice/tickets/{ticket.number}/call/"
    response = client.post(url, {"agent_phone": ""}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Enter the phone number Twilio should ring you on")
    response = client.post(url, {"agent_phone": "+14155550777"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"error": "The customer has no phone number on record."}
    twilio.fail_next(400, 21215, "Account not authorized to call +14155550123.")
    response = client.post(url, {"agent_phone": "+14155550777", "to": CALLER}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Twilio did not place the call: Account not authorized to call +14155550123. (error 21215)"
    )
    assert Call.objects.get().status == "failed"


def test_agents_cannot_call_from_tickets_they_may_not_see(client, twilio):
    identity = IdentityFactory(kind="phone", value=CALLER)
    ticket = TicketFactory(channel="sms", requester=identity.customer, team=TeamFactory(name="Elsewhere"))
    client.force_login(make_agent("outsider", teams=[TeamFactory(name="Mine")]))
    response = client.post(f"/voice/tickets/{ticket.number}/call/", {"agent_phone": "+14155550777"})
    assert response.status_code == 404
    assert twilio.requests == [] and not Call.objects.exists()
