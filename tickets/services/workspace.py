"""What the workspace's buttons do: bulk changes one ticket at a time, and a reply with a
macro and a status change in one transaction. Composed of the other ticket services; the only
write of their own is a macro's usage counter."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext as _

from ..models import Macro, Message, Team, Ticket
from ..selectors import ticket_list
from .events import Actor
from .tickets import (
    ticket_assign,
    ticket_change_status,
    ticket_reply,
    ticket_tags_add,
    ticket_tags_set,
    ticket_update,
)

# Errors a service raises for things a person can fix or should know; shown on the page.
SERVICE_ERRORS = (ValidationError, PermissionDenied)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or _("You are not allowed to do that.")


# --- Bulk actions --------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def ticket_bulk_apply(*, user: AbstractBaseUser, numbers: Iterable[int], action: str, value: str) -> BulkResult:
    """Apply one change to each ticket in turn, each in its own transaction, so one refusal
    (an illegal status change, a ticket the user cannot see) does not stop the others."""
    actor = Actor.agent(user)
    numbers = sorted(set(numbers))
    tickets = {t.number: t for t in ticket_list(user=user).filter(number__in=numbers)}
    assignee: AbstractBaseUser | None = None
    if action == "assign" and value not in ("", "none"):
        users = get_user_model().objects
        assignee = user if value == "me" else users.filter(pk=int(value) if value.isdigit() else 0).first()
        if assignee is None:
            return BulkResult(failed=[(n, _("No such agent.")) for n in numbers])
    result = BulkResult()
    for number in numbers:
        ticket = tickets.get(number)
        if ticket is None:
            result.failed.append((number, _("No ticket #%(number)s that you can see.") % {"number": number}))
            continue
        try:
            if action == "assign":
                ticket_assign(ticket=ticket, assignee=assignee, actor=actor)
            elif action == "status":
                ticket_change_status(ticket=ticket, status=value, actor=actor)
            elif action == "priority":
                ticket_update(ticket=ticket, changes={"priority": value}, actor=actor)
            elif action == "tag":
                ticket_tags_add(ticket=ticket, names=[value], actor=actor)
            else:
                raise ValidationError(_("Unknown action."))
        except SERVICE_ERRORS as exc:
            result.failed.append((number, error_text(exc)))
        else:
            result.done.append(number)
    return result


# --- Macros --------------------------------------------------------------------------------------


class _PlaceholderEngine(Engine):
    # Variables and filters only: no {% include %}, {% load %}, {% debug %} or any other tag
    # that could reach templates, settings or code from a macro's text.
    default_builtins = ["django.template.defaultfilters"]


_macro_engine = _PlaceholderEngine(autoescape=True, loaders=[], libraries={})


def _person(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def macro_render(*, macro: Macro, ticket: Ticket, agent: AbstractBaseUser) -> str:
    """The macro's text with {{ ticket.number }}, {{ ticket.subject }}, {{ customer.name }},
    {{ agent.name }} filled in, as plain text for the composer.

    The context holds strings only (no model objects, so no methods or relations can be
    reached) and is rendered with autoescaping; the composer is plain text, so the escaping is
    undone exactly once afterwards and a name like O'Brien reads as written."""
    context = Context(
        {
            "ticket": {"number": ticket.number, "subject": ticket.subject},
            "customer": {"name": str(ticket.requester), "first_name": str(ticket.requester).split(" ")[0]},
            "agent": {"name": _person(agent), "first_name": agent.first_name or agent.get_username()},
        },
        autoescape=True,
    )
    try:
        rendered = _macro_engine.from_string(macro.body).render(context)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            _("The macro %(name)s has a mistake in its text: %(error)s") % {"name": macro.name, "error": exc}
        ) from exc
    return html.unescape(rendered).strip()


def macro_status(macro: Macro | None) -> str:
    """The status the macro sets, if any (the composer offers it as "then set status")."""
    for action in macro.actions if macro else []:
        if isinstance(action, dict) and action.get("field") == "status":
            return str(action.get("value") or "")
    return ""


def macro_action_lines(macro: Macro | None) -> list[str]:
    """What the macro will change besides the text and status, in words, for the composer."""
    lines = []
    for action in macro.actions if macro else []:
        name, value = action.get("field"), action.get("value")
        if name == "status":
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        labels = {
            "priority": _("set priority to %(value)s"),
            "type": _("set type to %(value)s"),
            "team": _("move to team %(value)s"),
            "assignee": _("assign to %(value)s"),
            "add_tags": _("add tags %(value)s"),
            "remove_tags": _("remove tags %(value)s"),
        }
        lines.append(labels.get(name, _("change %(field)s to %(value)s")) % {"value": value, "field": name})
    return lines


def _resolve_team(value: Any) -> Team | None:
    if value in (None, ""):
        return None
    team = Team.objects.filter(pk=value).first() if str(value).isdigit() else Team.objects.filter(name=value).first()
    if team is None:
        raise ValidationError(_("The macro names a team that does not exist: %(value)s.") % {"value": value})
    return team


def _resolve_agent(value: Any, current: AbstractBaseUser) -> AbstractBaseUser | None:
    if value in (None, ""):
        return None
    if value in ("me", "current_user"):
        return current
    users = get_user_model().objects
    user = users.filter(pk=value).first() if str(value).isdigit() else users.filter(username=value).first()
    if user is None:
        raise ValidationError(_("The macro names an agent who does not exist: %(value)s.") % {"value": value})
    return user


def _macro_actions_apply(*, macro: Macro, ticket: Ticket, user: AbstractBaseUser, actor: Actor) -> None:
    """A macro's field changes (status excepted: the composer's status field carries it)."""
    changes: dict[str, Any] = {}
    add: set[str] = set()
    remove: set[str] = set()
    for action in macro.actions:
        name, value = action.get("field"), action.get("value")
        if name in ("priority", "type"):
            changes[name] = value
        elif name == "team":
            changes["team"] = _resolve_team(value)
        elif name == "assignee":
            changes["assignee"] = _resolve_agent(value, user)
        elif name in ("add_tags", "remove_tags"):
            names = {value} if isinstance(value, str) else set(value or [])
            (add if name == "add_tags" else remove).update(n.strip().lower() for n in names)
    if changes:
        ticket_update(ticket=ticket, changes=changes, actor=actor)
    if add or remove:
        current = set(ticket.tags.values_list("name", flat=True))
        ticket_tags_set(ticket=ticket, names=(current | add) - remove, actor=actor)
    Macro.objects.filter(pk=macro.pk).update(usage_count=F("usage_count") + 1)


# --- The composer --------------------------------------------------------------------------------


def ticket_respond(
    *,
    ticket: Ticket,
    user: AbstractBaseUser,
    body: str,
    is_internal: bool,
    channel: str | None,
    status: str = "",
    macro: Macro | None = None,
) -> Message | None:
    """Send a reply or note, apply a macro's changes and set a status: all or nothing, so a
    refused status change does not leave a reply sent without it (the draft stays)."""
    actor = Actor.agent(user)
    message = None
    with transaction.atomic():
        if body.strip():
            message = ticket_reply(
                ticket=ticket, author=user, body_text=body, is_internal=is_internal, channel=channel, actor=actor
            )
        if macro is not None:
            _macro_actions_apply(macro=macro, ticket=ticket, user=user, actor=actor)
        if status:
            ticket_change_status(ticket=ticket, status=status, actor=actor)
    return message
