"""The Django admin: every page opens, lists stay bounded, and every change is audited
through the services."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms import CheckboxInput, MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.sla.conftest import sla_one_of_each
from tickets.models import (
    Attachment,
    Customer,
    CustomField,
    Event,
    Identity,
    IdentityKind,
    Macro,
    Message,
    Organization,
    OrganizationDomain,
    RawInbound,
    Tag,
    Team,
    Ticket,
    TicketNumberCounter,
    TicketStatus,
)
from tickets.services.agents import agent_create
from tickets.services.customers import customer_create
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status, ticket_create

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def demo_admin():
    return agent_create(
        username="admin", email="admin@helpdesk.example", role="admin", password="admin-demo", actor=Actor.system()
    )


@pytest.fixture
def staff_client(client, demo_admin):
    assert client.login(username="admin", password="admin-demo")
    return client


def make_ticket(subject="Printer on fire", **kwargs):
    customer = kwargs.pop("requester", None) or customer_create(name="Rosa Quill", actor=Actor.system())
    return ticket_create(requester=customer, subject=subject, channel="email", actor=Actor.system(), **kwargs)


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def form_data(response) -> dict:
    """What a browser would post back for the admin form in `response`, unchanged."""
    data: dict = {"_save": "Save"}

    def add(form):
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field.widget, MultiWidget):
                parts = field.widget.decompress(value) if value else [None] * len(field.widget.widgets)
                for suffix, part in zip(field.widget.widgets_names, parts, strict=True):
                    if part is not None:
                        data[bound.html_name + suffix] = str(part)
            elif isinstance(field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            elif value is not None:
                data[bound.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management[name].html_name] = management[name].value()
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def one_of_each(demo_admin):
    """A row of every model in the admin."""
    org = Organization.objects.create(name="Lumenfield Analytics", tier="premium")
    domain = OrganizationDomain.objects.create(organization=org, domain="lumenfield.example")
    team = Team.objects.create(name="Billing", lead=demo_admin)
    customer = customer_create(name="Ana Souza", organization=org, actor=Actor.system())
    identity = Identity.objects.create(customer=customer, kind=IdentityKind.EMAIL, value="ana@lumenfield.example")
    tag = Tag.objects.create(name="refund")
    ticket = make_ticket(requester=customer, team=team, assignee=demo_admin)
    ticket.tags.add(tag)
    raw = RawInbound.objects.create(channel="email", external_id="<m1@x>", payload=b"From: ana\r\n\r\nhello")
    message = Message.objects.create(
        ticket=ticket, direction="inbound", author_kind="customer", author_customer=customer, channel="email",
        body_text="Hello there", raw=raw,
    )
    attachment = Attachment.objects.create(
        message=message, filename="invoice.pdf", content_type="application/pdf", size=1234, sha256="a" * 64,
        stored=False,
    )
    custom = CustomField.objects.create(key="order_number", label="Order number")
    macro = Macro.objects.create(name="Refund issued", body="Done.", team=team, created_by=demo_admin)
    counter, _created = TicketNumberCounter.objects.get_or_create(pk=1, defaults={"last": 1000})
    from tickets.models import AgentNotificationDelivery, CustomerMergeRecord, SavedView, TicketLink

    other = make_ticket(team=team, subject="Linked follow-up")
    workspace_rows = {
        SavedView: SavedView.objects.create(name="Refunds", owner=demo_admin, query="tag=refund"),
        TicketLink: TicketLink.objects.create(source=ticket, target=other, created_by=demo_admin),
        CustomerMergeRecord: CustomerMergeRecord.objects.create(
            target=customer, source_id=999999, source_fields={"name": "Old"}
        ),
        AgentNotificationDelivery: AgentNotificationDelivery.objects.create(
            event=Event.objects.first(), user=demo_admin, kind="assigned"
        ),
    }
    return {
        **workspace_rows,
        Organization: org, OrganizationDomain: domain, Team: team, Customer: customer, Identity: identity,
        Tag: tag, Ticket: ticket, RawInbound: raw, Message: message, Attachment: attachment,
        CustomField: custom, Macro: macro, TicketNumberCounter: counter, Event: Event.objects.first(),
        User: demo_admin, type(demo_admin.agent_profile): demo_admin.agent_profile,
        **sla_one_of_each(),
    }


def test_every_admin_page_opens(staff_client, one_of_each):
    registered = [m for m in admin.site._registry if m._meta.app_label == "tickets" or m is User]
    # Every model of the tickets app has an admin (but the search documents, which only
    # PostgreSQL triggers write: nothing there for a person to read or change).
    from django.apps import apps

    from tickets.models import TicketSearchDocument

    models = {m for m in apps.get_app_config("tickets").get_models() if m is not TicketSearchDocument}
    assert models <= set(registered)
    for model in registered:
        opts = model._meta
        changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, model
        obj = one_of_each[model]
        assert staff_client.get(change_url(obj)).status_code == 200, model
        if admin.site._registry[model].has_add_permission(changelist.wsgi_request):
            add = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
            assert add.status_code == 200, model


def test_ticket_search_by_number_text_and_identity(staff_client, one_of_each):
    ticket = one_of_each[Ticket]
    url = reverse("admin:tickets_ticket_changelist")
    for term in (f"#{ticket.number}", str(ticket.number), "Printer", "ana@lumenfield.example", "no-such-thing"):
        response = staff_client.get(url, {"q": term})
        assert response.status_code == 200
        found = list(response.context["cl"].result_list)
        assert found == ([] if term == "no-such-thing" else [ticket]), term


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:tickets_ticket_changelist"))
    assert response.status_code == 200
    return len(captured)


def _add_tickets(count: int, agents, teams):
    org = Organization.objects.create(name=f"Org {Ticket.objects.count()}")
    for i in range(count):
        customer = customer_create(name=f"Customer {i}", organization=org, actor=Actor.system())
        make_ticket(requester=customer, subject=f"Ticket {i}", team=teams[i % 2], assignee=agents[i % 2])


def test_ticket_changelist_queries_do_not_grow_with_rows(staff_client, django_assert_max_num_queries):
    agents = [
        agent_create(username=n, email=f"{n}@x.example", role="agent", actor=Actor.system()) for n in ("al", "bo")
    ]
    teams = [Team.objects.create(name="Billing"), Team.objects.create(name="Shipping")]
    _add_tickets(5, agents, teams)
    few = _changelist_queries(staff_client)
    _add_tickets(45, agents, teams)
    assert Ticket.objects.count() == 50
    many = _changelist_queries(staff_client)
    assert many == few
    with django_assert_max_num_queries(few):
        staff_client.get(reverse("admin:tickets_ticket_changelist"))


def test_illegal_status_change_shows_the_services_error_and_changes_nothing(staff_client):
    ticket = make_ticket()
    for status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        ticket_change_status(ticket=ticket, status=status, actor=Actor.system())
    events_before = Event.objects.count()
    url = change_url(ticket)
    data = form_data(staff_client.get(url))
    data.update(status=TicketStatus.OPEN, subject="Sneaky new subject")

    response = staff_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "cannot go from Closed to Open" in " ".join(errors["status"])
    assert "Closed tickets are final" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.subject == "Printer on fire"
    assert Event.objects.count() == events_before


def test_ticket_changes_go_through_the_services(staff_client, demo_admin):
    ticket = make_ticket()
    Tag.objects.create(name="vip")
    url = change_url(ticket)
    data = form_data(staff_client.get(url))
    data.update(status=TicketStatus.PENDING, priority="urgent", tags=[str(Tag.objects.get(name="vip").pk)])

    response = staff_client.post(url, data)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (TicketStatus.PENDING, "urgent")
    assert list(ticket.tags.values_list("name", flat=True)) == ["vip"]
    changes = {
        e.field: (e.old_value, e.new_value)
        for e in Event.objects.filter(ticket=ticket, verb="changed", actor_user=demo_admin)
    }
    assert changes == {"status": ("new", "pending"), "priority": ("normal", "urgent"), "tags": ([], ["vip"])}


def test_ticket_created_in_the_admin_uses_ticket_create(staff_client, demo_admin):
    customer = customer_create(name="Ivan Orlov", language="ru", actor=Actor.system())
    tag = Tag.objects.create(name="billing")
    response = staff_client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "requester": customer.pk, "subject": "  Invoice   needed ", "channel": "web", "priority": "high",
            "type": "task", "tags": [tag.pk], "custom_fields": "{}", "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert ticket.subject == "Invoice needed"  # normalised by the service
    assert ticket.language == "ru" and ticket.status == TicketStatus.NEW and ticket.number
    assert list(ticket.tags.values_list("name", flat=True)) == ["billing"]
    assert Event.objects.filter(ticket=ticket, verb="created", actor_user=demo_admin).exists()


def test_customer_name_change_leaves_an_event_with_old_and_new_value(staff_client, demo_admin):
    customer = customer_create(name="Olivia Whitaker", actor=Actor.system())
    Identity.objects.create(customer=customer, kind=IdentityKind.EMAIL, value="olivia@mailbox.example")
    url = change_url(customer)
    data = form_data(staff_client.get(url))
    data["name"] = "Olivia Whitaker-Hale"

    response = staff_client.post(url, data)

    assert response.status_code == 302
    event = Event.objects.get(object_type="customer", object_id=customer.pk, verb="changed")
    assert (event.field, event.old_value, event.new_value) == ("name", "Olivia Whitaker", "Olivia Whitaker-Hale")
    assert event.actor_user == demo_admin


def test_identity_inline_is_normalised_and_audited(staff_client):
    customer = customer_create(name="Bruna Rocha", actor=Actor.system())
    url = change_url(customer)
    data = form_data(staff_client.get(url))
    prefix = "identities"
    data.update({
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-kind": "phone", f"{prefix}-0-value": "+55 (11) 95555-0101",
        f"{prefix}-0-display": "",
    })
    response = staff_client.post(url, data)
    assert response.status_code == 302
    identity = customer.identities.get()
    assert (identity.value, identity.display) == ("+5511955550101", "+55 (11) 95555-0101")
    added = Event.objects.get(object_type="customer", object_id=customer.pk, verb="identity_added")
    assert added.new_value["value"] == "+5511955550101"


def test_role_change_in_the_admin_moves_the_agent_to_the_new_group(staff_client, demo_admin):
    alice = agent_create(username="alice", email="alice@x.example", role="agent", actor=Actor.system())
    profile = alice.agent_profile
    url = change_url(profile)
    data = form_data(staff_client.get(url))
    data.update(role="manager", capacity="30")

    response = staff_client.post(url, data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert list(alice.groups.values_list("name", flat=True)) == ["Manager"]
    assert alice.is_staff
    fields = {
        e.field: (e.old_value, e.new_value)
        for e in Event.objects.filter(object_type="agentprofile", object_id=profile.pk, verb="changed")
    }
    assert fields == {"role": ("agent", "manager"), "capacity": (20, 30)}


def test_read_only_models_cannot_be_changed(staff_client, one_of_each):
    for model in (Event, Message, RawInbound, Attachment):
        obj = one_of_each[model]
        opts = model._meta
        assert staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
        assert staff_client.post(change_url(obj), {"_save": "Save"}).status_code == 403
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert staff_client.post(
        reverse("admin:tickets_ticket_delete", args=[one_of_each[Ticket].pk]), {"post": "yes"}
    ).status_code == 403


def test_raw_payload_is_shown_escaped_with_its_size(staff_client):
    raw = RawInbound.objects.create(channel="web", payload=b"<script>alert(1)</script>\xff\xfe" + b"x" * 5000)
    page = staff_client.get(change_url(raw)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "4.9\xa0KB" in page or "4.9 KB" in page
    listing = staff_client.get(reverse("admin:tickets_rawinbound_changelist")).content.decode()
    assert "4.9\xa0KB" in listing or "4.9 KB" in listing


def test_role_change_in_the_user_page_inline_goes_through_agent_set_role(staff_client):
    bruno = agent_create(username="bruno", email="bruno@x.example", role="agent", actor=Actor.system())
    url = change_url(bruno)
    data = form_data(staff_client.get(url))
    data["agent_profile-0-role"] = "light_agent"

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    bruno.refresh_from_db()
    assert bruno.agent_profile.role == "light_agent"
    assert list(bruno.groups.values_list("name", flat=True)) == ["Light agent"]
    event = Event.objects.get(object_type="agentprofile", object_id=bruno.agent_profile.pk, field="role")
    assert (event.old_value, event.new_value) == ("agent", "light_agent")


def test_user_added_with_an_agent_profile_gets_the_role_group(staff_client):
    response = staff_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "carla", "password1": "a-long-demo-password-9", "password2": "a-long-demo-password-9",
            "usable_password": "true",
            "agent_profile-TOTAL_FORMS": "1", "agent_profile-INITIAL_FORMS": "0",
            "agent_profile-MIN_NUM_FORMS": "0", "agent_profile-MAX_NUM_FORMS": "1",
            "agent_profile-0-role": "manager", "agent_profile-0-language": "en", "agent_profile-0-time_zone": "UTC",
            "agent_profile-0-is_available": "on", "agent_profile-0-capacity": "20",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    carla = User.objects.get(username="carla")
    assert carla.agent_profile.role == "manager"
    assert list(carla.groups.values_list("name", flat=True)) == ["Manager"]
    assert carla.is_staff
    assert Event.objects.filter(object_type="user", object_id=carla.pk, verb="created").exists()
