"""The agent workspace through the Django test client: the ticket list (views, filters, sort,
search, pages, bulk actions) and the ticket page (reply, note, send and set status, macros,
field edits, merge, customer sidebar), with what each leaves on the ticket."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrganizationFactory,
    TeamFactory,
    TicketFactory,
    make_agent,
)
from tickets.models import Event, Macro, Message, Tag, Ticket
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

pytestmark = pytest.mark.django_db


def listed(response) -> list[int]:
    """Ticket numbers on a list page, in the order shown."""
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'name="tickets" value="(\d+)"', response.content.decode())]


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def inbound(ticket: Ticket, text: str, **extra) -> Message:
    return Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=ticket.requester,
        channel=ticket.channel,
        body_text=text,
        **extra,
    )


@pytest.fixture
def world():
    billing, tech = TeamFactory(name="Billing"), TeamFactory(name="Tech")
    alice = make_agent("alice", teams=[billing])
    acme = OrganizationFactory(name="Acme")
    ana = CustomerFactory(name="Ana Souza", organization=acme)
    t = {
        "urgent_sms": TicketFactory(team=billing, priority="urgent", channel="sms", requester=ana, organization=acme),
        "low_email": TicketFactory(team=billing, priority="low", channel="email", assignee=alice),
        "high_web": TicketFactory(team=None, priority="high", channel="web"),
        "tech_urgent": TicketFactory(team=tech, priority="urgent", channel="sms", requester=ana, organization=acme),
    }
    t["urgent_sms"].tags.add(Tag.objects.create(name="vip"))
    t["tech_urgent"].tags.add(Tag.objects.get(name="vip"))
    client = Client()
    client.force_login(alice)
    return {"alice": alice, "billing": billing, "tech": tech, "acme": acme, "ana": ana, "t": t, "client": client}


def _list(world, **params):
    return world["client"].get(reverse("agent:home"), {"queue": "all", **params})


# --- The list: filters, sort, search, pages ------------------------------------------------------


def test_filters_go_through_the_api_filterset_and_never_show_other_teams_tickets(world):
    t = world["t"]
    assert set(listed(_list(world))) == {t["urgent_sms"].number, t["low_email"].number, t["high_web"].number}
    assert listed(_list(world, priority="urgent")) == [t["urgent_sms"].number]
    assert listed(_list(world, channel="sms")) == [t["urgent_sms"].number]
    assert listed(_list(world, tag="VIP")) == [t["urgent_sms"].number]
    assert listed(_list(world, requester=world["ana"].pk)) == [t["urgent_sms"].number]
    assert listed(_list(world, organization=world["acme"].pk)) == [t["urgent_sms"].number]
    assert listed(_list(world, assignee=world["alice"].pk)) == [t["low_email"].number]
    assert set(listed(_list(world, team=world["billing"].pk))) == {t["urgent_sms"].number, t["low_email"].number}
    assert listed(_list(world, team=world["tech"].pk)) == []

    Ticket.objects.filter(pk=t["high_web"].pk).update(created_at=timezone.now() - timedelta(days=30))
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert listed(_list(world, created_before=week_ago)) == [t["high_web"].number]
    assert t["high_web"].number not in listed(_list(world, created_after=week_ago))


def test_blank_drop_downs_mean_any_and_bad_values_are_explained(world):
    response = _list(world, status="", channel="", team="", priority="urgent", q="")
    assert listed(response) == [world["t"]["urgent_sms"].number]
    assert "valid choice" not in response.content.decode()
    wanted = world["t"]["high_web"].number
    assert listed(_list(world, queue="no-such-view", q=f"#{wanted}")) == [wanted]  # the search still counts
    response = _list(world, team="999999")
    assert "Team: Select a valid choice." in response.content.decode()


def test_a_filter_on_a_customer_shows_as_a_removable_chip(world):
    page = _list(world, requester=world["ana"].pk).content.decode()
    assert "Customer: Ana Souza" in page
    assert 'aria-label="Remove filter"' in page


def test_views_recently_solved_and_counts(world):
    t = world["t"]
    alice = Actor.agent(world["alice"])
    ticket_change_status(ticket=t["low_email"], status="solved", actor=alice)
    old = TicketFactory(team=world["billing"], status="solved", solved_at=timezone.now() - timedelta(days=30))
    response = world["client"].get(reverse("agent:home"), {"queue": "recently_solved"})
    assert listed(response) == [t["low_email"].number]
    assert old.number not in listed(response)
    queues = {key: count for key, _label, count in response.context["queues"]}
    assert queues["recently_solved"] == 1 and queues["unsolved"] == 2 and queues["mine"] == 0
    assert listed(world["client"].get(reverse("agent:home"))) == listed(_list(world, status="unsolved"))


def test_sorting_by_priority_number_and_dates(world):
    t = world["t"]
    by_priority = [t["urgent_sms"].number, t["high_web"].number, t["low_email"].number]
    assert listed(_list(world, sort="-priority")) == by_priority
    assert listed(_list(world, sort="priority")) == by_priority[::-1]
    numbers = sorted(n.number for k, n in t.items() if k != "tech_urgent")
    assert listed(_list(world, sort="number")) == numbers
    assert listed(_list(world, sort="-number")) == numbers[::-1]
    Ticket.objects.filter(pk=t["low_email"].pk).update(created_at=timezone.now() - timedelta(days=3))
    assert listed(_list(world, sort="created"))[0] == t["low_email"].number
    Ticket.objects.filter(pk=t["high_web"].pk).update(updated_at=timezone.now() + timedelta(minutes=5))
    assert listed(_list(world))[0] == t["high_web"].number


def test_search_matches_subjects_and_message_text_in_full_text_and_respects_visibility(world):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("full-text search (stemming, phrases, exclusions) is PostgreSQL's; make test runs on it")
    t = world["t"]
    Ticket.objects.filter(pk=t["low_email"].pk).update(subject="Refund for a duplicate charge")
    inbound(t["high_web"], "Hello, my parcel never arrived at the warehouse.")
    inbound(t["tech_urgent"], "Another parcel story, in a team alice cannot see.")
    assert listed(_list(world, q="refunds")) == [t["low_email"].number]  # stemmed: refunds ~ refund
    assert listed(_list(world, q="parcels arriving")) == [t["high_web"].number]
    assert listed(_list(world, q='"parcel never"')) == [t["high_web"].number]
    assert listed(_list(world, q="parcel -warehouse")) == []
    assert listed(_list(world, q=f"#{t['urgent_sms'].number}")) == [t["urgent_sms"].number]
    assert listed(_list(world, q="parcel", priority="high")) == [t["high_web"].number]
    assert listed(_list(world, q="nothing-like-this")) == []


@pytest.mark.parametrize("sort", ["-updated", "priority", "-number"])
def test_keyset_pages_walk_every_ticket_once_both_ways(world, monkeypatch, sort):
    monkeypatch.setattr("tickets.views.ticket_list.PAGE_SIZE", 2)
    for priority in ["low", "normal", "normal", "high", "urgent"]:
        TicketFactory(team=world["billing"], priority=priority)
    expected = listed(_list(world, sort=sort))  # first page only
    assert len(expected) == 2
    seen, pages, params = [], [], {"sort": sort}
    while True:
        response = _list(world, **params)
        page = listed(response)
        pages.append(page)
        seen += page
        nxt = response.context["next_query"]
        if not nxt:
            break
        params = {k: v for k, v in (pair.split("=", 1) for pair in nxt.split("&"))}
    assert len(seen) == len(set(seen)) == 8
    # And back: "previous" from the last page gives the page before it.
    previous = response.context["previous_query"]
    params = {k: v for k, v in (pair.split("=", 1) for pair in previous.split("&"))}
    assert listed(_list(world, **params)) == pages[-2]


# --- Bulk actions --------------------------------------------------------------------------------


def _bulk(world, numbers, **data):
    return world["client"].post(reverse("agent:bulk"), {"tickets": numbers, **data}, follow=True)


def test_bulk_status_reports_the_illegal_transition_and_changes_the_others(world):
    t = world["t"]
    ticket_change_status(ticket=t["high_web"], status="solved", actor=Actor.system())
    ticket_change_status(ticket=t["high_web"], status="closed", actor=Actor.system())
    numbers = [t["urgent_sms"].number, t["high_web"].number, t["low_email"].number, t["tech_urgent"].number]
    response = _bulk(world, numbers, action="status", status="pending")
    statuses = dict(Ticket.objects.filter(number__in=numbers).values_list("number", "status"))
    assert statuses[t["urgent_sms"].number] == statuses[t["low_email"].number] == "pending"
    assert statuses[t["high_web"].number] == "closed"
    assert statuses[t["tech_urgent"].number] == "new"  # not alice's to change
    notes = flashes(response)
    assert f"Updated 2 tickets: #{t['urgent_sms'].number}, #{t['low_email'].number}." in notes
    assert any(f"#{t['high_web'].number} not changed" in n and "cannot go from Closed to Pending" in n for n in notes)
    assert any(f"#{t['tech_urgent'].number} not changed" in n and "that you can see" in n for n in notes)
    assert response.status_code == 200 and response.redirect_chain[-1][0].startswith(reverse("agent:home"))


def test_bulk_assign_priority_and_tag(world):
    t = world["t"]
    numbers = [t["urgent_sms"].number, t["high_web"].number]
    _bulk(world, numbers, action="assign", assignee="me")
    _bulk(world, numbers, action="priority", priority="high")
    _bulk(world, numbers, action="tag", tag="Escalated")
    for ticket in Ticket.objects.filter(number__in=numbers):
        assert ticket.assignee == world["alice"] and ticket.priority == "high"
        assert "escalated" in set(ticket.tags.values_list("name", flat=True))
    assert Event.objects.filter(ticket__number__in=numbers, verb="assigned").count() == 2
    response = _bulk(world, [], action="assign", assignee="me")
    assert "Select at least one ticket first." in flashes(response)
    response = _bulk(world, numbers, action="status")
    assert "Choose a status." in flashes(response)


def test_bulk_returns_to_the_filtered_list_but_never_offsite(world):
    t = world["t"]
    back = reverse("agent:home") + "?queue=all&priority=urgent"
    response = world["client"].post(
        reverse("agent:bulk"), {"tickets": [t["urgent_sms"].number], "action": "tag", "tag": "x", "next": back}
    )
    assert response["Location"] == back
    response = world["client"].post(
        reverse("agent:bulk"),
        {"tickets": [t["urgent_sms"].number], "action": "tag", "tag": "x", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("agent:home")


# --- The ticket page -----------------------------------------------------------------------------


def _reply(client, ticket, **data):
    data = {f"reply-{k}": v for k, v in data.items()}
    return client.post(reverse("agent:ticket_reply", args=[ticket.number]), data, follow=True)


def test_a_public_reply_is_queued_on_the_default_channel_and_opens_the_ticket(world):
    ticket = world["t"]["low_email"]
    IdentityFactory(customer=ticket.requester, kind="email", value="low@example.com")
    inbound(ticket, "Where is my invoice?")
    response = _reply(world["client"], ticket, body="Here it is.", kind="public", intent="send")
    message = ticket.messages.get(direction="outbound")
    assert (message.body_text, message.channel, message.is_internal, message.delivery_status) == (
        "Here it is.",
        "email",
        False,
        "queued",
    )
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_responded_at is not None
    assert "Reply queued for sending via Email." in flashes(response)
    assert "Here it is." in response.content.decode()


def test_an_internal_note_is_stored_as_a_note_and_shown_as_one(world):
    ticket = world["t"]["low_email"]
    response = _reply(world["client"], ticket, body="Customer called, see CRM.", kind="internal", intent="send")
    note = ticket.messages.get()
    assert note.is_internal and note.channel == "internal" and note.delivery_status == "not_sent"
    ticket.refresh_from_db()
    assert ticket.status == "new"  # a note does not open the ticket
    assert Event.objects.filter(ticket=ticket, verb="note_added").exists()
    page = response.content.decode()
    assert 'class="msg outbound note"' in page and "Internal note added." in flashes(response)


def test_send_and_set_status_does_both(world):
    ticket = world["t"]["low_email"]
    _reply(world["client"], ticket, body="Could you send a screenshot?", kind="public", status="pending")
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    assert ticket.messages.filter(body_text="Could you send a screenshot?").exists()
    changes = list(Event.objects.filter(ticket=ticket, field="status").values_list("old_value", "new_value"))
    assert changes == [("new", "open"), ("open", "pending")]


def test_a_refused_status_change_sends_nothing_and_keeps_the_draft(world):
    ticket = world["t"]["low_email"]
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    response = _reply(world["client"], ticket, body="My draft answer", kind="public", status="on_hold")
    assert response.status_code == 200
    assert not ticket.messages.exists()
    assert any("cannot go from Solved to On hold" in m for m in flashes(response))
    assert "My draft answer</textarea>" in response.content.decode()


def test_a_reply_on_a_channel_the_customer_cannot_be_reached_on_is_refused(world):
    ticket = world["t"]["low_email"]
    response = _reply(world["client"], ticket, body="Hi", kind="public", channel="whatsapp")
    assert not ticket.messages.exists()
    assert any("Select a valid choice" in m for m in flashes(response))


def test_a_macro_fills_the_composer_safely_and_its_actions_apply_on_send(world):
    ticket = world["t"]["urgent_sms"]
    ticket.requester.name = "Ana <b>O'Brien</b>"
    ticket.requester.save()
    world["alice"].first_name, world["alice"].last_name = "Alice", "Reis"
    world["alice"].save()
    macro = Macro.objects.create(
        name="Ask for order number",
        body="Hi {{ customer.name }}, about #{{ ticket.number }}: what is the order number?\n{{ agent.name }}",
        actions=[
            {"field": "status", "value": "pending"},
            {"field": "priority", "value": "high"},
            {"field": "add_tags", "value": ["needs-info"]},
            {"field": "remove_tags", "value": ["vip"]},
        ],
    )
    client = world["client"]
    response = _reply(client, ticket, body="", kind="public", macro=macro.pk, intent="use_macro")
    expected = f"Hi Ana <b>O'Brien</b>, about #{ticket.number}: what is the order number?\nAlice Reis"
    form = response.context["reply_form"]
    assert form.initial["body"] == expected and form.initial["status"] == "pending"
    assert form.initial["applied_macro"] == macro.pk
    page = response.content.decode()
    assert "Ana &lt;b&gt;O&#x27;Brien&lt;/b&gt;" in page and "<b>O'Brien</b>" not in page
    assert "set priority to high" in page
    assert "Send and set to Pending</button>" in page  # without JavaScript too
    assert not ticket.messages.exists() and Macro.objects.get().usage_count == 0  # nothing happens yet

    _reply(client, ticket, body=expected, kind="public", status="pending", applied_macro=macro.pk, intent="send")
    ticket.refresh_from_db()
    assert ticket.messages.get().body_text == expected
    assert (ticket.status, ticket.priority) == ("pending", "high")
    assert list(ticket.tags.values_list("name", flat=True)) == ["needs-info"]
    assert Macro.objects.get().usage_count == 1


def test_a_macro_keeps_the_draft_and_cannot_reach_template_tags(world):
    ticket = world["t"]["urgent_sms"]
    macro = Macro.objects.create(name="Sneaky", body="{% debug %}{{ ticket.number }}")
    response = _reply(world["client"], ticket, body="typed", kind="public", macro=macro.pk, intent="use_macro")
    assert any("has a mistake in its text" in m for m in flashes(response))
    assert "typed</textarea>" in response.content.decode()
    other_team = Macro.objects.create(name="Tech only", body="x", team=world["tech"])
    response = _reply(world["client"], ticket, kind="public", macro=other_team.pk, intent="use_macro")
    assert any("Select a valid choice" in m for m in flashes(response))


def test_editing_fields_in_the_sidebar(world):
    ticket = world["t"]["high_web"]
    data = {
        "fields-priority": "urgent",
        "fields-type": "incident",
        "fields-team": world["billing"].pk,
        "fields-assignee": world["alice"].pk,
        "fields-tags": "Billing, refund ,",
    }
    response = world["client"].post(reverse("agent:ticket_fields", args=[ticket.number]), data, follow=True)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.type, ticket.team, ticket.assignee) == (
        "urgent",
        "incident",
        world["billing"],
        world["alice"],
    )
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "refund"]
    assert "Ticket updated." in flashes(response)
    fields = set(Event.objects.filter(ticket=ticket).exclude(field="").values_list("field", flat=True))
    assert fields == {"priority", "type", "team", "assignee", "tags"}


def test_merging_into_another_ticket_by_number(world):
    source, target = world["t"]["urgent_sms"], world["t"]["low_email"]
    inbound(source, "first words")
    client = world["client"]
    response = client.post(
        reverse("agent:ticket_merge", args=[source.number]), {"merge-target": target.number}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("agent:ticket", args=[target.number])
    source.refresh_from_db()
    assert source.status == "closed" and source.merged_into == target
    assert target.messages.get().body_text == "first words"
    assert f"Ticket #{source.number} was merged into this one." in flashes(response)
    assert f"merged ticket #{source.number} into this one" in response.content.decode()

    other = world["t"]["high_web"]
    hidden = world["t"]["tech_urgent"]
    response = client.post(
        reverse("agent:ticket_merge", args=[other.number]), {"merge-target": hidden.number}, follow=True
    )
    assert f"There is no ticket #{hidden.number} that you can see." in flashes(response)
    response = client.post(
        reverse("agent:ticket_merge", args=[other.number]), {"merge-target": other.number}, follow=True
    )
    assert "A ticket cannot be merged into itself." in flashes(response)
    other.refresh_from_db()
    assert other.status == "new"


def test_light_agents_write_notes_only_and_are_told_why(world):
    light = make_agent("lena", role="light_agent", teams=[world["billing"]])
    client = Client()
    client.force_login(light)
    ticket = world["t"]["low_email"]
    page = client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert 'value="public"' not in page and 'value="internal"' in page
    assert reverse("agent:ticket_fields", args=[ticket.number]) not in page

    response = _reply(client, ticket, body="Hello customer", kind="public")
    assert "Your role can add internal notes but cannot reply to customers." in flashes(response)
    assert not ticket.messages.exists()
    _reply(client, ticket, body="FYI for the team", kind="internal")
    assert ticket.messages.get().is_internal
    response = client.post(
        reverse("agent:ticket_fields", args=[ticket.number]),
        {"fields-priority": "urgent", "fields-type": "question", "fields-tags": ""},
        follow=True,
    )
    assert "Your role cannot change tickets." in flashes(response)
    ticket.refresh_from_db()
    assert ticket.priority == "low"


def test_the_customer_sidebar_lists_identities_organization_and_other_visible_tickets(world):
    ana = world["ana"]
    IdentityFactory(customer=ana, kind="email", value="ana@example.com")
    IdentityFactory(customer=ana, kind="phone", value="+15550142")
    older = TicketFactory(team=world["billing"], requester=ana, subject="Older question from Ana")
    response = world["client"].get(reverse("agent:ticket", args=[world["t"]["urgent_sms"].number]))
    page = response.content.decode()
    assert "ana@example.com" in page and "+15550142" in page and "Acme" in page
    assert [t.number for t in response.context["recent_tickets"]] == [older.number]  # not tech_urgent: hidden


def test_forms_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["alice"])
    ticket = world["t"]["low_email"]
    response = client.post(reverse("agent:ticket_reply", args=[ticket.number]), {"reply-body": "x"})
    assert response.status_code == 403
    page = client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert page.count("csrfmiddlewaretoken") == page.count('method="post"')


# --- Query counts --------------------------------------------------------------------------------


def _tickets_with_everything(team, count):
    tag = Tag.objects.get_or_create(name="common")[0]
    agent = make_agent(f"busy{Ticket.objects.count()}", teams=[team])
    org = OrganizationFactory()
    for _ in range(count):
        ticket = TicketFactory(team=team, assignee=agent, organization=org)
        ticket.tags.add(tag)


@pytest.mark.parametrize("params", [{}, {"q": "problem", "priority": "normal", "sort": "-priority", "tag": "common"}])
def test_the_list_costs_the_same_queries_for_5_or_40_tickets(world, params):
    _tickets_with_everything(world["billing"], 5)
    cache.clear()  # both loads count (the counts are cached otherwise: tests/workspace)
    with CaptureQueriesContext(connection) as few:
        assert len(listed(_list(world, **params))) >= 5
    _tickets_with_everything(world["billing"], 35)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert len(listed(_list(world, **params))) >= 40
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_ticket_page_costs_the_same_queries_for_2_or_20_messages(world):
    ticket = world["t"]["low_email"]
    IdentityFactory(customer=ticket.requester, kind="email", value="low@example.com")
    Macro.objects.create(name="Hello", body="Hello")
    client = world["client"]

    def add_messages(n):
        for i in range(n):
            inbound(ticket, f"question {i}")
            client.post(
                reverse("agent:ticket_reply", args=[ticket.number]),
                {"reply-body": f"answer {i}", "reply-kind": "internal" if i % 2 else "public"},
            )

    add_messages(1)
    url = reverse("agent:ticket", args=[ticket.number])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_messages(9)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count('class="msg ') == 20
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
