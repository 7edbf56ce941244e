"""What a rule does to a ticket: each action goes through the ticket services as the rule
(an Actor of kind system that names the rule), in its own savepoint, so one refused action
(an illegal status change) is reported and the others still run."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import Team, Ticket, TicketStatus
from tickets.services.events import event_record
from tickets.services.tickets import (
    reply_channel_for,
    system_message_queue,
    ticket_change_status,
    ticket_tags_set,
    ticket_update,
)

from ..models import Notification, WebhookTarget
from ..origin import Origin, RuleActor
from ..rules import UNASSIGNED, describe, tag_names, text_render
from .webhooks import webhook_call_queue


class ActionSkipped(Exception):
    """The action has nothing to do on this ticket (no assignee to notify, ...)."""


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or exc.__class__.__name__


def _recipients(item: dict[str, Any], ticket: Ticket) -> list[Any]:
    to = item.get("to")
    users = get_user_model().objects
    if to == "assignee":
        found = [ticket.assignee] if ticket.assignee_id else []
    elif to == "team_lead":
        lead_id = Team.objects.filter(pk=ticket.team_id).values_list("lead_id", flat=True).first()
        found = list(users.filter(pk=lead_id)) if lead_id else []
    else:
        found = list(users.filter(pk=item.get("user"), is_active=True))
    if not found:
        raise ActionSkipped(_("Nobody to notify (%(to)s).") % {"to": to})
    return found


def notification_send(*, ticket: Ticket, item: dict[str, Any], source: str, actor: RuleActor) -> str:
    text = text_render(item.get("text") or "", ticket=ticket)
    names = []
    for user in _recipients(item, ticket):
        notification = Notification.objects.create(user=user, ticket=ticket, text=text, source=source)
        event_record(
            obj=ticket,
            verb="notified",
            new=user,
            data={"notification": notification.pk, "text": text, "rule": source},
            actor=actor,
        )
        names.append(user.get_username())
    return _("Notified %(names)s.") % {"names": ", ".join(names)}


def _apply_one(item: dict[str, Any], ticket: Ticket, origin: Origin, actor: RuleActor) -> str:
    name, value = item["action"], item.get("value")
    source = describe(origin.kind, origin.rule_id, origin.name)
    if name == "set_status":
        if ticket.status == value:
            raise ActionSkipped(_("Already %(status)s.") % {"status": value})
        ticket_change_status(ticket=ticket, status=value, actor=actor)
        return _("Status set to %(status)s.") % {"status": value}
    if name == "set_priority":
        ticket_update(ticket=ticket, changes={"priority": value}, actor=actor)
        return _("Priority set to %(priority)s.") % {"priority": value}
    if name == "set_team":
        team = Team.objects.filter(pk=value).first() if value is not None else None
        if value is not None and team is None:
            raise ValidationError(_("The team %(id)s no longer exists.") % {"id": value})
        ticket_update(ticket=ticket, changes={"team": team}, actor=actor)
        return _("Team set to %(team)s.") % {"team": team or "-"}
    if name == "set_assignee":
        user = None
        if value not in (None, UNASSIGNED):
            user = get_user_model().objects.filter(pk=value).first()
            if user is None:
                raise ValidationError(_("The agent %(id)s no longer exists.") % {"id": value})
        ticket_update(ticket=ticket, changes={"assignee": user}, actor=actor)
        return _("Assignee set to %(user)s.") % {"user": user.get_username() if user else "-"}
    if name in ("add_tags", "remove_tags"):
        current = set(ticket.tags.values_list("name", flat=True))
        names = set(tag_names(value))
        wanted = current | names if name == "add_tags" else current - names
        ticket_tags_set(ticket=ticket, names=wanted, actor=actor)
        return _("Tags are now %(tags)s.") % {"tags": ", ".join(sorted(wanted)) or "-"}
    if name == "notify":
        return notification_send(ticket=ticket, item=item, source=source, actor=actor)
    if name == "send_message":
        if ticket.status == TicketStatus.CLOSED:
            raise ActionSkipped(_("The ticket is closed; no message is sent."))
        text = text_render(item.get("text") or "", ticket=ticket)
        if not text:
            raise ActionSkipped(_("The message text came out empty."))
        message = system_message_queue(
            ticket=ticket,
            channel=reply_channel_for(ticket),
            body_text=text,
            kind="automation",
            metadata={"rule": origin.as_dict()},
        )
        return _("Message %(id)s queued on %(channel)s.") % {"id": message.pk, "channel": message.channel}
    if name == "webhook":
        target = WebhookTarget.objects.filter(pk=item.get("target"), is_active=True).first()
        if target is None:
            raise ActionSkipped(_("The webhook target %(id)s is missing or inactive.") % {"id": item.get("target")})
        call = webhook_call_queue(target=target, ticket=ticket, rule=source)
        return _("Webhook call %(id)s queued to %(target)s.") % {"id": call.pk, "target": target.name}
    raise ValidationError(_("Unknown action %(name)s.") % {"name": name})


def actions_run(*, ticket: Ticket, actions: list[dict[str, Any]], origin: Origin, actor: RuleActor) -> list[dict]:
    """Run a rule's actions in order on `ticket` (kept up to date); one line of result each."""
    results = []
    for item in actions:
        outcome: dict[str, Any] = {"action": item.get("action")}
        try:
            with transaction.atomic():
                outcome.update(ok=True, detail=str(_apply_one(item, ticket, origin, actor)))
        except ActionSkipped as exc:
            outcome.update(ok=True, skipped=True, detail=str(exc))
        except (ValidationError, PermissionDenied) as exc:
            outcome.update(ok=False, detail=_error_text(exc))
        results.append(outcome)
        ticket.refresh_from_db()
    return results
