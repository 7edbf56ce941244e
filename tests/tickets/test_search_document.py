"""The agent's search reads one stored document per ticket (issue 12, tickets migration 0010),
kept current by PostgreSQL triggers whatever writes the rows: new tickets and messages (ORM,
bulk), edited and erased texts, merged tickets, deleted messages, renamed subjects. Long
tickets are capped instead of failing; the backfill works in batches and resumes; other
databases still match substrings."""

from __future__ import annotations

import importlib

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.services.privacy import customer_erase
from tests.factories import CustomerFactory, TicketFactory, make_agent
from tests.tickets.test_workspace import _list, inbound, listed, world  # noqa: F401 (fixture)
from tickets.models import Message, Ticket, TicketSearchDocument
from tickets.selectors import ticket_search
from tickets.services.events import Actor
from tickets.services.tickets import ticket_merge

pytestmark = pytest.mark.django_db

migration = importlib.import_module("tickets.migrations.0010_ticket_search_document")


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the stored documents and their triggers are PostgreSQL's")


def found(query: str) -> set[int]:
    return set(ticket_search(queryset=Ticket.objects.all(), query=query).values_list("number", flat=True))


def note(ticket: Ticket, text: str) -> Message:
    return Message.objects.create(
        ticket=ticket, direction="outbound", author_kind="agent", channel="internal", body_text=text, is_internal=True
    )


@pytest.fixture(params=["ids", "walk"])
def path(request, monkeypatch):
    """Both ways the search can run: ids from the GIN index first, or the walk along the list."""
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 10**9 if request.param == "ids" else 0)
    return request.param


def test_a_new_ticket_is_found_by_its_subject_and_then_by_each_message_and_note(path):
    ticket = TicketFactory(subject="Scanner jams on page two")
    other = TicketFactory(subject="Something else")
    assert found("scanner jams") == {ticket.number}
    inbound(ticket, "The toner light blinks orange.")
    note(ticket, "Escalated to the hardware vendor, case KX-7731.")
    assert found("toner blinking") == {ticket.number}  # stemmed
    assert found("vendor") == {ticket.number}  # internal notes are searchable for agents
    assert found('"toner light"') == {ticket.number}
    assert found("toner -vendor") == set()
    assert found("scanner or else") == {ticket.number, other.number}


def test_bulk_inserted_messages_update_every_ticket_they_belong_to(path):
    first, second, untouched = TicketFactory(), TicketFactory(), TicketFactory()
    Message.objects.bulk_create(
        [
            Message(ticket=t, direction="inbound", author_kind="customer", channel="email", body_text=text)
            for t, text in ((first, "kiwi smoothie"), (second, "kiwi salad"), (second, "mango"))
        ]
    )
    assert found("kiwi") == {first.number, second.number}
    assert found("mango") == {second.number}
    assert untouched.number not in found("kiwi or mango")


def test_edited_erased_and_deleted_texts_stop_matching(path):
    ticket = TicketFactory(subject="Broken hinge")
    message = inbound(ticket, "My card number is 4111 and my name is Rosalind.")
    assert found("rosalind") == {ticket.number}

    Message.objects.filter(pk=message.pk).update(body_text="My name is Beatrice.")
    assert found("rosalind") == set() and found("beatrice") == {ticket.number}

    message.body_text = "Signed, Cordelia"
    message.save()
    assert found("beatrice") == set() and found("cordelia") == {ticket.number}

    message.delete()
    assert found("cordelia") == set()
    assert found("hinge") == {ticket.number}  # the subject is still there


def test_status_changes_on_messages_leave_the_document_alone():
    ticket = TicketFactory()
    message = inbound(ticket, "quokka")
    document = TicketSearchDocument.objects.get(ticket=ticket).document
    Message.objects.filter(pk=message.pk).update(delivery_status="delivered")
    assert TicketSearchDocument.objects.get(ticket=ticket).document == document
    assert found("quokka") == {ticket.number}


def test_a_renamed_subject_is_found_by_the_new_words_only(path):
    ticket = TicketFactory(subject="Password reset")
    inbound(ticket, "help please")
    Ticket.objects.filter(pk=ticket.pk).update(subject="Locked out of account")
    assert found("password") == set() and found("locked") == {ticket.number}
    ticket.refresh_from_db()
    ticket.subject = "Two-factor codes do not arrive"
    ticket.save()
    assert found("locked") == set() and found("codes") == {ticket.number}
    assert found("help") == {ticket.number}  # the messages are kept


def test_saving_a_ticket_loaded_before_a_new_message_keeps_that_message_searchable():
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    inbound(ticket, "axolotl")
    stale.priority = "high"
    stale.save()  # every column of the ticket: none of them is the document
    assert found("axolotl") == {ticket.number}


def test_a_merged_ticket_moves_its_words_to_the_target(path):
    agent = make_agent("merger", role="admin")
    customer = CustomerFactory()
    target = TicketFactory(requester=customer, subject="Invoice question")
    source = TicketFactory(requester=customer, subject="Another one")
    inbound(source, "pelican receipt")
    ticket_merge(source=source, target=target, actor=Actor.agent(agent))
    assert found("pelican") == {target.number}
    assert found("another") == {source.number}  # the merged ticket keeps its own subject


def test_an_erased_customer_is_no_longer_found_by_what_they_wrote(path):
    agent = make_agent("dpo", role="admin")
    customer = CustomerFactory()
    ticket = TicketFactory(requester=customer, subject="Complaint from Wolfgang")
    inbound(ticket, "I live at 12 Marigold Lane")
    assert found("marigold") == {ticket.number}
    customer_erase(customer=customer, actor=Actor.agent(agent))
    assert found("marigold") == set() and found("wolfgang") == set()


def test_a_very_long_ticket_is_stored_capped_not_refused():
    ticket = TicketFactory(subject="Log dump")
    words = [f"w{i:06d}x" for i in range(60_000)]  # 600,000 characters of distinct words
    inbound(ticket, "beginning " + " ".join(words))  # only the first 20,000 characters count
    for chunk in range(5):  # 100,000 characters per ticket in all
        inbound(ticket, f"chunk{chunk}start " + " ".join(words[chunk::5]))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(document) FROM tickets_ticketsearchdocument WHERE ticket_id = %s", [ticket.pk]
        )
        assert cursor.fetchone()[0] < 1_000_000
    assert found("beginning") == {ticket.number}
    assert found(words[100]) == {ticket.number}
    assert found(words[50_000]) == set()  # past the first message's 20,000 characters
    assert found("chunk0start chunk1start chunk2start chunk3start") == {ticket.number}
    assert found("chunk4start") == set()  # past the ticket's 100,000 characters


def test_ticket_numbers_and_stop_words(world):  # noqa: F811
    t = world["t"]
    inbound(t["urgent_sms"], "It was the 2nd time.")
    assert listed(_list(world, q=f"#{t['urgent_sms'].number}")) == [t["urgent_sms"].number]
    assert listed(_list(world, q=str(t["low_email"].number))) == [t["low_email"].number]
    assert listed(_list(world, q="the")) == []  # only a stop word: nothing, and no error
    assert listed(_list(world, q="!!! ???")) == []


def test_a_phrase_of_common_words_is_counted_through_the_index_not_walked(world, monkeypatch):  # noqa: F811
    """A phrase is estimated far below its real count: it goes to the index with a limit,
    whatever the estimate says, and walks only when it is really common."""
    monkeypatch.setattr("tickets.selectors._estimated_rows", lambda queryset: 10**9)
    t = world["t"]
    inbound(t["high_web"], "my parcel never arrived")
    inbound(t["urgent_sms"], "never mind the parcel")
    with CaptureQueriesContext(connection) as ctx:
        assert listed(_list(world, q='"parcel never"')) == [t["high_web"].number]
    assert not [q for q in ctx.captured_queries if "OFFSET 0)" in q["sql"]]
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 0)
    with CaptureQueriesContext(connection) as ctx:
        assert listed(_list(world, q='"parcel never"')) == [t["high_web"].number]
    assert [q for q in ctx.captured_queries if "OFFSET 0)" in q["sql"]]


def test_searching_the_list_costs_the_same_few_queries_for_many_tickets(world, django_assert_max_num_queries):  # noqa: F811
    for _ in range(12):
        inbound(TicketFactory(team=world["billing"]), "walrus")
    cache.clear()
    world["client"].get("/agent/", {"queue": "all", "q": "walrus"})  # warm
    with django_assert_max_num_queries(25):
        response = _list(world, q="walrus")
    assert len(listed(response)) == 12


def test_the_backfill_writes_missing_documents_in_batches_and_can_run_again(monkeypatch, capsys):
    tickets = [TicketFactory(subject=f"Backfill {word}") for word in ("heron", "egret", "ibis")]
    inbound(tickets[0], "wading bird")
    TicketSearchDocument.objects.filter(ticket__in=tickets[:2]).delete()
    assert found("heron") == set()

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    monkeypatch.setattr(migration, "BATCH", 1)
    migration.backfill(None, editor)
    assert "2/2 (100.0%)" in capsys.readouterr().out
    assert found("heron wading") == {tickets[0].number}
    assert found("egret") == {tickets[1].number} and found("ibis") == {tickets[2].number}
    migration.backfill(None, editor)  # nothing left to do
    assert capsys.readouterr().out == ""


def test_other_databases_match_substrings(monkeypatch):
    ticket = TicketFactory(subject="Refund for order A123456")
    inbound(ticket, "the courier lost it")
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert found("COURIER LOST") == {ticket.number}
    assert found("a123") == {ticket.number}
    assert found(f"#{ticket.number}") == {ticket.number}
    assert found("nowhere") == set()


def test_an_agent_finds_what_they_may_see_as_the_team_and_assignee_change(world, path):  # noqa: F811
    """The documents copy each ticket's team and assignee (the search narrows by the agent's
    visibility there first): the copies follow the ticket."""
    t = world["t"]
    for ticket in t.values():
        inbound(ticket, "the flux capacitor hums")
    mine = [t["urgent_sms"].number, t["low_email"].number, t["high_web"].number]  # billing, billing, no team
    assert sorted(listed(_list(world, q='"flux capacitor"'))) == sorted(mine)
    other = t["tech_urgent"]
    other.assignee = world["alice"]
    other.save()  # another team's ticket, assigned to her
    assert other.number in listed(_list(world, q='"flux capacitor"'))
    Ticket.objects.filter(pk=other.pk).update(assignee=None)
    assert other.number not in listed(_list(world, q='"flux capacitor"'))
    Ticket.objects.filter(pk=other.pk).update(team=world["billing"])
    assert other.number in listed(_list(world, q="capacitor"))
    Ticket.objects.filter(pk=t["high_web"].pk).update(team=world["tech"])
    assert t["high_web"].number not in listed(_list(world, q="capacitor"))


def test_a_customer_visibility_is_left_to_the_list(world):  # noqa: F811
    from tests.factories import make_customer_user
    from tickets.selectors import ticket_list

    t = world["t"]
    inbound(t["urgent_sms"], "gizmo")
    inbound(t["low_email"], "gizmo")
    user = make_customer_user(world["ana"])
    mine = ticket_search(queryset=ticket_list(user=user), query="gizmo", user=user)
    assert [ticket.number for ticket in mine] == [t["urgent_sms"].number]


def test_the_documents_narrowing_keeps_every_ticket_an_agent_may_see(world):  # noqa: F811
    """The search narrows the documents by a copy of ticket_visibility_q's agent rule: it must
    keep every ticket that rule shows (else a visible ticket would go missing)."""
    from tickets.selectors import _visible_documents_q, ticket_visibility_q

    t = world["t"]
    Ticket.objects.filter(pk=t["tech_urgent"].pk).update(assignee=world["alice"])
    TicketFactory(team=None)
    for user in (world["alice"], make_agent("bob", teams=[world["tech"]]), make_agent("carol")):
        visible = set(Ticket.objects.filter(ticket_visibility_q(user)).values_list("pk", flat=True))
        narrowed = set(
            TicketSearchDocument.objects.filter(_visible_documents_q(user)).values_list("ticket_id", flat=True)
        )
        assert visible and visible <= narrowed


# The plans the search may take for a list with filters (see ticket_search): the ids of the
# matching documents (narrowed by visibility), those narrowed further by the list's own team and
# assignee conditions, or the walk along the list.
SEARCH_PLANS = {
    "ids": {"TICKET_SEARCH_IDS_MAX": 10**9, "TICKET_SEARCH_NARROWED_IDS_MAX": 0},
    "narrowed ids": {"TICKET_SEARCH_IDS_MAX": 0, "TICKET_SEARCH_NARROWED_IDS_MAX": 10**9},
    "walk": {"TICKET_SEARCH_IDS_MAX": 0, "TICKET_SEARCH_NARROWED_IDS_MAX": 0},
}


@pytest.mark.parametrize(
    "params",
    [
        {"queue": "all"},
        {"queue": "mine"},
        {"queue": "unsolved"},
        {"queue": "pending"},
        {"queue": "all", "tag": "billing"},
        {"queue": "all", "status": "closed", "priority": "urgent"},
        {"queue": "all", "sort": "number"},
        {"queue": "unsolved", "team": "TECH"},
        {"queue": "all", "team": "BILLING"},
    ],
    ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()),
)
def test_search_with_a_list_shows_the_same_tickets_in_the_same_order_whatever_the_plan(
    world,  # noqa: F811
    monkeypatch,
    params,
):
    """A word combined with views, filters, team filters and sorts: each plan lists exactly the
    tickets of the list (as the agent may see them) that say it, in the list's order; another
    team's tickets stay out, an own assigned one of that team stays in."""
    from tickets.models import Tag

    alice, billing, tech = world["alice"], world["billing"], world["tech"]
    other = make_agent("olga", teams=[tech])
    billing_tag = Tag.objects.create(name="billing")
    tickets = []
    for i, (team, assignee, status, priority) in enumerate(
        [
            (billing, alice, "open", "urgent"),
            (billing, None, "pending", "low"),
            (tech, None, "open", "urgent"),  # not hers
            (tech, alice, "pending", "high"),  # another team's, assigned to her
            (None, None, "closed", "urgent"),
            (billing, other, "closed", "urgent"),
            (tech, other, "closed", "urgent"),  # not hers
            (None, alice, "new", "normal"),
            (billing, None, "solved", "normal"),
        ]
    ):
        ticket = TicketFactory(team=team, assignee=assignee, status=status, priority=priority)
        inbound(ticket, f"The gizmo number {i} rattles")
        if i % 2 == 0:
            ticket.tags.add(billing_tag)
        tickets.append(ticket)
    TicketFactory(team=billing, subject="No such word here")
    params = {
        key: {"TECH": str(tech.pk), "BILLING": str(billing.pk)}.get(value, value) for key, value in params.items()
    }
    expected = None
    for plan, limits in SEARCH_PLANS.items():
        for name, value in limits.items():
            monkeypatch.setattr(f"tickets.selectors.{name}", value)
        cache.clear()
        shown = listed(_list(world, q="gizmo", **params))
        without_word = listed(_list(world, **params))
        wanted = [n for n in without_word if n in {t.number for t in tickets}]
        assert shown == wanted, plan
        assert expected is None or shown == expected, plan
        expected = shown
        monkeypatch.undo()
    if params.get("queue") == "all" and len(params) == 1:
        assert tickets[2].number not in expected and tickets[3].number in expected
        assert len(expected) == 7


def test_the_list_conditions_copied_to_the_documents_are_only_team_and_assignee_equalities(world):  # noqa: F811
    """Only conditions ANDed at the top of the list, on the ticket's own team or assignee, narrow
    the documents (an OR, a negation or another table's column would drop matching tickets)."""
    from tickets.selectors import _copied_list_q

    alice, tech = world["alice"], world["tech"]
    assert _copied_list_q(Ticket.objects.filter(assignee=alice, status="open")) == Q(assignee_id=alice.pk)
    assert _copied_list_q(Ticket.objects.filter(team__in=[tech.pk])) == Q(team_id__in=[tech.pk])
    assert _copied_list_q(Ticket.objects.filter(assignee__isnull=True)) == Q(assignee_id__isnull=True)
    assert _copied_list_q(Ticket.objects.filter(Q(team=tech) | Q(assignee=alice))) is None
    assert _copied_list_q(Ticket.objects.exclude(team=tech)) is None
    assert _copied_list_q(Ticket.objects.filter(requester__tickets__team=tech)) is None
