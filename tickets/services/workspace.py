"""What the workspace's buttons do: bulk changes one ticket at a time, and a reply with a
macro and a status change in one transaction. Composed of the other ticket services; the only
write of their own is a macro's usage counter."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.template import Context, Engine, TemplateSyntaxError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Event, Macro, Message, SavedView, Team, Ticket, TicketLink, TicketLinkKind
from ..selectors import ticket_list
from .events import Actor, event_record, event_record_changes
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


def composer_max_attachment_bytes() -> int:
    return int(getattr(settings, "HELPDESK_COMPOSER_MAX_ATTACHMENT_BYTES", settings.HELPDESK_MAX_ATTACHMENT_BYTES))


def composer_max_attachments() -> int:
    return int(getattr(settings, "HELPDESK_COMPOSER_MAX_ATTACHMENTS", 10))


def composer_files_check(files: Sequence[UploadedFile]) -> None:
    """Refuse, with the file named, what the composer will not send: too many files, or one
    above the size limit (checked before anything is stored or sent)."""
    limit = composer_max_attachment_bytes()
    if len(files) > composer_max_attachments():
        raise ValidationError(
            _("Attach at most %(count)s files to one message.") % {"count": composer_max_attachments()}
        )
    for upload in files:
        if upload.size > limit:
            raise ValidationError(
                _("%(name)s is %(size)s; files up to %(limit)s can be attached.")
                % {"name": upload.name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        if upload.size == 0:
            raise ValidationError(_("%(name)s is empty.") % {"name": upload.name})


def _attachments_store(message: Message, files: Sequence[UploadedFile]) -> None:
    from ..inbound import InboundAttachment
    from .ingest import _store_attachment  # the one content-addressed store for every file

    for upload in files:
        content = b"".join(upload.chunks())
        _store_attachment(
            message,
            InboundAttachment(
                filename=(upload.name or "attachment").rsplit("/", 1)[-1].rsplit("\\", 1)[-1],
                content_type=upload.content_type or "application/octet-stream",
                content=content,
            ),
        )


def ticket_respond(
    *,
    ticket: Ticket,
    user: AbstractBaseUser,
    body: str,
    is_internal: bool,
    channel: str | None,
    status: str = "",
    macro: Macro | None = None,
    files: Sequence[UploadedFile] = (),
) -> Message | None:
    """Send a reply or note (with its attached files), apply a macro's changes and set a
    status: all or nothing, so a refused status change does not leave a reply sent without it
    (the draft stays). The files are stored before the transaction commits, so the outbound
    task (queued on commit) finds them on Message.attachments."""
    actor = Actor.agent(user)
    message = None
    files = list(files)
    composer_files_check(files)
    if files and not body.strip():
        raise ValidationError(_("Write a message to go with the attached files."))
    with transaction.atomic():
        if body.strip():
            message = ticket_reply(
                ticket=ticket, author=user, body_text=body, is_internal=is_internal, channel=channel, actor=actor
            )
            if files:
                _attachments_store(message, files)
        if macro is not None:
            _macro_actions_apply(macro=macro, ticket=ticket, user=user, actor=actor)
        if status:
            ticket_change_status(ticket=ticket, status=status, actor=actor)
    return message


# --- Saved views -----------------------------------------------------------------------------------

# The list parameters a saved view keeps (the page cursor is not kept).
SAVED_VIEW_PARAMS = (
    "queue", "q", "sort", "status", "priority", "type", "channel", "team", "assignee", "unassigned",
    "requester", "organization", "tag", "created_after", "created_before", "updated_after", "updated_before",
)  # fmt: skip


def saved_view_query_clean(query: str) -> str:
    """Only the list's own parameters, non-empty, in a stable order."""
    from django.http import QueryDict

    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for name in SAVED_VIEW_PARAMS:
        values = [v.strip() for v in given.getlist(name) if v.strip()]
        if values:
            kept.setlist(name, values)
    return kept.urlencode()


def saved_view_can_share(user: AbstractBaseUser) -> bool:
    """Managers and admins share views with a team; everyone keeps personal ones."""
    from ..models import AgentRole

    profile = getattr(user, "agent_profile", None)
    return user.is_superuser or (profile is not None and profile.role in (AgentRole.ADMIN, AgentRole.MANAGER))


def _saved_view_check(*, user: AbstractBaseUser, name: str, team: Team | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(_("Give the view a name."))
    if len(name) > 100:
        raise ValidationError(_("A view's name can be at most 100 characters."))
    if team is not None:
        if not saved_view_can_share(user):
            raise PermissionDenied(_("Only managers can share a view with a team."))
        profile = getattr(user, "agent_profile", None)
        if not user.is_superuser and not (profile and profile.teams.filter(pk=team.pk).exists()):
            raise PermissionDenied(_("You can share views only with your own teams."))
    return name


def saved_view_may_change(*, view: SavedView, user: AbstractBaseUser) -> bool:
    """Personal views by their owner; shared ones by their owner or a manager of the team."""
    if view.owner_id == user.pk:
        return True
    return (
        view.team_id is not None
        and saved_view_can_share(user)
        and (user.is_superuser or user.agent_profile.teams.filter(pk=view.team_id).exists())
    )


def saved_view_create(*, user: AbstractBaseUser, name: str, query: str, team: Team | None = None) -> SavedView:
    name = _saved_view_check(user=user, name=name, team=team)
    with transaction.atomic():
        view = SavedView.objects.create(owner=user, name=name, team=team, query=saved_view_query_clean(query))
        event_record(
            obj=view,
            verb="created",
            new={"name": name, "query": view.query, "team": team},
            actor=Actor.agent(user),
        )
    return view


def saved_view_update(
    *, view: SavedView, user: AbstractBaseUser, name: str, team: Team | None, query: str | None = None
) -> SavedView:
    """Rename, share or unshare, and (with `query`) replace the filters with the current ones."""
    if not saved_view_may_change(view=view, user=user):
        raise PermissionDenied(_("This view is not yours to change."))
    name = _saved_view_check(user=user, name=name, team=team)
    changes: dict[str, Any] = {"name": name, "team": team}
    if query is not None:
        changes["query"] = saved_view_query_clean(query)
    with transaction.atomic():
        diffs = []
        for field_name, new in changes.items():
            old = getattr(view, field_name)
            if old != new:
                diffs.append((field_name, old, new))
                setattr(view, field_name, new)
        if diffs:
            view.updated_at = timezone.now()
            view.save()
            event_record_changes(obj=view, changes=diffs, actor=Actor.agent(user))
    return view


def saved_view_delete(*, view: SavedView, user: AbstractBaseUser) -> None:
    if not saved_view_may_change(view=view, user=user):
        raise PermissionDenied(_("This view is not yours to delete."))
    with transaction.atomic():
        event_record(obj=view, verb="deleted", old={"name": view.name, "query": view.query}, actor=Actor.agent(user))
        view.delete()


# --- Linked tickets --------------------------------------------------------------------------------


def ticket_link_create(*, source: Ticket, target: Ticket, kind: str, user: AbstractBaseUser) -> TicketLink:
    """Relate two tickets ("related", "duplicate of", "caused by"); an Event on each."""
    if kind not in TicketLinkKind.values:
        raise ValidationError(_("Choose how the tickets are related."))
    if not user.has_perm("tickets.change_ticket"):
        raise PermissionDenied(_("Your role cannot change tickets."))
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be linked to itself."))
    if TicketLink.objects.filter(Q(source=source, target=target) | Q(source=target, target=source)).exists():
        raise ValidationError(_("#%(a)s and #%(b)s are already linked.") % {"a": source.number, "b": target.number})
    actor = Actor.agent(user)
    with transaction.atomic():
        link = TicketLink.objects.create(source=source, target=target, kind=kind, created_by=user)
        data = {"source": source.number, "target": target.number, "kind": kind}
        event_record(obj=link, ticket=source, verb="linked", data=data, actor=actor)
        event_record(obj=link, ticket=target, verb="linked", data=data, actor=actor)
    return link


def ticket_link_delete(*, link: TicketLink, user: AbstractBaseUser) -> None:
    if not user.has_perm("tickets.change_ticket"):
        raise PermissionDenied(_("Your role cannot change tickets."))
    actor = Actor.agent(user)
    data = {"source": link.source.number, "target": link.target.number, "kind": link.kind}
    with transaction.atomic():
        event_record(obj=link, ticket=link.source, verb="unlinked", data=data, actor=actor)
        event_record(obj=link, ticket=link.target, verb="unlinked", data=data, actor=actor)
        link.delete()


# --- After a ticket changes: fresh counts and a live push -----------------------------------------

# Events whose live push the ingest task already makes (with the message id): a new ticket
# always arrives with its first message.
_PUSHED_ELSEWHERE = frozenset({"message_received", "created"})
_MESSAGE_VERBS = frozenset({"reply_queued", "note_added", "system_message_queued"})


def _event_groups(event: Event, ticket: Ticket) -> list[str]:
    """The audiences that could see the ticket before or after this change."""
    from ..tasks import agent_group, team_group, ticket_audience

    groups = set(ticket_audience(ticket))
    if event.field in ("team", "assignee") and isinstance(event.old_value, dict) and event.old_value.get("id"):
        old = int(event.old_value["id"])
        groups.add(team_group(old) if event.field == "team" else agent_group(old))
    return sorted(groups)


def workspace_counts_invalidate(groups: Iterable[str]) -> None:
    """Start a new counts generation for these audiences (see selectors' cached counts)."""
    from ..selectors import counts_generation_key

    for group in groups:
        key = counts_generation_key(group)
        try:
            cache.add(key, 0, None)
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, None)


def workspace_ticket_changed(*, event: Event, ticket: Ticket) -> None:
    """After commit: the counts of whoever can see the ticket are stale, and open pages hear of it."""
    from ..tasks import broadcast, ticket_group

    groups = _event_groups(event, ticket)
    workspace_counts_invalidate(groups)
    if event.verb in _PUSHED_ELSEWHERE:
        return
    payload = {
        "kind": "message" if event.verb in _MESSAGE_VERBS else "change",
        "ticket": ticket.number,
        "verb": event.verb,
        "field": event.field,
    }
    broadcast([ticket_group(ticket.pk), *groups], payload)


def workspace_event_saved(sender: Any, instance: Event, created: bool, **kwargs: Any) -> None:
    """post_save of Event (connected in TicketsConfig.ready): infrastructure only."""
    if not created or instance.ticket_id is None:
        return
    ticket = instance.ticket  # the service passed the ticket it holds: no query
    transaction.on_commit(lambda: workspace_ticket_changed(event=instance, ticket=ticket))
