"""Organization-wide requests in the portal: shared when the organization allows it (or for its
managers), refused otherwise, whatever number or attachment id is typed."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import OrganizationPortalAccess
from tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrganizationFactory,
    TicketFactory,
    make_agent,
    make_customer_user,
)
from tickets.models import Attachment, Event, Message, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def person(org, name, address):
    customer = CustomerFactory(name=name, organization=org)
    IdentityFactory(customer=customer, value=address)
    return customer


def with_file(ticket, filename, content):
    message = Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=ticket.requester,
        channel="web",
        body_text=f"About {filename}",
    )
    attachment = Attachment(
        message=message,
        filename=filename,
        size=len(content),
        content_type="text/plain",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    attachment.file.save(filename, SimpleUploadedFile(filename, content), save=False)
    attachment.save()
    return attachment


@pytest.fixture
def world():
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    ana = person(acme, "Ana Acme", "ana@acme.example")
    bob = person(acme, "Bob Acme", "bob@acme.example")
    gil = person(globex, "Gil Globex", "gil@globex.example")
    make_customer_user(ana, username="ana")
    tickets = {
        "ana": TicketFactory(requester=ana, organization=acme, subject="Ana's laptop", status=TicketStatus.OPEN),
        "bob": TicketFactory(requester=bob, organization=acme, subject="Bob's invoice", status=TicketStatus.OPEN),
        "gil": TicketFactory(requester=gil, organization=globex, subject="Globex secret", status=TicketStatus.OPEN),
    }
    files = {key: with_file(ticket, f"{key}.txt", f"{key} data".encode()) for key, ticket in tickets.items()}
    return {"acme": acme, "globex": globex, "ana": ana, "bob": bob, "gil": gil, "t": tickets, "f": files}


def download(client, ticket, attachment):
    return client.get(f"/support/tickets/{ticket.number}/attachments/{attachment.pk}/")


def test_shared_organization_lists_colleagues_requests_with_the_requester(client, world, django_assert_max_num_queries):
    OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=True)
    client.force_login(world["ana"].user)
    with django_assert_max_num_queries(9):
        page = client.get("/support/tickets/").content.decode()
    assert "<h2>My organization's requests</h2>" in page
    mine, org = page.split("<h2>My organization's requests</h2>", 1)
    assert "Ana&#x27;s laptop" in mine and "Bob&#x27;s invoice" not in mine
    assert "Bob&#x27;s invoice" in org and "From Bob Acme" in org
    assert "Globex secret" not in page


def test_list_query_count_does_not_grow_with_the_organization(client, world, django_assert_max_num_queries):
    OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=True)
    for n in range(15):
        TicketFactory(
            requester=person(world["acme"], f"Colleague {n}", f"c{n}@acme.example"), organization=world["acme"]
        )
    client.force_login(world["ana"].user)
    with django_assert_max_num_queries(9):
        page = client.get("/support/tickets/").content.decode()
    assert page.count("From Colleague") == 15


def test_shared_organization_ticket_opens_replies_and_downloads(client, world):
    OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=True)
    client.force_login(world["ana"].user)
    bobs = world["t"]["bob"]
    page = client.get(f"/support/tickets/{bobs.number}/").content.decode()
    assert "Bob&#x27;s invoice" in page and "Request of Bob Acme, from your organization." in page
    assert b"".join(download(client, bobs, world["f"]["bob"]).streaming_content) == b"bob data"

    upload = SimpleUploadedFile("screen.png", b"png bytes", content_type="image/png")
    response = client.post(f"/support/tickets/{bobs.number}/", {"body": "Same here at Acme", "attachments": [upload]})
    assert response.status_code == 302
    reply = bobs.messages.order_by("-id").first()
    assert reply.body_text == "Same here at Acme" and reply.author_customer == world["ana"]
    assert reply.attachments.get().filename == "screen.png"
    assert Ticket.objects.count() == 3  # threaded onto Bob's request, not a new one
    assert bobs.followers.filter(pk=world["ana"].pk).exists()
    assert Event.objects.filter(ticket=bobs, verb="follower_added").exists()
    page = client.get(f"/support/tickets/{bobs.number}/").content.decode()
    # Bob's message under his name, hers as "You".
    assert "<strong>Bob Acme</strong>" in page and "<strong>You</strong>" in page


def test_other_organizations_are_refused_even_when_shared(client, world):
    OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=True)
    OrganizationPortalAccess.objects.create(organization=world["globex"], share_tickets=True)
    client.force_login(world["ana"].user)
    gils = world["t"]["gil"]
    assert client.get(f"/support/tickets/{gils.number}/").status_code == 404
    assert client.post(f"/support/tickets/{gils.number}/", {"body": "hi"}).status_code == 404
    assert client.post(f"/support/tickets/{gils.number}/solve/").status_code == 404
    assert client.post(f"/support/tickets/{gils.number}/rate/", {"csat": "5"}).status_code == 404
    assert download(client, gils, world["f"]["gil"]).status_code == 404
    # Another organization's attachment id under a request she may see is refused too.
    assert download(client, world["t"]["bob"], world["f"]["gil"]).status_code == 404
    assert download(client, world["t"]["ana"], world["f"]["bob"]).status_code == 404
    assert gils.messages.count() == 1


def test_without_sharing_colleagues_requests_are_refused(client, world):
    OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=False)
    client.force_login(world["ana"].user)
    page = client.get("/support/tickets/").content.decode()
    assert "Bob&#x27;s invoice" not in page and "organization's requests" not in page
    bobs = world["t"]["bob"]
    assert client.get(f"/support/tickets/{bobs.number}/").status_code == 404
    assert client.post(f"/support/tickets/{bobs.number}/", {"body": "hi"}).status_code == 404
    assert client.post(f"/support/tickets/{bobs.number}/solve/").status_code == 404
    assert download(client, bobs, world["f"]["bob"]).status_code == 404
    bobs.refresh_from_db()
    assert bobs.status == TicketStatus.OPEN and bobs.messages.count() == 1


def test_managers_see_the_organization_and_lose_it_when_they_leave(client, world):
    access = OrganizationPortalAccess.objects.create(organization=world["acme"], share_tickets=False)
    access.managers.add(world["ana"])
    client.force_login(world["ana"].user)
    bobs = world["t"]["bob"]
    assert "Bob&#x27;s invoice" in client.get("/support/tickets/").content.decode()
    assert client.get(f"/support/tickets/{bobs.number}/").status_code == 200
    assert client.post(f"/support/tickets/{bobs.number}/solve/").status_code == 302
    bobs.refresh_from_db()
    assert bobs.status == TicketStatus.SOLVED
    # Only the requester rates a request.
    assert client.post(f"/support/tickets/{bobs.number}/rate/", {"csat": "5"}).status_code == 403

    world["ana"].organization = world["globex"]
    world["ana"].save()
    assert client.get(f"/support/tickets/{bobs.number}/").status_code == 404
    assert client.get(f"/support/tickets/{world['t']['gil'].number}/").status_code == 404
    # Her own request (filed while at Acme) stays hers.
    assert client.get(f"/support/tickets/{world['t']['ana'].number}/").status_code == 200


def test_admin_sets_sharing_and_managers_of_the_organization_only(client, world):
    client.force_login(make_agent("root", role="admin"))
    assert client.get("/admin/portal/organizationportalaccess/add/").status_code == 200
    refused = client.post(
        "/admin/portal/organizationportalaccess/add/",
        {"organization": world["acme"].pk, "share_tickets": "", "managers": [world["gil"].pk]},
    )
    assert refused.status_code == 200 and "Not customers of this organization: Gil Globex." in refused.content.decode()
    assert not OrganizationPortalAccess.objects.exists()
    saved = client.post(
        "/admin/portal/organizationportalaccess/add/",
        {"organization": world["acme"].pk, "share_tickets": "on", "managers": [world["bob"].pk]},
    )
    assert saved.status_code == 302
    access = OrganizationPortalAccess.objects.get()
    assert access.share_tickets and list(access.managers.all()) == [world["bob"]]
    assert Event.objects.filter(object_type="organizationportalaccess", verb="created").exists()
    assert client.get("/admin/portal/organizationportalaccess/").status_code == 200


def test_agents_cannot_reach_the_portal_access_admin(client):
    client.force_login(make_agent("plain", role="agent"))
    assert client.get("/admin/portal/organizationportalaccess/").status_code in (302, 403)
