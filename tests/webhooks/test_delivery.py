"""Webhooks end to end: a change in the help desk reaches a local receiver, signed, with
retries, automatic disabling and redelivery."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from tickets.models import Event, TicketStatus
from tickets.services.customers import customer_create
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status, ticket_create
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import webhook_delivery_redeliver
from webhooks.tasks import webhook_sweep_task

pytestmark = pytest.mark.django_db


def _ticket(subject: str = "Printer on fire"):
    return ticket_create(requester=CustomerFactory(), subject=subject, channel="email", actor=Actor.system())


def test_ticket_created_reaches_the_receiver_signed(receiver, subscribe, django_capture_on_commit_callbacks):
    subscription = subscribe(["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ticket()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.verified
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert request.headers["X-Helpdesk-Event"] == "ticket.created"
    assert request.headers["X-Helpdesk-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json"
    body = request.json
    assert body["event"] == "ticket.created"
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["subject"] == "Printer on fire"
    assert body["event_id"] == Event.objects.get(object_type="ticket", object_id=ticket.pk, verb="created").pk
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None


def test_only_subscribed_event_types_are_sent(receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(["ticket.solved", "customer.created"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ticket()
        ticket_change_status(ticket=ticket, status=TicketStatus.OPEN, actor=Actor.system())
        ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=Actor.system())
        customer_create(name="Ana Souza", actor=Actor.system())

    events = [r.headers["X-Helpdesk-Event"] for r in receiver.requests]
    assert events == ["ticket.solved", "customer.created"]
    assert all(r.verified for r in receiver.requests)
    solved = receiver.requests[0].json
    assert solved["change"] == {"verb": "changed", "field": "status", "old": "open", "new": "solved"}
    assert solved["data"]["ticket"]["status"] == "solved"
    assert receiver.requests[1].json["data"]["customer"]["name"] == "Ana Souza"


def test_a_failing_receiver_is_retried_with_backoff_until_it_succeeds(
    receiver, subscribe, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 500, 200]
    subscribe(["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        _ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.last_response_body == "receiver says no"
    first_retry = delivery.next_attempt_at
    assert first_retry - timezone.now() > dt.timedelta(seconds=50)

    # Not due yet: the sweep leaves it alone.
    assert webhook_sweep_task(now=(first_retry - dt.timedelta(seconds=1)).isoformat()) == 0
    assert len(receiver.requests) == 1

    assert webhook_sweep_task(now=first_retry.isoformat()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)
    # Exponential: the second wait is twice the first.
    assert delivery.next_attempt_at - first_retry == dt.timedelta(seconds=120)

    assert webhook_sweep_task(now=delivery.next_attempt_at.isoformat()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (DeliveryStatus.SUCCEEDED, 3, 200)
    assert len(receiver.requests) == 3 and all(r.verified for r in receiver.requests)
    # Every try is signed afresh, the body is the same.
    assert len({r.body for r in receiver.requests}) == 1
    assert webhook_sweep_task(now=(timezone.now() + dt.timedelta(days=1)).isoformat()) == 0


def test_an_unreachable_receiver_is_a_recorded_error_not_a_crash(subscribe, django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(["ticket.created"], url=f"http://127.0.0.1:{port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        _ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_response_code is None
    assert "refused" in delivery.last_error.lower()


def test_repeated_failures_disable_the_subscription_with_a_notice(
    receiver, subscribe, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    receiver.statuses = [503]
    subscription = subscribe(["customer.created"])
    with django_capture_on_commit_callbacks(execute=True):
        customer_create(name="One", actor=Actor.system())
        customer_create(name="Two", actor=Actor.system())
    later = timezone.now() + dt.timedelta(minutes=5)
    webhook_sweep_task(now=later.isoformat())

    assert list(WebhookDelivery.objects.values_list("status", "attempts")) == [(DeliveryStatus.FAILED, 2)] * 2
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.failure_count == 2
    assert subscription.disabled_at is not None
    assert "2 deliveries in a row failed" in subscription.disabled_reason
    notice = Event.objects.get(object_type="webhooksubscription", object_id=subscription.pk, verb="disabled")
    assert notice.actor_kind == "system"
    assert "HTTP 503" in notice.data["reason"]

    # Disabled: new events make no deliveries.
    with django_capture_on_commit_callbacks(execute=True):
        customer_create(name="Three", actor=Actor.system())
    assert WebhookDelivery.objects.count() == 2
    assert len(receiver.requests) == 4


def test_a_success_resets_the_consecutive_failure_count(
    receiver, subscribe, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    receiver.statuses = [500, 200, 500]
    subscription = subscribe(["customer.created"])
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("One", "Two", "Three"):
            customer_create(name=name, actor=Actor.system())
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.failure_count == 1


def test_redelivery_sends_the_same_payload_as_a_new_delivery(
    receiver, subscribe, manager, django_capture_on_commit_callbacks
):
    subscribe(["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        _ticket()
    original = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_delivery_redeliver(delivery=original, actor=Actor.agent(manager))
    again.refresh_from_db()
    assert again.pk != original.pk and again.redelivery_of == original
    assert again.status == DeliveryStatus.SUCCEEDED
    first, second = receiver.requests
    assert second.verified and second.body == first.body
    assert second.headers["X-Helpdesk-Delivery"] == str(again.pk)


def test_a_delivery_is_sent_once_even_if_its_task_runs_twice(receiver, subscribe, django_capture_on_commit_callbacks):
    from webhooks.tasks import webhook_deliver_task

    subscribe(["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        _ticket()
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver_task(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_events_before_any_subscription_are_skipped_and_a_new_subscription_hears_the_next_one(
    receiver, subscribe, django_capture_on_commit_callbacks
):
    """Without active subscriptions, events cost no webhook work (the answer is cached); a
    subscription made afterwards is heard from its very next event, and deactivating it stops it."""
    from django.core.cache import cache

    from webhooks.receivers import ANY_ACTIVE_KEY

    cache.delete(ANY_ACTIVE_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _ticket()
    assert cache.get(ANY_ACTIVE_KEY) is False
    assert callbacks and not any(getattr(cb, "__module__", "") == "webhooks.receivers" for cb in callbacks)

    subscription = subscribe(["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ticket()
    assert [r.json["data"]["ticket"]["number"] for r in receiver.requests] == [ticket.number]

    subscription.is_active = False
    subscription.save()
    with django_capture_on_commit_callbacks(execute=True):
        _ticket()
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1
