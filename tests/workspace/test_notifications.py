"""Agent notifications: a ticket assigned to me, or my customer replying, shows on my
notifications page and arrives by email (unless I turned email off); never for my own
action, never twice for one event."""

from __future__ import annotations

import email
import socket
import time

import pytest
from django.test import Client

from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent
from tickets.automation.models import Notification
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import AgentNotificationDelivery, Event
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.notifications import notification_email_send, notification_event_task
from tickets.services.tickets import ticket_assign


@pytest.fixture
def people(db):
    alice = make_agent("alice")
    bea = make_agent("bea")
    customer = CustomerFactory(name="Olga Petrova")
    IdentityFactory(customer=customer, kind="email", value="olga@example.com")
    ticket = TicketFactory(requester=customer, subject="Parcel never arrived")
    return {"alice": alice, "bea": bea, "customer": customer, "ticket": ticket}


def _customer_writes(ticket, text: str, external_id: str) -> None:
    message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender(kind="email", value="olga@example.com", name="Olga Petrova"),
            subject=f"Re: [#{ticket.number}] {ticket.subject}",
            body_text=text,
            ticket_number=ticket.number,
            external_id=external_id,
        )
    )


@pytest.mark.django_db
def test_an_assignment_tells_the_new_assignee_in_the_app_and_by_email(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = people["ticket"]
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=people["bea"], actor=Actor.agent(people["alice"]))
    note = Notification.objects.get(user=people["bea"])
    assert note.text == f"alice assigned ticket #{ticket.number} to you: Parcel never arrived"
    assert note.ticket_id == ticket.pk
    assert not Notification.objects.filter(user=people["alice"]).exists()
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["bea@agents.example.com"]
    assert sent.subject == f"[#{ticket.number}] Assigned to you: Parcel never arrived"
    assert f"/agent/tickets/{ticket.number}/" in sent.body
    # ... and it is on her notifications page
    client = Client()
    client.force_login(people["bea"])
    assert note.text in client.get("/agent/notifications/").content.decode()


@pytest.mark.django_db
def test_a_ticket_created_already_assigned_tells_the_assignee(people, mailoutbox, django_capture_on_commit_callbacks):
    from tickets.services.tickets import ticket_create

    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(
            requester=people["customer"],
            subject="Refund please",
            channel="api",
            assignee=people["bea"],
            actor=Actor.api(people["alice"]),
        )
    assert Notification.objects.get(user=people["bea"]).text == (
        f"alice assigned ticket #{ticket.number} to you: Refund please"
    )
    assert [m.to for m in mailoutbox] == [["bea@agents.example.com"]]


@pytest.mark.django_db
def test_taking_a_ticket_myself_notifies_nobody(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=people["ticket"], assignee=people["bea"], actor=Actor.agent(people["bea"]))
    assert not Notification.objects.exists()
    assert mailoutbox == []
    assert not AgentNotificationDelivery.objects.exists()


@pytest.mark.django_db
def test_a_customer_reply_tells_the_assignee_with_what_they_wrote(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = people["ticket"]
    ticket_assign(ticket=ticket, assignee=people["bea"], actor=Actor.system())
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        _customer_writes(ticket, "Still nothing at my door, please check.", "<r1@example.com>")
    note = Notification.objects.get(user=people["bea"])
    assert "replied on ticket #" in note.text and f"#{ticket.number}" in note.text
    assert note.source == "Customer reply"
    (sent,) = mailoutbox
    assert "New reply from" in sent.subject
    assert "Still nothing at my door, please check." in sent.body


@pytest.mark.django_db
def test_a_reply_on_an_unassigned_ticket_notifies_nobody(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _customer_writes(people["ticket"], "Hello?", "<r2@example.com>")
    assert Event.objects.filter(verb="message_received").exists()
    assert not Notification.objects.exists() and mailoutbox == []


@pytest.mark.django_db
def test_an_agent_who_turned_email_off_gets_the_in_app_notification_only(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    people["bea"].agent_profile.notify_by_email = False
    people["bea"].agent_profile.save(update_fields=["notify_by_email"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=people["ticket"], assignee=people["bea"], actor=Actor.agent(people["alice"]))
    assert Notification.objects.filter(user=people["bea"]).count() == 1
    assert mailoutbox == []
    assert AgentNotificationDelivery.objects.get().email_status == "skipped"


@pytest.mark.django_db
def test_running_the_task_twice_notifies_once(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=people["ticket"], assignee=people["bea"], actor=Actor.agent(people["alice"]))
    event = Event.objects.get(verb="assigned")
    assert notification_event_task.apply(args=[event.pk]).get() == "sent"
    assert Notification.objects.filter(user=people["bea"]).count() == 1
    assert len(mailoutbox) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_a_failed_email_is_recorded_and_sent_on_the_next_try(people, settings, mailoutbox):
    ticket_assign(ticket=people["ticket"], assignee=people["bea"], actor=Actor.agent(people["alice"]))
    from tickets.services.notifications import notifications_for_event

    (delivery,) = notifications_for_event(event_id=Event.objects.get(verb="assigned").pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    assert notification_email_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.email_attempts == 1 and "ConnectionRefusedError" in delivery.email_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_email_send(delivery_id=delivery.pk) == "sent"
    assert notification_email_send(delivery_id=delivery.pk) == "sent"  # not again
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_an_unreachable_mail_server_does_not_break_the_assignment(people, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=people["ticket"], assignee=people["bea"], actor=Actor.agent(people["alice"]))
    assert Notification.objects.filter(user=people["bea"]).count() == 1  # the in-app one is there
    delivery = AgentNotificationDelivery.objects.get()
    assert delivery.email_status == "pending" and delivery.email_error


class _Recorder:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.mark.django_db(transaction=True)
def test_the_email_goes_through_a_real_worker_and_smtp_server(celery_worker, settings):
    from aiosmtpd.controller import Controller

    recorder = _Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        alice, bea = make_agent("alice"), make_agent("bea")
        bea.agent_profile.language = "ru"
        bea.agent_profile.save(update_fields=["language"])
        ticket = TicketFactory(requester=CustomerFactory(name="Olga Petrova"), subject="Где посылка")
        ticket_assign(ticket=ticket, assignee=bea, actor=Actor.agent(alice))
        deadline = time.monotonic() + 20
        while not recorder.received and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        controller.stop()
    (raw,) = recorder.received
    parsed = email.message_from_bytes(raw)
    assert parsed["To"] == "bea@agents.example.com"
    assert f"[#{ticket.number}]" in str(email.header.make_header(email.header.decode_header(parsed["Subject"])))
    assert "Где посылка" in parsed.get_payload(decode=True).decode(parsed.get_content_charset())
    delivery = AgentNotificationDelivery.objects.get(user=bea)
    assert delivery.email_status == "sent" and delivery.sent_at is not None
    assert Notification.objects.filter(user=bea, ticket=ticket).count() == 1
