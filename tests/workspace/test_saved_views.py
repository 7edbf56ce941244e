"""Saved views (personal and team-shared, with counts, edit and delete) and the built-in
"Breaching soon" view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory, make_agent
from tickets.models import Event, SavedView

from .conftest import client_for, flashes, listed

pytestmark = pytest.mark.django_db

HOME = reverse("agent:home")


def _save(client, name, query, **extra):
    return client.post(reverse("agent:saved_view_create"), {"name": name, "query": query, **extra}, follow=True)


def test_an_agent_saves_the_current_filters_and_finds_them_in_the_sidebar_with_a_count(desk):
    urgent = [TicketFactory(team=desk["billing"], priority="urgent") for _ in range(3)]
    TicketFactory(team=desk["billing"], priority="low")
    TicketFactory(team=desk["tech"], priority="urgent")  # another team's: never counted for alice
    client = client_for(desk["alice"])

    response = _save(client, "  Urgent   billing ", "queue=all&priority=urgent&after=abc&bogus=1&sort=-created")
    view = SavedView.objects.get()
    assert (view.name, view.owner, view.team) == ("Urgent billing", desk["alice"], None)
    assert view.query == "queue=all&sort=-created&priority=urgent"  # the cursor and unknown keys dropped
    assert "View “Urgent billing” saved." in flashes(response)
    assert sorted(listed(response)) == sorted(t.number for t in urgent)
    page = response.content.decode()
    assert f'href="?queue=all&amp;sort=-created&amp;priority=urgent&amp;view={view.pk}"' in page
    assert 'aria-current="page"><span>Urgent billing</span> <span class="count">3</span>' in page
    assert Event.objects.filter(object_type="savedview", verb="created", object_id=view.pk).exists()


def test_a_view_without_a_name_is_refused_with_a_reason(desk):
    response = _save(client_for(desk["alice"]), "   ", "queue=all")
    assert "View name: This field is required." in flashes(response) or "Give the view a name." in flashes(response)
    assert not SavedView.objects.exists()


def test_managers_share_views_with_their_team_and_agents_cannot(desk):
    other = make_agent("bob", teams=[desk["billing"]])
    outsider = make_agent("tess", teams=[desk["tech"]])
    response = _save(client_for(desk["alice"]), "Mine shared", "queue=all", team=desk["billing"].pk)
    assert "Only managers can share a view with a team." in flashes(response)
    assert not SavedView.objects.exists()

    response = _save(client_for(desk["manager"]), "Team VIPs", "queue=all&tag=vip", team=desk["billing"].pk)
    shared = SavedView.objects.get()
    assert shared.team == desk["billing"]
    assert "Team VIPs" in client_for(other).get(HOME).content.decode()
    assert "Team VIPs" not in client_for(outsider).get(HOME).content.decode()
    # A manager cannot share with a team they are not in.
    response = _save(client_for(desk["manager"]), "Tech", "queue=all", team=desk["tech"].pk)
    assert not SavedView.objects.filter(name="Tech").exists()
    assert flashes(response)


def test_edit_rename_update_filters_and_delete(desk):
    client = client_for(desk["alice"])
    _save(client, "Urgent", "queue=all&priority=urgent")
    view = SavedView.objects.get()
    url = reverse("agent:saved_view_update", args=[view.pk])

    # Renaming keeps the filters unless "use the filters shown now" is ticked.
    client.post(url, {"name": "Hot", "query": "queue=all&priority=high"})
    view.refresh_from_db()
    assert (view.name, view.query) == ("Hot", "queue=all&priority=urgent")
    client.post(url, {"name": "Hot", "query": "queue=all&priority=high&view=9", "replace_filters": "on"})
    view.refresh_from_db()
    assert view.query == "queue=all&priority=high"

    # Someone else cannot change or even see a personal view.
    intruder = client_for(make_agent("bob", teams=[desk["billing"]]))
    assert intruder.post(url, {"name": "Mine now"}).status_code == 404
    assert intruder.post(url, {"delete": "1"}).status_code == 404

    response = client.post(url, {"delete": "1"}, follow=True)
    assert "View “Hot” deleted." in flashes(response)
    assert not SavedView.objects.exists()
    assert Event.objects.filter(object_type="savedview", verb="deleted").exists()


def test_opening_a_view_with_changed_filters_offers_to_update_it(desk):
    client = client_for(desk["alice"])
    _save(client, "Urgent", "queue=all&priority=urgent")
    view = SavedView.objects.get()
    same = client.get(HOME, {"queue": "all", "priority": "urgent", "view": view.pk}).content.decode()
    changed = client.get(HOME, {"queue": "all", "priority": "high", "view": view.pk}).content.decode()
    assert '<details class="edit-view">' in same
    assert '<details class="edit-view" open>' in changed
    assert 'name="replace_filters" checked' in changed


def test_breaching_soon_lists_unsolved_tickets_with_a_deadline_within_hours_soonest_first(desk, settings):
    settings.HELPDESK_BREACHING_SOON_HOURS = 4
    now = timezone.now()
    team = desk["billing"]
    in_3h = TicketFactory(team=team, status="open", resolution_due_at=now + timedelta(hours=3))
    in_1h = TicketFactory(team=team, status="new", first_response_due_at=now + timedelta(hours=1))
    overdue = TicketFactory(team=team, status="pending", next_response_due_at=now - timedelta(minutes=10))
    mixed = TicketFactory(
        team=team,
        status="open",
        resolution_due_at=now + timedelta(hours=30),
        next_response_due_at=now + timedelta(hours=2),
    )
    TicketFactory(team=team, status="open", resolution_due_at=now + timedelta(hours=5))  # later
    TicketFactory(team=team, status="solved", first_response_due_at=now + timedelta(hours=1))  # solved
    TicketFactory(team=team, status="open")  # no SLA
    TicketFactory(team=desk["tech"], status="open", first_response_due_at=now)  # not alice's to see

    response = client_for(desk["alice"]).get(HOME, {"queue": "breaching"})
    assert listed(response) == [overdue.number, in_1h.number, mixed.number, in_3h.number]
    page = response.content.decode()
    assert '<td class="due overdue">' in page
    assert 'Breaching soon <span class="count">4</span>' in page


def test_breaching_soon_uses_the_deadline_indexes(desk):
    """With thousands of unsolved tickets and few deadlines near, the plan reads the partial
    due-date indexes instead of scanning the unsolved tickets."""
    from tickets.models import Ticket
    from tickets.selectors import ticket_queue

    requester = desk["ana"]
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(number=100_000 + i, subject="x", channel="email", status="open", requester=requester)
            for i in range(3000)
        ]
        + [
            Ticket(
                number=200_000 + i,
                subject="due",
                channel="email",
                status="open",
                requester=requester,
                first_response_due_at=now + timedelta(days=30 + i) if i % 3 == 0 else None,
                next_response_due_at=now + timedelta(days=30 + i) if i % 3 == 1 else None,
                resolution_due_at=now + timedelta(days=30 + i),
            )
            for i in range(300)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
    explained = ticket_queue(user=desk["manager"], queue="breaching").explain()
    for index in ("ticket_frt_due", "ticket_nrt_due", "ticket_resolution_due"):
        assert index in explained, explained


def test_the_list_with_saved_views_costs_the_same_queries_for_few_or_many_views(desk):
    client = client_for(desk["alice"])
    for i in range(2):
        _save(client, f"View {i}", f"queue=all&priority=urgent&tag=t{i}")
    TicketFactory.create_batch(3, team=desk["billing"], priority="urgent")
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as few:
        assert client.get(HOME).status_code == 200
    for i in range(2, 8):
        _save(client, f"View {i}", f"queue=all&priority=urgent&tag=t{i}")
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert client.get(HOME).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
