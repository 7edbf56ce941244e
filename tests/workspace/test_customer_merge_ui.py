"""Merging two customers from the directory: find the other customer, confirm on a page that
shows both, and undo the merge from the kept customer's profile (the merged customer comes
back with its id, identities, tickets, messages and follows)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent, make_customer_user
from tickets.models import Customer, CustomerMergeRecord, Event, Identity, Message, Ticket
from tickets.services.customer_merge import MergeUndoRefused, customer_merge, customer_merge_undo
from tickets.services.events import Actor

from .conftest import client_for, flashes

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(desk):
    """Ana (email) and "Ana WhatsApp", the same person: a ticket with a message, a follow of
    another ticket, and a ticket both follow."""
    ana = desk["ana"]
    IdentityFactory(customer=ana, kind="email", value="ana@example.com")
    other = CustomerFactory(name="Ana WhatsApp", attributes={"plan": "gold"}, notes="prefers mornings")
    IdentityFactory(customer=other, kind="whatsapp", value="+5511912345678")
    ticket = TicketFactory(requester=other, team=desk["billing"], subject="Order via WhatsApp")
    message = Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=other,
        channel="whatsapp",
        body_text="oi",
    )
    followed = TicketFactory(requester=CustomerFactory(), team=desk["billing"])
    followed.followers.add(other)
    both = TicketFactory(requester=CustomerFactory(), team=desk["billing"])
    both.followers.add(other, ana)
    return {"ana": ana, "other": other, "ticket": ticket, "message": message, "followed": followed, "both": both}


def _merge_url(target):
    return reverse("agent:customer_merge", args=[target.pk])


def test_the_confirmation_page_shows_both_customers_with_identities_and_ticket_counts(desk, twins):
    TicketFactory(requester=twins["ana"], team=desk["billing"])
    TicketFactory(requester=twins["ana"], team=desk["billing"])
    client = client_for(desk["alice"])
    profile = client.get(reverse("agent:customer", args=[twins["ana"].pk])).content.decode()
    assert "Merge another customer into this one" in profile

    page = client.get(_merge_url(twins["ana"]), {"source": str(twins["other"].pk)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "+5511912345678" in html and "ana@example.com" in html
    counts = [c.split("<")[0] for c in html.split('class="ticket-count">')[1:]]
    assert counts == ["1", "2"]  # merged side first, then the kept one
    assert "Merge Ana WhatsApp into Ana Souza" in html
    # Nothing happens until the agent confirms.
    assert Customer.objects.filter(pk=twins["other"].pk).exists()


def test_searching_by_an_address_finds_the_customer_and_several_matches_are_listed(desk, twins):
    client = client_for(desk["alice"])
    one = client.get(_merge_url(twins["ana"]), {"source": "5511912345678"}).content.decode()
    assert "Merge Ana WhatsApp into Ana Souza" in one  # one match: straight to confirmation
    CustomerFactory(name="Ana Lima")
    several = client.get(_merge_url(twins["ana"]), {"source": "ana"}).content.decode()
    assert "pick the one to merge" in several
    assert "Ana WhatsApp" in several and "Ana Lima" in several
    assert f"?source={twins['ana'].pk}" not in several  # never offered to merge into itself
    nothing = client.get(_merge_url(twins["ana"]), {"source": "nobody-here"}).content.decode()
    assert "No customers match." in nothing


def test_confirming_merges_and_undo_brings_the_customer_back_exactly(desk, twins):
    ana, other = twins["ana"], twins["other"]
    client = client_for(desk["alice"])
    response = client.post(reverse("agent:customer_merge_confirm", args=[ana.pk]), {"source": other.pk}, follow=True)
    assert "Ana WhatsApp was merged into this customer. You can undo this for 30 days." in flashes(response)
    assert not Customer.objects.filter(pk=other.pk).exists()
    assert Ticket.objects.get(pk=twins["ticket"].pk).requester == ana
    assert Identity.objects.get(value="+5511912345678").customer == ana
    assert Customer.objects.get(pk=ana.pk).attributes == {"plan": "gold"}
    record = CustomerMergeRecord.objects.get(target=ana)
    assert Event.objects.get(object_id=ana.pk, verb="customer_merged").data["merge_record"] == record.pk
    profile = client.get(reverse("agent:customer", args=[ana.pk])).content.decode()
    assert "Undo merge of Ana WhatsApp" in profile

    response = client.post(reverse("agent:customer_merge_undo", args=[ana.pk, record.pk]), follow=True)
    assert "Merge undone: Ana WhatsApp is a separate customer again." in flashes(response)
    back = Customer.objects.get(pk=other.pk)  # the same id as before
    assert (back.name, back.notes, back.attributes) == ("Ana WhatsApp", "prefers mornings", {"plan": "gold"})
    assert Identity.objects.get(value="+5511912345678").customer == back
    assert Identity.objects.get(value="ana@example.com").customer_id == ana.pk
    assert Ticket.objects.get(pk=twins["ticket"].pk).requester == back
    assert Message.objects.get(pk=twins["message"].pk).author_customer == back
    assert list(twins["followed"].followers.all()) == [back]
    assert set(twins["both"].followers.all()) == {ana, back}
    assert Customer.objects.get(pk=ana.pk).attributes == {}
    undone = Event.objects.filter(verb="customer_merge_undone")
    assert {e.object_id for e in undone} == {ana.pk, other.pk}
    assert undone.get(object_id=ana.pk).actor_user == desk["alice"]
    # Once undone, the button is gone and a second undo is refused.
    assert "Undo merge of" not in client.get(reverse("agent:customer", args=[ana.pk])).content.decode()
    again = client.post(reverse("agent:customer_merge_undo", args=[ana.pk, record.pk]), follow=True)
    assert "This merge was already undone." in flashes(again)


def test_the_portal_login_goes_back_with_the_customer(desk, twins):
    login = make_customer_user(twins["other"], "ana-wa")
    record_target = customer_merge(source=twins["other"], target=twins["ana"], actor=Actor.agent(desk["alice"]))
    assert record_target.user == login
    source = customer_merge_undo(record=CustomerMergeRecord.objects.get(), actor=Actor.agent(desk["alice"]))
    assert Customer.objects.get(pk=source.pk).user == login
    assert Customer.objects.get(pk=twins["ana"].pk).user is None


def test_undo_is_refused_when_a_moved_identity_was_deleted_since(desk, twins):
    customer_merge(source=twins["other"], target=twins["ana"], actor=Actor.agent(desk["alice"]))
    Identity.objects.filter(value="+5511912345678").delete()
    record = CustomerMergeRecord.objects.get()
    with pytest.raises(MergeUndoRefused, match="1 of the identities moved by this merge were deleted"):
        customer_merge_undo(record=record, actor=Actor.agent(desk["alice"]))
    assert not Customer.objects.filter(pk=twins["other"].pk).exists()
    assert Ticket.objects.get(pk=twins["ticket"].pk).requester == twins["ana"]  # nothing half-undone
    record.refresh_from_db()
    assert record.undone_at is None


def test_the_undo_button_disappears_after_the_undo_window(desk, twins, settings):
    settings.HELPDESK_MERGE_UNDO_DAYS = 7
    customer_merge(source=twins["other"], target=twins["ana"], actor=Actor.agent(desk["alice"]))
    record = CustomerMergeRecord.objects.get()
    CustomerMergeRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    client = client_for(desk["alice"])
    assert "Undo merge of" not in client.get(reverse("agent:customer", args=[twins["ana"].pk])).content.decode()
    response = client.post(reverse("agent:customer_merge_undo", args=[twins["ana"].pk, record.pk]), follow=True)
    assert "Merges can be undone for 7 days; this one is older." in flashes(response)
    assert not Customer.objects.filter(pk=twins["other"].pk).exists()


def test_light_agents_see_no_merge_form_and_cannot_merge_or_undo(desk, twins):
    lena = make_agent("lena", role="light_agent", teams=[desk["billing"]])
    client = client_for(lena)
    assert (
        "Merge another customer" not in client.get(reverse("agent:customer", args=[twins["ana"].pk])).content.decode()
    )
    assert client.get(_merge_url(twins["ana"]), {"source": twins["other"].pk}).status_code == 403
    response = client.post(
        reverse("agent:customer_merge_confirm", args=[twins["ana"].pk]), {"source": twins["other"].pk}
    )
    assert response.status_code == 403
    assert Customer.objects.filter(pk=twins["other"].pk).exists()
    customer_merge(source=twins["other"], target=twins["ana"], actor=Actor.agent(desk["alice"]))
    record = CustomerMergeRecord.objects.get()
    assert client.post(reverse("agent:customer_merge_undo", args=[twins["ana"].pk, record.pk])).status_code == 403
    assert CustomerMergeRecord.objects.get().undone_at is None


def test_merging_a_customer_into_itself_is_refused_with_a_message(desk, twins):
    client = client_for(desk["alice"])
    response = client.get(_merge_url(twins["ana"]), {"source": twins["ana"].pk}, follow=True)
    assert "A customer cannot be merged into itself." in flashes(response)
    response = client.post(
        reverse("agent:customer_merge_confirm", args=[twins["ana"].pk]), {"source": twins["ana"].pk}, follow=True
    )
    assert "A customer cannot be merged into itself." in flashes(response)
