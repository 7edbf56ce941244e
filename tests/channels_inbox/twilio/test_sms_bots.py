"""SMS keyword and yes/no flows: a keyword gets its automatic reply, an appointment question
waits for YES or NO and answers it, an order number is looked up at the company's endpoint
(a local HTTP server), and every automatic answer is a message on the ticket, sent through
Twilio (here a local server), once per inbound message."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest

from channels_inbox.bots.models import Flow, FlowKind, FlowRun
from channels_inbox.bots.services import bot_message_handle, confirmation_request
from tests.channels_inbox.local_server import LoopbackServer, Recorded
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Customer, Event, Message
from tickets.services.events import Actor

from .conftest import SMS_URL, post_signed, sms_params

pytestmark = pytest.mark.django_db

PHONE = "+14155550100"


class OrderServer(LoopbackServer):
    """The company's order system: GET /orders/<number> -> JSON, 404 for unknown orders."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.orders = {"A-1001": {"status": "shipped", "carrier": "DHL", "eta": "Friday"}}
        self.broken = False
        self.lock = threading.Lock()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.requests.append(Recorded(handler.command, handler.path, dict(handler.headers.items()), body))
        number = urllib.parse.unquote(handler.path.rsplit("/", 1)[-1])
        if self.broken:
            status, payload = 503, {"error": "down for maintenance"}
        elif number in self.orders:
            status, payload = 200, self.orders[number]
        else:
            status, payload = 404, {"error": "no such order"}
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def orders(settings):
    server = OrderServer().start()
    settings.NETGUARD_ALLOW = ["127.0.0.1"]  # the company's endpoint, here on loopback
    yield server
    server.stop()


def text(client, capture, sid: str, body: str, sender: str = PHONE):
    with capture(execute=True):
        response = post_signed(client, SMS_URL, sms_params(sid, body, sender))
    assert response.status_code == 200
    return Message.objects.get(external_id=sid)


def bot_replies(ticket) -> list[str]:
    return list(
        ticket.messages.filter(direction="outbound", metadata__kind="bot_reply")
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
    )


def test_a_keyword_gets_its_automatic_reply_sent_by_sms_and_logged(client, twilio, django_capture_on_commit_callbacks):
    Flow.objects.create(name="Opening hours", kind=FlowKind.KEYWORD, keywords="hours, open", reply_text="Mon-Fri 9-17.")
    message = text(client, django_capture_on_commit_callbacks, "SM" + "1" * 32, "Hours?")
    assert bot_replies(message.ticket) == ["Mon-Fri 9-17."]
    reply = message.ticket.messages.get(metadata__kind="bot_reply")
    assert reply.delivery_status == "sent" and reply.author_kind == "system"
    (sent,) = [r for r in twilio.requests if r.path.endswith("/Messages.json")]
    assert sent.form()["To"] == PHONE and sent.form()["Body"] == "Mon-Fri 9-17."
    event = Event.objects.get(ticket=message.ticket, verb="bot_answered")
    assert event.data["flow"] == "Opening hours" and event.data["outcome"] == "keyword_reply"

    # Not a keyword: nothing is sent; a replay of the same message is not answered twice.
    other = text(client, django_capture_on_commit_callbacks, "SM" + "2" * 32, "My router is broken, hours of pain")
    assert bot_replies(other.ticket) == ["Mon-Fri 9-17."]
    bot_message_handle(message_id=message.pk)
    assert FlowRun.objects.filter(message=message).count() == 1
    assert len(bot_replies(message.ticket)) == 1


def test_stop_is_left_to_twilio_and_not_answered(client, twilio, django_capture_on_commit_callbacks):
    Flow.objects.create(name="Stop?", kind=FlowKind.KEYWORD, keywords="stop", reply_text="Should never be sent")
    message = text(client, django_capture_on_commit_callbacks, "SM" + "3" * 32, "STOP")
    assert bot_replies(message.ticket) == []
    assert Customer.objects.get().consent_sms is False
    assert FlowRun.objects.get(message=message).outcome == "sms_keyword"


@pytest.mark.parametrize(("answer", "state", "reply"), [("yes", "yes", "See you then!"), ("No", "no", "We'll call.")])
def test_an_appointment_confirmation_records_the_answer_and_replies(
    client, twilio, django_capture_on_commit_callbacks, answer, state, reply
):
    flow = Flow.objects.create(
        name="Appointment",
        kind=FlowKind.CONFIRMATION,
        reply_text="Your technician comes {subject}. Reply YES to confirm or NO to change it.",
        yes_reply="See you then!",
        no_reply="We'll call.",
    )
    identity = IdentityFactory(kind="phone", value=PHONE)
    ticket = TicketFactory(channel="sms", requester=identity.customer, status="open")
    agent = make_agent("scheduler")
    with django_capture_on_commit_callbacks(execute=True):
        confirmation = confirmation_request(
            ticket=ticket, flow=flow, subject="on Tuesday at 10:00", actor=Actor.agent(agent)
        )
    question = Message.objects.get(pk=confirmation.question_id)
    assert question.body_text == "Your technician comes on Tuesday at 10:00. Reply YES to confirm or NO to change it."
    assert question.delivery_status == "sent"

    message = text(client, django_capture_on_commit_callbacks, "SM" + "4" * 32, answer)
    confirmation.refresh_from_db()
    assert confirmation.state == state and confirmation.answer == message
    assert bot_replies(ticket) == [reply]
    event = Event.objects.get(ticket=ticket, verb="confirmation_answered")
    assert event.new_value == state and event.data["subject"] == "on Tuesday at 10:00"
    # A second YES/NO has no pending question any more: no second answer.
    text(client, django_capture_on_commit_callbacks, "SM" + "5" * 32, answer)
    assert bot_replies(ticket) == [reply]


def test_an_order_number_is_looked_up_at_the_companys_endpoint(
    client, twilio, orders, django_capture_on_commit_callbacks
):
    Flow.objects.create(
        name="Orders",
        kind=FlowKind.ORDER_STATUS,
        keywords="ORDER",
        endpoint_url=orders.url + "/orders/{order}",
        reply_text="Order {order} is {status} with {carrier}, arriving {eta}.",
    )
    message = text(client, django_capture_on_commit_callbacks, "SM" + "6" * 32, "order A-1001")
    assert orders.requests[0].path == "/orders/A-1001"
    assert bot_replies(message.ticket) == ["Order A-1001 is shipped with DHL, arriving Friday."]

    text(client, django_capture_on_commit_callbacks, "SM" + "7" * 32, "ORDER Z-9")
    assert bot_replies(message.ticket)[-1] == "We could not find order Z-9. Please check the number."

    text(client, django_capture_on_commit_callbacks, "SM" + "8" * 32, "order")
    assert bot_replies(message.ticket)[-1] == "Please send ORDER followed by your order number."

    orders.broken = True
    text(client, django_capture_on_commit_callbacks, "SM" + "9" * 32, "Order A-1001")
    assert bot_replies(message.ticket)[-1] == (
        "We could not look up order A-1001 right now; an agent will get back to you."
    )
    event = Event.objects.filter(ticket=message.ticket, verb="bot_answered").order_by("-id").first()
    assert event.data["outcome"] == "order_lookup_failed"
    assert event.data["detail"] == "the order status service answered HTTP 503"


def test_flows_only_answer_on_their_channels(client, twilio, django_capture_on_commit_callbacks):
    Flow.objects.create(
        name="WhatsApp only", kind=FlowKind.KEYWORD, keywords="hours", reply_text="x", channels=["whatsapp"]
    )
    message = text(client, django_capture_on_commit_callbacks, "SM" + "a" * 32, "hours")
    assert bot_replies(message.ticket) == []


def test_a_flow_is_checked_before_it_is_saved():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        Flow(
            name="x", kind=FlowKind.ORDER_STATUS, keywords="order", endpoint_url="https://shop.example/orders"
        ).full_clean()
    assert error.value.message_dict["endpoint_url"] == ["The endpoint needs {order} where the order number goes."]
    with pytest.raises(ValidationError):
        Flow(name="y", kind=FlowKind.KEYWORD, keywords="hi", reply_text="hi", channels=["email"]).full_clean()
