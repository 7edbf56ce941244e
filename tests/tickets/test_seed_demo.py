"""`manage.py seed_demo`: demo data that looks and behaves like real use of the help desk."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Exists, Max, Min, OuterRef
from django.utils import timezone

from tickets.models import (
    AuthorKind,
    Channel,
    Customer,
    Event,
    Identity,
    IdentityKind,
    Message,
    Ticket,
    TicketStatus,
)
from tickets.numbers import ticket_number_next
from tickets.services.customers import customer_resolve

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "admin": "admin-demo",
    "manager": "manager-demo",
    "alice": "alice-demo",
    "bruno": "bruno-demo",
    "lena": "lena-demo",
    "customer": "customer-demo",
}


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), verbosity=0, **options)
    return out.getvalue()


@pytest.fixture
def seeded():
    started = timezone.now()
    output = seed(tickets=200, seed=7, if_empty=True)
    return {"output": output, "started": started}


def test_seeds_the_requested_tickets_over_every_channel(seeded):
    assert Ticket.objects.count() == 200
    channels = set(Ticket.objects.values_list("channel", flat=True))
    assert channels == set(Channel.values) - {Channel.INTERNAL}
    assert set(Customer.objects.values_list("language", flat=True)) == {"en", "pt-br", "ru"}
    assert set(Identity.objects.values_list("kind", flat=True)) == set(IdentityKind.values)


def test_every_ticket_has_a_conversation_opened_by_its_customer(seeded):
    assert not Ticket.objects.annotate(n=Count("messages")).filter(n=0).exists()
    counts = Ticket.objects.annotate(n=Count("messages")).aggregate(low=Min("n"), high=Max("n"))
    assert counts["low"] >= 1 and counts["high"] <= 6
    for ticket in Ticket.objects.prefetch_related("messages")[:50]:
        first = ticket.messages.all()[0]
        assert first.author_kind == AuthorKind.CUSTOMER and first.author_customer_id == ticket.requester_id
        assert first.created_at == ticket.created_at
        times = [m.created_at for m in ticket.messages.all()]
        assert times == sorted(times)
    assert Message.objects.filter(is_internal=True, channel=Channel.INTERNAL).exists()
    assert Ticket.objects.filter(tags__isnull=False).distinct().count() == 200
    assert Event.objects.filter(verb="created", ticket__isnull=False).count() == 200


def test_statuses_match_their_timestamps(seeded):
    now = timezone.now()
    tickets = Ticket.objects.annotate(
        agent_replied=Exists(
            Message.objects.filter(ticket=OuterRef("pk"), author_kind=AuthorKind.AGENT, is_internal=False)
        )
    )
    statuses = set()
    for t in tickets:
        statuses.add(t.status)
        if t.status == TicketStatus.SOLVED:
            assert t.solved_at and not t.closed_at, t.number
        elif t.status == TicketStatus.CLOSED:
            assert t.solved_at and t.closed_at and t.closed_at >= t.solved_at, t.number
        else:
            assert t.solved_at is None and t.closed_at is None, t.number
        assert (t.first_responded_at is not None) == t.agent_replied, t.number
        if t.status == TicketStatus.NEW:
            assert not t.agent_replied
        else:
            assert t.assignee_id is not None
        assert now - timedelta(days=91) <= t.created_at <= t.updated_at <= now
        if t.first_responded_at:
            assert t.created_at <= t.first_responded_at <= now
    assert statuses == set(TicketStatus.values)


def test_ticket_numbers_are_unique_and_the_counter_moves_on(seeded):
    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 200
    assert ticket_number_next() > max(numbers)


def test_demo_logins_work_and_are_printed(seeded, client):
    output = seeded["output"]
    for username, password in DEMO_LOGINS.items():
        assert client.login(username=username, password=password), username
        client.logout()
        assert any(line.split()[:3] == [username, "/", password] for line in output.splitlines()), username
    assert "http://127.0.0.1:8000/agent/" in output and "http://127.0.0.1:8000/admin/" in output
    users = {u.username: u for u in get_user_model().objects.select_related("agent_profile", "customer")}
    assert users["admin"].is_superuser
    assert users["lena"].agent_profile.role == "light_agent"
    assert list(users["lena"].groups.values_list("name", flat=True)) == ["Light agent"]
    assert not hasattr(users["customer"], "agent_profile")
    assert users["customer"].customer.tickets.exists()


def test_if_empty_adds_nothing_to_a_seeded_help_desk(seeded):
    events = Event.objects.count()
    output = seed(tickets=50, if_empty=True)
    assert Ticket.objects.count() == 200
    assert Event.objects.count() == events
    assert "admin-demo" in output


def test_every_identity_resolves_to_its_customer(seeded):
    identities = list(Identity.objects.select_related("customer"))
    assert len({i.customer_id for i in identities}) < len(identities)  # some customers have several
    for identity in identities:
        customer, created = customer_resolve(kind=identity.kind, value=identity.display or identity.value)
        assert not created
        assert customer.pk == identity.customer_id, identity


def test_the_same_seed_gives_the_same_tickets():
    seed(tickets=40, seed=11)
    first = list(Ticket.objects.order_by("number").values_list("subject", "channel", "priority", "type", "language"))
    seed(tickets=40, seed=11)
    second = list(
        Ticket.objects.order_by("number").values_list("subject", "channel", "priority", "type", "language")
    )[40:]
    assert first == second
