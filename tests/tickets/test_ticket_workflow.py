"""Status workflow, field changes, assignment, tags, replies and merges — and their audit trail."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import CustomerFactory, TeamFactory, TicketFactory, make_agent
from tickets.models import DeliveryStatus, Event, Message, TicketPriority, TicketStatus
from tickets.services.events import Actor
from tickets.services.tickets import (
    TicketTransitionError,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_merge,
    ticket_reply,
    ticket_tags_set,
    ticket_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return make_agent("alice")


@pytest.fixture
def actor(agent):
    return Actor.agent(agent)


def walk(ticket, actor, *statuses):
    for status in statuses:
        ticket_change_status(ticket=ticket, status=status, actor=actor)
    ticket.refresh_from_db()
    return ticket


def test_the_normal_life_of_a_ticket_is_allowed_and_timestamped(actor):
    ticket = TicketFactory()
    walk(ticket, actor, "open", "pending", "open", "on_hold", "solved")
    assert ticket.status == TicketStatus.SOLVED and ticket.solved_at is not None
    walk(ticket, actor, "open")
    assert ticket.solved_at is None, "reopening clears the solved time"
    walk(ticket, actor, "solved", "closed")
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), "closed"),  # new -> closed skips solving
        (("open", "solved", "closed"), "open"),  # closed is final
        (("open",), "new"),  # nothing goes back to new
        (("open", "solved"), "pending"),  # a solved ticket is reopened, not parked
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_error(actor, path, illegal):
    ticket = walk(TicketFactory(), actor, *path)
    before = ticket.status
    events_before = Event.objects.count()

    with pytest.raises(TicketTransitionError) as excinfo:
        ticket_change_status(ticket=ticket, status=illegal, actor=actor)

    message = excinfo.value.messages[0]
    assert f"#{ticket.number} cannot go from" in message
    ticket.refresh_from_db()
    assert ticket.status == before
    assert Event.objects.count() == events_before


def test_closed_tickets_explain_that_a_follow_up_is_the_way(actor):
    ticket = walk(TicketFactory(), actor, "solved", "closed")
    with pytest.raises(TicketTransitionError, match="follow-up"):
        ticket_change_status(ticket=ticket, status="open", actor=actor)


def test_unknown_status_is_refused(actor):
    with pytest.raises(TicketTransitionError, match="not a ticket status"):
        ticket_change_status(ticket=TicketFactory(), status="archived", actor=actor)


def test_every_status_change_leaves_an_event_with_old_and_new(actor, agent):
    ticket = walk(TicketFactory(), actor, "open", "solved", "open")
    rows = list(
        Event.objects.filter(ticket=ticket, field="status").values_list("verb", "old_value", "new_value", "actor_user")
    )
    assert rows == [
        ("changed", "new", "open", agent.pk),
        ("changed", "open", "solved", agent.pk),
        ("reopened", "solved", "open", agent.pk),
    ]


def test_field_updates_record_one_event_per_changed_field(actor):
    ticket = TicketFactory()
    team = TeamFactory(name="Billing")
    ticket_update(
        ticket=ticket,
        changes={
            "priority": TicketPriority.URGENT,
            "team": team,
            "subject": ticket.subject,
            "custom_fields": {"order": "A-1"},
        },
        actor=actor,
    )
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.team == team and ticket.custom_fields == {"order": "A-1"}
    changed = {e.field: (e.old_value, e.new_value) for e in Event.objects.filter(ticket=ticket, verb="changed")}
    assert changed == {
        "priority": ("normal", "urgent"),
        "team": (None, {"id": team.pk, "label": "Billing"}),
        "custom_fields": ({}, {"order": "A-1"}),
    }


def test_ticket_update_refuses_fields_it_does_not_own(actor):
    with pytest.raises(ValidationError, match="status"):
        ticket_update(ticket=TicketFactory(), changes={"status": "solved"}, actor=actor)
    with pytest.raises(ValidationError, match="priority"):
        ticket_update(ticket=TicketFactory(), changes={"priority": "whenever"}, actor=actor)


def test_assignment_is_recorded_and_only_agents_can_be_assigned(actor):
    ticket = TicketFactory()
    bob = make_agent("bob")
    ticket_assign(ticket=ticket, assignee=bob, actor=actor)
    event = Event.objects.get(ticket=ticket, verb="assigned")
    assert event.new_value == {"id": bob.pk, "label": "bob"}

    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.create_user("outsider")
    with pytest.raises(ValidationError, match="not an active agent"):
        ticket_assign(ticket=ticket, assignee=outsider, actor=actor)


def test_tags_are_normalised_and_changes_recorded(actor):
    ticket = TicketFactory()
    assert ticket_tags_set(ticket=ticket, names=["Refund", " vip ", "refund"], actor=actor) == ["refund", "vip"]
    assert ticket_tags_set(ticket=ticket, names=["vip"], actor=actor) == ["vip"]
    events = list(Event.objects.filter(ticket=ticket, field="tags").values_list("old_value", "new_value"))
    assert events == [([], ["refund", "vip"]), (["refund", "vip"], ["vip"])]


def test_a_reply_queues_an_outbound_message_and_marks_first_response(actor, agent):
    ticket = TicketFactory(channel="whatsapp")
    message = ticket_reply(ticket=ticket, author=agent, body_html="<p>Hello <script>x()</script>there</p>")
    ticket.refresh_from_db()

    assert message.delivery_status == DeliveryStatus.QUEUED
    assert message.channel == "whatsapp"
    assert "<script" not in message.body_html and message.body_text == "Hello there"
    assert ticket.first_responded_at is not None and ticket.status == TicketStatus.OPEN


def test_a_reply_goes_out_on_the_channel_the_customer_last_used(agent):
    from tickets.inbound import InboundMessage, InboundSender
    from tickets.services.ingest import message_ingest

    first = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "c@example.com"),
            subject="Hi",
            body_text="Hi",
            external_id="<e1@x>",
        )
    )
    Message.objects.create(
        ticket=first.ticket, direction="inbound", author_kind="customer", channel="sms", body_text="also by sms"
    )
    from tests.helpers import replace_sender

    with replace_sender("sms", lambda message: "SMout"):
        reply = ticket_reply(ticket=first.ticket, author=agent, body_text="Answering")
    assert reply.channel == "sms"


def test_internal_notes_are_not_sent_and_do_not_count_as_a_response(agent):
    ticket = TicketFactory()
    note = ticket_reply(ticket=ticket, author=agent, body_text="Customer is a VIP", is_internal=True)
    ticket.refresh_from_db()
    assert note.is_internal and note.delivery_status == DeliveryStatus.NOT_SENT and note.channel == "internal"
    assert ticket.first_responded_at is None and ticket.status == TicketStatus.NEW


def test_light_agents_may_write_notes_but_not_reply_or_change_tickets():
    light = make_agent("lena", role="light_agent")
    ticket = TicketFactory()
    ticket_reply(ticket=ticket, author=light, body_text="FYI", is_internal=True)
    with pytest.raises(PermissionDenied):
        ticket_reply(ticket=ticket, author=light, body_text="Dear customer")
    with pytest.raises(PermissionDenied):
        ticket_change_status(ticket=ticket, status="open", actor=Actor.agent(light))


def test_an_empty_reply_is_refused(agent):
    with pytest.raises(ValidationError, match="needs some text"):
        ticket_reply(ticket=TicketFactory(), author=agent, body_html="<p> </p>")


def test_merging_moves_messages_and_closes_the_source(actor):
    customer = CustomerFactory()
    target = ticket_create(requester=customer, subject="Printer", channel="email", actor=actor)
    source = ticket_create(requester=customer, subject="Printer again", channel="sms", actor=actor)
    Message.objects.create(ticket=source, direction="inbound", author_kind="customer", channel="sms", body_text="dup")

    ticket_merge(source=source, target=target, actor=actor)

    source.refresh_from_db()
    assert source.status == TicketStatus.CLOSED and source.merged_into == target
    assert list(target.messages.values_list("body_text", flat=True)) == ["dup"]
    assert Event.objects.filter(ticket=source, verb="merged", data__into=target.number).exists()
    with pytest.raises(ValidationError, match="into itself"):
        ticket_merge(source=target, target=target, actor=actor)


def test_ticket_numbers_are_unique_and_increasing(actor):
    customer = CustomerFactory()
    numbers = [ticket_create(requester=customer, subject=f"t{i}", channel="web", actor=actor).number for i in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_a_reply_to_a_web_form_ticket_goes_by_email_when_email_can_send(agent):
    from tests.factories import IdentityFactory
    from tickets.outbound import sender_for, sender_register, sender_unregister

    customer = CustomerFactory()
    IdentityFactory(customer=customer, kind="email", value="webform-user@example.com")
    ticket = TicketFactory(channel="web", requester=customer)
    registered_here = sender_for("email") is None
    if registered_here:
        sender_register("email", lambda message: "<id@x>")
    try:
        assert ticket_reply(ticket=ticket, author=agent, body_text="Answer").channel == "email"
    finally:
        if registered_here:
            sender_unregister("email")


def test_a_reply_that_no_channel_can_carry_stays_on_the_last_channel_and_fails_visibly(agent):
    ticket = TicketFactory(channel="api", requester=CustomerFactory())
    reply = ticket_reply(ticket=ticket, author=agent, body_text="Answer")
    assert reply.channel == "api"
    from tickets.services.delivery import message_deliver

    assert message_deliver(message_id=reply.pk) == DeliveryStatus.FAILED
    reply.refresh_from_db()
    assert reply.delivery_error == "No channel is set up to send API messages."
