"""Customers and organizations: directory search, profiles with the cross-channel history,
edit through the directory service, and only tickets the agent may see."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, IdentityFactory, TicketFactory
from tickets.models import Event, Message

from .conftest import client_for, flashes

pytestmark = pytest.mark.django_db


def _message(ticket, text, channel, direction="inbound", internal=False):
    return Message.objects.create(
        ticket=ticket,
        direction=direction,
        author_kind="customer" if direction == "inbound" else "agent",
        author_customer=ticket.requester if direction == "inbound" else None,
        channel=channel,
        body_text=text,
        is_internal=internal,
    )


def test_search_finds_customers_by_name_identity_or_organization(desk):
    IdentityFactory(customer=desk["ana"], kind="email", value="ana.souza@example.com")
    li = CustomerFactory(name="Li Wei")
    IdentityFactory(customer=li, kind="phone", value="+15550100")
    CustomerFactory(name="Omar Haddad")
    client = client_for(desk["alice"])
    url = reverse("agent:customers")

    def names(q):
        page = client.get(url, {"q": q}).content.decode()
        return [n for n in ("Ana Souza", "Li Wei", "Omar Haddad") if f">{n}</a>" in page]

    assert names("") == ["Ana Souza", "Li Wei", "Omar Haddad"]
    assert names("souza@example") == ["Ana Souza"]
    assert names("5550100") == ["Li Wei"]
    assert names("acme") == ["Ana Souza"]
    assert "No customers match." in client.get(url, {"q": "nobody"}).content.decode()


def test_the_directory_costs_the_same_queries_for_3_or_30_customers(desk, django_assert_max_num_queries):
    client = client_for(desk["alice"])
    for i in range(3):
        IdentityFactory(customer=CustomerFactory(name=f"C{i}"), kind="email", value=f"c{i}@example.com")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("agent:customers"))
    for i in range(3, 30):
        IdentityFactory(customer=CustomerFactory(name=f"C{i}"), kind="email", value=f"c{i}@example.com")
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("agent:customers")).content.decode().count('href="/agent/customers/') >= 30


def test_profile_shows_history_from_every_channel_but_not_notes_or_hidden_tickets(desk):
    ana = desk["ana"]
    IdentityFactory(customer=ana, kind="whatsapp", value="+5511999990000")
    email = TicketFactory(team=desk["billing"], requester=ana, channel="email", subject="Invoice")
    chat = TicketFactory(team=None, requester=ana, channel="whatsapp", subject="Where is it")
    hidden = TicketFactory(team=desk["tech"], requester=ana, subject="Tech secret")
    _message(email, "The invoice total is wrong", "email")
    _message(chat, "Oi, where is my order?", "whatsapp")
    _message(email, "Internal: check with finance", "internal", direction="outbound", internal=True)
    _message(hidden, "Hidden text", "email")

    page = client_for(desk["alice"]).get(reverse("agent:customer", args=[ana.pk])).content.decode()
    assert "The invoice total is wrong" in page and "Oi, where is my order?" in page
    assert '<span class="channel channel-whatsapp">WhatsApp</span>' in page
    assert "+5511999990000" in page
    assert "check with finance" not in page
    assert "Tech secret" not in page and "Hidden text" not in page
    assert f'href="/agent/organizations/{desk["acme"].pk}/"' in page


def test_editing_a_customer_goes_through_the_service_and_records_events(desk):
    ana = desk["ana"]
    response = client_for(desk["alice"]).post(
        reverse("agent:customer_edit", args=[ana.pk]),
        {
            "name": "Ana P. Souza",
            "organization": "",
            "language": "pt-br",
            "preferred_channel": "whatsapp",
            "notes": "VIP",
        },
        follow=True,
    )
    assert "Customer saved." in flashes(response)
    ana.refresh_from_db()
    assert (ana.name, ana.organization, ana.language, ana.preferred_channel) == (
        "Ana P. Souza",
        None,
        "pt-br",
        "whatsapp",
    )
    changed = set(Event.objects.filter(object_type="customer", object_id=ana.pk).values_list("field", flat=True))
    assert {"name", "organization", "language", "preferred_channel", "notes"} <= changed


def test_organization_page_lists_its_customers_and_visible_tickets(desk):
    acme = desk["acme"]
    CustomerFactory(name="Bruno Lima", organization=acme)
    TicketFactory(team=desk["billing"], requester=desk["ana"], organization=acme, subject="Acme billing")
    TicketFactory(team=desk["tech"], requester=desk["ana"], organization=acme, subject="Acme tech")
    client = client_for(desk["alice"])
    page = client.get(reverse("agent:organization", args=[acme.pk])).content.decode()
    assert "Ana Souza" in page and "Bruno Lima" in page
    assert "Acme billing" in page and "Acme tech" not in page
    listing = client.get(reverse("agent:organizations"), {"q": "acm"}).content.decode()
    assert f'<a href="/agent/organizations/{acme.pk}/">Acme</a>' in listing
