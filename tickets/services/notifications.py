"""Agent notifications: "ticket #12 was assigned to you" and "the customer replied on #12",
in the app (a `tickets.automation.models.Notification` on the notifications page) and by
email in the agent's language, unless the agent turned email off (AgentProfile.notify_by_email).

An `Event` post_save (connected in TicketsConfig.ready) queues `notification_event_task` after
the change commits. The task writes one `AgentNotificationDelivery` per (event, agent), unique
in the database, so a task that runs twice notifies nobody twice; the email is sent under a
row lock and retried with backoff, its state visible on that row. Nobody is told about their
own action.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import AgentNotificationDelivery, Event, Message, NotificationEmailStatus

logger = logging.getLogger(__name__)

ASSIGNED = "assigned"
CUSTOMER_REPLY = "customer_reply"
EMAIL_MAX_ATTEMPTS = 5


def notification_kind(event: Event) -> str | None:
    """What an event is to an agent's notifications, or None when it is nothing to them."""
    if event.ticket_id is None:
        return None
    if event.object_type == "ticket" and event.verb == "assigned" and event.field == "assignee":
        return ASSIGNED if isinstance(event.new_value, dict) and event.new_value.get("id") else None
    if event.object_type == "ticket" and event.verb == "created":
        # A ticket created already assigned (API, forms): `ticket` is the instance the
        # service holds, so this costs no query.
        return ASSIGNED if event.ticket.assignee_id else None
    if event.object_type == "message" and event.verb == "message_received":
        return CUSTOMER_REPLY
    return None


def notification_recipients(event: Event) -> list[int]:
    """The ids of the agents to tell about `event` (never the one who did it)."""
    kind = notification_kind(event)
    if kind == ASSIGNED and event.verb == "created":
        # Told once: a reassignment since has its own event, which tells the new assignee.
        reassigned = Event.objects.filter(ticket_id=event.ticket_id, verb="assigned", pk__gt=event.pk).exists()
        user_ids = [] if reassigned else [event.ticket.assignee_id]
    elif kind == ASSIGNED:
        user_ids = [event.new_value["id"]]
    elif kind == CUSTOMER_REPLY:
        user_ids = [event.ticket.assignee_id] if event.ticket.assignee_id else []
    else:
        return []
    return [uid for uid in user_ids if uid != event.actor_user_id]


def _who(event: Event) -> str:
    if event.actor_user is not None:
        return event.actor_user.get_full_name() or event.actor_user.get_username()
    if event.actor_kind == "system":
        return _("Automatic assignment")
    return _("Someone")


def _texts(event: Event, kind: str) -> tuple[str, str, str]:
    """(in-app text, email subject, email body) in the active language."""
    ticket = event.ticket
    url = settings.SITE_URL + reverse("agent:ticket", args=[ticket.number])
    values = {"number": ticket.number, "subject": ticket.subject, "url": url}
    if kind == ASSIGNED:
        values["who"] = _who(event)
        text = _("%(who)s assigned ticket #%(number)s to you: %(subject)s") % values
        subject = _("[#%(number)s] Assigned to you: %(subject)s") % values
        body = _("%(who)s assigned ticket #%(number)s “%(subject)s” to you.\n\nOpen it: %(url)s\n") % values
        return text, subject, body
    values["customer"] = str(ticket.requester)
    message = Message.objects.filter(pk=event.object_id).only("body_text").first()
    excerpt = (message.body_text if message else "").strip()
    if len(excerpt) > 600:
        excerpt = excerpt[:600] + "…"
    values["excerpt"] = excerpt
    text = _("%(customer)s replied on ticket #%(number)s: %(subject)s") % values
    subject = _("[#%(number)s] New reply from %(customer)s: %(subject)s") % values
    body = _("%(customer)s replied on ticket #%(number)s “%(subject)s”:\n\n%(excerpt)s\n\nOpen it: %(url)s\n") % values
    return text, subject, body


def notifications_for_event(*, event_id: int) -> list[AgentNotificationDelivery]:
    """Write the in-app notifications for one event, once per agent however often it runs;
    returns every delivery row of the event (new and old)."""
    from ..automation.models import Notification

    event = Event.objects.select_related("ticket", "ticket__requester", "actor_user").filter(pk=event_id).first()
    if event is None or notification_kind(event) is None:
        return []
    kind = notification_kind(event)
    users = (
        get_user_model()
        .objects.select_related("agent_profile")
        .filter(pk__in=notification_recipients(event), is_active=True, agent_profile__isnull=False)
    )
    deliveries = []
    for user in users:
        profile = user.agent_profile
        wants_email = profile.notify_by_email and bool(user.email)
        with transaction.atomic():
            delivery, created = AgentNotificationDelivery.objects.get_or_create(
                event=event,
                user=user,
                defaults={
                    "kind": kind,
                    "email_status": NotificationEmailStatus.PENDING if wants_email else NotificationEmailStatus.SKIPPED,
                },
            )
            if created:
                with translation.override(profile.language):
                    text = _texts(event, kind)[0]
                    source = _("Assignment") if kind == ASSIGNED else _("Customer reply")
                note = Notification.objects.create(user=user, ticket_id=event.ticket_id, text=text, source=source)
                delivery.notification_id = note.pk
                delivery.save(update_fields=["notification_id"])
        deliveries.append(delivery)
    return deliveries


def notification_email_send(*, delivery_id: int) -> str:
    """Send one delivery's email unless it went already; returns the delivery's email status
    ("pending" means try again later). Holding the row lock while sending means two runs of
    the task cannot both send."""
    with transaction.atomic():
        delivery = (
            AgentNotificationDelivery.objects.select_for_update(of=("self",))
            .select_related("user__agent_profile", "event__ticket__requester", "event__actor_user")
            .get(pk=delivery_id)
        )
        if delivery.email_status != NotificationEmailStatus.PENDING:
            return delivery.email_status
        user = delivery.user
        delivery.email_attempts += 1
        try:
            with translation.override(user.agent_profile.language):
                _text, subject, body = _texts(delivery.event, delivery.kind)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception as exc:  # SMTP and friends: recorded on the row, retried by the task
            logger.warning("Notification email %s failed", delivery.pk, exc_info=True)
            delivery.email_error = f"{type(exc).__name__}: {exc}"[:500]
            if delivery.email_attempts >= EMAIL_MAX_ATTEMPTS:
                delivery.email_status = NotificationEmailStatus.FAILED
        else:
            delivery.email_status = NotificationEmailStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.email_error = ""
        delivery.save(update_fields=["email_status", "email_attempts", "email_error", "sent_at"])
        return delivery.email_status


@shared_task(bind=True, acks_late=True, name="tickets.notification_event", max_retries=EMAIL_MAX_ATTEMPTS)
def notification_event_task(self: Any, event_id: int) -> str:
    """In-app notifications and emails for one event; safe to run twice."""
    deliveries = notifications_for_event(event_id=event_id)
    statuses = [
        notification_email_send(delivery_id=d.pk)
        if d.email_status == NotificationEmailStatus.PENDING
        else d.email_status
        for d in deliveries
    ]
    if NotificationEmailStatus.PENDING in statuses and not self.request.is_eager:
        # (Run in-process, as in development without a broker, a retry would loop at once:
        # the email stays pending with its error on the delivery row instead.)
        raise self.retry(countdown=min(30 * 2**self.request.retries, 900))
    return ",".join(statuses) or "nobody"


def notification_event_saved(sender: Any, instance: Event, created: bool, **kwargs: Any) -> None:
    """post_save of Event (connected in TicketsConfig.ready): queue the task after commit."""
    if not created or kwargs.get("raw") or notification_kind(instance) is None:
        return
    event_id = instance.pk
    transaction.on_commit(lambda: notification_event_task.delay(event_id))
