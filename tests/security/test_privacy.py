"""Privacy: export everything held about a customer; erase a customer while the numbers that
reports are made of stay; the consent ledger per channel."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ConsentRecord
from accounts.services.privacy import customer_erase, customer_export
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent, make_customer_user
from tickets.models import Attachment, Customer, Event, Identity, Message, RawInbound, Ticket
from tickets.services.directory import customer_update
from tickets.services.events import Actor, event_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _attach(message: Message, name: str, data: bytes) -> Attachment:
    digest = hashlib.sha256(data).hexdigest()
    attachment = Attachment(message=message, filename=name, content_type="text/plain", size=len(data), sha256=digest)
    attachment.file.save(name, ContentFile(data), save=False)
    attachment.stored = True
    attachment.save()
    return attachment


@pytest.fixture
def history():
    """A customer with two identities, two tickets, messages both ways, a note and files."""
    customer = CustomerFactory(name="Maria Example", notes="VIP, prefers mornings")
    IdentityFactory(customer=customer, value="maria@example.com")
    IdentityFactory(customer=customer, kind="phone", value="+15550001111")
    make_customer_user(customer, username="maria-portal")
    other = CustomerFactory(name="Someone Else")
    agent = make_agent("agent-p")
    created = timezone.now() - dt.timedelta(days=3)
    t1 = TicketFactory(
        requester=customer,
        subject="My card 4111 was charged twice",
        status="solved",
        created_at=created,
        first_responded_at=created + dt.timedelta(hours=2),
        solved_at=created + dt.timedelta(days=1),
    )
    t2 = TicketFactory(requester=customer, subject="Address change to 1 Main St", channel="sms")
    t_other = TicketFactory(requester=other, subject="Unrelated")
    raw = RawInbound.objects.create(channel="email", payload=b"From: maria@example.com\r\n\r\nsecret", meta={"ip": "1"})
    m1 = Message.objects.create(
        ticket=t1,
        direction="inbound",
        author_kind="customer",
        author_customer=customer,
        channel="email",
        body_text="Hi, I am Maria, my card was charged twice",
        raw=raw,
        created_at=created,
    )
    m2 = Message.objects.create(
        ticket=t1,
        direction="outbound",
        author_kind="agent",
        author_user=agent,
        channel="email",
        body_text="Hello Maria, refunded.",
        created_at=created,
    )
    note = Message.objects.create(
        ticket=t1,
        direction="outbound",
        author_kind="agent",
        author_user=agent,
        channel="email",
        body_text="internal: customer seemed upset",
        is_internal=True,
    )
    Message.objects.create(
        ticket=t2,
        direction="inbound",
        author_kind="customer",
        author_customer=customer,
        channel="sms",
        body_text="New address: 1 Main St",
    )
    Message.objects.create(
        ticket=t_other,
        direction="inbound",
        author_kind="customer",
        author_customer=other,
        channel="email",
        body_text="other person's words",
    )
    a1 = _attach(m1, "statement.txt", b"card statement for maria")
    shared = _attach(m1, "logo.txt", b"shared bytes")
    other_msg = t_other.messages.get()
    Attachment.objects.create(  # same content, so the same stored file (content-addressed)
        message=other_msg, filename="logo.txt", size=12, sha256=shared.sha256, file=shared.file.name, stored=True
    )
    event_record(obj=customer, verb="changed", field="name", old="Maria", new="Maria Example", actor=Actor.agent(agent))
    return {
        "customer": customer,
        "other": other,
        "t1": t1,
        "t2": t2,
        "t_other": t_other,
        "m1": m1,
        "m2": m2,
        "note": note,
        "a1": a1,
        "shared": shared,
        "raw": raw,
        "agent": agent,
    }


def test_export_holds_the_customer_their_tickets_messages_events_and_files(history):
    data = customer_export(customer=history["customer"])
    archive = zipfile.ZipFile(io.BytesIO(data))
    document = json.loads(archive.read("customer.json"))
    assert document["customer"]["name"] == "Maria Example"
    assert document["customer"]["portal_login"] == "maria-portal"
    assert {i["value"] for i in document["identities"]} == {"maria@example.com", "+15550001111"}
    assert {t["number"] for t in document["tickets"]} == {history["t1"].number, history["t2"].number}
    texts = [m["text"] for m in document["messages"]]
    assert "Hi, I am Maria, my card was charged twice" in texts and "Hello Maria, refunded." in texts
    assert "internal: customer seemed upset" not in texts  # staff notes only on request
    assert "other person's words" not in texts
    assert any(e["verb"] == "changed" and e["new"] == "Maria Example" for e in document["events"])
    files = {m["filename"]: m["path"] for msg in document["messages"] for m in msg["attachments"]}
    assert archive.read(files["statement.txt"]) == b"card statement for maria"
    with_notes = json.loads(
        zipfile.ZipFile(io.BytesIO(customer_export(customer=history["customer"], include_internal=True))).read(
            "customer.json"
        )
    )
    assert "internal: customer seemed upset" in [m["text"] for m in with_notes["messages"]]


def test_the_export_command_writes_the_zip(history, tmp_path):
    out = tmp_path / "export.zip"
    call_command("customer_export", str(history["customer"].pk), "--output", str(out))
    assert "customer.json" in zipfile.ZipFile(out).namelist()


def test_erase_removes_personal_data_and_keeps_the_numbers_for_reports(history, django_capture_on_commit_callbacks):
    customer, t1 = history["customer"], history["t1"]
    before = (
        Ticket.objects.filter(pk=t1.pk)
        .values("number", "status", "channel", "created_at", "first_responded_at", "solved_at", "priority")
        .get()
    )
    message_count = Message.objects.filter(ticket__requester=customer).count()
    stored = history["a1"].file.name
    shared = history["shared"].file.name
    with django_capture_on_commit_callbacks(execute=True):
        counts = customer_erase(customer=customer, actor=Actor.agent(history["agent"]))
    assert counts["tickets"] == 2 and counts["attachments"] == 2

    customer.refresh_from_db()
    assert "Maria" not in customer.name and customer.notes == ""
    assert not Identity.objects.filter(customer=customer).exists()
    assert not Identity.objects.filter(value="maria@example.com").exists()
    user = customer.user
    assert not user.is_active and not user.has_usable_password() and "maria" not in user.username

    # Everything that fed the reports is as it was.
    assert Ticket.objects.filter(pk=t1.pk).values(*before.keys()).get() == before
    assert Message.objects.filter(ticket__requester=customer).count() == message_count
    # The words and files are gone: in tickets, messages, raw payloads, events.
    assert not Ticket.objects.filter(requester=customer, subject__icontains="card").exists()
    for m in Message.objects.filter(ticket__requester=customer):
        assert "Maria" not in m.body_text and "Main St" not in m.body_text and m.body_html == ""
    history["raw"].refresh_from_db()
    assert bytes(history["raw"].payload) == b""
    assert not Event.objects.filter(object_type="customer", object_id=customer.pk, new_value="Maria Example").exists()
    assert not default_storage.exists(stored)
    # A file another customer's attachment also uses stays for them.
    assert default_storage.exists(shared)
    # Other customers are untouched.
    assert history["t_other"].messages.get().body_text == "other person's words"
    assert Customer.objects.get(pk=history["other"].pk).name == "Someone Else"
    # The erasure is on record, with who did it.
    erased = Event.objects.get(object_type="customer", object_id=customer.pk, verb="erased")
    assert erased.actor_user == history["agent"] and erased.data["tickets"] == 2
    # The export now holds nothing personal.
    document = json.loads(zipfile.ZipFile(io.BytesIO(customer_export(customer=customer))).read("customer.json"))
    assert "Maria" not in json.dumps(document).replace("maria-portal", "")
    assert "maria@example.com" not in json.dumps(document)


def test_erase_is_idempotent_and_the_command_needs_confirmation(history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--yes"):
        call_command("customer_erase", str(history["customer"].pk))
    call_command("customer_erase", str(history["customer"].pk), "--yes")
    call_command("customer_erase", str(history["customer"].pk), "--yes")
    assert Event.objects.filter(object_id=history["customer"].pk, verb="erased").count() == 2


# --- Consent ledger --------------------------------------------------------------------------------


def test_every_consent_change_is_in_the_ledger(history):
    customer, agent = history["customer"], history["agent"]
    customer_update(customer=customer, changes={"consent_marketing": True}, actor=Actor.agent(agent))
    customer_update(customer=customer, changes={"consent_email": False}, actor=Actor.api(agent))
    customer_update(customer=customer, changes={"consent_email": False}, actor=Actor.api(agent))  # no change
    rows = list(ConsentRecord.objects.filter(customer=customer).order_by("id"))
    assert [(r.channel, r.granted, r.source, r.actor_user) for r in rows] == [
        ("marketing", True, "agent", agent),
        ("email", False, "api", agent),
    ]


def test_sms_stop_and_start_write_consent_records_with_the_keyword(history):
    from channels_inbox.twilio.consent import sms_keyword_apply

    sms_keyword_apply(phone="+15550001111", body="STOP", message_sid="SM1")
    sms_keyword_apply(phone="+15550001111", body="STOP", message_sid="SM1")  # redelivery: nothing new
    sms_keyword_apply(phone="+15550001111", body=" start ", message_sid="SM2")
    rows = list(ConsentRecord.objects.filter(customer=history["customer"], channel="sms").order_by("id"))
    assert [(r.granted, r.source, r.evidence["message_sid"]) for r in rows] == [
        (False, "sms_keyword", "SM1"),
        (True, "sms_keyword", "SM2"),
    ]
    history["customer"].refresh_from_db()
    assert history["customer"].consent_sms is True
